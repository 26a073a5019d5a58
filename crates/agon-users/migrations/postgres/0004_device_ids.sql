-- A device's own id: the (stable, short) key its listing pages on; the token can be kilobytes long. New rows get
-- a UUIDv7 from the service; existing ones a random UUID here.
alter table devices add column id text;
update devices set id = gen_random_uuid()::text;
alter table devices alter column id set not null;
create unique index devices_id on devices (id);
-- Which of a member's devices was seen least recently: the one evicted beyond the cap.
create index devices_user_seen on devices (user_id, last_seen_at);
