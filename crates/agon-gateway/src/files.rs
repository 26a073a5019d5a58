//! Static files from a configured directory (`gateway.static_dir`) for profile routes with `files = true`: a
//! seed's web frontend served by its own gateway (GYM IT). A directory answers its `index.html`, an extensionless
//! path its `.html` file (`/tournaments` → `tournaments.html`), as the seed's gateway did; nothing outside the
//! directory is reachable (`tower_http::services::ServeDir` refuses `..`).

use std::path::PathBuf;

use axum::{Router, body::Body, response::IntoResponse};
use http::{Request, Response, StatusCode, Uri};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// The router serving `dir`; without a directory every path answers 404.
pub fn router(dir: Option<PathBuf>) -> Router {
    let Some(dir) = dir else {
        return Router::new().fallback(agon_kit::error::not_found);
    };
    Router::new().fallback(move |req: Request<Body>| {
        let files = ServeDir::new(dir.clone()).append_index_html_on_directories(true);
        // Only the head is needed, and a request without its body can be asked twice.
        let (head, _) = req.into_parts();
        async move {
            let found = serve(&files, &head, head.uri.clone()).await;
            match html_twin(&head.uri) {
                Some(uri) if found.status() == StatusCode::NOT_FOUND => {
                    serve(&files, &head, uri).await
                }
                _ => found,
            }
        }
    })
}

async fn serve(files: &ServeDir, head: &http::request::Parts, uri: Uri) -> Response<Body> {
    let mut copy = Request::new(Body::empty());
    *copy.method_mut() = head.method.clone();
    *copy.uri_mut() = uri;
    *copy.headers_mut() = head.headers.clone();
    match files.clone().oneshot(copy).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
    .into_response()
}

/// `/tournaments` → `/tournaments.html`; `None` for the root and for paths with an extension.
fn html_twin(uri: &Uri) -> Option<Uri> {
    let path = uri.path().trim_end_matches('/');
    let last = path.rsplit('/').next().filter(|l| !l.is_empty())?;
    if last.contains('.') {
        return None;
    }
    format!("{path}.html").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensionless_paths_have_an_html_twin() {
        let twin = |p: &str| html_twin(&p.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(twin("/tournaments").as_deref(), Some("/tournaments.html"));
        assert_eq!(twin("/admin/users/").as_deref(), Some("/admin/users.html"));
        assert_eq!(twin("/app.css"), None);
        assert_eq!(twin("/"), None);
    }
}
