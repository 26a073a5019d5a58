-- An account opened with a username alone has no email. SQLite cannot relax a NOT NULL in place: the table is
-- rebuilt (nothing references it by foreign key, so this runs inside the migration's transaction).
create table profiles_next (
    user_id text primary key,
    email text,
    username text,
    display_name text not null,
    bio text not null default '',
    city text,
    country text,
    avatar_url text,
    roles text not null,
    created_at text not null,
    updated_at text not null,
    status text not null default 'active',
    ban_reason text,
    latitude double precision,
    longitude double precision,
    preferences text not null default '{}'
);
insert into profiles_next (user_id, email, display_name, bio, city, country, avatar_url, roles, created_at,
                           updated_at, status, ban_reason, latitude, longitude, preferences)
    select user_id, email, display_name, bio, city, country, avatar_url, roles, created_at, updated_at, status,
           ban_reason, latitude, longitude, preferences
    from profiles;
drop table profiles;
alter table profiles_next rename to profiles;
create index profiles_display_name on profiles (display_name);
create index profiles_location on profiles (latitude, longitude);
create unique index profiles_username on profiles (username);
create index profiles_email on profiles (email);
