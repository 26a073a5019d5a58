-- An account logs in with an email, a username, or both.
alter table accounts alter column email drop not null;
alter table accounts add column username text unique;
alter table accounts add constraint accounts_login check (email is not null or username is not null);
