create table accounts (
    id text primary key,
    email text not null unique,
    password_hash text not null,
    roles text not null,
    created_at text not null,
    updated_at text not null
);

create table sessions (
    id text primary key,
    user_id text not null references accounts (id) on delete cascade,
    created_at text not null,
    expires_at text not null,
    revoked_at text
);
create index sessions_user on sessions (user_id);

-- Refresh tokens are stored as SHA-256 digests; a token is used at most once (rotation), and presenting a used
-- one revokes its whole session.
create table refresh_tokens (
    token_hash text primary key,
    session_id text not null references sessions (id) on delete cascade,
    expires_at text not null,
    used_at text,
    created_at text not null
);
create index refresh_tokens_session on refresh_tokens (session_id);

create table signing_keys (
    kid text primary key,
    private_pkcs8 text not null,
    public_x text not null,
    created_at text not null,
    retired_at text
);
