//! HTTP handlers of the notifications service: the member's inbox, preferences and SMS number; sending for staff
//! and broadcasting for administrators; the providers' delivery log for administrators.

use agon_kit::{
    AuthUser, Json, Page, PageParams, Path, Query, Role,
    text::{self, Lines},
};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Channel},
    error::Error,
    send::{Audience, Draft, notify},
    store::{Delivery, Stats, View},
};

/// Most recipients one send may name.
pub const MAX_RECIPIENTS: usize = 1000;

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(get_one, delete_one))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(send))
        .routes(routes!(broadcast))
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(get_contact, put_contact))
        .routes(routes!(deliveries))
        .routes(routes!(stats))
        .routes(routes!(crate::ws::connect))
        .with_state(state)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only unread notifications.
    #[serde(default)]
    pub unread: bool,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/notifications", tag = "notifications", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = Page<View>), (status = 401)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<View>>, Error> {
    let page = PageParams::new(params.limit, params.cursor);
    let before = page.after::<Uuid>()?.map(|id| id.to_string());
    let rows = state
        .store
        .list(auth.user_id, params.unread, before.as_deref(), page.fetch())
        .await?;
    Ok(Json(page.page(rows, |v| v.id)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// How many of the caller's notifications are unread.
#[utoipa::path(get, path = "/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount), (status = 401)))]
async fn unread_count(auth: AuthUser, state: State) -> Result<Json<UnreadCount>, Error> {
    Ok(Json(UnreadCount {
        unread: state.store.unread(auth.user_id).await?,
    }))
}

/// One of the caller's notifications.
#[utoipa::path(get, path = "/notifications/{id}", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = View), (status = 401), (status = 404)))]
async fn get_one(auth: AuthUser, state: State, Path(id): Path<Uuid>) -> Result<Json<View>, Error> {
    Ok(Json(state.store.get(auth.user_id, id).await?))
}

/// Deletes one of the caller's notifications.
#[utoipa::path(delete, path = "/notifications/{id}", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 401), (status = 404)))]
async fn delete_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    if state.store.delete(auth.user_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound)
    }
}

/// Marks one notification read (again: keeps the first read time).
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = View), (status = 401), (status = 404)))]
async fn mark_read(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<View>, Error> {
    if !state
        .store
        .mark_read(auth.user_id, id, &agon_db::now_text())
        .await?
    {
        return Err(Error::NotFound);
    }
    Ok(Json(state.store.get(auth.user_id, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Updated {
    pub updated: u64,
}

/// Marks every unread notification of the caller read.
#[utoipa::path(post, path = "/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Updated), (status = 401)))]
async fn mark_all_read(auth: AuthUser, state: State) -> Result<Json<Updated>, Error> {
    Ok(Json(Updated {
        updated: state
            .store
            .mark_all_read(auth.user_id, &agon_db::now_text())
            .await?,
    }))
}

/// A message from staff to members.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// 1 to 1000 members.
    pub user_ids: Vec<Uuid>,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// Free-form data for the client (at most 4 KiB as JSON).
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// Default `["in_app"]`; members' preferences still apply.
    pub channels: Option<Vec<Channel>>,
    /// Merge bursts with this key into one external message per member and digest window.
    pub digest_key: Option<String>,
}

/// A message to every member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// Default `["in_app"]`; members' preferences still apply.
    pub channels: Option<Vec<Channel>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sent {
    /// The notification's id, the same for every recipient.
    pub id: Uuid,
    pub recipients: usize,
}

/// Sends a message to members (staff: admin, trainer or coach).
#[utoipa::path(post, path = "/notifications/send", tag = "notifications", security(("bearer" = [])),
    request_body = SendRequest,
    responses((status = 202, body = Sent), (status = 401), (status = 403), (status = 422)))]
async fn send(
    auth: AuthUser,
    state: State,
    Json(body): Json<SendRequest>,
) -> Result<(StatusCode, Json<Sent>), Error> {
    if ![Role::Admin, Role::Trainer, Role::Coach]
        .iter()
        .any(|r| auth.has(*r))
    {
        return Err(agon_kit::auth::AuthError::MissingRole(Role::Trainer).into());
    }
    if body.user_ids.is_empty() || body.user_ids.len() > MAX_RECIPIENTS {
        return Err(Error::invalid("user_ids", "must name 1 to 1000 members"));
    }
    if let Some(key) = &body.digest_key
        && (key.is_empty() || key.len() > 100)
    {
        return Err(Error::invalid("digest_key", "must be 1 to 100 characters"));
    }
    if let Some(key) = &body.digest_key {
        text::check("digest_key", key, Lines::Single)
            .map_err(|e| Error::invalid_fields(vec![e]))?;
    }
    let known = state.store.known(&body.user_ids).await?;
    let unknown: Vec<Uuid> = body
        .user_ids
        .iter()
        .filter(|u| !known.contains(u))
        .copied()
        .collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownRecipients(unknown));
    }
    let draft = draft(
        "message",
        body.title,
        body.body,
        body.link,
        body.data,
        body.channels,
        body.digest_key,
        auth.user_id,
    )?;
    let sent = deliver(&state, Audience::Users(body.user_ids), draft).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// Sends a message to every member (administrators).
#[utoipa::path(post, path = "/notifications/broadcast", tag = "notifications", security(("bearer" = [])),
    request_body = BroadcastRequest,
    responses((status = 202, body = Sent), (status = 401), (status = 403), (status = 422)))]
async fn broadcast(
    auth: AuthUser,
    state: State,
    Json(body): Json<BroadcastRequest>,
) -> Result<(StatusCode, Json<Sent>), Error> {
    auth.require(Role::Admin)?;
    let draft = draft(
        "announcement",
        body.title,
        body.body,
        body.link,
        body.data,
        body.channels,
        None,
        auth.user_id,
    )?;
    let sent = deliver(&state, Audience::Everyone, draft).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

#[allow(clippy::too_many_arguments)]
fn draft(
    kind: &str,
    title: String,
    body: String,
    link: Option<String>,
    data: Option<serde_json::Value>,
    channels: Option<Vec<Channel>>,
    digest_key: Option<String>,
    sender: Uuid,
) -> Result<Draft, Error> {
    let title = title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::invalid("title", "must be 1 to 200 characters"));
    }
    if body.trim().is_empty() || body.chars().count() > 5000 {
        return Err(Error::invalid("body", "must be 1 to 5000 characters"));
    }
    if link
        .as_ref()
        .is_some_and(|l| l.is_empty() || l.len() > 2000)
    {
        return Err(Error::invalid("link", "must be 1 to 2000 characters"));
    }
    // The title becomes a mail subject and a push heading, the body a mail body: no controls (a line feed
    // in the body only), no bidi overrides (`agon_kit::text`).
    for (field, value, lines) in [
        ("title", Some(title.as_str()), Lines::Single),
        ("body", Some(body.as_str()), Lines::Multi),
        ("link", link.as_deref(), Lines::Single),
    ] {
        if let Some(value) = value {
            text::check(field, value, lines).map_err(|e| Error::invalid_fields(vec![e]))?;
        }
    }
    let mut data = data.unwrap_or_else(|| serde_json::json!({}));
    if !data.is_object() || data.to_string().len() > 4096 {
        return Err(Error::invalid(
            "data",
            "must be a JSON object of at most 4 KiB",
        ));
    }
    data["sender"] = sender.to_string().into();
    let channels = channels.unwrap_or_else(|| vec![Channel::InApp]);
    if channels.is_empty() {
        return Err(Error::invalid("channels", "must name at least one channel"));
    }
    Ok(Draft {
        id: Uuid::now_v7(),
        kind: domain::kind(kind).ok_or_else(|| anyhow::anyhow!("kind {kind} missing"))?,
        title,
        body,
        link,
        data,
        channels,
        digest_key,
    })
}

async fn deliver(state: &State, audience: Audience, draft: Draft) -> Result<Sent, Error> {
    let mut tx = state.store.db().begin().await?;
    let (push, recipients) = notify(state, &mut tx, &audience, &draft).await?;
    tx.commit().await?;
    if let Some(push) = push {
        state.hub.publish(push).await;
    }
    state.wake.notify_one();
    state.mail.wake();
    Ok(Sent {
        id: draft.id,
        recipients,
    })
}

/// One preference: whether `type` notifications go to `channel`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preference {
    #[serde(rename = "type")]
    pub kind: String,
    pub channel: Channel,
    pub enabled: bool,
    /// Security notices ignore opt-outs (read-only).
    #[serde(default, skip_deserializing)]
    pub critical: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub items: Vec<Preference>,
}

/// The caller's effective preferences: every notification type × channel.
#[utoipa::path(get, path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 401)))]
async fn get_preferences(auth: AuthUser, state: State) -> Result<Json<Preferences>, Error> {
    let stored = state.store.preferences(auth.user_id).await?;
    let mut items = Vec::new();
    for kind in domain::KINDS {
        for channel in Channel::ALL {
            let default = kind.channels.contains(&channel);
            let enabled = if kind.critical {
                default
            } else {
                stored
                    .iter()
                    .find(|(k, c, _)| k == kind.name && c == channel.as_str())
                    .map_or(default, |(_, _, e)| *e)
            };
            items.push(Preference {
                kind: kind.name.to_owned(),
                channel,
                enabled,
                critical: kind.critical,
            });
        }
    }
    Ok(Json(Preferences { items }))
}

/// Changes some of the caller's preferences; security notices cannot be turned off.
#[utoipa::path(put, path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 401), (status = 422)))]
async fn put_preferences(
    auth: AuthUser,
    state: State,
    Json(body): Json<Preferences>,
) -> Result<Json<Preferences>, Error> {
    if body.items.len() > domain::KINDS.len() * Channel::ALL.len() {
        return Err(Error::invalid("items", "too many items"));
    }
    let mut choices = Vec::with_capacity(body.items.len());
    for (i, item) in body.items.iter().enumerate() {
        let Some(kind) = domain::kind(&item.kind) else {
            return Err(Error::invalid(
                &format!("items[{i}].type"),
                "unknown notification type",
            ));
        };
        if kind.critical && !item.enabled {
            return Err(Error::invalid(
                &format!("items[{i}].enabled"),
                "security notices cannot be turned off",
            ));
        }
        choices.push((kind.name, item.channel.as_str(), item.enabled));
    }
    state.store.set_preferences(auth.user_id, &choices).await?;
    get_preferences(auth, state).await
}

/// Where SMS notifications go.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// E.164, such as `+34600111222`; `null` removes it.
    pub phone: Option<String>,
}

/// The caller's SMS number.
#[utoipa::path(get, path = "/notifications/contact", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Contact), (status = 401), (status = 404)))]
async fn get_contact(auth: AuthUser, state: State) -> Result<Json<Contact>, Error> {
    let phone = state
        .store
        .phone(auth.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Json(Contact { phone }))
}

/// Sets or removes the caller's SMS number.
#[utoipa::path(put, path = "/notifications/contact", tag = "notifications", security(("bearer" = [])),
    request_body = Contact,
    responses((status = 200, body = Contact), (status = 401), (status = 404), (status = 422)))]
async fn put_contact(
    auth: AuthUser,
    state: State,
    Json(body): Json<Contact>,
) -> Result<Json<Contact>, Error> {
    if let Some(phone) = &body.phone {
        let digits = phone.strip_prefix('+').unwrap_or("");
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(
                "phone",
                "must be in E.164 form, such as +34600111222",
            ));
        }
    }
    if !state
        .store
        .set_phone(auth.user_id, body.phone.as_deref())
        .await?
    {
        return Err(Error::NotFound);
    }
    Ok(Json(body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// `pending`, `sent` or `failed`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Messages handed to the SMS and push providers, newest first (administrators).
#[utoipa::path(get, path = "/notifications/admin/deliveries", tag = "notifications", security(("bearer" = [])),
    params(DeliveryParams), responses((status = 200, body = Page<Delivery>), (status = 401), (status = 403)))]
async fn deliveries(
    auth: AuthUser,
    state: State,
    Query(params): Query<DeliveryParams>,
) -> Result<Json<Page<Delivery>>, Error> {
    auth.require(Role::Admin)?;
    if let Some(status) = &params.status
        && !["pending", "sent", "failed"].contains(&status.as_str())
    {
        return Err(Error::invalid("status", "must be pending, sent or failed"));
    }
    let page = PageParams::new(params.limit, params.cursor);
    let before = page.after::<Uuid>()?.map(|id| id.to_string());
    let rows = state
        .store
        .deliveries(params.status.as_deref(), before.as_deref(), page.fetch())
        .await?;
    Ok(Json(page.page(rows, |d| d.id)))
}

/// Counts over every member's notifications and the providers' deliveries (administrators).
#[utoipa::path(get, path = "/notifications/admin/stats", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Stats), (status = 401), (status = 403)))]
async fn stats(auth: AuthUser, state: State) -> Result<Json<Stats>, Error> {
    auth.require(Role::Admin)?;
    Ok(Json(state.store.stats().await?))
}
