//! Client connection hygiene: how long a connection may take to send its headers or sit idle, how large its
//! headers may be, and how many connections the process holds at once — so slow, idle or oversized clients
//! cannot pin the gateway's file descriptors and memory.

use std::{
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::body::Body;
use http::{HeaderMap, Response, StatusCode};
use hyper::body::{Frame, SizeHint};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// `[gateway.connections]`: limits on each client connection and on how many are open.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Time a client has to send a request's complete head (HTTP/1), in milliseconds. Hyper also applies it to
    /// the wait for the next request on a kept-alive HTTP/1 connection.
    pub header_read_timeout_ms: u64,
    /// A connection with no request in flight for this long is closed (HTTP/1 and HTTP/2), in milliseconds.
    pub idle_timeout_ms: u64,
    /// Open client connections at most; beyond, a new client is answered 503 and closed. 0: derived from the
    /// open-file limit (see [`derived_cap`]).
    pub max_connections: usize,
    /// Largest single header line (name, value and separators), in bytes; larger ones are answered 431.
    pub max_header_bytes: usize,
    /// Largest request head as a whole (HTTP/1 request line and headers; HTTP/2 header list), in bytes.
    pub max_headers_total_bytes: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 0,
            // nginx's large_client_header_buffers and Envoy's defaults are of this order.
            max_header_bytes: 8 * 1024,
            max_headers_total_bytes: 64 * 1024,
        }
    }
}

/// The settings resolved once at build, shared by every serving thread.
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub max_headers_total_bytes: usize,
    /// Client connections open now, across every serving thread (the file-descriptor limit is per process).
    open: Arc<AtomicUsize>,
    /// Over-the-cap clients being answered 503 right now.
    refusing: Arc<AtomicUsize>,
}

/// File descriptors kept out of the connection cap for what else the process opens: database pools, Redis,
/// listeners, the runtime's own descriptors, log files, and the sockets of clients being refused.
const RESERVED_FDS: u64 = 128;

/// Over-the-cap clients answered at once; beyond, they are closed without an answer (still no hang).
const MAX_REFUSING: usize = 64;

impl Limits {
    /// Resolves `config`; with `max_connections = 0`, raises the open-file limit first and derives the cap.
    pub fn resolve(config: &ConnectionConfig) -> Self {
        let max_connections = if config.max_connections > 0 {
            raise_open_file_limit();
            config.max_connections
        } else {
            let cap = raise_open_file_limit().map_or(1024, derived_cap);
            tracing::debug!(
                cap,
                "client connection cap derived from the open-file limit"
            );
            cap
        };
        Self {
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms.max(1)),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms.max(1)),
            max_connections,
            max_header_bytes: config.max_header_bytes.max(64),
            // Hyper refuses a buffer below 8 KiB.
            max_headers_total_bytes: config.max_headers_total_bytes.max(8192),
            open: Arc::default(),
            refusing: Arc::default(),
        }
    }

    /// A slot for one more client connection, or `None` at the cap.
    pub fn admit(&self) -> Option<Permit> {
        let mut open = self.open.load(Ordering::Relaxed);
        loop {
            if open >= self.max_connections {
                return None;
            }
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Permit(self.open.clone())),
                Err(now) => open = now,
            }
        }
    }

    /// Answers a client over the cap with a 503 problem in the background, or closes it at once when too many
    /// are being answered already.
    pub fn refuse(&self, stream: tokio::net::TcpStream) {
        metrics::counter!("agon_gateway_connections_refused_total").increment(1);
        if self.refusing.fetch_add(1, Ordering::AcqRel) >= MAX_REFUSING {
            self.refusing.fetch_sub(1, Ordering::AcqRel);
            return; // dropping the stream closes it
        }
        let slot = Permit(self.refusing.clone());
        tokio::spawn(async move {
            answer_503(stream).await;
            drop(slot);
        });
    }
}

/// The connection cap for a soft open-file limit of `soft`: 85 % of what is left after [`RESERVED_FDS`]. The
/// other 15 % is for the upstream sockets of requests in flight (in `agon serve`, each proxied request holds
/// one pooled upstream connection) and the pool's idle ones. With the common 1,024 limit: 761 clients.
pub fn derived_cap(soft: u64) -> usize {
    let usable = soft.saturating_sub(RESERVED_FDS) * 85 / 100;
    usize::try_from(usable).unwrap_or(usize::MAX).max(16)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (allowed without privileges) and returns the soft limit
/// in force afterwards.
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // An unlimited hard limit still cannot be the soft one for open files (Linux caps it at `nr_open`).
    let target = limit.maximum.unwrap_or(1 << 20);
    match limit.current {
        Some(current) if current < target => {
            let raised = Rlimit {
                current: Some(target),
                maximum: limit.maximum,
            };
            Some(if setrlimit(Resource::Nofile, raised).is_ok() {
                target
            } else {
                current
            })
        }
        current => current,
    }
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

/// One held slot of a counter; released on drop.
pub struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The problem document for a client over the connection cap, as raw HTTP/1.1 (nothing was parsed yet).
fn refusal() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "the gateway is at its connection limit; retry shortly",
            "code": "too_many_connections",
        })
        .to_string();
        format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
             content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

/// Writes the refusal, then reads what the client sent until it closes (at most a second): closing with unread
/// bytes would reset the connection and could destroy the answer before the client reads it.
async fn answer_503(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(refusal()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// A 431 problem for a request with a header line longer than `max` bytes, or `None`.
pub fn oversized_header(headers: &HeaderMap, max: usize) -> Option<Response<Body>> {
    use agon_kit::{
        observe::X_REQUEST_ID,
        telemetry::{REQUEST_ID, acceptable_request_id, new_request_id},
    };
    // Name, ": ", value and CRLF, as on the wire in HTTP/1.
    let (name, _) = headers
        .iter()
        .find(|(name, value)| name.as_str().len() + value.len() + 4 > max)?;
    let request_id = match headers.get(&X_REQUEST_ID) {
        Some(id) if acceptable_request_id(id) => id.clone(),
        _ => new_request_id(),
    };
    let id = request_id.to_str().unwrap_or_default().to_owned();
    let mut response = REQUEST_ID.sync_scope(id, || {
        agon_kit::error::problem(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header_too_large",
            format!("the {name} header is longer than the {max} bytes allowed"),
            vec![],
        )
    });
    response
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), request_id);
    Some(response)
}

fn millis_since_start() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// What a connection's idle watchdog looks at: requests in flight, and since when there were none.
#[derive(Default)]
pub struct Activity {
    in_flight: AtomicUsize,
    /// Milliseconds (process clock) when the last request ended, or the connection opened.
    idle_since: AtomicU64,
    /// Switched protocols (WebSocket): its bytes are spliced, never idle in this sense.
    upgraded: AtomicBool,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        let activity = Self::default();
        activity
            .idle_since
            .store(millis_since_start(), Ordering::Relaxed);
        Arc::new(activity)
    }

    /// Marks a request in flight until the returned guard drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    pub fn upgraded(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }

    /// When the connection will have been idle for `timeout`, or `None` if it already has. While requests are
    /// in flight (or after an upgrade), one `timeout` from now, to look again.
    pub fn deadline(&self, timeout: Duration) -> Option<tokio::time::Instant> {
        let now = millis_since_start();
        if self.in_flight.load(Ordering::Acquire) > 0 || self.upgraded.load(Ordering::Relaxed) {
            return Some(tokio::time::Instant::now() + timeout.max(Duration::from_millis(1)));
        }
        let due = self.idle_since.load(Ordering::Acquire) + timeout.as_millis() as u64;
        (due > now).then(|| tokio::time::Instant::now() + Duration::from_millis(due - now))
    }
}

/// A request in flight on its connection: from the service call until its response body ends or is dropped
/// (or the request future is dropped, when the client went away).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .idle_since
            .store(millis_since_start(), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted in flight until it ends.
pub struct Tracked<B> {
    inner: B,
    guard: Option<InFlight>,
}

impl<B> Tracked<B> {
    pub fn new(inner: B, guard: InFlight) -> Self {
        Self {
            inner,
            guard: Some(guard),
        }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A client's socket holding its slot under the connection cap: the slot goes with the socket, also into a
/// WebSocket's spliced connection after the HTTP connection has handed it over.
pub struct Counted {
    stream: tokio::net::TcpStream,
    _permit: Permit,
}

impl Counted {
    pub fn new(stream: tokio::net::TcpStream, permit: Permit) -> Self {
        Self {
            stream,
            _permit: permit,
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_upstreams_and_databases() {
        assert_eq!(derived_cap(1024), 761);
        assert_eq!(derived_cap(100), 16);
        assert!(derived_cap(1 << 20) < (1 << 20) * 9 / 10);
    }

    #[test]
    fn permits_stop_at_the_cap_and_come_back() {
        let limits = Limits::resolve(&ConnectionConfig {
            max_connections: 2,
            ..Default::default()
        });
        let a = limits.admit().unwrap();
        let _b = limits.admit().unwrap();
        assert!(limits.admit().is_none());
        drop(a);
        assert!(limits.admit().is_some());
    }

    #[test]
    fn a_long_header_line_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("x-short", "a".parse().unwrap());
        assert!(oversized_header(&headers, 100).is_none());
        headers.insert("x-long", "a".repeat(200).parse().unwrap());
        let response = oversized_header(&headers, 100).unwrap();
        assert_eq!(response.status(), 431);
    }

    #[test]
    fn idle_deadline_waits_while_busy() {
        let activity = Activity::new();
        let timeout = Duration::from_secs(60);
        assert!(activity.deadline(timeout).is_some());
        let guard = activity.begin();
        assert!(
            activity.deadline(Duration::ZERO).is_some(),
            "busy: look again later"
        );
        drop(guard);
        assert!(
            activity.deadline(Duration::ZERO).is_none(),
            "idle past a zero timeout"
        );
    }
}
