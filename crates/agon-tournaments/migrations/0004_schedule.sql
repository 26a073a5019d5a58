-- Scheduling: a tournament's courts, the windows it is played in (instants, fixed-width RFC 3339 UTC), its timing,
-- where each match stands, and members' calendar keys (their SHA-256: the key itself is a secret shown once).
create table courts (
    id text primary key,
    tournament_id text not null references tournaments (id) on delete cascade,
    name text not null,
    -- The courts' order: the planner fills the first free one.
    number integer not null,
    created_at text not null,
    unique (tournament_id, name)
);

create table play_windows (
    tournament_id text not null references tournaments (id) on delete cascade,
    starts_at text not null,
    ends_at text not null
);
create index play_windows_tournament on play_windows (tournament_id, starts_at);

alter table tournaments add column match_minutes integer not null default 30;
alter table tournaments add column rest_minutes integer not null default 0;

alter table matches add column court_id text;
alter table matches add column starts_at text;
-- Placed by hand: planning again leaves it where it is.
alter table matches add column pinned integer not null default 0;

-- A member's matches across tournaments (the calendar feed).
create index participants_user on participants (user_id);

create table calendar_keys (
    user_id text primary key,
    key_hash text not null unique,
    created_at text not null
);
