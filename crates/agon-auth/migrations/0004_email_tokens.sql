alter table accounts add column email_confirmed_at text;

-- Single-use secrets mailed to the account's owner (password reset, email confirmation), stored as SHA-256.
create table account_tokens (
    token_hash text primary key,
    user_id text not null references accounts (id) on delete cascade,
    purpose text not null,
    expires_at text not null,
    used_at text,
    created_at text not null
);
create index account_tokens_user on account_tokens (user_id, purpose, created_at);
