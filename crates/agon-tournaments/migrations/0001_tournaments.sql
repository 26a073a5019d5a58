-- Tournaments, their entries and their matches. A bracket's structure (who feeds which match) follows from its
-- format and field size, so only each match's state is stored: its two sides (null: to be decided; 0: a bye;
-- n: the participant seeded n), its winner (0 or 1) and whether it is void.
create table tournaments (
    id text primary key,
    name text not null,
    description text not null,
    -- single_elimination | double_elimination
    format text not null,
    third_place integer not null,
    -- none | single | reset (double elimination)
    grand_final text not null,
    best_of integer not null,
    -- draft | registration | seeded | running | paused | completed | cancelled
    status text not null,
    capacity integer not null,
    -- Members who ask to join are approved at once.
    open_entry integer not null,
    registration_deadline text,
    starts_at text not null,
    time_zone text not null,
    -- How the last draw was made (manual | rating | random), and a random draw's seed, so it can be replayed.
    seeding text,
    draw_seed bigint,
    field integer not null default 0,
    champion_id text,
    created_by text not null,
    created_at text not null,
    updated_at text not null
);
create index tournaments_status on tournaments (status, id);

create table participants (
    id text primary key,
    tournament_id text not null references tournaments (id) on delete cascade,
    -- The member, when the entry is one (organisers may enter guests by name).
    user_id text,
    name text not null,
    rating bigint,
    -- pending | approved | withdrawn
    status text not null,
    seed integer,
    created_at text not null,
    updated_at text not null
);
-- One entry per member and tournament (entries without a member are not limited: nulls are distinct).
create unique index participants_member on participants (tournament_id, user_id);
create index participants_tournament on participants (tournament_id, status);

create table matches (
    id text primary key,
    tournament_id text not null references tournaments (id) on delete cascade,
    -- The match's place in the bracket, from 0.
    position integer not null,
    -- winners | losers | grand_final | third_place
    stage text not null,
    round integer not null,
    number integer not null,
    side0 integer,
    side1 integer,
    winner integer,
    void integer not null,
    -- Games as [[6, 4], [3, 6], …] from side 0's point of view; and the score as reported.
    games text not null,
    score text not null,
    played_at text,
    unique (tournament_id, position)
);
