//! HTTP handlers of the ledger: accounts and their balances, deposits and withdrawals, statements; period
//! reports in `report`.

mod report;

use agon_kit::{AuthUser, IdempotencyKey, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    book::{self, Entry},
    domain::{self, Holder, Kind},
    error::Error,
    store::{Account, Transaction, Window},
};

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(mine))
        .routes(routes!(list))
        .routes(routes!(get_one, set_limit))
        .routes(routes!(deposit))
        .routes(routes!(withdraw))
        .routes(routes!(statement))
        .merge(report::router())
        .with_state(state)
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    /// `member`, `club` (what it sold and refunded) or `world` (where deposits come from and withdrawals go).
    pub holder: String,
    /// The member, for a member's account.
    pub owner_id: Option<Uuid>,
    pub currency: String,
    /// In minor units (cents); below zero, what the member owes.
    pub balance: i64,
    /// How far below zero the balance may go when paying on account.
    pub credit_limit: i64,
    /// What may still be paid on account: balance plus credit limit.
    pub available: i64,
    pub created_at: String,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            owner_id: Uuid::try_parse(&a.owner_id).ok(),
            holder: a.kind,
            currency: a.currency,
            available: a.balance.saturating_add(a.credit_limit),
            balance: a.balance,
            credit_limit: a.credit_limit,
            created_at: a.created_at,
        }
    }
}

/// A transaction: money into or out of a member's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    pub id: Uuid,
    pub account_id: Uuid,
    pub kind: Kind,
    /// In minor units, positive; `kind` says which way it went.
    pub amount: i64,
    pub currency: String,
    /// What it paid for (a shop order).
    pub reference: Option<String>,
    pub description: String,
    pub created_by: Uuid,
    pub created_at: String,
}

impl From<Transaction> for TransactionView {
    fn from(t: Transaction) -> Self {
        Self {
            id: t.id,
            account_id: t.account_id,
            kind: Kind::parse(&t.kind).unwrap_or(Kind::Deposit),
            amount: t.amount,
            currency: t.currency,
            reference: t.reference,
            description: t.description,
            created_by: t.created_by,
            created_at: t.created_at,
        }
    }
}

/// Which currency.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CurrencyParams {
    /// ISO 4217 (default: the ledger's currency).
    pub currency: Option<String>,
}

/// The currency asked for, or the ledger's.
fn currency(state: &State, asked: Option<&str>) -> Result<String, Error> {
    domain::check_currency(asked.unwrap_or(&state.config.currency))
        .map_err(|e| Error::invalid_fields(vec![e]))
}

/// Your own account in a currency, opened (empty) at first use.
#[utoipa::path(get, path = "/ledger/accounts/me", tag = "ledger", security(("bearer" = [])),
    params(CurrencyParams), responses((status = 200, body = AccountView), (status = 401), (status = 422)))]
async fn mine(
    auth: AuthUser,
    state: State,
    Query(q): Query<CurrencyParams>,
) -> Result<Json<AccountView>, Error> {
    let currency = currency(&state, q.currency.as_deref())?;
    let mut tx = state.store.db().begin().await?;
    let owner = auth.user_id.to_string();
    let limit = state.config.credit_limit;
    let account = (state.store)
        .account(&mut tx, (Holder::Member, &owner), &currency, limit)
        .await?;
    tx.commit().await?;
    Ok(Json(account.into()))
}

/// Filters of the accounts list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountParams {
    /// One member's accounts.
    pub owner: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Every account, the club's and the world's included (administrators).
#[utoipa::path(get, path = "/ledger/accounts", tag = "ledger", security(("bearer" = [])), params(AccountParams),
    responses((status = 200, body = Page<AccountView>), (status = 403)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(q): Query<AccountParams>,
) -> Result<Json<Page<AccountView>>, Error> {
    auth.require(Role::Admin)?;
    let page = PageParams::new(q.limit, q.cursor);
    let rows = (state.store)
        .accounts(q.owner, page.after::<Uuid>()?, page.fetch())
        .await?;
    let views = rows.into_iter().map(AccountView::from).collect();
    Ok(Json(page.page(views, |a: &AccountView| a.id)))
}

/// Account `id`, for its member or an administrator (anyone else: 404).
pub(crate) async fn visible(state: &State, auth: &AuthUser, id: Uuid) -> Result<Account, Error> {
    let account = state.store.account_by_id(id).await?;
    match account {
        Some(a) if a.owner_id == auth.user_id.to_string() || auth.has(Role::Admin) => Ok(a),
        _ => Err(Error::NotFound(id)),
    }
}

/// One account, with its balance.
#[utoipa::path(get, path = "/ledger/accounts/{id}", tag = "ledger", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AccountView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<AccountView>, Error> {
    Ok(Json(visible(&state, &auth, id).await?.into()))
}

/// A member account's new credit limit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// In minor units, 0 to 1000000000: how far below zero the balance may go when paying on account.
    pub credit_limit: i64,
}

/// Sets how far a member's balance may go below zero when paying on account (administrators).
#[utoipa::path(patch, path = "/ledger/accounts/{id}", tag = "ledger", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Limit,
    responses((status = 200, body = AccountView), (status = 403), (status = 404), (status = 422)))]
async fn set_limit(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Limit>,
) -> Result<Json<AccountView>, Error> {
    auth.require(Role::Admin)?;
    if !(0..=domain::MAX_AMOUNT).contains(&body.credit_limit) {
        return Err(Error::invalid(
            "credit_limit",
            "must be from 0 to 1000000000",
        ));
    }
    if !state.store.set_credit_limit(id, body.credit_limit).await? {
        return Err(Error::NotFound(id));
    }
    Ok(Json(visible(&state, &auth, id).await?.into()))
}

/// Money into or out of a member's account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    /// The member (default: you).
    pub user_id: Option<Uuid>,
    /// In minor units (cents), 1 to 1000000000.
    pub amount: i64,
    /// ISO 4217 (default: the ledger's currency).
    pub currency: Option<String>,
    /// One line, at most 200 characters.
    #[serde(default)]
    pub description: String,
}

/// Records a deposit into a member's account (staff; members into their own where `ledger.member_deposits`).
/// `Idempotency-Key`: a retry answers the first deposit (200) instead of making another.
#[utoipa::path(post, path = "/ledger/deposits", tag = "ledger", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)), request_body = Movement,
    responses((status = 201, body = TransactionView), (status = 200, body = TransactionView), (status = 403),
        (status = 422)))]
async fn deposit(
    auth: AuthUser,
    state: State,
    key: IdempotencyKey,
    Json(body): Json<Movement>,
) -> Result<(StatusCode, Json<TransactionView>), Error> {
    let member = body.user_id.unwrap_or(auth.user_id);
    let own = member == auth.user_id && state.config.member_deposits;
    if !own && !auth.has(Role::Admin) {
        return Err(Error::DepositsByStaff);
    }
    move_money(&state, &auth, key, body, Kind::Deposit).await
}

/// Records a withdrawal from a member's account (the member, or staff): never below zero.
/// `Idempotency-Key`: a retry answers the first withdrawal (200) instead of making another.
#[utoipa::path(post, path = "/ledger/withdrawals", tag = "ledger", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)), request_body = Movement,
    responses((status = 201, body = TransactionView), (status = 200, body = TransactionView), (status = 403),
        (status = 409), (status = 422)))]
async fn withdraw(
    auth: AuthUser,
    state: State,
    key: IdempotencyKey,
    Json(body): Json<Movement>,
) -> Result<(StatusCode, Json<TransactionView>), Error> {
    if body.user_id.is_some_and(|m| m != auth.user_id) {
        auth.require(Role::Admin)?;
    }
    move_money(&state, &auth, key, body, Kind::Withdrawal).await
}

/// Posts a deposit or withdrawal, once per Idempotency-Key: a retry of the same request answers the first
/// transaction (200), another request under the same key 422 `idempotency_key_reused`.
async fn move_money(
    state: &State,
    auth: &AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    body: Movement,
    kind: Kind,
) -> Result<(StatusCode, Json<TransactionView>), Error> {
    let amount = domain::check_amount(body.amount);
    let description = domain::check_description(body.description);
    let currency = currency(state, body.currency.as_deref());
    let (amount, description, currency) = match (amount, description, currency) {
        (Ok(a), Ok(d), Ok(c)) => (a, d, c),
        (a, d, c) => {
            let problems = [a.err(), d.err()].into_iter().flatten();
            return Err(c
                .err()
                .unwrap_or_else(|| Error::invalid_fields(problems.collect())));
        }
    };
    let member = body.user_id.unwrap_or(auth.user_id);
    let entry = Entry {
        kind,
        member,
        amount,
        description: if description.is_empty() {
            kind.name().into()
        } else {
            description
        },
        currency,
        credit: false,
        opening_limit: state.config.credit_limit,
        reference: None,
        key,
        by: auth.user_id,
    };
    let replayed = |t: Transaction| {
        if book::same(&t, &entry) {
            Ok((StatusCode::OK, Json(TransactionView::from(t))))
        } else {
            Err(Error::KeyReused)
        }
    };
    if let Some(key) = &entry.key
        && let Some(t) = state.store.by_key((member, &entry.currency), key).await?
    {
        return replayed(t);
    }
    let mut tx = state.store.db().begin().await?;
    match book::post(&state.store, &mut tx, &entry).await {
        Ok(t) => {
            tx.commit().await?;
            state.outbox.wake();
            Ok((StatusCode::CREATED, Json(t.into())))
        }
        // The same key, sent twice at once: the first one made it.
        Err(Error::KeyReused) => {
            drop(tx);
            let key = entry.key.as_deref().unwrap_or_default();
            match state.store.by_key((member, &entry.currency), key).await? {
                Some(t) => replayed(t),
                None => Err(Error::KeyReused),
            }
        }
        Err(e) => Err(e),
    }
}

/// A statement's window and filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatementParams {
    /// RFC 3339; inclusive (default: the beginning).
    pub from: Option<String>,
    /// RFC 3339; inclusive (default: now).
    pub to: Option<String>,
    /// One kind of transaction only.
    pub kind: Option<Kind>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `from..=to` as stored text; `from` before `to`.
pub(crate) fn window(from: Option<&str>, to: Option<&str>) -> Result<(String, String), Error> {
    let parse = |field: &str, text: &str| {
        chrono::DateTime::parse_from_rfc3339(text.trim())
            .map(|t| agon_db::time_text(t.with_timezone(&chrono::Utc)))
            .map_err(|_| Error::invalid(field, "must be an RFC 3339 instant with an offset"))
    };
    let from = from.map_or(Ok(agon_db::time_text(chrono::DateTime::UNIX_EPOCH)), |f| {
        parse("from", f)
    })?;
    let to = to.map_or(Ok(agon_db::now_text()), |t| parse("to", t))?;
    if from > to {
        return Err(Error::invalid("to", "must not be before from"));
    }
    Ok((from, to))
}

/// An account's transactions in a window, oldest first (its member or an administrator).
#[utoipa::path(get, path = "/ledger/accounts/{id}/transactions", tag = "ledger", security(("bearer" = [])),
    params(("id" = Uuid, Path), StatementParams),
    responses((status = 200, body = Page<TransactionView>), (status = 404), (status = 422)))]
async fn statement(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(q): Query<StatementParams>,
) -> Result<Json<Page<TransactionView>>, Error> {
    let account = visible(&state, &auth, id).await?;
    let (from, to) = window(q.from.as_deref(), q.to.as_deref())?;
    let page = PageParams::new(q.limit, q.cursor);
    let w = Window {
        from: &from,
        to: &to,
        kind: q.kind,
        after: page.after::<(String, Uuid)>()?,
    };
    let rows = state
        .store
        .transactions(account.id, &w, page.fetch())
        .await?;
    let views = rows.into_iter().map(TransactionView::from).collect();
    Ok(Json(page.page(views, |t: &TransactionView| {
        (t.created_at.clone(), t.id)
    })))
}
