-- Every revoked session, in order: other processes follow this feed to refuse the session's tokens at once.
create table revocations (
    seq integer primary key autoincrement,
    session_id text not null,
    until_unix integer not null,
    created_at text not null
);

-- Failed password checks, per subject (`account:<email>` or `ip:<address>`), for throttling.
create table login_failures (
    id integer primary key autoincrement,
    subject text not null,
    at text not null
);
create index login_failures_subject on login_failures (subject, at);

alter table sessions add column last_used_at text;
alter table sessions add column user_agent text;
