-- Money in minor units (cents), by double entry. Accounts: one per member and currency — a wallet, or a tab
-- within its credit limit — plus the club's own (what sales and refunds move) and the world's (money entering or
-- leaving the club: deposits, withdrawals), one per currency each.
create table accounts (
    id text primary key,
    -- member | club | world
    kind text not null,
    -- The member; empty for the club's and the world's accounts.
    owner_id text not null,
    currency text not null,
    -- The sum of the account's postings, kept with them in the same transaction.
    balance bigint not null default 0,
    -- How far below zero a member's balance may go when paying on account (0: a wallet alone).
    credit_limit bigint not null default 0,
    created_at text not null,
    unique (kind, owner_id, currency)
);

-- A transaction moves money between a member's account and the club's or the world's: two postings that add up
-- to zero. `amount` is positive; the kind says which way it went.
create table transactions (
    id text primary key,
    account_id text not null references accounts (id),
    -- deposit | withdrawal | purchase | refund
    kind text not null,
    amount bigint not null,
    currency text not null,
    -- What it pays for (a shop order): an order is charged once and refunded once.
    reference text,
    -- The client's Idempotency-Key: a retried request finds its transaction instead of making another.
    idempotency_key text,
    description text not null,
    created_by text not null,
    created_at text not null,
    unique (kind, reference),
    unique (account_id, idempotency_key)
);
-- Statements and period reports: an account's transactions in time order, and the totals by kind read from the
-- index alone.
create index transactions_account_time on transactions (account_id, created_at, kind, amount);

create table postings (
    transaction_id text not null references transactions (id),
    account_id text not null references accounts (id),
    -- Signed: what the account gained (negative: what it gave).
    amount bigint not null,
    created_at text not null,
    primary key (transaction_id, account_id)
);
create index postings_account on postings (account_id, created_at);
