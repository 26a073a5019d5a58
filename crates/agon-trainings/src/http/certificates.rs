//! Certificates: a member's own, and public verification by id — as data or as the printable PDF.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query};
use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{State, certificate, error::Error, store::Certificate};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(mine))
        .routes(routes!(verify))
        .routes(routes!(pdf))
}

/// A certificate as issued: what anyone holding its id may check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub id: Uuid,
    /// The name printed on it.
    pub holder_name: String,
    pub user_id: Uuid,
    pub course_id: Uuid,
    /// The course's title when the certificate was issued.
    pub course_title: String,
    pub instructor_id: Uuid,
    pub issued_at: String,
    /// Always `true` for a certificate found: certificates are issued once and never withdrawn.
    pub valid: bool,
}

impl From<Certificate> for CertificateView {
    fn from(c: Certificate) -> Self {
        Self {
            id: c.id,
            holder_name: c.holder_name,
            user_id: c.user_id,
            course_id: c.course_id,
            course_title: c.course_title,
            instructor_id: c.instructor_id,
            issued_at: c.issued_at,
            valid: true,
        }
    }
}

/// The caller's certificates, newest first.
#[utoipa::path(get, path = "/certificates", tag = "certificates", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<CertificateView>), (status = 401)))]
async fn mine(
    auth: AuthUser,
    state: State,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<CertificateView>>, Error> {
    let rows = state
        .store
        .certificates(auth.user_id, page.after::<Uuid>()?, page.fetch())
        .await?;
    let views: Vec<CertificateView> = rows.into_iter().map(CertificateView::from).collect();
    Ok(Json(page.page(views, |c| c.id)))
}

/// The certificate `id`, for anyone who holds it (no token): an unknown or malformed id is the same 404.
async fn issued(state: &State, id: &str) -> Result<Certificate, Error> {
    let unknown = || Error::CertificateNotFound(id.chars().take(64).collect());
    let parsed: Uuid = id.parse().map_err(|_| unknown())?;
    state.store.certificate(parsed).await?.ok_or_else(unknown)
}

/// Verifies a certificate (public: its id is what the holder shares).
#[utoipa::path(get, path = "/certificates/{id}", tag = "certificates",
    params(("id" = String, Path)), responses((status = 200, body = CertificateView), (status = 404)))]
async fn verify(state: State, Path(id): Path<String>) -> Result<Json<CertificateView>, Error> {
    Ok(Json(issued(&state, &id).await?.into()))
}

/// The certificate as a printable PDF (public, like its verification).
#[utoipa::path(get, path = "/certificates/{id}/pdf", tag = "certificates",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404)))]
async fn pdf(state: State, Path(id): Path<String>) -> Result<Response, Error> {
    let c = issued(&state, &id).await?;
    let id = c.id.to_string();
    let disposition = format!("inline; filename=\"certificate-{id}.pdf\"");
    // Shaping and subsetting the fonts is CPU work: off the request threads.
    let bytes = tokio::task::spawn_blocking(move || {
        certificate::render(&certificate::Content {
            id: &id,
            holder: &c.holder_name,
            course: &c.course_title,
            issued_on: c.issued_at.get(..10).unwrap_or(&c.issued_at),
        })
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
