//! Logs, request ids, trace context and Prometheus metrics, set up once per process.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

tokio::task_local! {
    /// The id of the request being handled, so errors built deep in a handler can carry it.
    pub static REQUEST_ID: String;
}

/// The request id of the current request, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for machines.
    #[default]
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// Installs the global subscriber. `filter` is an `EnvFilter` directive such as `info,agon_gateway=debug`.
pub fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
    // A second init (tests start many apps in one process) keeps the first subscriber.
    let _ = result;
    Ok(())
}

/// The process-wide Prometheus recorder; installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// W3C trace context of one hop: the incoming trace id (or a new one) and this hop's span id, kept as hex in
/// fixed buffers because the gateway builds one per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 32],
    span_id: [u8; 16],
    pub sampled: bool,
}

impl TraceContext {
    /// Continues the trace of a `traceparent` header, or starts one when it is absent or invalid.
    pub fn continue_from(header: Option<&[u8]>) -> Self {
        let mut span_id = [0u8; 16];
        random_hex(&mut span_id);
        if let Some((trace_id, sampled)) = header.and_then(parse_traceparent) {
            return Self {
                trace_id,
                span_id,
                sampled,
            };
        }
        let mut trace_id = [0u8; 32];
        random_hex(&mut trace_id);
        Self {
            trace_id,
            span_id,
            sampled: false,
        }
    }

    pub fn trace_id(&self) -> &str {
        std::str::from_utf8(&self.trace_id).unwrap_or_default()
    }

    pub fn span_id(&self) -> &str {
        std::str::from_utf8(&self.span_id).unwrap_or_default()
    }

    /// The `traceparent` value to send downstream: same trace, this hop as parent.
    pub fn header_value(&self) -> http::HeaderValue {
        let mut buf = [0u8; 55];
        buf[..3].copy_from_slice(b"00-");
        buf[3..35].copy_from_slice(&self.trace_id);
        buf[35] = b'-';
        buf[36..52].copy_from_slice(&self.span_id);
        buf[52..].copy_from_slice(if self.sampled { b"-01" } else { b"-00" });
        // Only hex digits and dashes: always a valid header value.
        http::HeaderValue::from_bytes(&buf).unwrap_or_else(|_| http::HeaderValue::from_static("00"))
    }
}

fn parse_traceparent(value: &[u8]) -> Option<([u8; 32], bool)> {
    let value = value.trim_ascii();
    let hex = |s: &[u8]| s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    // version "-" trace-id "-" parent-id "-" flags; later versions may append fields after the flags.
    if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let (version, trace, parent, flags) =
        (&value[..2], &value[3..35], &value[36..52], &value[53..55]);
    let valid = hex(version)
        && version != b"ff"
        && hex(trace)
        && trace.iter().any(|b| *b != b'0')
        && hex(parent)
        && parent.iter().any(|b| *b != b'0')
        && hex(flags);
    if !valid || (version == b"00" && value.len() != 55) || (value.len() > 55 && value[55] != b'-')
    {
        return None;
    }
    let mut trace_id = [0u8; 32];
    trace_id.copy_from_slice(trace);
    let sampled = u8::from_str_radix(std::str::from_utf8(flags).ok()?, 16).ok()? & 1 == 1;
    Some((trace_id, sampled))
}

fn random_hex(out: &mut [u8]) {
    let mut raw = [0u8; 16];
    let raw = &mut raw[..out.len() / 2];
    rand::Rng::fill(&mut rand::thread_rng(), &mut *raw);
    let _ = hex::encode_to_slice(raw, out);
}

/// A fresh request id: a UUIDv7 in 32 hex digits (time-ordered, so ids sort like the log).
pub fn new_request_id() -> http::HeaderValue {
    let mut buf = [0u8; 32];
    let id = uuid::Uuid::now_v7()
        .simple()
        .encode_lower(&mut buf)
        .to_owned();
    http::HeaderValue::from_str(&id).unwrap_or_else(|_| http::HeaderValue::from_static("0"))
}

/// Keeps a client's request id when it is short printable ASCII.
pub fn acceptable_request_id(value: &http::HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(u8::is_ascii_graphic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_continues_valid_and_restarts_invalid() {
        let incoming = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = TraceContext::continue_from(Some(incoming));
        assert_eq!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(ctx.sampled);
        assert_ne!(ctx.span_id(), "00f067aa0ba902b7");
        let header = ctx.header_value();
        let header = header.to_str().unwrap();
        assert!(
            header.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{header}"
        );
        assert!(header.ends_with("-01"));
        assert_eq!(header.len(), 55);
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "zz-abc",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            let ctx = TraceContext::continue_from(Some(bad.as_bytes()));
            assert_eq!(ctx.trace_id().len(), 32);
            assert_ne!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        }
        // A later version may carry more fields; its trace continues.
        let future = b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more";
        assert_eq!(
            TraceContext::continue_from(Some(future)).trace_id(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }

    #[test]
    fn request_ids_are_sanitised() {
        assert!(acceptable_request_id(&http::HeaderValue::from_static(
            "abc-123"
        )));
        assert!(!acceptable_request_id(&http::HeaderValue::from_static(
            "has space"
        )));
        assert!(!acceptable_request_id(&http::HeaderValue::from_static("")));
        let fresh = new_request_id();
        assert_eq!(fresh.len(), 32);
        assert!(acceptable_request_id(&fresh));
    }
}
