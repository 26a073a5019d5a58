-- Results reported by the players themselves, where the tournament says so (reporting = 'players'): each side's
-- report of a match waits here until the other side's agrees, and the result is recorded. A report goes when its
-- match changes (a result recorded or corrected, a side replaced).
alter table tournaments add column reporting text not null default 'organisers';

create table reports (
    tournament_id text not null references tournaments (id) on delete cascade,
    position integer not null,
    participant_id text not null,
    -- The winner the report names; none for a drawn round-robin or Swiss match.
    winner_id text,
    drawn integer not null,
    games text not null,
    score text not null,
    reported_at text not null,
    primary key (tournament_id, position, participant_id)
);
