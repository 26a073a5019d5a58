-- Each member's reference face (its description, never the photo), and the verification requests decided
-- against it. A request waiting for a reference keeps its photo's description until staff set one.
create table face_references (
    user_id text primary key,
    vector text not null,
    -- `staff` (set by the club) or `first_photo` (the member's first verification photo, where allowed)
    source text not null,
    request_id text,
    set_by text,
    set_at text not null
);

create table verifications (
    id text primary key,
    user_id text not null,
    -- `pending` (no reference yet), `verified` or `rejected`
    status text not null,
    reason text,
    distance double precision,
    vector text,
    requested_at text not null,
    decided_at text
);
create index verifications_waiting on verifications (user_id) where status = 'pending';
