alter table profiles add column latitude double precision;
alter table profiles add column longitude double precision;
-- A JSON object of the member's settings (units, language, notification choices…).
alter table profiles add column preferences text not null default '{}';
create index profiles_location on profiles (latitude, longitude);

create table follows (
    follower_id text not null,
    followee_id text not null,
    created_at text not null,
    primary key (follower_id, followee_id)
);
create index follows_followee on follows (followee_id, follower_id);

-- Push tokens of the member's devices; a token belongs to one member at a time.
create table devices (
    token text primary key,
    user_id text not null,
    platform text not null,
    created_at text not null,
    last_seen_at text not null
);
create index devices_user on devices (user_id);
