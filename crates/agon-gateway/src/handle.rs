//! Handling one client request: the gateway's own paths, route lookup, rate limit, edge authentication,
//! forwarding with request id, trace context and the client's address, CORS, and the answers the gateway gives
//! itself when it refuses (problem+json).

use std::{borrow::Cow, net::SocketAddr};

use agon_kit::{
    auth::{AuthError, bearer_token},
    error::{KitError, problem},
    observe::{TRACEPARENT, X_REQUEST_ID},
    telemetry::{REQUEST_ID, TraceContext, acceptable_request_id, new_request_id},
};
use axum::body::Body;
use http::{HeaderValue, Method, Request, Response, StatusCode, header, uri::PathAndQuery};
use hyper::body::Incoming;
use tower::ServiceExt;

use crate::{
    Gateway, is_gateway_path,
    route::{AuthPolicy, Lookup},
    upstream::{self, ForwardError, UpstreamBody},
};

impl Gateway {
    /// Handles one request from a client.
    pub async fn handle(&self, req: Request<Incoming>, peer: &Peer) -> Response<Body> {
        // A profile may answer one of the gateway's own paths its own way (GYM IT's `/healthz`).
        if is_gateway_path(req.uri().path()) && !self.inner.overridden.contains(req.uri().path()) {
            return self
                .call_local(req.map(Body::new))
                .await
                .unwrap_or_else(kit_response);
        }
        let request_id = match req.headers().get(&X_REQUEST_ID) {
            Some(id) if acceptable_request_id(id) => id.clone(),
            _ => new_request_id(),
        };
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = match self.route(req, peer, &request_id).await {
            Ok(response) => response,
            // Only answers the gateway writes itself need the request id in scope (it goes into the body).
            Err(rejection) => {
                let id = request_id.to_str().unwrap_or_default().to_owned();
                REQUEST_ID.sync_scope(id, || rejection.into_response())
            }
        };
        response
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), request_id);
        if let Some(origin) = origin {
            self.cors_headers(&origin, response.headers_mut());
        }
        response
    }

    async fn route(
        &self,
        mut req: Request<Incoming>,
        peer: &Peer,
        request_id: &HeaderValue,
    ) -> Result<Response<Body>, Rejection> {
        if req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            && let Some(preflight) = self.preflight(&req)
        {
            return Ok(preflight);
        }
        let table = self.inner.tables.current.load();
        let (route, path_and_query) = match table.lookup(req.method(), req.uri().path()) {
            Lookup::Found(route, _) if let Some(shaped) = &route.shaped => {
                // The parameters now, while the route is at hand: no copy of its matcher outlives the table.
                let params = route.matcher.captures(req.uri().path()).unwrap_or_default();
                let shaped = shaped.clone();
                drop(table);
                return Ok(self.shaped(&shaped, params, req, peer, request_id).await);
            }
            Lookup::Found(route, Cow::Borrowed(_)) => {
                // Unchanged path: pass the request's own path and query on (a reference count, no copy).
                let pq = req
                    .uri()
                    .path_and_query()
                    .cloned()
                    .unwrap_or_else(|| PathAndQuery::from_static("/"));
                (route.clone(), pq)
            }
            Lookup::Found(route, Cow::Owned(path)) => {
                let joined = match req.uri().query() {
                    Some(q) if path.contains('?') => format!("{path}&{q}"),
                    Some(q) => format!("{path}?{q}"),
                    None => path,
                };
                let pq = joined
                    .parse()
                    .map_err(|_| Rejection::Kit(KitError::InvalidPath(joined.clone())))?;
                (route.clone(), pq)
            }
            Lookup::MethodNotAllowed => return Err(Rejection::Kit(KitError::MethodNotAllowed)),
            Lookup::NotFound => {
                return Err(Rejection::Kit(KitError::NotFound(
                    req.uri().path().to_owned(),
                )));
            }
        };
        drop(table);
        let client = self.client_of(&req, peer);
        self.limit(client, peer)
            .await
            .map_err(Rejection::RateLimited)?;
        if route.auth != AuthPolicy::Public {
            self.authorize(req.headers(), route.auth)
                .await
                .map_err(Rejection::Auth)?;
        }
        self.stamp(&mut req, peer, request_id, client);
        route
            .upstream
            .forward(
                req.map(UpstreamBody::Left),
                path_and_query,
                &self.client,
                route.timeout,
            )
            .await
            .map_err(|e| Rejection::Upstream(route.upstream_name.clone(), e))
    }

    /// A request to the gateway's own API, served on the runtime that owns its database pool, whichever thread
    /// took the request.
    pub(crate) async fn call_local(&self, req: Request<Body>) -> Result<Response<Body>, KitError> {
        match self
            .inner
            .home
            .spawn(self.inner.local.clone().oneshot(req))
            .await
        {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(never)) => match never {},
            Err(_) => Err(KitError::Internal("the gateway's own API stopped".into())),
        }
    }

    /// The client: behind a trusted proxy, further left in X-Forwarded-For than the connecting address.
    fn client_of(&self, req: &Request<Incoming>, peer: &Peer) -> std::net::IpAddr {
        self.inner
            .trusted_proxies
            .client(peer.addr.ip(), req.headers())
    }

    /// The rate limit for `client`; `Err` carries the seconds to wait.
    async fn limit(&self, client: std::net::IpAddr, peer: &Peer) -> Result<(), u64> {
        if client == peer.addr.ip().to_canonical() {
            self.inner
                .limiter
                .check(peer.forwarded_for.to_str().unwrap_or("unknown"))
                .await
        } else {
            self.inner.limiter.check(&client.to_string()).await
        }
    }

    /// A reshaping profile route: rate-limited like any, then served by the profile engine (`profile/`).
    async fn shaped(
        &self,
        shaped: &crate::profile::Shaped,
        params: Vec<(String, String)>,
        mut req: Request<Incoming>,
        peer: &Peer,
        request_id: &HeaderValue,
    ) -> Response<Body> {
        let client = self.client_of(&req, peer);
        if let Err(retry_after) = self.limit(client, peer).await {
            return Rejection::RateLimited(retry_after).into_response();
        }
        self.stamp(&mut req, peer, request_id, client);
        self.serve_shaped(shaped, params, req).await
    }

    /// What every forwarded request carries: the request id, trace context, `X-Forwarded-For` and, for an
    /// in-process service, the client's address.
    fn stamp(
        &self,
        req: &mut Request<Incoming>,
        peer: &Peer,
        request_id: &HeaderValue,
        client: std::net::IpAddr,
    ) {
        let trace =
            TraceContext::continue_from(req.headers().get(&TRACEPARENT).map(HeaderValue::as_bytes));
        let headers = req.headers_mut();
        headers.insert(X_REQUEST_ID.clone(), request_id.clone());
        headers.insert(TRACEPARENT.clone(), trace.header_value());
        upstream::append_forwarded_for(headers, &peer.forwarded_for);
        // An in-process service reads the client from here; extensions never cross a socket.
        req.extensions_mut()
            .insert(agon_kit::ClientAddr(Some(client)));
    }

    /// The edge check of a route's `auth` policy on a request's headers.
    pub(crate) async fn authorize(
        &self,
        headers: &http::HeaderMap,
        policy: AuthPolicy,
    ) -> Result<(), AuthError> {
        let header = headers
            .get(header::AUTHORIZATION)
            .ok_or(AuthError::Missing)?;
        let token = bearer_token(header).ok_or(AuthError::Malformed)?;
        let claims = self.inner.verifier.verify(token).await?;
        match policy.required_role() {
            Some(role) if !claims.roles.contains(&role) => Err(AuthError::MissingRole(role)),
            _ => Ok(()),
        }
    }

    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        let allowed = &self.inner.cors.allowed_origins;
        !allowed.is_empty()
            && origin
                .to_str()
                .is_ok_and(|o| allowed.iter().any(|a| a == "*" || a == o))
    }

    fn preflight(&self, req: &Request<Incoming>) -> Option<Response<Body>> {
        let origin = req.headers().get(header::ORIGIN)?;
        if !self.origin_allowed(origin) {
            return None;
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(self.inner.cors.max_age_secs),
        );
        Some(response)
    }

    fn cors_headers(&self, origin: &HeaderValue, headers: &mut http::HeaderMap) {
        if self.origin_allowed(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-request-id"),
            );
            headers.append(header::VARY, HeaderValue::from_static("origin"));
        }
    }
}

fn kit_response(e: KitError) -> Response<Body> {
    axum::response::IntoResponse::into_response(e)
}

/// What the client is told when an upstream fails it, counted and (when unreachable) logged once here.
pub(crate) fn upstream_failure(
    name: &str,
    error: &ForwardError,
) -> (StatusCode, &'static str, String) {
    match error {
        ForwardError::Timeout => {
            metrics::counter!("agon_gateway_upstream_errors_total", "kind" => "timeout")
                .increment(1);
            (
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!("{name} did not answer in time"),
            )
        }
        ForwardError::Unreachable(why) => {
            metrics::counter!("agon_gateway_upstream_errors_total", "kind" => "unreachable")
                .increment(1);
            tracing::warn!(upstream = %name, error = %why, "upstream unreachable");
            (
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                format!("{name} is unavailable"),
            )
        }
    }
}

/// The client's address as it goes into `X-Forwarded-For`, formatted once per connection.
pub struct Peer {
    pub addr: SocketAddr,
    forwarded_for: HeaderValue,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Self {
        let forwarded_for = HeaderValue::from_str(&addr.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Self {
            addr,
            forwarded_for,
        }
    }
}

/// An answer the gateway gives itself instead of the upstream's.
enum Rejection {
    RateLimited(u64),
    Kit(KitError),
    Auth(AuthError),
    Upstream(String, ForwardError),
}

impl Rejection {
    fn into_response(self) -> Response<Body> {
        use axum::response::IntoResponse;
        match self {
            Rejection::RateLimited(retry_after) => {
                metrics::counter!("agon_gateway_rate_limited_total").increment(1);
                let mut response = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests from this address; retry in {retry_after} s"),
                    vec![],
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                response
            }
            Rejection::Kit(e) => e.into_response(),
            Rejection::Auth(e) => e.into_response(),
            Rejection::Upstream(name, error) => {
                let (status, code, detail) = upstream_failure(&name, &error);
                problem(status, code, detail, vec![])
            }
        }
    }
}
