//! Administration of accounts: approval, bans, roles, deletion. The users service decides; every decision is
//! an event in the same transaction, which the auth service follows (refusing logins, ending sessions) and any
//! other service may.

use agon_bus::enqueue;
use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use agon_messages::users::{RolesChanged, UserApproved, UserBanned, UserDeleted, UserUnbanned};
use axum::{extract::State as AxumState, http::StatusCode};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{SERVICE, State, domain::Profile, error::Error, store::Filter};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
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
    pub email: String,
    pub display_name: String,
    pub city: Option<String>,
    pub roles: Vec<String>,
    /// `active`, `pending` (awaiting approval) or `banned`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Filters of the admin listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminListParams {
    pub q: Option<String>,
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
    AxumState(state): AxumState<State>,
    Query(params): Query<AdminListParams>,
) -> Result<Json<Page<AdminView>>, Error> {
    auth.require(Role::Admin)?;
    if let Some(status) = params.status.as_deref()
        && !["active", "pending", "banned"].contains(&status)
    {
        return Err(invalid("status", "must be active, pending or banned"));
    }
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let after = super::cursor(&page)?;
    let filter = Filter {
        name: params.q.as_deref(),
        city: None,
        status: params.status.as_deref(),
    };
    let rows = state.store.search(&filter, &after, page.fetch()).await?;
    let views: Vec<AdminView> = rows.into_iter().map(AdminView::from).collect();
    Ok(Json(page.page(views, |v| v.id)))
}

/// One account, as administrators see it.
#[utoipa::path(get, path = "/users/admin/{id}", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AdminView), (status = 403), (status = 404)))]
async fn get_user_admin(
    auth: AuthUser,
    AxumState(state): AxumState<State>,
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
    AxumState(state): AxumState<State>,
    Path(id): Path<Uuid>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    approve(&state, id, auth.user_id).await.map(Json)
}

/// Bans an account: it cannot log in, and its live tokens stop working everywhere within a second.
#[utoipa::path(post, path = "/users/{id}/ban", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Ban,
    responses((status = 200, body = AdminView), (status = 404), (status = 409)))]
async fn ban_user(
    auth: AuthUser,
    AxumState(state): AxumState<State>,
    Path(id): Path<Uuid>,
    Json(body): Json<Ban>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    not_self(&auth, id)?;
    ban(&state, id, auth.user_id, body.reason).await.map(Json)
}

/// Lifts a ban.
#[utoipa::path(post, path = "/users/{id}/unban", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AdminView), (status = 404), (status = 409)))]
async fn unban_user(
    auth: AuthUser,
    AxumState(state): AxumState<State>,
    Path(id): Path<Uuid>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    unban(&state, id, auth.user_id).await.map(Json)
}

/// Replaces an account's roles; its sessions end, so no token keeps the old ones.
#[utoipa::path(put, path = "/users/{id}/roles", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SetRoles,
    responses((status = 200, body = AdminView), (status = 404), (status = 409), (status = 422)))]
async fn set_roles(
    auth: AuthUser,
    AxumState(state): AxumState<State>,
    Path(id): Path<Uuid>,
    Json(body): Json<SetRoles>,
) -> Result<Json<AdminView>, Error> {
    auth.require(Role::Admin)?;
    if body.roles.is_empty() {
        return Err(invalid("roles", "must name at least one role"));
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
    change(
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
    .await
    .map(Json)
}

/// Deletes an account and, through the `user_deleted` event, its data in every service.
#[utoipa::path(delete, path = "/users/{id}", tag = "users-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404), (status = 409)))]
async fn delete_user_by_admin(
    auth: AuthUser,
    AxumState(state): AxumState<State>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    auth.require(Role::Admin)?;
    not_self(&auth, id)?;
    delete_user(&state, id, auth.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Approves a pending account. `by` is the deciding admin (nil for the command line).
pub(crate) async fn approve(state: &State, id: Uuid, by: Uuid) -> Result<AdminView, Error> {
    change(
        state,
        id,
        |p| {
            if p.status != "pending" {
                return Err(Error::Conflict(
                    "not_pending",
                    "only a pending account can be approved",
                ));
            }
            p.status = "active".into();
            Ok(())
        },
        |p| UserApproved {
            user_id: p.user_id,
            by,
            at: Utc::now(),
        },
        None,
    )
    .await
}

/// Bans an account.
pub(crate) async fn ban(
    state: &State,
    id: Uuid,
    by: Uuid,
    reason: Option<String>,
) -> Result<AdminView, Error> {
    let reason = reason
        .map(|r| r.trim().chars().take(500).collect::<String>())
        .filter(|r| !r.is_empty());
    let event_reason = reason.clone();
    change(
        state,
        id,
        |p| {
            if p.status == "banned" {
                return Err(Error::Conflict(
                    "already_banned",
                    "the account is already banned",
                ));
            }
            p.status = "banned".into();
            Ok(())
        },
        move |p| UserBanned {
            user_id: p.user_id,
            by,
            reason: event_reason.clone(),
            at: Utc::now(),
        },
        reason.as_deref(),
    )
    .await
}

/// Lifts a ban.
pub(crate) async fn unban(state: &State, id: Uuid, by: Uuid) -> Result<AdminView, Error> {
    change(
        state,
        id,
        |p| {
            if p.status != "banned" {
                return Err(Error::Conflict("not_banned", "the account is not banned"));
            }
            p.status = "active".into();
            Ok(())
        },
        |p| UserUnbanned {
            user_id: p.user_id,
            by,
            at: Utc::now(),
        },
        None,
    )
    .await
}

/// Deletes the profile and announces the deletion, in one transaction.
pub(super) async fn delete_user(state: &State, id: Uuid, by: Uuid) -> Result<(), Error> {
    let mut tx = state.store.db().begin().await?;
    if !state.store.delete_profile(&mut tx, id).await? {
        return Err(Error::NotFound(id));
    }
    state.store.delete_relations(&mut tx, id).await?;
    enqueue(
        &mut tx,
        SERVICE,
        &UserDeleted {
            user_id: id,
            by,
            at: Utc::now(),
        },
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

/// Loads a profile, applies `edit`, saves it and enqueues the event `announce` makes, in one transaction.
async fn change<E: agon_messages::Event>(
    state: &State,
    id: Uuid,
    edit: impl FnOnce(&mut Profile) -> Result<(), Error>,
    announce: impl FnOnce(&Profile) -> E,
    ban_reason: Option<&str>,
) -> Result<AdminView, Error> {
    let mut profile = state.store.profile(id).await?.ok_or(Error::NotFound(id))?;
    edit(&mut profile)?;
    profile.updated_at = agon_bus::now_text();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .save_state(&mut tx, &profile, ban_reason)
        .await?;
    enqueue(&mut tx, SERVICE, &announce(&profile)).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(profile.into())
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

fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid(vec![agon_kit::FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

impl From<Profile> for AdminView {
    fn from(p: Profile) -> Self {
        Self {
            id: p.user_id,
            email: p.email,
            display_name: p.display_name,
            city: p.city,
            roles: p.roles,
            status: p.status,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}
