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
    let span = tracing::info_span!(
        "request", service, %method, path = %req.uri().path(), request_id = %request_id_text, trace_id = %trace.trace_id(),
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
