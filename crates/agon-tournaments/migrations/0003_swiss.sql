-- Swiss tournaments: how many rounds are paired.
alter table tournaments add column rounds integer not null default 0;
