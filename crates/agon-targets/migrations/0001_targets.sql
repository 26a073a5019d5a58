-- An athlete's targets. Progress (`current`) moves with activity reports and saturates at the goal; a target
-- is completed once (`completed_at`), and expires at its deadline (an instant; the zone is how it is shown).
create table targets (
    id text primary key,
    owner_id text not null,
    name text not null,
    description text not null,
    metric text not null,
    goal double precision not null,
    current double precision not null,
    deadline text not null,
    time_zone text not null,
    media text not null,
    completed_at text,
    created_at text not null,
    updated_at text not null
);
create index targets_open on targets (owner_id, metric, completed_at, deadline);

-- Activity reports from the app. A report the app retries carries the same client id and counts once.
create table reports (
    id text primary key,
    owner_id text not null,
    client_id text,
    metric text not null,
    amount double precision not null,
    at text not null,
    created_at text not null
);
create unique index reports_client on reports (owner_id, client_id) where client_id is not null;
create index reports_owner_at on reports (owner_id, metric, at);
