//! The middleware every service router gets: request id, trace context, a span, metrics, and the single log line
//! for a 5xx (whose cause the error type attached as [`ReportedError`]).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use crate::{
    error::ReportedError,
    telemetry::{REQUEST_ID, TraceContext, acceptable_request_id, new_request_id},
};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The path a log line shows: the route's template instead when one of its parameters is a credential (`{key}`,
/// `{token}`: a calendar feed's key opens the feed to whoever reads it).
fn logged_path<'a>(path: &'a str, route: Option<&'a str>) -> &'a str {
    match route {
        Some(route) if route.contains("{key}") || route.contains("{token}") => route,
        _ => path,
    }
}

/// `axum::middleware::from_fn_with_state(service_name, observe)`.
pub async fn observe(
    State(service): State<&'static str>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = match req.headers().get(&X_REQUEST_ID) {
        Some(id) if acceptable_request_id(id) => id.clone(),
        _ => new_request_id(),
    };
    let trace =
        TraceContext::continue_from(req.headers().get(&TRACEPARENT).map(HeaderValue::as_bytes));
    req.headers_mut()
        .insert(X_REQUEST_ID.clone(), request_id.clone());
    let request_id_text = request_id.to_str().unwrap_or_default().to_owned();
    req.headers_mut()
        .insert(TRACEPARENT.clone(), trace.header_value());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let path = logged_path(req.uri().path(), route.as_deref());
    let span = tracing::info_span!(
        "request", service, %method, %path, request_id = %request_id_text, trace_id = %trace.trace_id(),
    );
    let mut response = REQUEST_ID
        .scope(request_id_text, next.run(req).instrument(span.clone()))
        .await;
    let status = response.status();
    if let Some(reported) = response.extensions_mut().remove::<ReportedError>() {
        span.in_scope(
            || tracing::error!(status = status.as_u16(), error = %reported.0, "request failed"),
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let labels = [
        ("service", service.to_owned()),
        ("method", method.to_string()),
        ("route", route),
    ];
    metrics::histogram!("agon_http_request_duration_seconds", &labels).record(elapsed);
    metrics::counter!(
        "agon_http_requests_total",
        &[
            ("service", service.to_owned()),
            ("status", status.as_u16().to_string()),
        ]
    )
    .increment(1);
    response
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), request_id);
    response
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, extract::Request, http::StatusCode, routing::get};
    use tower::ServiceExt;

    use super::logged_path;

    /// `observe` is a router-wide layer: the route it redacts by must be known there already.
    #[tokio::test]
    async fn the_matched_route_reaches_a_router_wide_layer() {
        let app = Router::new()
            .route("/calendar/{key}", get(|| async { "feed" }))
            .layer(axum::middleware::from_fn(
                |req: Request, next: axum::middleware::Next| async move {
                    let route = req.extensions().get::<axum::extract::MatchedPath>();
                    assert_eq!(route.map(|r| r.as_str()), Some("/calendar/{key}"));
                    next.run(req).await
                },
            ));
        let request = Request::get("/calendar/s3cret")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn a_credential_in_the_path_is_logged_as_its_route() {
        let route = Some("/tournaments/calendar/{key}/matches");
        assert_eq!(
            logged_path("/tournaments/calendar/s3cret/matches", route),
            "/tournaments/calendar/{key}/matches"
        );
        assert_eq!(
            logged_path("/tournaments/42", Some("/tournaments/{id}")),
            "/tournaments/42"
        );
        assert_eq!(logged_path("/nowhere", None), "/nowhere");
    }
}
