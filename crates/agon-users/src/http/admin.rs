//! Administration of accounts over HTTP: listing, approval, bans, roles, deletion (the decisions themselves are
//! in `decisions.rs`).

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use agon_messages::users::RolesChanged;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State, decisions,
    domain::{Profile, Status},
    error::Error,
    store::Filter,
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(count_users))
        .routes(routes!(get_user_admin))
        .routes(routes!(approve_user))
        .routes(routes!(ban_user))
        .routes(routes!(unban_user))
        .routes(routes!(set_roles))
        .routes(routes!(delete_user_by_admin))
}

/// A user as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminView {
    pub id: Uuid,
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub display_name: String,
    pub city: Option<String>,
    pub roles: Vec<String>,
    pub status: Status,
    pub created_at: String,
    pub updated_at: String,
}

/// Filters of the admin listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminListParams {
    pub q: Option<String>,
    /// The exact email or username the account logs in with (without case).
    pub login: Option<String>,
    /// `active`, `pending` or `banned`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A ban.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ban {
    /// Shown to administrators, kept with the account.
    pub reason: Option<String>,
}

/// The complete set of roles an account gets.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    pub roles: Vec<Role>,
}

/// Every account, for administrators; filter by status to find pending trainers and coaches.
#[utoipa::path(get, path = "/users/admin", tag = "users-admin", security(("bearer" = [])), params(AdminListParams),
    responses((status = 200, body = Page<AdminView>), (status = 401), (status = 403)))]
async fn list_users(
    auth: AuthUser,
    state: State,
    Query(params): Query<AdminListParams>,
) -> Result<Json<Page<AdminView>>, Error> {
    auth.require(Role::Admin)?;
    // A blank login would filter nothing: a caller looking one account up must never get another.
    if params.login.as_deref().is_some_and(|l| l.trim().is_empty()) {
        return Err(Error::invalid("login", "must not be blank"));
    }
    let page = PageParams::new(params.limit, params.cursor);
    let after = super::cursor(&page)?;
    let filter = Filter {
        name: params.q.as_deref(),
        city: None,
        status: status_filter(params.status.as_deref())?,
        login: params.login.as_deref(),
    };
    let rows = state.store.search(&filter, &after, page.fetch()).await?;
    let views: Vec<AdminView> = rows.into_iter().map(AdminView::from).collect();
    Ok(Json(page.page(views, |v| v.id)))
}

/// The `status` filter of the admin listing and count.
fn status_filter(text: Option<&str>) -> Result<Option<Status>, Error> {
    text.map(|t| {
        Status::parse(t)
            .ok_or_else(|| Error::invalid("status", "must be active, pending or banned"))
    })
    .transpose()
}

/// Filters of the admin count.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CountParams {
    pub q: Option<String>,
    /// `active`, `pending` or `banned`.
    pub status: Option<String>,
}

/// A count.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    pub count: i64,
}

/// How many accounts match, for administrators (the backoffice's counters).
#[utoipa::path(get, path = "/users/admin/count", tag = "users-admin", security(("bearer" = [])), params(CountParams),
    responses((status = 200, body = Count), (status = 401), (status = 403)))]
async fn count_users(
    auth: AuthUser,
    state: State,
    Query(params): Query<CountParams>,
) -> Result<Json<Count>, Error> {
    auth.require(Role::Admin)?;
    let filter = Filter {
        name: params.q.as_deref(),
        city: None,
        status: status_filter(params.status.as_deref())?,
        login: None,
    };
    Ok(Json(Count {
        count: state.store.count(&filter).await?,
    }))
}

/// One account, as administrators see it.
#[utoipa::path(get, path = "/users/admin/{id}", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AdminView), (status = 403), (status = 404)))]
async fn get_user_admin(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    Ok(Json(
        state
            .store
            .profile(id)
            .await?
            .ok_or(Error::NotFound(id))?
            .into(),
    ))
}

/// Approves a pending trainer or coach: the account can log in from now on.
#[utoipa::path(post, path = "/users/{id}/approve", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AdminView), (status = 404), (status = 409)))]
async fn approve_user(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    let profile = decisions::approve(&state, id, auth.user_id).await?;
    Ok(Json(profile.into()))
}

/// Bans an account: it cannot log in, and its live tokens stop working everywhere within a second.
#[utoipa::path(post, path = "/users/{id}/ban", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Ban,
    responses((status = 200, body = AdminView), (status = 404), (status = 409)))]
async fn ban_user(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Ban>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    not_self(&auth, id)?;
    let profile = decisions::ban(&state, id, auth.user_id, body.reason).await?;
    Ok(Json(profile.into()))
}

/// Lifts a ban.
#[utoipa::path(post, path = "/users/{id}/unban", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AdminView), (status = 404), (status = 409)))]
async fn unban_user(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    let profile = decisions::unban(&state, id, auth.user_id).await?;
    Ok(Json(profile.into()))
}

/// Replaces an account's roles; its sessions end, so no token keeps the old ones.
#[utoipa::path(put, path = "/users/{id}/roles", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SetRoles,
    responses((status = 200, body = AdminView), (status = 404), (status = 409), (status = 422)))]
async fn set_roles(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<SetRoles>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    if body.roles.is_empty() {
        return Err(Error::invalid("roles", "must name at least one role"));
    }
    if id == auth.user_id && !body.roles.contains(&Role::Admin) {
        return Err(Error::Conflict(
            "cannot_demote_self",
            "an administrator cannot take away their own admin role",
        ));
    }
    let mut roles: Vec<String> = body
        .roles
        .iter()
        .filter_map(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        })
        .collect();
    roles.sort();
    roles.dedup();
    let event_roles = roles.clone();
    let profile = decisions::change(
        &state,
        id,
        move |p| {
            p.roles = roles.clone();
            Ok(())
        },
        move |p| RolesChanged {
            user_id: p.user_id,
            by: auth.user_id,
            roles: event_roles.clone(),
            at: Utc::now(),
        },
        None,
    )
    .await?;
    Ok(Json(profile.into()))
}

/// Deletes an account and, through the `user_deleted` event, its data in every service.
#[utoipa::path(delete, path = "/users/{id}", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404), (status = 409)))]
async fn delete_user_by_admin(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    auth.require(Role::Admin)?;
    not_self(&auth, id)?;
    decisions::delete_user(&state, id, auth.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_self(auth: &AuthUser, id: Uuid) -> Result<(), Error> {
    if auth.user_id == id {
        return Err(Error::Conflict(
            "cannot_change_own_account",
            "administrators cannot ban or delete themselves",
        ));
    }
    Ok(())
}

impl From<Profile> for AdminView {
    fn from(p: Profile) -> Self {
        Self {
            id: p.user_id,
            email: p.email,
            username: p.username,
            display_name: p.display_name,
            city: p.city,
            roles: p.roles,
            status: p.status,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}
