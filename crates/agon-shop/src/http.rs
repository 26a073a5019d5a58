//! HTTP handlers of the shop: items on sale (read by anyone, changed by their seller or an administrator); buying
//! and orders in `orders`.

mod orders;

use agon_kit::{AuthUser, Json, MaybeAuthUser, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Edit, NewItem},
    error::Error,
    store::{Item, ItemFilter},
};

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, edit, withdraw))
        .merge(orders::router())
        .with_state(state)
}

/// An item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub id: Uuid,
    pub seller_id: Uuid,
    /// The seller's name when the item was put on sale (their display name, else login name, else the local
    /// part of their email); empty when unknown.
    pub seller_name: String,
    pub name: String,
    pub description: String,
    /// In minor units (cents).
    pub price: i64,
    pub currency: String,
    /// Units left.
    pub stock: i64,
    /// A unique piece: one unit, sold out once bought.
    pub unique: bool,
    pub images: Vec<String>,
    /// On sale; false once withdrawn (its seller and administrators still see it).
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Item> for ItemView {
    fn from(i: Item) -> Self {
        Self {
            images: i.images(),
            id: i.id,
            seller_id: i.seller_id,
            seller_name: i.seller_name,
            name: i.name,
            description: i.description,
            price: i.price,
            currency: i.currency,
            stock: i.stock,
            unique: i.unique_piece,
            active: i.active,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// Filters of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// One seller's items.
    pub seller: Option<Uuid>,
    /// The items of sellers of this name.
    pub seller_name: Option<String>,
    /// Items whose name holds this text (any case), 1 to 100 characters.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Puts an item on sale: you are its seller.
#[utoipa::path(post, path = "/shop/items", tag = "shop", security(("bearer" = [])), request_body = NewItem,
    responses((status = 201, body = ItemView), (status = 401), (status = 422)))]
async fn create(
    auth: AuthUser,
    state: State,
    Json(body): Json<NewItem>,
) -> Result<(StatusCode, Json<ItemView>), Error> {
    let draft = domain::check(body, &state.currency).map_err(Error::invalid_fields)?;
    let id = Uuid::now_v7();
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    (state.store)
        .insert_item(
            &mut tx,
            (id, auth.user_id),
            &draft,
            &agon_db::time_text(now),
        )
        .await?;
    let added = agon_messages::shop::ItemAdded {
        item_id: id,
        seller_id: auth.user_id,
        name: draft.name,
        price: draft.price,
        currency: draft.currency,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &added).await?;
    tx.commit().await?;
    state.outbox.wake();
    let item = state.store.item(id).await?.ok_or(Error::ItemNotFound(id))?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// The items on sale, newest first (no token needed).
#[utoipa::path(get, path = "/shop/items", tag = "shop", params(ListParams),
    responses((status = 200, body = Page<ItemView>), (status = 422)))]
async fn list(state: State, Query(q): Query<ListParams>) -> Result<Json<Page<ItemView>>, Error> {
    let text = q.q.map(|t| t.trim().to_lowercase());
    if text
        .as_ref()
        .is_some_and(|t| t.is_empty() || t.chars().count() > 100)
    {
        return Err(Error::invalid("q", "must be 1 to 100 characters"));
    }
    let page = PageParams::new(q.limit, q.cursor);
    let filter = ItemFilter {
        seller: q.seller,
        seller_name: q.seller_name,
        text,
    };
    let rows = state
        .store
        .items(&filter, page.after::<Uuid>()?, page.fetch())
        .await?;
    let views = rows.into_iter().map(ItemView::from).collect();
    Ok(Json(page.page(views, |i: &ItemView| i.id)))
}

/// Item `id` as `viewer` may see it: on sale for anyone, withdrawn only for its seller and administrators.
async fn visible(state: &State, viewer: Option<&AuthUser>, id: Uuid) -> Result<Item, Error> {
    let item = state.store.item(id).await?.ok_or(Error::ItemNotFound(id))?;
    let privileged = viewer.is_some_and(|v| v.user_id == item.seller_id || v.has(Role::Admin));
    if item.active || privileged {
        Ok(item)
    } else {
        Err(Error::ItemNotFound(id))
    }
}

/// Item `id`, for a change by its seller or an administrator.
async fn sold_by(state: &State, auth: &AuthUser, id: Uuid) -> Result<Item, Error> {
    let item = visible(state, Some(auth), id).await?;
    if item.seller_id != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NotSeller);
    }
    Ok(item)
}

/// One item (no token needed while it is on sale).
#[utoipa::path(get, path = "/shop/items/{id}", tag = "shop", params(("id" = Uuid, Path)),
    responses((status = 200, body = ItemView), (status = 404)))]
async fn get_one(
    MaybeAuthUser(viewer): MaybeAuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<ItemView>, Error> {
    Ok(Json(visible(&state, viewer.as_ref(), id).await?.into()))
}

/// Changes an item (its seller, or an administrator): the fields sent replace the item's. Its currency stays.
#[utoipa::path(patch, path = "/shop/items/{id}", tag = "shop", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Edit,
    responses((status = 200, body = ItemView), (status = 403), (status = 404), (status = 422)))]
async fn edit(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Edit>,
) -> Result<Json<ItemView>, Error> {
    let item = sold_by(&state, &auth, id).await?;
    let draft = domain::edited(item.draft(), body).map_err(Error::invalid_fields)?;
    state
        .store
        .update_item(id, &draft, &agon_db::now_text())
        .await?;
    let item = state.store.item(id).await?.ok_or(Error::ItemNotFound(id))?;
    Ok(Json(item.into()))
}

/// Withdraws an item from sale (its seller, or an administrator); the orders that bought it keep it.
#[utoipa::path(delete, path = "/shop/items/{id}", tag = "shop", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn withdraw(auth: AuthUser, state: State, Path(id): Path<Uuid>) -> Result<StatusCode, Error> {
    let item = sold_by(&state, &auth, id).await?;
    if !item.active {
        return Err(Error::ItemNotFound(id));
    }
    state.store.withdraw(id, &agon_db::now_text()).await?;
    Ok(StatusCode::NO_CONTENT)
}
