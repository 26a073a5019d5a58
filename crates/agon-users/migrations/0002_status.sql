-- active, pending (trainer/coach awaiting approval) or banned. This service decides; auth follows its events.
alter table profiles add column status text not null default 'active';
alter table profiles add column ban_reason text;
create index profiles_display_name on profiles (display_name);
