//! Where a route sends its requests: a router in this process (`agon up`: no socket hop) or an HTTP service
//! reached over pooled keep-alive connections with bodies streamed both ways — one URL, or several replicas
//! (comma-separated) taken in turn, a replica that refuses connections being skipped for a few seconds.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Router, body::Body};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header};
use hyper::body::Incoming;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tower::ServiceExt;

#[derive(Clone)]
pub enum Upstream {
    InProcess(Router),
    Http(Arc<HttpUpstream>),
    /// A registry entry whose URL cannot be used; requests get 502.
    Unavailable,
}

/// An HTTP service: one or more replicas, taken in turn.
pub struct HttpUpstream {
    /// The replicas' URLs as configured, comma-separated.
    pub url: String,
    replicas: Vec<Replica>,
    next: AtomicUsize,
}

/// One replica: scheme and authority, plus a base path prepended to every forwarded path.
struct Replica {
    url: String,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    base_path: String,
    /// Unix milliseconds until which the replica is skipped (it refused a connection).
    resting_until: AtomicU64,
}

/// How long a replica that refused a connection is left out of the rotation.
const REST: Duration = Duration::from_secs(5);

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the gateway sends upstream: the client's body, streamed, or a body it holds (a reshaped request's, or
/// nothing: a request without a body can be sent again to another replica).
pub type UpstreamBody = http_body_util::Either<Incoming, http_body_util::Full<bytes::Bytes>>;

/// The pooled client every HTTP upstream shares.
pub type HttpClient = Client<HttpConnector, UpstreamBody>;

pub enum ForwardError {
    Timeout,
    Unreachable(String),
}

pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(3)));
    connector.set_keepalive(Some(Duration::from_secs(60)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(connector)
}

impl HttpUpstream {
    /// One URL, or several replicas' URLs separated by commas.
    pub fn parse(urls: &str) -> Result<Self, String> {
        let replicas = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(Replica::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if replicas.is_empty() {
            return Err("no upstream URL".into());
        }
        Ok(Self {
            url: replicas
                .iter()
                .map(|r| r.url.as_str())
                .collect::<Vec<_>>()
                .join(","),
            replicas,
            next: AtomicUsize::new(0),
        })
    }

    /// Every replica's URL.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.replicas.iter().map(|r| r.url.as_str())
    }

    /// The next replica in turn, skipping resting ones unless every replica rests.
    fn pick(&self) -> &Replica {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = now_millis();
        let n = self.replicas.len();
        (0..n)
            .map(|i| &self.replicas[(start + i) % n])
            .find(|r| r.resting_until.load(Ordering::Relaxed) <= now)
            .unwrap_or(&self.replicas[start % n])
    }
}

impl Replica {
    /// The absolute URI of `path_and_query` on this replica.
    fn uri(&self, path_and_query: &http::uri::PathAndQuery) -> Result<Uri, ForwardError> {
        let path_and_query = if self.base_path.is_empty() {
            path_and_query.clone()
        } else {
            format!("{}{}", self.base_path, path_and_query)
                .parse()
                .map_err(|_| ForwardError::Unreachable("bad path".into()))?
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts).map_err(|e| ForwardError::Unreachable(e.to_string()))
    }

    fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| format!("{url:?} has no scheme"))?;
        if scheme != http::uri::Scheme::HTTP {
            return Err(format!(
                "{url:?}: upstreams are plain http inside the cluster"
            ));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("{url:?} has no host"))?;
        if uri.query().is_some() {
            return Err(format!("{url:?}: an upstream URL cannot have a query"));
        }
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            scheme,
            authority,
            base_path,
            resting_until: AtomicU64::new(0),
        })
    }
}

impl Upstream {
    /// Sends `req` (whose URI is the upstream path and query) and returns the upstream's answer.
    pub async fn forward(
        &self,
        mut req: Request<UpstreamBody>,
        path_and_query: http::uri::PathAndQuery,
        client: &HttpClient,
        timeout: Duration,
    ) -> Result<Response<Body>, ForwardError> {
        // A WebSocket handshake keeps its `Upgrade`; the connection is spliced once both sides switched.
        let upgrade = upgrade_protocol(req.headers());
        strip_hop_by_hop(req.headers_mut());
        if let Some(protocol) = &upgrade {
            set_upgrade(req.headers_mut(), protocol);
        }
        let forwarded = match self {
            Upstream::InProcess(router) => {
                // In-process, the service's own upgrade handling takes the client connection (its
                // `OnUpgrade` travels in the request's extensions).
                *req.uri_mut() = Uri::from(path_and_query);
                let call = router.clone().oneshot(req.map(Body::new));
                match tokio::time::timeout(timeout, call).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => return Err(ForwardError::Timeout),
                }
            }
            Upstream::Http(balanced) => {
                let upgrading = upgrade.is_some();
                forward_http(balanced, req, &path_and_query, client, timeout, upgrading).await?
            }
            Upstream::Unavailable => {
                return Err(ForwardError::Unreachable("no usable upstream URL".into()));
            }
        };
        let mut response = forwarded;
        strip_hop_by_hop(response.headers_mut());
        if let (Some(protocol), StatusCode::SWITCHING_PROTOCOLS) = (&upgrade, response.status()) {
            set_upgrade(response.headers_mut(), protocol);
        }
        Ok(response)
    }
}

/// One request to an HTTP upstream: to the next replica in turn, and to a second one when the first refuses the
/// connection and the request has no body. A WebSocket handshake's two upgraded connections are spliced.
async fn forward_http(
    balanced: &HttpUpstream,
    mut req: Request<UpstreamBody>,
    path_and_query: &http::uri::PathAndQuery,
    client: &HttpClient,
    timeout: Duration,
    upgrading: bool,
) -> Result<Response<Body>, ForwardError> {
    let client_side = upgrading.then(|| hyper::upgrade::on(&mut req));
    // Without a body the request can go to another replica when one refuses the connection: nothing
    // reached it. A body streams from the client and cannot be sent twice.
    let bodiless = hyper::body::Body::is_end_stream(req.body());
    let attempts = if bodiless {
        balanced.replicas.len().min(2)
    } else {
        1
    };
    let (head, body) = req.into_parts();
    let mut head = Some(head);
    let mut body = Some(body);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let up = balanced.pick();
        let uri = up.uri(path_and_query)?;
        let body = match body.take() {
            Some(body) if !bodiless => body,
            _ => http_body_util::Either::Right(http_body_util::Full::default()),
        };
        let request = rebuild(&mut head, attempt == attempts, uri, body);
        match tokio::time::timeout(timeout, client.request(request)).await {
            Ok(Ok(mut response)) => {
                if let (Some(client_side), StatusCode::SWITCHING_PROTOCOLS) =
                    (client_side, response.status())
                {
                    splice(client_side, hyper::upgrade::on(&mut response));
                }
                return Ok(response.map(Body::new));
            }
            Ok(Err(error)) => {
                if error.is_connect() {
                    // Refused before anything was sent: rest this replica, the next requests
                    // go to the others.
                    up.resting_until
                        .store(now_millis() + REST.as_millis() as u64, Ordering::Relaxed);
                    if attempt < attempts {
                        continue;
                    }
                }
                return Err(ForwardError::Unreachable(error.to_string()));
            }
            Err(_) => return Err(ForwardError::Timeout),
        }
    }
}

/// The request for one attempt: the original head on the last one (moved), a copy before.
fn rebuild(
    head: &mut Option<http::request::Parts>,
    last: bool,
    uri: Uri,
    body: UpstreamBody,
) -> Request<UpstreamBody> {
    match head.take() {
        Some(mut parts) if last => {
            parts.uri = uri;
            Request::from_parts(parts, body)
        }
        Some(parts) => {
            let mut request = Request::new(body);
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = uri;
            *request.version_mut() = parts.version;
            *request.headers_mut() = parts.headers.clone();
            *head = Some(parts);
            request
        }
        None => Request::new(body),
    }
}

/// The protocol a request asks to switch to (`Connection: upgrade` plus `Upgrade: <protocol>`).
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

fn set_upgrade(headers: &mut HeaderMap, protocol: &HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol.clone());
}

/// Copies bytes both ways between the client's and the upstream's switched connections until either closes.
fn splice(client: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    tokio::spawn(async move {
        match tokio::try_join!(client, upstream) {
            Ok((client, upstream)) => {
                let mut client = hyper_util::rt::TokioIo::new(client);
                let mut upstream = hyper_util::rt::TokioIo::new(upstream);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
            Err(error) => tracing::debug!(%error, "upgrade did not complete"),
        }
    });
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded, including any
/// header the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    static HOP: [HeaderName; 7] = [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
    ];
    if let Some(named) = headers
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    {
        for name in named.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                headers.remove(name);
            }
        }
    }
    for name in &HOP {
        headers.remove(name);
    }
    // Transfer-encoding is re-done by each hop; hyper sets it again if the body needs it.
    headers.remove(header::TRANSFER_ENCODING);
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Appends the client's address (`peer`, formatted once per connection) to `X-Forwarded-For`.
pub fn append_forwarded_for(headers: &mut HeaderMap, peer: &HeaderValue) {
    let value = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(existing) => {
            let joined = format!("{existing}, {}", peer.to_str().unwrap_or_default());
            HeaderValue::from_str(&joined).unwrap_or_else(|_| peer.clone())
        }
        None => peer.clone(),
    };
    headers.insert(X_FORWARDED_FOR.clone(), value);
}

impl Upstream {
    /// An HTTP upstream at `url`.
    pub fn http(url: &str) -> Result<Self, String> {
        Ok(Upstream::Http(Arc::new(HttpUpstream::parse(url)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_are_checked() {
        let up = HttpUpstream::parse("http://127.0.0.1:8001/base/").unwrap();
        assert_eq!(up.replicas[0].base_path, "/base");
        assert_eq!(up.url, "http://127.0.0.1:8001/base");
        assert!(HttpUpstream::parse("http://a:1, https://b").is_err());
        assert!(HttpUpstream::parse(" , ").is_err());
        assert!(HttpUpstream::parse("https://x").is_err());
        assert!(HttpUpstream::parse("127.0.0.1:80").is_err());
        assert!(HttpUpstream::parse("http://x/?a=b").is_err());
    }

    #[test]
    fn replicas_are_taken_in_turn_and_resting_ones_skipped() {
        let up = HttpUpstream::parse("http://a:1, http://b:2,http://c:3").unwrap();
        assert_eq!(up.url, "http://a:1,http://b:2,http://c:3");
        let turns: Vec<&str> = (0..4).map(|_| up.pick().url.as_str()).collect();
        assert_eq!(
            turns,
            ["http://a:1", "http://b:2", "http://c:3", "http://a:1"]
        );
        up.replicas[1]
            .resting_until
            .store(now_millis() + 60_000, Ordering::Relaxed);
        let turns: Vec<&str> = (0..3).map(|_| up.pick().url.as_str()).collect();
        assert!(!turns.contains(&"http://b:2"), "{turns:?}");
        for r in &up.replicas {
            r.resting_until.store(u64::MAX, Ordering::Relaxed);
        }
        up.pick(); // every replica resting: still one is tried rather than none
    }

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}
