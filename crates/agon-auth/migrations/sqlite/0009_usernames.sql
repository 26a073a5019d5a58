-- no-transaction
-- An account logs in with an email, a username, or both. SQLite cannot relax a NOT NULL in place, so the table
-- is rebuilt (sqlite.org/lang_altertable.html, "other kinds of table schema changes"). Foreign keys are off
-- while it happens — otherwise dropping the old table would cascade into every session and token — and that
-- switch only works outside a transaction, hence `no-transaction` and the explicit one inside.
pragma foreign_keys = off;
begin immediate;
create table accounts_next (
    id text primary key,
    email text unique,
    username text unique,
    password_hash text not null,
    roles text not null,
    created_at text not null,
    updated_at text not null,
    status text not null default 'active',
    email_confirmed_at text,
    verification_status text not null default 'unverified',
    check (email is not null or username is not null)
);
insert into accounts_next (id, email, password_hash, roles, created_at, updated_at, status, email_confirmed_at,
                           verification_status)
    select id, email, password_hash, roles, created_at, updated_at, status, email_confirmed_at, verification_status
    from accounts;
drop table accounts;
alter table accounts_next rename to accounts;
commit;
pragma foreign_keys = on;
