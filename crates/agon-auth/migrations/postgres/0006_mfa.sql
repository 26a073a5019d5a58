-- TOTP second factor: pending until the first code confirms it. `last_step` makes each code single-use.
create table mfa_totp (
    user_id text primary key references accounts (id) on delete cascade,
    secret text not null,
    confirmed_at text,
    last_step bigint not null default 0,
    created_at text not null
);

-- Single-use recovery codes, stored as SHA-256.
create table recovery_codes (
    code_hash text primary key,
    user_id text not null references accounts (id) on delete cascade,
    used_at text,
    created_at text not null
);
create index recovery_codes_user on recovery_codes (user_id);
