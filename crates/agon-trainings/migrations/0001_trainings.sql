-- Trainings authored by trainers. A title is unique per author (two coaches may each have a "Morning run"),
-- compared without case (`title_key`). Scores are kept as hundredths, and each training carries their running
-- total and count, so a list shows averages without an aggregate per row.
create table trainings (
    id text primary key,
    author_id text not null,
    title text not null,
    title_key text not null,
    description text not null,
    -- Title and description lowercased by the service (Unicode-aware on both engines), for text search.
    search_text text not null,
    kind text not null,
    difficulty integer not null,
    media text not null,
    goals text not null,
    blocked integer not null default 0,
    score_total bigint not null default 0,
    score_count bigint not null default 0,
    created_at text not null,
    updated_at text not null
);
create unique index trainings_author_title on trainings (author_id, title_key);
create index trainings_kind on trainings (kind, id);

-- A member's favourites; one row per member and training.
create table favourites (
    user_id text not null,
    training_id text not null references trainings (id) on delete cascade,
    created_at text not null,
    primary key (user_id, training_id)
);
create index favourites_training on favourites (training_id);

-- One score per member and training (0 to 500 hundredths); scoring again replaces it.
create table scores (
    training_id text not null references trainings (id) on delete cascade,
    user_id text not null,
    score integer not null,
    comment text,
    created_at text not null,
    updated_at text not null,
    primary key (training_id, user_id)
);
create index scores_user on scores (user_id);
