//! Members among members: follows, nearby search, preferences, push devices.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, text::Lines};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::PublicProfile;
use crate::{State, domain, error::Error};

/// Members inside the box are fetched up to this many before exact distances are computed.
const NEARBY_CANDIDATES: i64 = 5000;
const MAX_RADIUS_KM: f64 = 500.0;
const MAX_PREFERENCES_BYTES: usize = 8 * 1024;
/// Devices a member may have registered at once: enough for every phone, tablet and browser they use, few enough
/// that a fan-out to one member stays small. Registering one more removes the least recently seen.
const MAX_DEVICES: i64 = 50;

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(follow, unfollow))
        .routes(routes!(followers))
        .routes(routes!(following))
        .routes(routes!(nearby))
        .routes(routes!(set_location))
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(list_devices, register_device))
        .routes(routes!(delete_device))
}

/// A member and how far away they are.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyMember {
    #[serde(flatten)]
    pub profile: PublicProfile,
    pub distance_km: f64,
}

/// Where to search around.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NearbyParams {
    /// Radius in km, up to 500.
    pub radius_km: f64,
    /// The centre; both or neither. Default: the caller's own location.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The caller's location, or `null` to forget it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

/// A device for push notifications.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    /// The push token from the platform (FCM, APNs, Web Push endpoint…).
    pub token: String,
    /// `ios`, `android` or `web`.
    pub platform: String,
}

/// A registered device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub token: String,
    pub platform: String,
    pub created_at: String,
    pub last_seen_at: String,
}

/// Follows a member (idempotent).
#[utoipa::path(put, path = "/users/{id}/follow", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404), (status = 409)))]
async fn follow(auth: AuthUser, state: State, Path(id): Path<Uuid>) -> Result<StatusCode, Error> {
    if id == auth.user_id {
        return Err(Error::Conflict(
            "cannot_follow_self",
            "members cannot follow themselves",
        ));
    }
    state.store.profile(id).await?.ok_or(Error::NotFound(id))?;
    let follower = state
        .store
        .profile(auth.user_id)
        .await?
        .ok_or(Error::NotFound(auth.user_id))?;
    let mut tx = state.store.db().begin().await?;
    if state
        .store
        .follow(&mut tx, auth.user_id, id, &agon_db::now_text())
        .await?
    {
        let event = agon_messages::users::UserFollowed {
            follower_id: auth.user_id,
            follower_name: follower.display_name,
            followee_id: id,
            at: chrono::Utc::now(),
        };
        agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Stops following a member (idempotent).
#[utoipa::path(delete, path = "/users/{id}/follow", tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204)))]
async fn unfollow(auth: AuthUser, state: State, Path(id): Path<Uuid>) -> Result<StatusCode, Error> {
    state.store.unfollow(auth.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who follows a member.
#[utoipa::path(get, path = "/users/{id}/followers", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageParams), responses((status = 200, body = Page<PublicProfile>), (status = 404)))]
async fn followers(
    _auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<PublicProfile>>, Error> {
    follow_page(&state, id, true, &page).await
}

/// Whom a member follows.
#[utoipa::path(get, path = "/users/{id}/following", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageParams), responses((status = 200, body = Page<PublicProfile>), (status = 404)))]
async fn following(
    _auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<PublicProfile>>, Error> {
    follow_page(&state, id, false, &page).await
}

async fn follow_page(
    state: &State,
    id: Uuid,
    followers: bool,
    page: &PageParams,
) -> Result<Json<Page<PublicProfile>>, Error> {
    state.store.profile(id).await?.ok_or(Error::NotFound(id))?;
    let after = super::cursor(page)?;
    let rows = state
        .store
        .follow_list(id, followers, &after, page.fetch())
        .await?;
    let views: Vec<PublicProfile> = rows.into_iter().map(PublicProfile::from).collect();
    Ok(Json(page.page(views, |p| p.fields.id)))
}

/// Active members within a radius of the caller (or of a point), nearest first.
#[utoipa::path(get, path = "/users/nearby", tag = "users", security(("bearer" = [])), params(NearbyParams),
    responses((status = 200, body = Page<NearbyMember>), (status = 422)))]
async fn nearby(
    auth: AuthUser,
    state: State,
    Query(params): Query<NearbyParams>,
) -> Result<Json<Page<NearbyMember>>, Error> {
    if !(params.radius_km > 0.0 && params.radius_km <= MAX_RADIUS_KM) {
        return Err(Error::invalid(
            "radius_km",
            &format!("must be more than 0 and at most {MAX_RADIUS_KM}"),
        ));
    }
    let center = match (params.latitude, params.longitude) {
        (Some(lat), Some(lon)) => {
            domain::coordinates(lat, lon).map_err(|e| Error::invalid_fields(vec![e]))?
        }
        (None, None) => state.store.location(auth.user_id).await?.ok_or_else(|| {
            Error::invalid(
                "latitude",
                "give a point, or set your location first (PUT /users/me/location)",
            )
        })?,
        _ => {
            return Err(Error::invalid(
                "longitude",
                "latitude and longitude go together",
            ));
        }
    };
    let page = PageParams::new(params.limit, params.cursor);
    let after = page.after::<(f64, Uuid)>()?;
    let (lat, lon) = domain::bounding_box(center, params.radius_km);
    let mut found: Vec<NearbyMember> = state
        .store
        .in_box(lat, lon, NEARBY_CANDIDATES)
        .await?
        .into_iter()
        .filter(|(p, _, _)| p.user_id != auth.user_id)
        .map(|(p, la, lo)| (domain::distance_km(center, (la, lo)), p))
        .filter(|(d, _)| *d <= params.radius_km)
        .map(|(d, p)| NearbyMember {
            profile: p.into(),
            distance_km: (d * 1000.0).round() / 1000.0,
        })
        .collect();
    found.sort_by(|a, b| {
        a.distance_km
            .total_cmp(&b.distance_km)
            .then(a.profile.fields.id.cmp(&b.profile.fields.id))
    });
    if let Some((d, id)) = after {
        found.retain(|m| (m.distance_km, m.profile.fields.id) > (d, id));
    }
    found.truncate(page.fetch() as usize);
    Ok(Json(
        page.page(found, |m| (m.distance_km, m.profile.fields.id)),
    ))
}

/// Sets the caller's location (used by nearby searches).
#[utoipa::path(put, path = "/users/me/location", tag = "users", security(("bearer" = [])), request_body = Option<Location>,
    responses((status = 204), (status = 422)))]
async fn set_location(
    auth: AuthUser,
    state: State,
    Json(body): Json<Option<Location>>,
) -> Result<StatusCode, Error> {
    let at = body
        .map(|l| domain::coordinates(l.latitude, l.longitude))
        .transpose()
        .map_err(|e| Error::invalid_fields(vec![e]))?;
    state
        .store
        .set_location(auth.user_id, at, &agon_db::now_text())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's preferences, a JSON object.
#[utoipa::path(get, path = "/users/me/preferences", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Object)))]
async fn get_preferences(auth: AuthUser, state: State) -> Result<Json<serde_json::Value>, Error> {
    let raw = state
        .store
        .preferences(auth.user_id)
        .await?
        .ok_or(Error::NotFound(auth.user_id))?;
    Ok(Json(
        serde_json::from_str(&raw).map_err(anyhow::Error::from)?,
    ))
}

/// Replaces the caller's preferences: a JSON object of at most 8 KiB and 100 keys.
#[utoipa::path(put, path = "/users/me/preferences", tag = "users", security(("bearer" = [])), request_body = Object,
    responses((status = 200, body = Object), (status = 422)))]
async fn put_preferences(
    auth: AuthUser,
    state: State,
    Json(body): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<serde_json::Value>, Error> {
    let json = serde_json::to_string(&body).map_err(anyhow::Error::from)?;
    if json.len() > MAX_PREFERENCES_BYTES || body.len() > 100 {
        return Err(Error::invalid(
            "",
            "preferences hold at most 8 KiB and 100 keys",
        ));
    }
    preference_keys("", &body)?;
    state
        .store
        .preferences(auth.user_id)
        .await?
        .ok_or(Error::NotFound(auth.user_id))?;
    state
        .store
        .set_preferences(auth.user_id, &json, &agon_db::now_text())
        .await?;
    Ok(Json(serde_json::Value::Object(body)))
}

/// The caller's registered devices, oldest registration first.
#[utoipa::path(get, path = "/users/me/devices", tag = "users", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<DeviceView>), (status = 400, description = "invalid_cursor"), (status = 401)))]
async fn list_devices(
    auth: AuthUser,
    state: State,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<DeviceView>>, Error> {
    let rows = state
        .store
        .devices(auth.user_id, page.after()?, page.fetch())
        .await?;
    let page = page.page(rows, |d| d.id);
    Ok(Json(Page {
        items: page
            .items
            .into_iter()
            .map(|d| DeviceView {
                token: d.token,
                platform: d.platform,
                created_at: d.created_at,
                last_seen_at: d.last_seen_at,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Registers a device for push notifications; again by the same member, refreshes it. A token registered to
/// another member is refused: that member removes it first (or their account is deleted). Beyond
/// `MAX_DEVICES`, the member's least recently seen device is removed, announced as a deletion is.
#[utoipa::path(post, path = "/users/me/devices", tag = "users", security(("bearer" = [])), request_body = RegisterDevice,
    responses((status = 204), (status = 409, description = "device_taken"), (status = 422)))]
async fn register_device(
    auth: AuthUser,
    state: State,
    Json(body): Json<RegisterDevice>,
) -> Result<StatusCode, Error> {
    let token = body.token.trim();
    if token.is_empty() || token.len() > 4096 {
        return Err(Error::invalid("token", "must be 1 to 4096 characters"));
    }
    agon_kit::text::check("token", token, Lines::Single)
        .map_err(|e| Error::invalid_fields(vec![e]))?;
    if !["ios", "android", "web"].contains(&body.platform.as_str()) {
        return Err(Error::invalid("platform", "must be ios, android or web"));
    }
    let mut tx = state.store.db().begin().await?;
    let now = agon_db::now_text();
    if !state
        .store
        .put_device(&mut tx, auth.user_id, token, &body.platform, &now)
        .await?
    {
        return Err(Error::Conflict(
            "device_taken",
            "this device is registered to another account, which must remove it first",
        ));
    }
    let event = agon_messages::users::DeviceRegistered {
        user_id: auth.user_id,
        token: token.to_owned(),
        platform: body.platform.clone(),
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    for old in state
        .store
        .devices_beyond(&mut tx, auth.user_id, token, MAX_DEVICES)
        .await?
    {
        remove_device(&state, &mut tx, auth.user_id, old).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Forgets one of the caller's devices.
#[utoipa::path(delete, path = "/users/me/devices/{token}", tag = "users", security(("bearer" = [])),
    params(("token" = String, Path)), responses((status = 204), (status = 404)))]
async fn delete_device(
    auth: AuthUser,
    state: State,
    Path(token): Path<String>,
) -> Result<StatusCode, Error> {
    let mut tx = state.store.db().begin().await?;
    if !remove_device(&state, &mut tx, auth.user_id, token).await? {
        return Err(Error::DeviceNotFound);
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Removes one of `user_id`'s devices and announces it in `tx`; false if they have no such device (then nothing
/// is announced: a concurrent removal already did).
async fn remove_device(
    state: &State,
    tx: &mut agon_db::Tx,
    user_id: Uuid,
    token: String,
) -> Result<bool, Error> {
    if !state.store.delete_device(tx, user_id, &token).await? {
        return Ok(false);
    }
    let event = agon_messages::users::DeviceRemoved {
        user_id,
        token,
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
    Ok(true)
}

/// Preference keys are identifiers a client switches on: each, at any depth, is held to `agon_kit::text`. A
/// refused key is reported on the object holding it (`path`), so the error does not echo it.
fn preference_keys(
    path: &str,
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), Error> {
    for (key, value) in object {
        agon_kit::text::check(path, key, Lines::Single)
            .map_err(|e| Error::invalid_fields(vec![e]))?;
        if let serde_json::Value::Object(inner) = value {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            preference_keys(&field, inner)?;
        }
    }
    Ok(())
}
