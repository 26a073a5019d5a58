-- A member who signed up with a username alone has no email: mail is skipped for them. SQLite cannot relax a
-- NOT NULL in place: the table is rebuilt (nothing references it by foreign key).
create table recipients_next (
    user_id text primary key,
    email text,
    display_name text,
    roles text not null,
    phone text,
    created_at text not null
);
insert into recipients_next (user_id, email, display_name, roles, phone, created_at)
    select user_id, email, display_name, roles, phone, created_at from recipients;
drop table recipients;
alter table recipients_next rename to recipients;
