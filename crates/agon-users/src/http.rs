//! HTTP handlers and DTOs of the users service.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, text::Lines};
use agon_messages::auth::InitialProfile;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Profile, ProfileEdit},
    error::Error,
    store::Filter,
};

mod admin;
mod social;

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me, delete_me))
        .routes(routes!(get_user))
        .routes(routes!(search_users))
        .merge(admin::router())
        .merge(social::router())
        .with_state(state)
}

/// What every member may see of a profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileFields {
    pub id: Uuid,
    pub display_name: String,
    pub bio: String,
    pub city: Option<String>,
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub roles: Vec<String>,
}

/// The caller's own profile, with private fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyProfile {
    #[serde(flatten)]
    pub fields: ProfileFields,
    /// Absent (`null`) for an account opened with a username alone.
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Where the member said they are (`PUT /users/me/location`), on `GET /users/me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

/// What any member sees of another.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfile {
    #[serde(flatten)]
    pub fields: ProfileFields,
    /// How many members follow this one (on the single-profile view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followers: Option<i64>,
    /// How many members this one follows (on the single-profile view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<i64>,
}

/// A partial update of the caller's profile; `null` clears an optional field. Roles and account state are
/// not editable here: such fields are rejected as unknown.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
}

/// The caller's profile.
#[utoipa::path(get, path = "/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = MyProfile), (status = 401), (status = 404)))]
async fn get_me(auth: AuthUser, state: State) -> Result<Json<MyProfile>, Error> {
    let profile = state
        .store
        .profile(auth.user_id)
        .await?
        .ok_or(Error::NotFound(auth.user_id))?;
    let mut mine = MyProfile::from(profile);
    if let Some((latitude, longitude)) = state.store.location(auth.user_id).await? {
        (mine.latitude, mine.longitude) = (Some(latitude), Some(longitude));
    }
    Ok(Json(mine))
}

/// Edits the caller's profile.
#[utoipa::path(patch, path = "/users/me", tag = "users", security(("bearer" = [])), request_body = UpdateProfile,
    responses((status = 200, body = MyProfile), (status = 401), (status = 422)))]
async fn update_me(
    auth: AuthUser,
    state: State,
    Json(body): Json<UpdateProfile>,
) -> Result<Json<MyProfile>, Error> {
    let edit = validate(body)?;
    let mut profile = state
        .store
        .profile(auth.user_id)
        .await?
        .ok_or(Error::NotFound(auth.user_id))?;
    profile.apply(edit);
    profile.updated_at = agon_db::now_text();
    state.store.update_profile(&profile).await?;
    Ok(Json(profile.into()))
}

/// Another member's public profile.
#[utoipa::path(get, path = "/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = PublicProfile), (status = 401), (status = 404)))]
async fn get_user(
    _auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<PublicProfile>, Error> {
    let profile = state.store.profile(id).await?.ok_or(Error::NotFound(id))?;
    let (followers, following) = state.store.follow_counts(id).await?;
    Ok(Json(PublicProfile {
        followers: Some(followers),
        following: Some(following),
        ..profile.into()
    }))
}

/// A member search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Part of the display name, case-insensitive.
    pub q: Option<String>,
    /// City, case-insensitive.
    pub city: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Finds active members by name and city.
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])), params(SearchParams),
    responses((status = 200, body = Page<PublicProfile>), (status = 401)))]
async fn search_users(
    _auth: AuthUser,
    state: State,
    Query(params): Query<SearchParams>,
) -> Result<Json<Page<PublicProfile>>, Error> {
    let page = PageParams::new(params.limit, params.cursor);
    let after = cursor(&page)?;
    let filter = Filter {
        name: params.q.as_deref(),
        city: params.city.as_deref(),
        status: Some(domain::Status::Active),
        login: None,
    };
    let rows = state.store.search(&filter, &after, page.fetch()).await?;
    let views: Vec<PublicProfile> = rows.into_iter().map(PublicProfile::from).collect();
    Ok(Json(page.page(views, |p| p.fields.id)))
}

/// Deletes the caller's account: every service removes or anonymises its data on the `user_deleted` event.
#[utoipa::path(delete, path = "/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 204), (status = 401)))]
async fn delete_me(auth: AuthUser, state: State) -> Result<StatusCode, Error> {
    crate::decisions::delete_user(&state, auth.user_id, auth.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The position after which a page of profiles (in user id order) starts: a user id, or the start.
fn cursor(page: &PageParams) -> Result<String, Error> {
    Ok(page
        .after::<Uuid>()?
        .map(|id| id.to_string())
        .unwrap_or_default())
}

impl From<Profile> for PublicProfile {
    fn from(p: Profile) -> Self {
        Self {
            fields: p.into(),
            followers: None,
            following: None,
        }
    }
}

impl From<Profile> for ProfileFields {
    fn from(p: Profile) -> Self {
        Self {
            id: p.user_id,
            display_name: p.display_name,
            bio: p.bio,
            city: p.city,
            country: p.country,
            avatar_url: p.avatar_url,
            roles: p.roles,
        }
    }
}

fn validate(body: UpdateProfile) -> Result<ProfileEdit, Error> {
    const PLACE_MAX: usize = InitialProfile::PLACE_MAX_CHARS;
    let mut errors = Vec::new();
    let display_name = body
        .display_name
        .map(|v| domain::text("display_name", v, 100, Lines::Single, &mut errors));
    if display_name.as_deref() == Some("") {
        errors.push(agon_kit::FieldError {
            field: "display_name".into(),
            message: "must not be empty".into(),
        });
    }
    let edit = ProfileEdit {
        display_name,
        bio: body.bio.map(|v| {
            domain::text(
                "bio",
                v,
                InitialProfile::BIO_MAX_CHARS,
                Lines::Multi,
                &mut errors,
            )
        }),
        city: body
            .city
            .map(|v| v.map(|v| domain::text("city", v, PLACE_MAX, Lines::Single, &mut errors))),
        country: body
            .country
            .map(|v| v.map(|v| domain::text("country", v, PLACE_MAX, Lines::Single, &mut errors))),
        avatar_url: body
            .avatar_url
            .map(|v| v.map(|v| domain::avatar_url(v, &mut errors))),
    };
    if errors.is_empty() {
        Ok(edit)
    } else {
        Err(Error::invalid_fields(errors))
    }
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl From<Profile> for MyProfile {
    fn from(p: Profile) -> Self {
        Self {
            email: p.email.clone(),
            username: p.username.clone(),
            created_at: p.created_at.clone(),
            updated_at: p.updated_at.clone(),
            latitude: None,
            longitude: None,
            fields: p.into(),
        }
    }
}
