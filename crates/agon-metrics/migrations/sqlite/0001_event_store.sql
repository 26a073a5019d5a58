-- Every event of the platform, once (by id), as it was published. Append-only: the source of every projection.
create table events (
    seq integer primary key autoincrement,
    id text not null unique,
    topic text not null,
    source text not null,
    occurred_at text not null,
    payload text not null,
    stored_at text not null
);
create index events_topic_time on events (topic, occurred_at);

-- The business-metrics projection: events counted per metric, breakdown and UTC day.
create table daily_counts (
    metric text not null,
    dimension text not null,
    day text not null,
    count bigint not null,
    primary key (metric, dimension, day)
);
