-- Outgoing email, written in the same transaction as what it announces and deleted once the SMTP server took it.
create table mail_queue (
    id text primary key,
    recipient text not null,
    subject text not null,
    body text not null,
    attempts integer not null default 0,
    next_attempt_at text not null,
    last_error text,
    created_at text not null
);
create index mail_queue_due on mail_queue (next_attempt_at);
