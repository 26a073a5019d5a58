-- The club shop: items on sale and the orders that buy them. Prices in minor units (cents) with their currency.
create table items (
    id text primary key,
    seller_id text not null,
    name text not null,
    description text not null,
    price bigint not null,
    currency text not null,
    -- Units left; a unique piece has one, and is sold out once bought.
    stock bigint not null,
    unique_piece integer not null,
    -- JSON array of image URLs.
    images text not null,
    -- Withdrawn from sale (deleted): kept for the orders that bought it.
    active integer not null,
    created_at text not null,
    updated_at text not null
);
create index items_active on items (active, id);
create index items_seller on items (seller_id, id);

-- An order: stock reserved when placed, then paid by the ledger (completed) or declined (cancelled, the stock
-- back on sale); a completed order may be refunded (refund_pending, then refunded, the stock back).
create table orders (
    id text primary key,
    buyer_id text not null,
    item_id text not null references items (id),
    seller_id text not null,
    item_name text not null,
    quantity bigint not null,
    unit_price bigint not null,
    amount bigint not null,
    currency text not null,
    -- wallet | account
    payment text not null,
    -- pending | completed | cancelled | refund_pending | refunded
    status text not null,
    -- Why it was cancelled (insufficient_funds).
    reason text,
    -- The buyer's Idempotency-Key: a retried buy finds its order instead of placing another.
    idempotency_key text,
    created_at text not null,
    updated_at text not null,
    unique (buyer_id, idempotency_key)
);
create index orders_buyer on orders (buyer_id, id);
create index orders_item on orders (item_id, status);
