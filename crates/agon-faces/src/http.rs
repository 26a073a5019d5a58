//! HTTP handlers of the face service: a photo's face description, members' reference faces (set by staff), and
//! verification decisions.

use agon_db::now_text;
use agon_kit::{AuthUser, Json, Path, Role};
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, rejection::BytesRejection},
    http::StatusCode,
    response::IntoResponse,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State, decide,
    error::Error,
    model::{Described, Refusal},
    store::{Reference, Store},
};

/// Largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 << 20;

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(vector))
        .routes(routes!(set_reference, get_reference, delete_reference))
        .routes(routes!(verification))
        .layer(DefaultBodyLimit::max(MAX_PHOTO_BYTES))
        .with_state(state)
}

/// Where a face is in the photo, in its pixels (after turning it upright).
#[derive(Debug, Serialize, ToSchema)]
pub struct FaceView {
    /// The detector's confidence, 0.5 to 1.
    pub score: f32,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// A photo's one face, described.
#[derive(Debug, Serialize, ToSchema)]
pub struct VectorView {
    /// 128 numbers; two photos of one person lie closer than the service's threshold (0.6 by default).
    pub vector: Vec<f32>,
    pub face: FaceView,
}

impl From<Described> for VectorView {
    fn from(d: Described) -> Self {
        let [left, top, right, bottom] = d.face.bbox;
        Self {
            vector: d.vector,
            face: FaceView {
                score: d.face.score,
                left,
                top,
                width: right - left,
                height: bottom - top,
            },
        }
    }
}

/// The description of the one face in a photo (JPEG or PNG, raw body, at most 5 MiB). A photo with no face or
/// several answers 422 (`no_face`, `several_faces`), one that is not an image 422 `not_an_image`.
#[utoipa::path(post, path = "/faces/vector", tag = "faces", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = VectorView), (status = 413), (status = 422)))]
async fn vector(
    _: AuthUser,
    state: State,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<VectorView>, Error> {
    let described = state.engine.describe(photo(body)?.to_vec()).await?;
    Ok(Json(described.map_err(Error::Refused)?.into()))
}

fn photo(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Error> {
    match body {
        Ok(bytes) if bytes.is_empty() => Err(Error::Refused(Refusal::NotAnImage)),
        Ok(bytes) => Ok(bytes),
        Err(BytesRejection::FailedToBufferBody(e))
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
        {
            Err(Error::TooLarge(MAX_PHOTO_BYTES))
        }
        Err(other) => Err(anyhow::anyhow!("reading the photo: {}", other.body_text()).into()),
    }
}

/// A member's reference face.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferenceView {
    pub user_id: Uuid,
    /// `staff`, or `first_photo` (the member's first verification photo, where the club enrols so).
    pub source: String,
    pub set_at: String,
    /// Verification requests that were waiting for this reference and are now decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided: Option<usize>,
}

fn reference_view(user_id: Uuid, r: Reference, decided: Option<usize>) -> ReferenceView {
    ReferenceView {
        user_id,
        source: r.source,
        set_at: r.set_at,
        decided,
    }
}

/// Sets a member's reference face from a photo staff took (administrators): the photo itself is not kept, only
/// its description. Requests that waited for it are decided at once.
#[utoipa::path(put, path = "/faces/references/{user_id}", tag = "faces", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)), request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = ReferenceView), (status = 403), (status = 413), (status = 422)))]
async fn set_reference(
    auth: AuthUser,
    state: State,
    Path(user_id): Path<Uuid>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ReferenceView>, Error> {
    auth.require(Role::Admin)?;
    let described = state.engine.describe(photo(body)?.to_vec()).await?;
    let vector = described.map_err(Error::Refused)?.vector;
    let now = now_text();
    let mut tx = state.store.db().begin().await?;
    Store::set_reference(
        &mut tx,
        user_id,
        &vector,
        "staff",
        None,
        Some(auth.user_id),
        &now,
    )
    .await?;
    let decided = decide::decide_waiting(&mut tx, state.config.threshold, user_id, &vector).await?;
    tx.commit().await?;
    if decided > 0 {
        state.outbox.wake();
    }
    let reference = Reference {
        vector: String::new(),
        source: "staff".into(),
        set_at: now,
    };
    Ok(Json(reference_view(user_id, reference, Some(decided))))
}

/// Whether a member has a reference face, and where it came from: for the member and administrators.
#[utoipa::path(get, path = "/faces/references/{user_id}", tag = "faces", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)), responses((status = 200, body = ReferenceView), (status = 404)))]
async fn get_reference(
    auth: AuthUser,
    state: State,
    Path(user_id): Path<Uuid>,
) -> Result<Json<ReferenceView>, Error> {
    if user_id != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NoReference(user_id));
    }
    let reference = state
        .store
        .reference_of(user_id)
        .await?
        .ok_or(Error::NoReference(user_id))?;
    Ok(Json(reference_view(user_id, reference, None)))
}

/// Forgets a member's reference face (administrators); their next verification waits for a new one, or enrols.
#[utoipa::path(delete, path = "/faces/references/{user_id}", tag = "faces", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn delete_reference(
    auth: AuthUser,
    state: State,
    Path(user_id): Path<Uuid>,
) -> Result<impl IntoResponse, Error> {
    auth.require(Role::Admin)?;
    if !state.store.delete_reference(user_id).await? {
        return Err(Error::NoReference(user_id));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A verification request as the face service decided it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub request_id: Uuid,
    pub user_id: Uuid,
    /// `pending` (waiting for a reference face), `verified` or `rejected`.
    pub status: String,
    /// Why it was rejected (`no_face`, `several_faces`, `not_an_image`, `different_face`), or
    /// `awaiting_reference`.
    pub reason: Option<String>,
    /// The photo's distance from the reference.
    pub distance: Option<f64>,
    pub requested_at: String,
    pub decided_at: Option<String>,
}

/// A verification request's decision: for its member and administrators (anyone else: 404).
#[utoipa::path(get, path = "/faces/verifications/{id}", tag = "faces", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = VerificationView), (status = 404)))]
async fn verification(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<VerificationView>, Error> {
    let v = state
        .store
        .verification(id)
        .await?
        .filter(|v| v.user_id == auth.user_id || auth.has(Role::Admin))
        .ok_or_else(|| Error::NotFound(format!("verification {id}")))?;
    Ok(Json(VerificationView {
        request_id: v.id,
        user_id: v.user_id,
        status: v.status,
        reason: v.reason,
        distance: v.distance,
        requested_at: v.requested_at,
        decided_at: v.decided_at,
    }))
}
