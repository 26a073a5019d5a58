-- A device's own id: the (stable, short) key its listing pages on; the token can be kilobytes long. New rows get
-- a UUIDv7 from the service; existing ones a random UUID-shaped id here (SQLite has no UUID function).
alter table devices add column id text not null default '';
update devices set id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
create unique index devices_id on devices (id);
-- Which of a member's devices was seen least recently: the one evicted beyond the cap.
create index devices_user_seen on devices (user_id, last_seen_at);
