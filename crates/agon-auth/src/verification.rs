//! Identity verification by photo, request side: a member uploads a photo; it is kept with the request, the
//! account becomes `pending`, and `auth.verification_requested.v1` and the photo (`auth.verification_photo.v1`)
//! go out in the same transaction. The face service decides (`decisions.rs`); until it does, a request stays
//! pending — nothing here pretends to decide.

pub mod decisions;

use agon_db::time_text;
use agon_kit::{AuthUser, Json, KitError, Path, Role};
use agon_messages::auth::VerificationRequested;
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{SERVICE, State, error::Error};

/// Largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 << 20;

pub fn router() -> OpenApiRouter<State> {
    let upload = OpenApiRouter::new()
        .routes(routes!(request_verification))
        .layer(DefaultBodyLimit::max(MAX_PHOTO_BYTES));
    OpenApiRouter::new()
        .routes(routes!(my_verification))
        .routes(routes!(verification_photo))
        .routes(routes!(user_verification))
        .merge(upload)
}

/// Where an account stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    /// `unverified`, `pending`, `verified` or `rejected`.
    pub status: String,
    pub request_id: Option<Uuid>,
    pub requested_at: Option<String>,
    /// Why the latest request was rejected: `no_face`, `several_faces`, `not_an_image` or `different_face`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Uploads a photo (`image/jpeg` or `image/png`, at most 5 MiB, raw body) to be verified.
#[utoipa::path(post, path = "/auth/verification", tag = "auth", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 202, body = VerificationView), (status = 409), (status = 413), (status = 415), (status = 422)))]
async fn request_verification(
    auth: AuthUser,
    state: State,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let (content_type, photo) = match read_photo(&headers, body) {
        Ok(photo) => photo,
        Err(refusal) => return Ok(*refusal),
    };
    if state
        .store
        .verification(auth.user_id)
        .await?
        .is_some_and(|v| v.status == "pending")
    {
        return Err(Error::VerificationPending);
    }
    let now = Utc::now();
    let id = Uuid::now_v7();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .insert_verification(
            &mut tx,
            id,
            auth.user_id,
            &content_type,
            &photo,
            &time_text(now),
        )
        .await?;
    let event = VerificationRequested {
        request_id: id,
        user_id: auth.user_id,
        content_type,
        bytes: photo.len() as u64,
        requested_at: now,
    };
    agon_bus::enqueue(&mut tx, SERVICE, &event).await?;
    decisions::send_photo(&mut tx, id, auth.user_id, &event.content_type, &photo, now).await?;
    tx.commit().await?;
    state.outbox.wake();
    let view = VerificationView {
        status: "pending".into(),
        request_id: Some(id),
        requested_at: Some(time_text(now)),
        reason: None,
    };
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

/// The photo in the body and its media type, or the answer refusing it: the wrong type (415), too large (413),
/// or bytes that are not the image the header says (422).
fn read_photo(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(String, Bytes), Box<Response>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let content_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if content_type != "image/jpeg" && content_type != "image/png" {
        return Err(KitError::UnsupportedMediaType
            .into_response_with("send the photo as image/jpeg or image/png")
            .into());
    }
    let photo = match body {
        Ok(bytes) => bytes,
        Err(BytesRejection::FailedToBufferBody(e))
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
        {
            return Err(KitError::PayloadTooLarge(MAX_PHOTO_BYTES)
                .into_response()
                .into());
        }
        Err(other) => {
            let error = anyhow::anyhow!("reading the photo: {}", other.body_text());
            return Err(Error::from(error).into_response().into());
        }
    };
    // The bytes must be what the header says: a JPEG starts FF D8 FF, a PNG with its 8-byte signature.
    let matches = match content_type.as_str() {
        "image/jpeg" => photo.starts_with(&[0xFF, 0xD8, 0xFF]),
        _ => photo.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]),
    };
    if !matches || photo.len() < 64 {
        let problem = format!("the body is not a {content_type} image");
        return Err(Error::invalid("", &problem).into_response().into());
    }
    Ok((content_type, photo))
}

/// The caller's verification status.
#[utoipa::path(get, path = "/auth/verification", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = VerificationView)))]
async fn my_verification(auth: AuthUser, state: State) -> Result<Json<VerificationView>, Error> {
    view(&state, auth.user_id).await
}

/// An account's verification status, for administrators.
#[utoipa::path(get, path = "/auth/admin/users/{id}/verification", tag = "auth-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = VerificationView), (status = 403), (status = 404)))]
async fn user_verification(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<VerificationView>, Error> {
    auth.require(Role::Admin)?;
    view(&state, id).await
}

/// The photo of a pending request: for its owner and administrators. Anyone else gets the same 404 as for a
/// request that does not exist; a decided request's photo is no longer kept (404 too).
#[utoipa::path(get, path = "/auth/verification/{id}/photo", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, content_type = "image/jpeg"), (status = 404)))]
async fn verification_photo(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    match state.store.verification_photo(id).await? {
        Some((owner, content_type, photo)) if owner == auth.user_id || auth.has(Role::Admin) => {
            Ok(([(header::CONTENT_TYPE, content_type)], photo).into_response())
        }
        _ => Err(Error::VerificationNotFound(id)),
    }
}

async fn view(state: &State, user_id: Uuid) -> Result<Json<VerificationView>, Error> {
    let v = state
        .store
        .verification(user_id)
        .await?
        .ok_or(Error::UserNotFound(user_id))?;
    Ok(Json(VerificationView {
        status: v.status,
        request_id: v.request_id,
        requested_at: v.requested_at,
        reason: v.reason,
    }))
}

/// A 415 whose detail says what to send.
trait WithDetail {
    fn into_response_with(self, detail: &str) -> Response;
}

impl WithDetail for KitError {
    fn into_response_with(self, detail: &str) -> Response {
        use agon_kit::ErrorCode;
        agon_kit::error::problem(self.status(), self.code(), detail, Vec::new())
    }
}
