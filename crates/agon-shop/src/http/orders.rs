//! Buying and orders: a buy reserves the stock and places the order in one transaction, then waits a few
//! seconds for the ledger's answer (the saga in `saga`); a retry with the same `Idempotency-Key` answers the same
//! order. Orders are seen by their buyer, their seller and administrators.

use std::time::Duration;

use agon_kit::{AuthUser, IdempotencyKey, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Payment},
    error::Error,
    store::Order,
};

/// How long a buy waits for its payment before answering 202 with the order still pending.
const SETTLE_WAIT: Duration = Duration::from_secs(5);

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(buy))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(refund))
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub buyer_id: Uuid,
    pub item_id: Uuid,
    pub seller_id: Uuid,
    /// The item's name when it was bought.
    pub item_name: String,
    pub quantity: i64,
    /// In minor units, the price when it was bought.
    pub unit_price: i64,
    pub amount: i64,
    pub currency: String,
    /// `wallet` or `account`.
    pub payment: String,
    /// `pending` (waiting for its payment), `completed`, `cancelled` (payment declined: see `reason`),
    /// `refund_pending` or `refunded`.
    pub status: String,
    pub reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            buyer_id: o.buyer_id,
            item_id: o.item_id,
            seller_id: o.seller_id,
            item_name: o.item_name,
            quantity: o.quantity,
            unit_price: o.unit_price,
            amount: o.amount,
            currency: o.currency,
            payment: o.payment,
            status: o.status,
            reason: o.reason,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A buy.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Buy {
    /// 1 to 100 units (default 1; a unique piece: 1).
    pub quantity: Option<i64>,
    /// `wallet` (default: from what you deposited) or `account` (on the club's tab, within your credit limit).
    pub payment: Option<Payment>,
}

/// Buys an item: its units are reserved and its payment taken from your ledger account. Answers once the payment
/// is settled — 201 and the completed order, or 402 `payment_declined` (the order cancelled, the units back on
/// sale) — or after a few seconds 202 with the order still pending (`GET /shop/orders/{id}` follows it). With an
/// `Idempotency-Key`, a retry answers the same order (200) instead of placing another.
#[utoipa::path(post, path = "/shop/items/{id}/buy", tag = "shop", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = Option<Buy>,
    responses((status = 201, body = OrderView), (status = 200, body = OrderView), (status = 202, body = OrderView),
        (status = 402), (status = 404), (status = 409), (status = 422)))]
async fn buy(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    IdempotencyKey(key): IdempotencyKey,
    body: Option<Json<Buy>>,
) -> Result<(StatusCode, Json<OrderView>), Error> {
    let buy = body.map(|Json(b)| b).unwrap_or_default();
    let payment = buy.payment.unwrap_or_default();
    if let Some(key) = &key
        && let Some(o) = state.store.order_by_key(auth.user_id, key).await?
    {
        return replayed(&state, o, (id, buy.quantity.unwrap_or(1), payment)).await;
    }
    let item = state
        .store
        .item(id)
        .await?
        .filter(|i| i.active)
        .ok_or(Error::ItemNotFound(id))?;
    if item.seller_id == auth.user_id {
        return Err(Error::OwnItem);
    }
    let quantity = domain::check_quantity(buy.quantity.unwrap_or(1), item.unique_piece)
        .map_err(|e| Error::invalid_fields(vec![e]))?;
    let now = chrono::Utc::now();
    let order = Order {
        id: Uuid::now_v7(),
        buyer_id: auth.user_id,
        item_id: id,
        seller_id: item.seller_id,
        item_name: item.name.clone(),
        quantity,
        unit_price: item.price,
        amount: item.price * quantity,
        currency: item.currency.clone(),
        payment: payment.name().to_owned(),
        status: "pending".into(),
        reason: None,
        idempotency_key: key.clone(),
        created_at: agon_db::time_text(now),
        updated_at: agon_db::time_text(now),
    };
    let mut tx = state.store.db().begin().await?;
    if !state.store.reserve(&mut tx, id, quantity).await? {
        return Err(Error::SoldOut(item.stock));
    }
    match state.store.insert_order(&mut tx, &order).await {
        // The same key, sent twice at once: the first one placed the order.
        Err(Error::KeyReused) => {
            drop(tx);
            let key = key.as_deref().unwrap_or_default();
            let first = state.store.order_by_key(auth.user_id, key).await?;
            let first = first.ok_or(Error::KeyReused)?;
            return replayed(&state, first, (id, quantity, payment)).await;
        }
        placed => placed?,
    }
    let placed = agon_messages::shop::OrderPlaced {
        order_id: order.id,
        buyer_id: order.buyer_id,
        item_id: id,
        item_name: order.item_name.clone(),
        seller_id: order.seller_id,
        quantity,
        amount: order.amount,
        currency: order.currency.clone(),
        payment: order.payment.clone(),
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &placed).await?;
    tx.commit().await?;
    state.outbox.wake();
    let settled = settle(&state, order.id).await?;
    answer(settled, StatusCode::CREATED)
}

/// The order a retried buy placed the first time, if the retry asks for the same thing.
async fn replayed(
    state: &State,
    o: Order,
    (item, quantity, payment): (Uuid, i64, Payment),
) -> Result<(StatusCode, Json<OrderView>), Error> {
    if (o.item_id, o.quantity, o.payment.as_str()) != (item, quantity, payment.name()) {
        return Err(Error::KeyReused);
    }
    let settled = settle(state, o.id).await?;
    answer(settled, StatusCode::OK)
}

/// The order once its payment is settled, or as it stands after [`SETTLE_WAIT`].
async fn settle(state: &State, id: Uuid) -> Result<Order, Error> {
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    let mut pause = Duration::from_millis(5);
    loop {
        let order = state
            .store
            .order(None, id)
            .await?
            .ok_or(Error::OrderNotFound(id))?;
        if order.status != "pending" || tokio::time::Instant::now() >= deadline {
            return Ok(order);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A buy's answer: `done` for a paid order, 202 while pending, 402 when declined.
fn answer(o: Order, done: StatusCode) -> Result<(StatusCode, Json<OrderView>), Error> {
    match o.status.as_str() {
        "pending" => Ok((StatusCode::ACCEPTED, Json(o.into()))),
        "cancelled" => Err(Error::PaymentDeclined(o.reason.unwrap_or_default())),
        _ => Ok((done, Json(o.into()))),
    }
}

/// Filters of the orders list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderParams {
    /// Administrators: one buyer's orders, or everyone's when absent. Members see their own.
    pub buyer: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Your orders, newest first (administrators: anyone's).
#[utoipa::path(get, path = "/shop/orders", tag = "shop", security(("bearer" = [])), params(OrderParams),
    responses((status = 200, body = Page<OrderView>), (status = 401)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(q): Query<OrderParams>,
) -> Result<Json<Page<OrderView>>, Error> {
    let buyer = if auth.has(Role::Admin) {
        q.buyer
    } else {
        Some(auth.user_id)
    };
    let page = PageParams::new(q.limit, q.cursor);
    let rows = state
        .store
        .orders(buyer, page.after::<Uuid>()?, page.fetch())
        .await?;
    let views = rows.into_iter().map(OrderView::from).collect();
    Ok(Json(page.page(views, |o: &OrderView| o.id)))
}

/// Order `id` as `auth` may see it: its buyer, its seller or an administrator.
async fn visible(state: &State, auth: &AuthUser, id: Uuid) -> Result<Order, Error> {
    match state.store.order(None, id).await? {
        Some(o) if [o.buyer_id, o.seller_id].contains(&auth.user_id) || auth.has(Role::Admin) => {
            Ok(o)
        }
        _ => Err(Error::OrderNotFound(id)),
    }
}

/// One order (its buyer, its seller or an administrator).
#[utoipa::path(get, path = "/shop/orders/{id}", tag = "shop", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = OrderView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<OrderView>, Error> {
    Ok(Json(visible(&state, &auth, id).await?.into()))
}

/// Refunds a completed order (its seller, or an administrator): the ledger gives the payment back, then its units
/// go back on sale. Answers 202 with the order `refund_pending`.
#[utoipa::path(post, path = "/shop/orders/{id}/refund", tag = "shop", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 202, body = OrderView), (status = 403), (status = 404), (status = 409)))]
async fn refund(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<OrderView>), Error> {
    let order = visible(&state, &auth, id).await?;
    if order.seller_id != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NotSeller);
    }
    let mut tx = state.store.db().begin().await?;
    if !state
        .store
        .transition(&mut tx, id, ("completed", "refund_pending"), None)
        .await?
    {
        return Err(Error::NotRefundable);
    }
    let requested = agon_messages::shop::RefundRequested {
        order_id: id,
        buyer_id: order.buyer_id,
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &requested).await?;
    tx.commit().await?;
    state.outbox.wake();
    let order = state
        .store
        .order(None, id)
        .await?
        .ok_or(Error::OrderNotFound(id))?;
    Ok((StatusCode::ACCEPTED, Json(order.into())))
}
