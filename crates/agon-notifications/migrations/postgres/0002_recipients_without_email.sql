-- A member who signed up with a username alone has no email: mail is skipped for them.
alter table recipients alter column email drop not null;
