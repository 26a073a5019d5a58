-- Who can be notified, projected from the auth and users services' events.
create table recipients (
    user_id text primary key,
    email text not null,
    display_name text,
    roles text not null,
    phone text,
    created_at text not null
);

-- One row per recipient; a broadcast shares its id across its recipients.
create table notifications (
    user_id text not null,
    id text not null,
    type text not null,
    title text not null,
    body text not null,
    link text,
    data text not null,
    critical integer not null,
    created_at text not null,
    read_at text,
    primary key (user_id, id)
);
create index notifications_unread on notifications (user_id, read_at);

-- Opt-outs (and opt-ins) per notification type and channel; absent means the type's default.
create table preferences (
    user_id text not null,
    type text not null,
    channel text not null,
    enabled integer not null,
    primary key (user_id, type, channel)
);

-- Push tokens of the recipient's devices.
create table push_tokens (
    token text primary key,
    user_id text not null,
    platform text not null,
    created_at text not null
);
create index push_tokens_user on push_tokens (user_id);

-- Messages for the HTTP providers (SMS, push), sent by the delivery worker with retries.
create table deliveries (
    id text primary key,
    user_id text not null,
    channel text not null,
    destination text not null,
    payload text not null,
    status text not null,
    attempts bigint not null,
    next_attempt_at text not null,
    last_error text,
    created_at text not null,
    sent_at text
);
create index deliveries_due on deliveries (status, next_attempt_at);

-- Bursts merged into one message per recipient, digest key and channel, sent when the window closes.
create table digests (
    user_id text not null,
    digest_key text not null,
    channel text not null,
    type text not null,
    count bigint not null,
    title text not null,
    body text not null,
    due_at text not null,
    primary key (user_id, digest_key, channel)
);
