-- The service registry: upstreams managed at run time through the admin API.
create table services (
    id text primary key,
    name text not null unique,
    url text not null,
    prefix text not null,
    auth text not null,
    timeout_ms bigint not null,
    blocked bigint not null default 0,
    created_at text not null,
    updated_at text not null
);
