//! Entries: members asking to join, organisers entering and approving, withdrawals.

use agon_kit::{AuthUser, Json, Path, text::Lines};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{organised, organises, visible};
use crate::{State, error::Error, lifecycle, store::Participant};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(participants, enter))
        .routes(routes!(enter_batch))
        .routes(routes!(approve))
        .routes(routes!(withdraw))
}

/// An entry in a tournament.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantView {
    pub id: Uuid,
    pub tournament_id: Uuid,
    /// The member, for an entry that is one (organisers may enter guests by name).
    pub user_id: Option<Uuid>,
    pub name: String,
    pub rating: Option<i64>,
    /// `pending`, `approved` or `withdrawn`.
    pub status: String,
    /// Once drawn: 1 is the top seed.
    pub seed: Option<i64>,
    pub created_at: String,
}

impl From<Participant> for ParticipantView {
    fn from(p: Participant) -> Self {
        Self {
            id: p.id,
            tournament_id: p.tournament_id,
            user_id: p.user_id,
            name: p.name,
            rating: p.rating,
            status: p.status,
            seed: p.seed,
            created_at: p.created_at,
        }
    }
}

/// An entry: a member asking for themselves (`user_id` absent or their own), or an organiser entering a member
/// or a guest (approved at once).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// 1 to 100 characters: the name shown in the bracket.
    pub name: String,
    pub user_id: Option<Uuid>,
    /// For seeding by rating; set by organisers only (a member's own is ignored).
    pub rating: Option<i64>,
}

/// The tournament's entries, in the order they came (at most its capacity and the pending requests: bounded by
/// the tournament, so not paged).
#[utoipa::path(get, path = "/tournaments/{id}/participants", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<ParticipantView>), (status = 404)))]
async fn participants(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<ParticipantView>>, Error> {
    visible(&state, &auth, id).await?;
    let rows = state.store.participants(None, id).await?;
    Ok(Json(rows.into_iter().map(ParticipantView::from).collect()))
}

/// Enters the tournament. A member's own request waits for an organiser's approval (or is approved at once with
/// open entry, while there is room); an organiser's entry is approved at once, within capacity.
#[utoipa::path(post, path = "/tournaments/{id}/participants", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NewEntry,
    responses((status = 201, body = ParticipantView), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
async fn enter(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<NewEntry>,
) -> Result<(StatusCode, Json<ParticipantView>), Error> {
    let mut entered = enter_all(&state, &auth, id, vec![body]).await?;
    Ok((StatusCode::CREATED, Json(entered.remove(0))))
}

/// Several entries at once, all or none (an organiser entering a list of members and guests; a member may send
/// only their own): each as `POST /tournaments/{id}/participants` would take it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntries {
    /// 1 to 128 entries.
    pub participants: Vec<NewEntry>,
}

/// Enters several participants in one step: every entry is taken, or none (a full tournament, a duplicate, or a
/// member naming someone else refuses the whole list).
#[utoipa::path(post, path = "/tournaments/{id}/participants/batch", tag = "tournaments",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = NewEntries,
    responses((status = 201, body = Vec<ParticipantView>), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
async fn enter_batch(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<NewEntries>,
) -> Result<(StatusCode, Json<Vec<ParticipantView>>), Error> {
    if body.participants.is_empty() || body.participants.len() > MAX_BATCH {
        return Err(Error::invalid("participants", "must hold 1 to 128 entries"));
    }
    let entered = enter_all(&state, &auth, id, body.participants).await?;
    Ok((StatusCode::CREATED, Json(entered)))
}

const MAX_BATCH: usize = 128;

/// Takes `entries` in one transaction: all or none.
async fn enter_all(
    state: &State,
    auth: &AuthUser,
    id: Uuid,
    entries: Vec<NewEntry>,
) -> Result<Vec<ParticipantView>, Error> {
    let t = visible(state, auth, id).await?;
    let organiser = organises(auth, &t);
    let single = entries.len() == 1;
    let mut problems = Vec::new();
    let mut checked = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let field = if single {
            "name".to_owned()
        } else {
            format!("participants[{i}].name")
        };
        let name = agon_kit::text::required(&field, entry.name, 100, Lines::Single, &mut problems);
        let user = match entry.user_id {
            Some(other) if other != auth.user_id && !organiser => return Err(Error::NotOrganiser),
            Some(user) => Some(user),
            None if organiser => None,
            None => Some(auth.user_id),
        };
        // A rating seeds the draw: only organisers set it.
        checked.push((name, user, entry.rating.filter(|_| organiser)));
    }
    if !problems.is_empty() {
        return Err(Error::invalid_fields(problems));
    }
    // A member enters only themselves, once.
    if !organiser && checked.len() > 1 {
        return Err(Error::NotOrganiser);
    }
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    let mut ids = Vec::with_capacity(checked.len());
    for entry in checked {
        ids.push(admit(state, &mut tx, (&t, organiser), entry, now).await?);
    }
    tx.commit().await?;
    state.outbox.wake();
    let rows = state.store.participants(None, id).await?;
    Ok(rows
        .into_iter()
        .filter(|p| ids.contains(&p.id))
        .map(ParticipantView::from)
        .collect())
}

/// One entry into the locked tournament `t`: approved at once for organisers and with open entry (within
/// capacity), else waiting; a member who withdrew comes back on the same entry.
async fn admit(
    state: &State,
    tx: &mut agon_db::Tx,
    (t, organiser): (&crate::store::Tournament, bool),
    (name, user, rating): (String, Option<Uuid>, Option<i64>),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Uuid, Error> {
    let at = agon_db::time_text(now);
    lifecycle::may_join(t.status(), t.registration_deadline.as_deref(), &at)?;
    let approve = organiser || t.open_entry;
    if approve {
        let approved = state.store.approved_count(tx, t.id).await?;
        lifecycle::may_approve(approved as u32, t.capacity as u32)?;
    }
    let status = if approve { "approved" } else { "pending" };
    let existing = match user {
        Some(user) => state.store.entry_of(tx, t.id, user).await?,
        None => None,
    };
    let participant = match existing {
        Some(entry) if entry.status == "withdrawn" => {
            state
                .store
                .reenter(tx, entry.id, (&name, rating), status, &at)
                .await?;
            entry.id
        }
        Some(_) => return Err(Error::AlreadyEntered),
        None => {
            let participant = Uuid::now_v7();
            state
                .store
                .insert_participant(tx, (participant, t.id), (user, &name, rating), status, &at)
                .await?;
            participant
        }
    };
    if approve {
        announce(tx, t, (participant, user, &name), now).await?;
    }
    Ok(participant)
}

async fn announce(
    tx: &mut agon_db::Tx,
    t: &crate::store::Tournament,
    (participant, user, name): (Uuid, Option<Uuid>, &str),
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let event = agon_messages::tournaments::ParticipantApproved {
        tournament_id: t.id,
        tournament_name: t.name.clone(),
        participant_id: participant,
        user_id: user,
        name: name.to_owned(),
        at,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
    Ok(())
}

/// Approves a pending entry, within capacity (organisers).
#[utoipa::path(post, path = "/tournaments/{id}/participants/{participant_id}/approve", tag = "tournaments",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("participant_id" = Uuid, Path)),
    responses((status = 200, body = ParticipantView), (status = 403), (status = 404), (status = 409)))]
async fn approve(
    auth: AuthUser,
    state: State,
    Path((id, participant)): Path<(Uuid, Uuid)>,
) -> Result<Json<ParticipantView>, Error> {
    organised(&state, &auth, id).await?;
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    let entry = state
        .store
        .participant(Some(&mut tx), id, participant)
        .await?
        .ok_or(Error::ParticipantNotFound(participant))?;
    if entry.status != "pending" {
        return Err(Error::NotPending);
    }
    // Approvals while entries are taken: after the draw, an approved entry would have no place in the bracket.
    if t.status() != lifecycle::Status::Registration {
        return Err(lifecycle::Refused::RegistrationClosed.into());
    }
    let approved = state.store.approved_count(&mut tx, id).await?;
    lifecycle::may_approve(approved as u32, t.capacity as u32)?;
    let at = agon_db::time_text(now);
    state
        .store
        .set_participant_status(&mut tx, participant, "approved", &at)
        .await?;
    announce(&mut tx, &t, (participant, entry.user_id, &entry.name), now).await?;
    tx.commit().await?;
    state.outbox.wake();
    let row = state
        .store
        .participant(None, id, participant)
        .await?
        .ok_or(Error::ParticipantNotFound(participant))?;
    Ok(Json(row.into()))
}

/// Withdraws an entry — the member's own, or any for organisers — until play begins. A draw made before is
/// undone: the tournament goes back to taking entries, to be drawn again.
#[utoipa::path(delete, path = "/tournaments/{id}/participants/{participant_id}", tag = "tournaments",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("participant_id" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
async fn withdraw(
    auth: AuthUser,
    state: State,
    Path((id, participant)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    let t = visible(&state, &auth, id).await?;
    let entry = state
        .store
        .participant(None, id, participant)
        .await?
        .ok_or(Error::ParticipantNotFound(participant))?;
    if entry.user_id != Some(auth.user_id) && !organises(&auth, &t) {
        return Err(Error::NotOrganiser);
    }
    let now = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    if !t.status().before_play() {
        return Err(lifecycle::Refused::PlayBegun.into());
    }
    let entry = state
        .store
        .participant(Some(&mut tx), id, participant)
        .await?
        .ok_or(Error::ParticipantNotFound(participant))?;
    if entry.status == "withdrawn" {
        return Err(Error::Withdrawn);
    }
    state
        .store
        .set_participant_status(&mut tx, participant, "withdrawn", &now)
        .await?;
    // Only an approved entry had a place in the draw.
    if entry.status == "approved" && t.status() == lifecycle::Status::Seeded {
        state.store.undo_draw(&mut tx, id, &now).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
