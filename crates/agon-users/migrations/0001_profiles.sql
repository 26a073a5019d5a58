create table profiles (
    user_id text primary key,
    email text not null,
    display_name text not null,
    bio text not null default '',
    city text,
    country text,
    avatar_url text,
    roles text not null,
    created_at text not null,
    updated_at text not null
);
