-- active, pending (trainer/coach awaiting approval) or banned; followed from the users service's events.
alter table accounts add column status text not null default 'active';
