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

/// W3C trace context of one hop: the incoming trace id (or a new one) and this hop's span id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
    pub sampled: bool,
}

impl TraceContext {
    /// Continues the trace of a `traceparent` header, or starts one when it is absent or invalid.
    pub fn continue_from(header: Option<&str>) -> Self {
        let span_id = random_hex(8);
        if let Some((trace_id, sampled)) = header.and_then(parse_traceparent) {
            return Self {
                trace_id,
                span_id,
                sampled,
            };
        }
        Self {
            trace_id: random_hex(16),
            span_id,
            sampled: false,
        }
    }

    /// The `traceparent` value to send downstream: same trace, this hop as parent.
    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{}",
            self.trace_id,
            self.span_id,
            if self.sampled { "01" } else { "00" }
        )
    }
}

fn parse_traceparent(value: &str) -> Option<(String, bool)> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && hex(flags, 2);
    // Version 00 has exactly four fields; later versions may append more.
    if !valid || (version == "00" && parts.next().is_some()) {
        return None;
    }
    let sampled = u8::from_str_radix(flags, 16).ok()? & 1 == 1;
    Some((trace.to_owned(), sampled))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::Rng::fill(&mut rand::thread_rng(), buf.as_mut_slice());
    hex::encode(buf)
}

/// A request id from the client is kept when it is short printable ASCII; otherwise a new one is made.
pub fn request_id_from(header: Option<&str>) -> String {
    match header {
        Some(id)
            if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            id.to_owned()
        }
        _ => uuid::Uuid::now_v7().simple().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_continues_valid_and_restarts_invalid() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = TraceContext::continue_from(Some(incoming));
        assert_eq!(ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(ctx.sampled);
        assert_ne!(ctx.span_id, "00f067aa0ba902b7");
        assert!(
            ctx.header()
                .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        );
        for bad in [
            "",
            "00-0000000000000000000000000000000-00f067aa0ba902b7-01",
            "zz-abc",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        ] {
            let ctx = TraceContext::continue_from(Some(bad));
            assert_eq!(ctx.trace_id.len(), 32);
            assert_ne!(ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        }
    }

    #[test]
    fn request_ids_are_sanitised() {
        assert_eq!(request_id_from(Some("abc-123")), "abc-123");
        assert_eq!(request_id_from(Some("has space")).len(), 32);
        assert_eq!(request_id_from(None).len(), 32);
    }
}
