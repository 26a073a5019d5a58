-- Sellers' names, as items show them: each member's display name, else their login name, else their email's local
-- part, learnt from registrations. An item keeps the name its seller had when it was put on sale.
create table sellers (
    user_id text primary key,
    name text not null
);
alter table items add column seller_name text not null default '';
create index items_seller_name on items (seller_name, id);
