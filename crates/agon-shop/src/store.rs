//! All SQL of the shop service.

use agon_db::{Db, Flag, JsonText, ResultExt, Tx, query, query_as};
use uuid::Uuid;

use crate::{domain::Draft, error::Error};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// An item as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Item {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub seller_id: Uuid,
    /// The seller's name when the item was put on sale; empty when the shop never learnt it.
    pub seller_name: String,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    #[sqlx(try_from = "Flag")]
    pub unique_piece: bool,
    #[sqlx(try_from = "JsonText")]
    pub images: serde_json::Value,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl Item {
    pub fn images(&self) -> Vec<String> {
        serde_json::from_value(self.images.clone()).unwrap_or_default()
    }

    pub fn draft(&self) -> Draft {
        Draft {
            name: self.name.clone(),
            description: self.description.clone(),
            price: self.price,
            currency: self.currency.clone(),
            stock: self.stock,
            unique: self.unique_piece,
            images: self.images(),
        }
    }
}

const ITEM_COLUMNS: &str = "id, seller_id, seller_name, name, description, price, currency, stock, unique_piece, \
                            images, active, created_at, updated_at";

/// An order as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Order {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub buyer_id: Uuid,
    #[sqlx(try_from = "String")]
    pub item_id: Uuid,
    #[sqlx(try_from = "String")]
    pub seller_id: Uuid,
    pub item_name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub amount: i64,
    pub currency: String,
    pub payment: String,
    pub status: String,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const ORDER_COLUMNS: &str = "id, buyer_id, item_id, seller_id, item_name, quantity, unit_price, amount, currency, \
                             payment, status, reason, idempotency_key, created_at, updated_at";

/// Which items a listing shows: those on sale, one seller's, or those whose name holds a text.
#[derive(Debug, Default)]
pub struct ItemFilter {
    pub seller: Option<Uuid>,
    /// Sellers of this name (exactly).
    pub seller_name: Option<String>,
    /// Lowercase; matched anywhere in the name.
    pub text: Option<String>,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Remembers a member's name, for the items they will sell — and for those they put on sale before the
    /// shop heard of them (the registration crosses the bus; the item may not wait for it).
    pub async fn remember_seller(tx: &mut Tx, user: Uuid, name: &str) -> Result<(), Error> {
        query(
            "insert into sellers (user_id, name) values ($1, $2) on conflict (user_id) do update set name = excluded.name",
            (user.to_string(), name),
        )
        .execute(&mut **tx)
        .await?;
        query(
            "update items set seller_name = $2 where seller_id = $1 and seller_name = ''",
            (user.to_string(), name),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn insert_item(
        &self,
        tx: &mut Tx,
        (id, seller): (Uuid, Uuid),
        d: &Draft,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into items (id, seller_id, seller_name, name, description, price, currency, stock, unique_piece, \
             images, active, created_at, updated_at) values ($1, $2, \
             coalesce((select name from sellers where user_id = $2), ''), $3, $4, $5, $6, $7, $8, $9, 1, $10, $10)",
            (
                id.to_string(),
                seller.to_string(),
                &d.name,
                &d.description,
                d.price,
                &d.currency,
                d.stock,
                i64::from(d.unique),
                serde_json::to_string(&d.images).unwrap_or_else(|_| "[]".into()),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn item(&self, id: Uuid) -> Result<Option<Item>, Error> {
        let sql = format!("select {ITEM_COLUMNS} from items where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of the items on sale, newest first: a unique piece once sold is no longer on sale (an item out of
    /// stock is, until restocked).
    pub async fn items(
        &self,
        f: &ItemFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Item>, Error> {
        let sql = format!(
            "select {ITEM_COLUMNS} from items where active = 1 and not (unique_piece = 1 and stock = 0) \
             and ($1 = '' or seller_id = $1) \
             and ($2 = '' or lower(name) like $2) and ($3 = '' or id < $3) and ($5 = '' or seller_name = $5) \
             order by id desc limit $4"
        );
        let seller = f.seller.map(|s| s.to_string()).unwrap_or_default();
        let text = (f.text.as_deref())
            .map(|t| format!("%{}%", t.replace(['%', '_'], "")))
            .unwrap_or_default();
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let seller_name = f.seller_name.clone().unwrap_or_default();
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (seller, text, before, limit, seller_name),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    pub async fn update_item(&self, id: Uuid, d: &Draft, now: &str) -> Result<(), Error> {
        query(
            "update items set name = $2, description = $3, price = $4, stock = $5, images = $6, updated_at = $7 \
             where id = $1",
            (
                id.to_string(),
                &d.name,
                &d.description,
                d.price,
                d.stock,
                serde_json::to_string(&d.images).unwrap_or_else(|_| "[]".into()),
                now,
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Withdraws an item from sale; its orders keep pointing at it.
    pub async fn withdraw(&self, id: Uuid, now: &str) -> Result<(), Error> {
        query(
            "update items set active = 0, updated_at = $2 where id = $1",
            (id.to_string(), now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Takes `quantity` units of an item on sale, if it has them: checked by the update itself, so concurrent
    /// buyers never take more than there is.
    pub async fn reserve(&self, tx: &mut Tx, item: Uuid, quantity: i64) -> Result<bool, Error> {
        let done = query(
            "update items set stock = stock - $2 where id = $1 and active = 1 and stock >= $2",
            (item.to_string(), quantity),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts `quantity` units back (an order cancelled or refunded).
    pub async fn release(&self, tx: &mut Tx, item: Uuid, quantity: i64) -> Result<(), Error> {
        query(
            "update items set stock = stock + $2 where id = $1",
            (item.to_string(), quantity),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Places `o`; [`Error::KeyReused`] when the buyer's Idempotency-Key is taken.
    pub async fn insert_order(&self, tx: &mut Tx, o: &Order) -> Result<(), Error> {
        let sql = format!(
            "insert into orders ({ORDER_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15)"
        );
        query(
            sqlx::AssertSqlSafe(sql),
            (
                o.id.to_string(),
                o.buyer_id.to_string(),
                o.item_id.to_string(),
                o.seller_id.to_string(),
                &o.item_name,
                o.quantity,
                o.unit_price,
                o.amount,
                &o.currency,
                &o.payment,
                &o.status,
                o.reason.as_deref(),
                o.idempotency_key.as_deref(),
                &o.created_at,
                &o.updated_at,
            ),
        )
        .execute(&mut **tx)
        .await
        .on_unique(|| Error::KeyReused)?;
        Ok(())
    }

    /// An order; read inside `tx` when one is held.
    pub async fn order(&self, tx: Option<&mut Tx>, id: Uuid) -> Result<Option<Order>, Error> {
        let sql = format!("select {ORDER_COLUMNS} from orders where id = $1");
        let q = query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),));
        Ok(match tx {
            Some(tx) => q.fetch_optional(&mut **tx).await?,
            None => q.fetch_optional(self.db.pool()).await?,
        })
    }

    /// The buyer's order placed with this Idempotency-Key.
    pub async fn order_by_key(&self, buyer: Uuid, key: &str) -> Result<Option<Order>, Error> {
        let sql = format!(
            "select {ORDER_COLUMNS} from orders where buyer_id = $1 and idempotency_key = $2"
        );
        Ok(query_as(sqlx::AssertSqlSafe(sql), (buyer.to_string(), key))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of orders, newest first: one buyer's, or every order.
    pub async fn orders(
        &self,
        buyer: Option<Uuid>,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Order>, Error> {
        let sql = format!(
            "select {ORDER_COLUMNS} from orders where ($1 = '' or buyer_id = $1) and ($2 = '' or id < $2) \
             order by id desc limit $3"
        );
        let buyer = buyer.map(|b| b.to_string()).unwrap_or_default();
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        Ok(query_as(sqlx::AssertSqlSafe(sql), (buyer, before, limit))
            .fetch_all(self.db.pool())
            .await?)
    }

    /// Moves an order from `from` to `to` (with a reason); false when it was not in `from` — the step happened
    /// already, or another did.
    pub async fn transition(
        &self,
        tx: &mut Tx,
        id: Uuid,
        (from, to): (&str, &str),
        reason: Option<&str>,
    ) -> Result<bool, Error> {
        let done = query(
            "update orders set status = $3, reason = coalesce($4, reason), updated_at = $5 \
             where id = $1 and status = $2",
            (id.to_string(), from, to, reason, agon_db::now_text()),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
