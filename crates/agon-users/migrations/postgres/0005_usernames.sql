-- An account opened with a username alone has no email.
alter table profiles alter column email drop not null;
alter table profiles add column username text;
create unique index profiles_username on profiles (username);
create index profiles_email on profiles (email);
