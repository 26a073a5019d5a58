-- Coaching: coaches' profiles and weekly availability, bookings of their sessions, and session notes. Instants as
-- RFC 3339 UTC text; local times of day as minutes since midnight in the coach's zone.
create table coaches (
    user_id text primary key,
    name text not null,
    bio text not null,
    -- JSON arrays of text.
    specialities text not null,
    languages text not null,
    -- A session's price in minor units.
    price bigint not null,
    currency text not null,
    -- The IANA zone the availability is written in.
    time_zone text not null,
    session_minutes bigint not null,
    -- Athletes cancel or move a booking until this many hours before it.
    cutoff_hours bigint not null,
    -- A booking is made at least this many hours ahead.
    notice_hours bigint not null,
    active integer not null,
    created_at text not null,
    updated_at text not null
);
create index coaches_active on coaches (active, user_id);

-- The weekly rules, replaced as a whole.
create table availability_rules (
    coach_id text not null references coaches (user_id),
    position bigint not null,
    -- 1 (Monday) to 7.
    weekday bigint not null,
    start_minute bigint not null,
    end_minute bigint not null,
    primary key (coach_id, position)
);

-- A date's time off or extra hours.
create table availability_exceptions (
    id text primary key,
    coach_id text not null references coaches (user_id),
    -- The local date, YYYY-MM-DD.
    day text not null,
    -- off | extra
    kind text not null,
    start_minute bigint not null,
    end_minute bigint not null,
    reason text not null,
    created_at text not null
);
create index availability_exceptions_coach on availability_exceptions (coach_id, day);

create table bookings (
    id text primary key,
    coach_id text not null references coaches (user_id),
    athlete_id text not null,
    starts_at text not null,
    ends_at text not null,
    -- confirmed | cancelled | attended | missed
    status text not null,
    -- What the athlete wrote when booking.
    note text not null,
    price bigint not null,
    currency text not null,
    cancelled_by text,
    reason text,
    -- The reminder before the session went out.
    reminded integer not null,
    -- The athlete's Idempotency-Key: a retried booking finds its booking instead of failing on its own slot.
    idempotency_key text,
    created_at text not null,
    updated_at text not null,
    unique (athlete_id, idempotency_key)
);
create index bookings_coach on bookings (coach_id, starts_at);
create index bookings_athlete on bookings (athlete_id, starts_at);
create index bookings_reminders on bookings (status, reminded, starts_at);

-- The five-minute cells of time a confirmed booking holds, for its coach and its athlete: a person is in one
-- session at a time because two bookings that overlap claim a common cell, which the primary key refuses.
create table claims (
    holder_id text not null,
    cell bigint not null,
    booking_id text not null references bookings (id),
    primary key (holder_id, cell)
);
create index claims_booking on claims (booking_id);

-- Reschedules and cancellations: who, when, why, from which time.
create table booking_changes (
    booking_id text not null references bookings (id),
    at text not null,
    by_id text not null,
    action text not null,
    reason text not null,
    previous_start text not null
);
create index booking_changes_booking on booking_changes (booking_id, at);

-- Notes on a session by its coach: private, or shared with the athlete.
create table session_notes (
    id text primary key,
    booking_id text not null references bookings (id),
    author_id text not null,
    body text not null,
    shared integer not null,
    created_at text not null
);
create index session_notes_booking on session_notes (booking_id, id);

-- Calendar feed keys, stored as their SHA-256.
create table calendar_keys (
    user_id text primary key,
    key_hash text not null unique,
    created_at text not null
);
