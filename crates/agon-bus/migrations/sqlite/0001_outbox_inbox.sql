create table outbox (
    seq integer primary key autoincrement,
    id text not null unique,
    topic text not null,
    source text not null,
    payload text not null,
    created_at text not null
);

create table inbox (
    event_id text not null,
    consumer text not null,
    processed_at text not null,
    primary key (event_id, consumer)
);

create table dead_letters (
    id text not null,
    consumer text not null,
    topic text not null,
    source text not null,
    payload text not null,
    error text not null,
    attempts integer not null,
    created_at text not null,
    primary key (id, consumer)
);
