-- Round robins: legs and groups, the points a result gives, and drawn matches.
alter table tournaments add column legs integer not null default 1;
alter table tournaments add column group_count integer not null default 1;
alter table tournaments add column points text not null default '{"win":3,"draw":1,"loss":0,"bye":3}';
alter table matches add column group_no integer not null default 0;
alter table matches add column drawn integer not null default 0;
