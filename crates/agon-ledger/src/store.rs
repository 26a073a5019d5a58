//! All SQL of the ledger service.

use agon_db::{Db, ResultExt, Tx, query, query_as};
use uuid::Uuid;

use crate::{
    domain::{Holder, Kind},
    error::Error,
};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// An account as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub kind: String,
    /// The member; empty for the club's and the world's accounts.
    pub owner_id: String,
    pub currency: String,
    pub balance: i64,
    pub credit_limit: i64,
    pub created_at: String,
}

const ACCOUNT_COLUMNS: &str = "id, kind, owner_id, currency, balance, credit_limit, created_at";

/// A transaction as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Transaction {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub account_id: Uuid,
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub idempotency_key: Option<String>,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub created_by: Uuid,
    pub created_at: String,
}

const TRANSACTION_COLUMNS: &str = "id, account_id, kind, amount, currency, reference, idempotency_key, \
                                   description, created_by, created_at";

/// Transactions of one kind in a window: how many, and how much.
#[derive(Debug, sqlx::FromRow)]
pub struct Total {
    pub kind: String,
    pub count: i64,
    pub amount: i64,
}

/// Which of an account's transactions a statement reads: `from..=to` (fixed-width RFC 3339 text, which orders as
/// time), one kind or all, after a cursor (the last row's time and id).
pub struct Window<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub kind: Option<Kind>,
    pub after: Option<(String, Uuid)>,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The account `holder` has in `currency` (a member's with `credit_limit`), opened at first use.
    pub async fn account(
        &self,
        tx: &mut Tx,
        (holder, owner): (Holder, &str),
        currency: &str,
        credit_limit: i64,
    ) -> Result<Account, Error> {
        let now = agon_db::now_text();
        query(
            "insert into accounts (id, kind, owner_id, currency, balance, credit_limit, created_at) \
             values ($1, $2, $3, $4, 0, $5, $6) on conflict (kind, owner_id, currency) do nothing",
            (
                Uuid::now_v7().to_string(),
                holder.name(),
                owner,
                currency,
                credit_limit,
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        let sql = format!(
            "select {ACCOUNT_COLUMNS} from accounts where kind = $1 and owner_id = $2 and currency = $3"
        );
        Ok(
            query_as(sqlx::AssertSqlSafe(sql), (holder.name(), owner, currency))
                .fetch_one(&mut **tx)
                .await?,
        )
    }

    pub async fn account_by_id(&self, id: Uuid) -> Result<Option<Account>, Error> {
        let sql = format!("select {ACCOUNT_COLUMNS} from accounts where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of accounts in id order: one member's (by `owner`), or every account.
    pub async fn accounts(
        &self,
        owner: Option<Uuid>,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Account>, Error> {
        let sql = format!(
            "select {ACCOUNT_COLUMNS} from accounts where ($1 = '' or owner_id = $1) and ($2 = '' or id > $2) \
             order by id limit $3"
        );
        let owner = owner.map(|o| o.to_string()).unwrap_or_default();
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        Ok(query_as(sqlx::AssertSqlSafe(sql), (owner, after, limit))
            .fetch_all(self.db.pool())
            .await?)
    }

    /// Records `t` with its two postings. The member's balance moves first, and only if it has room — down to
    /// minus its credit limit when `credit`, to zero otherwise: false, and nothing written, when it has not. A
    /// transaction whose key or reference is taken answers [`Error::KeyReused`] (the caller rolls back and finds
    /// the first one).
    pub async fn record(
        &self,
        tx: &mut Tx,
        t: &Transaction,
        legs: [(Uuid, i64); 2],
        credit: bool,
    ) -> Result<bool, Error> {
        let [(member, delta), (counterpart, back)] = legs;
        // The room is checked by the update itself: concurrent payments cannot both pass one check.
        let moved = query(
            "update accounts set balance = balance + $2 where id = $1 \
             and ($2 >= 0 or balance + $2 >= -(case when $3 = 1 then credit_limit else 0 end))",
            (member.to_string(), delta, i64::from(credit)),
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        query(
            "insert into transactions (id, account_id, kind, amount, currency, reference, idempotency_key, \
             description, created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            (
                t.id.to_string(),
                t.account_id.to_string(),
                &t.kind,
                t.amount,
                &t.currency,
                t.reference.as_deref(),
                t.idempotency_key.as_deref(),
                &t.description,
                t.created_by.to_string(),
                &t.created_at,
            ),
        )
        .execute(&mut **tx)
        .await
        .on_unique(|| Error::KeyReused)?;
        query(
            "update accounts set balance = balance + $2 where id = $1",
            (counterpart.to_string(), back),
        )
        .execute(&mut **tx)
        .await?;
        for (account, amount) in legs {
            query(
                "insert into postings (transaction_id, account_id, amount, created_at) values ($1, $2, $3, $4)",
                (t.id.to_string(), account.to_string(), amount, &t.created_at),
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(true)
    }

    /// Sets a member account's credit limit.
    pub async fn set_credit_limit(&self, id: Uuid, limit: i64) -> Result<bool, Error> {
        let done = query(
            "update accounts set credit_limit = $2 where id = $1 and kind = 'member'",
            (id.to_string(), limit),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The transaction made with this Idempotency-Key on the member's account in `currency`.
    pub async fn by_key(
        &self,
        (member, currency): (Uuid, &str),
        key: &str,
    ) -> Result<Option<Transaction>, Error> {
        let sql = format!(
            "select {TRANSACTION_COLUMNS} from transactions where idempotency_key = $3 and account_id = \
             (select id from accounts where kind = 'member' and owner_id = $1 and currency = $2)"
        );
        let params = (member.to_string(), currency, key);
        Ok(query_as(sqlx::AssertSqlSafe(sql), params)
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// The transaction of `kind` for `reference` (an order's payment or refund); read inside `tx`.
    pub async fn by_reference(
        &self,
        tx: &mut Tx,
        kind: Kind,
        reference: &str,
    ) -> Result<Option<Transaction>, Error> {
        let sql = format!(
            "select {TRANSACTION_COLUMNS} from transactions where kind = $1 and reference = $2"
        );
        Ok(query_as(sqlx::AssertSqlSafe(sql), (kind.name(), reference))
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// A page of an account's transactions in a window, oldest first.
    pub async fn transactions(
        &self,
        account: Uuid,
        w: &Window<'_>,
        limit: i64,
    ) -> Result<Vec<Transaction>, Error> {
        let sql = format!(
            "select {TRANSACTION_COLUMNS} from transactions where account_id = $1 and created_at >= $2 \
             and created_at <= $3 and ($4 = '' or kind = $4) \
             and ($5 = '' or created_at > $5 or (created_at = $5 and id > $6)) order by created_at, id limit $7"
        );
        let kind = w.kind.map_or("", Kind::name);
        let (at, id) = (w.after.clone())
            .map(|(at, id)| (at, id.to_string()))
            .unwrap_or_default();
        let params = (account.to_string(), w.from, w.to, kind, at, id, limit);
        Ok(query_as(sqlx::AssertSqlSafe(sql), params)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// The totals by kind of an account's transactions in `from..=to`: read from the index alone.
    pub async fn totals(&self, account: Uuid, from: &str, to: &str) -> Result<Vec<Total>, Error> {
        Ok(query_as(
            "select kind, count(*) as count, cast(coalesce(sum(amount), 0) as bigint) as amount from transactions \
             where account_id = $1 and created_at >= $2 and created_at <= $3 group by kind order by kind",
            (account.to_string(), from, to),
        )
        .fetch_all(self.db.pool())
        .await?)
    }
}
