//! Decisions on accounts — approval, bans, roles, deletion — each saved with the event announcing it in one
//! transaction. The HTTP API and `agon admin` both take them here; the auth service follows the events
//! (refusing logins, ending sessions), and any other service may.

use agon_bus::enqueue;
use agon_messages::users::{UserApproved, UserBanned, UserDeleted, UserUnbanned};
use chrono::Utc;
use uuid::Uuid;

use crate::{
    SERVICE, State,
    domain::{Profile, Status},
    error::Error,
};

/// Approves a pending account. `by` is the deciding admin (nil for the command line).
pub async fn approve(state: &State, id: Uuid, by: Uuid) -> Result<Profile, Error> {
    change(
        state,
        id,
        |p| {
            if p.status != Status::Pending {
                return Err(Error::Conflict(
                    "not_pending",
                    "only a pending account can be approved",
                ));
            }
            p.status = Status::Active;
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
pub async fn ban(
    state: &State,
    id: Uuid,
    by: Uuid,
    reason: Option<String>,
) -> Result<Profile, Error> {
    let reason = reason
        .map(|r| r.trim().chars().take(500).collect::<String>())
        .filter(|r| !r.is_empty());
    let event_reason = reason.clone();
    change(
        state,
        id,
        |p| {
            if p.status == Status::Banned {
                return Err(Error::Conflict(
                    "already_banned",
                    "the account is already banned",
                ));
            }
            p.status = Status::Banned;
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
pub async fn unban(state: &State, id: Uuid, by: Uuid) -> Result<Profile, Error> {
    change(
        state,
        id,
        |p| {
            if p.status != Status::Banned {
                return Err(Error::Conflict("not_banned", "the account is not banned"));
            }
            p.status = Status::Active;
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
pub async fn delete_user(state: &State, id: Uuid, by: Uuid) -> Result<(), Error> {
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
pub async fn change<E: agon_messages::Event>(
    state: &State,
    id: Uuid,
    edit: impl FnOnce(&mut Profile) -> Result<(), Error>,
    announce: impl FnOnce(&Profile) -> E,
    ban_reason: Option<&str>,
) -> Result<Profile, Error> {
    let mut profile = state.store.profile(id).await?.ok_or(Error::NotFound(id))?;
    edit(&mut profile)?;
    profile.updated_at = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .save_state(&mut tx, &profile, ban_reason)
        .await?;
    enqueue(&mut tx, SERVICE, &announce(&profile)).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(profile)
}
