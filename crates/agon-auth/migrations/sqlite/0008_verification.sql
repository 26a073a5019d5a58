-- Identity verification by photo: the request side. A decision comes from the face service (later); until then
-- a request stays pending.
alter table accounts add column verification_status text not null default 'unverified';

create table verification_requests (
    id text primary key,
    user_id text not null references accounts (id) on delete cascade,
    content_type text not null,
    photo blob not null,
    status text not null,
    created_at text not null,
    decided_at text
);
create index verification_requests_user on verification_requests (user_id, created_at);
