//! Serving a reshaping route: read the client's request (bounded), make the calls onto the platform's routes,
//! and write the seed's answer or the seed's error.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, Request, Response, StatusCode, header, request::Parts,
    uri::PathAndQuery,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use super::{
    Answer, Call, Check, Shaped,
    form::{Sent, multipart_boundary, read_form},
    template::{PathError, text_of, truthy},
};
use crate::{
    Gateway,
    route::{Lookup, Route},
    upstream::UpstreamBody,
};

/// The largest client body a reshaping route reads unless it says otherwise (`max_body`); larger ones answer
/// 413. Routes that only forward stream.
pub const MAX_SHAPED_BODY: usize = 1 << 20;

/// The most a route may raise `max_body` to (an upload a call passes on whole).
pub const MAX_UPLOAD: usize = 8 << 20;

/// The largest platform answer a reshaping route reads (a page of a list, well within).
const MAX_PLATFORM_ANSWER: usize = 8 << 20;

/// A call ready to go: the platform route it reaches (`None`: the gateway's own API), its path and query, the
/// request.
type Outgoing = (Option<Arc<Route>>, PathAndQuery, Request<UpstreamBody>);

/// A platform answer, read.
struct Answered {
    status: StatusCode,
    value: Value,
    bytes: Bytes,
    content_type: Option<HeaderValue>,
    /// The answer's headers a client still needs (`PASSED`).
    kept: HeaderMap,
}

/// Headers of a platform answer that keep their meaning for the seed's client; the rest describe a body the
/// profile rewrote.
const PASSED: [header::HeaderName; 4] = [
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
    header::CACHE_CONTROL,
    header::ETAG,
];

/// An error before or between the calls, in the platform's problem shape.
#[derive(Debug)]
struct Fault {
    status: StatusCode,
    problem: Value,
    /// Boxed: faults travel in `Result`s, and most carry no headers.
    kept: Box<HeaderMap>,
}

impl Fault {
    fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            problem: json!({
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "code": code,
                "detail": detail.into(),
            }),
            kept: Box::default(),
        }
    }
}

impl Gateway {
    /// Serves `req` through `shaped`; `params` are the route's path parameters as sent.
    pub(crate) async fn serve_shaped(
        &self,
        shaped: &Shaped,
        params: Vec<(String, String)>,
        req: Request<Incoming>,
    ) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let mut context = context(&parts, params);
        if let Some(answer) = &shaped.answer {
            return answer_response(answer, &context, parts.uri.query());
        }
        let (mut response, kept) = match self.run(shaped, &parts, body, &mut context).await {
            Ok(mut last) => {
                let kept = std::mem::take(&mut last.kept);
                (shaped.success(&mut context, last), kept)
            }
            Err(mut fault) => {
                let kept = std::mem::take(&mut *fault.kept);
                (shaped.error(&mut context, fault), kept)
            }
        };
        response.headers_mut().extend(kept);
        response
    }

    async fn run(
        &self,
        shaped: &Shaped,
        parts: &Parts,
        body: Incoming,
        context: &mut Value,
    ) -> Result<Answered, Fault> {
        // Checks that do not read the body hold before it is read: a refused upload is never buffered.
        let (early, checks): (Vec<&Check>, Vec<&Check>) =
            (shaped.checks.iter()).partition(|c| c.after == 0 && !c.reads_body());
        for check in early {
            check.holds(context)?;
        }
        let sent = read_sent(shaped.max_body, parts, body, context).await?;
        let mut last = None;
        for (i, call) in shaped.calls.iter().enumerate() {
            for check in checks.iter().filter(|c| c.after == i) {
                check.holds(context)?;
            }
            if let Some(when) = &call.when
                && !when.render(context).is_some_and(|v| truthy(&v))
            {
                if let Some(Value::Array(steps)) = context.get_mut("steps") {
                    steps.push(Value::Null);
                }
                continue;
            }
            let answered = self.call(call, parts, context, &sent).await?;
            if !answered.status.is_success() {
                return Err(Fault {
                    status: answered.status,
                    problem: match answered.value {
                        Value::Object(_) => answered.value,
                        Value::String(text) => json!({ "detail": text }),
                        _ => json!({}),
                    },
                    kept: Box::new(answered.kept),
                });
            }
            if let Some(Value::Array(steps)) = context.get_mut("steps") {
                steps.push(answered.value.clone());
            }
            last = Some(answered);
        }
        let Some(last) = last else {
            return Err(Fault::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "no call of the route applied to this request",
            ));
        };
        context["response"] = last.value.clone();
        for check in checks.iter().filter(|c| c.after == shaped.calls.len()) {
            check.holds(context)?;
        }
        Ok(last)
    }

    /// One call onto a platform route.
    async fn call(
        &self,
        call: &Call,
        parts: &Parts,
        context: &Value,
        sent: &Sent,
    ) -> Result<Answered, Fault> {
        let (target, pq, request) = self.request(call, parts, context, sent)?;
        if let Some(route) = &target
            && route.auth != crate::route::AuthPolicy::Public
        {
            // The same early check the route gets from clients (a registered service may rely on it).
            self.authorize(request.headers(), route.auth)
                .await
                .map_err(|e| {
                    use agon_kit::error::ErrorCode;
                    Fault::new(e.status(), e.code(), e.to_string())
                })?;
        }
        let response = match target {
            Some(route) => route
                .upstream
                .forward(request, pq, &self.client, route.timeout)
                .await
                .map_err(|e| {
                    let (status, code, detail) =
                        crate::handle::upstream_failure(&route.upstream_name, &e);
                    Fault::new(status, code, detail)
                })?,
            None => self.call_gateway(request, pq).await?,
        };
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let kept = PASSED
            .iter()
            .filter_map(|name| Some((name.clone(), response.headers().get(name)?.clone())))
            .collect();
        let bytes = read_bounded(response.into_body(), MAX_PLATFORM_ANSWER)
            .await
            .map_err(|_| {
                Fault::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    "the platform's answer could not be read",
                )
            })?;
        let value = answer_value(content_type.as_ref(), &bytes);
        Ok(Answered {
            status,
            value,
            bytes,
            content_type,
            kept,
        })
    }

    /// A call onto the gateway's own API (the registry, `/readyz`).
    async fn call_gateway(
        &self,
        mut request: Request<UpstreamBody>,
        pq: PathAndQuery,
    ) -> Result<Response<Body>, Fault> {
        *request.uri_mut() = http::Uri::from(pq);
        self.call_local(request.map(Body::new)).await.map_err(|e| {
            Fault::new(
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                e.to_string(),
            )
        })
    }

    /// The request for `call`: the platform route it reaches (`None`: the gateway's own API), its path and
    /// query, and the client's headers (less those about its body) with the rendered body and bearer.
    fn request(
        &self,
        call: &Call,
        parts: &Parts,
        context: &Value,
        sent: &Sent,
    ) -> Result<Outgoing, Fault> {
        let path = call.path.render_path(context).map_err(|e| match e {
            PathError::Missing(field) => Fault::new(
                StatusCode::BAD_REQUEST,
                "missing_field",
                format!("{field} is required"),
            ),
            PathError::Refused(field) => Fault::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such {field}"),
            ),
        })?;
        let query = match &call.query {
            Some(template) => Some(encode_query(template.render(context))),
            None => parts.uri.query().map(str::to_owned),
        };
        // The gateway's own paths are no route of the table: no lookup for them.
        let (target, upstream_path) = if crate::is_gateway_path(&path) {
            (None, path)
        } else {
            let table = self.inner.tables.current.load();
            match table.lookup_canonical(&call.method, &path) {
                Lookup::Found(route, rewritten) => (Some(route.clone()), rewritten.into_owned()),
                _ => {
                    return Err(Fault::new(
                        StatusCode::NOT_FOUND,
                        "not_found",
                        format!("no route for {} {path}", call.method),
                    ));
                }
            }
        };
        let pq = match query {
            Some(q) if !q.is_empty() => format!("{upstream_path}?{q}"),
            _ => upstream_path,
        };
        let pq: PathAndQuery = pq
            .parse()
            .map_err(|_| Fault::new(StatusCode::BAD_REQUEST, "invalid_path", "bad path"))?;
        let mut headers = parts.headers.clone();
        for name in [
            header::HOST,
            header::CONTENT_LENGTH,
            header::ACCEPT_ENCODING,
        ] {
            headers.remove(name);
        }
        let body = call_body(call, sent, context, &mut headers)?;
        if let Some(bearer) = &call.bearer {
            set_bearer(&mut headers, bearer.render(context).map(text_of))?;
        }
        let mut request = Request::new(UpstreamBody::Right(Full::new(body)));
        *request.method_mut() = call.method.clone();
        *request.headers_mut() = headers;
        if let Some(client) = parts.extensions.get::<agon_kit::ClientAddr>() {
            request.extensions_mut().insert(*client);
        }
        Ok((target, pq, request))
    }
}

impl Check {
    /// True when the check looks at the client's body (it then waits until the body is read).
    fn reads_body(&self) -> bool {
        let mut reads = false;
        let templates = std::iter::once(&self.value).chain(self.equals.as_ref());
        for template in templates {
            template.visit_refs(&mut |r| reads |= r.root == "body");
        }
        reads
    }

    /// `Err`: the route's error when the value is absent, empty or false, or differs from `equals`.
    fn holds(&self, context: &Value) -> Result<(), Fault> {
        let value = self.value.render(context).filter(truthy);
        let holds = match (&value, &self.equals) {
            (Some(_), None) => true,
            // As text: a path's `{path.id}` equals an id that is a number in a body.
            (Some(v), Some(other)) => {
                other.render(context).map(text_of) == Some(text_of(v.clone()))
            }
            (None, _) => false,
        };
        if holds {
            return Ok(());
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut fault = Fault::new(status, &self.code, self.message.clone());
        fault.problem["message"] = Value::String(self.message.clone());
        Err(fault)
    }
}

impl Shaped {
    /// The seed's status for a platform error `code` or platform `status`.
    fn seed_status(&self, code: Option<&str>, status: StatusCode) -> StatusCode {
        code.and_then(|c| self.status.get(c))
            .or_else(|| self.status.get(status.as_str()))
            .and_then(|s| StatusCode::from_u16(*s).ok())
            .unwrap_or(status)
    }

    fn success(&self, context: &mut Value, last: Answered) -> Response<Body> {
        let status = self.seed_status(None, last.status);
        context["status"] = Value::from(status.as_u16());
        let shape = &self.response;
        if shape.empty || status == StatusCode::NO_CONTENT {
            return respond(status, None, Bytes::new());
        }
        if let Some(text) = &shape.text {
            return text_response(status, text.render_text(context));
        }
        if let Some(json) = &shape.json {
            return json_response(status, json);
        }
        let body = match &shape.body {
            Some(template) => template.render(context).unwrap_or(Value::Null),
            None if shape.drop.is_empty() => {
                return respond(status, last.content_type, last.bytes);
            }
            None => last.value,
        };
        json_response(status, &drop_fields(body, &shape.drop))
    }

    fn error(&self, context: &mut Value, fault: Fault) -> Response<Body> {
        let problem = fault.problem;
        let field = |name: &str| problem.get(name).and_then(Value::as_str).map(str::to_owned);
        let code = field("code").unwrap_or_else(|| "error".into());
        let status = self.seed_status(Some(&code), fault.status);
        let message = (self.messages.get(&code))
            .or_else(|| self.messages.get(fault.status.as_str()))
            .map(|message| message.render_text(context))
            .or_else(|| field("message"))
            .or_else(|| field_errors(&problem))
            .or_else(|| field("detail"))
            .or_else(|| field("title"))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").into());
        context["error"] = json!({
            "code": code,
            "status": fault.status.as_u16(),
            "title": field("title"),
            "detail": field("detail"),
            "message": message,
            "errors": problem.get("errors").cloned().unwrap_or_else(|| json!([])),
        });
        context["status"] = Value::from(status.as_u16());
        context["reason"] = Value::from(status.canonical_reason().unwrap_or("Error"));
        if let Some(text) = &self.errors.text {
            return text_response(status, text.render_text(context));
        }
        if let Some(body) = &self.errors.body {
            return json_response(status, &body.render(context).unwrap_or(Value::Null));
        }
        let mut problem = problem;
        problem["status"] = Value::from(status.as_u16());
        let mut response = json_response(status, &problem);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A problem's field errors as one line (`password: must be at least 8 characters; email: …`).
fn field_errors(problem: &Value) -> Option<String> {
    let errors = problem.get("errors")?.as_array()?;
    let lines: Vec<String> = errors
        .iter()
        .filter_map(|e| {
            let message = e.get("message")?.as_str()?;
            Some(match e.get("field").and_then(Value::as_str) {
                Some(field) if !field.is_empty() => format!("{field}: {message}"),
                _ => message.to_owned(),
            })
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// The call's own bearer token in place of the client's (`None`: no token at all).
fn set_bearer(headers: &mut HeaderMap, token: Option<String>) -> Result<(), Fault> {
    let Some(token) = token else {
        headers.remove(header::AUTHORIZATION);
        return Ok(());
    };
    let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        Fault::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the token is malformed",
        )
    })?;
    headers.insert(header::AUTHORIZATION, value);
    Ok(())
}

/// The request as templates see it: `path`, `query`, `body` (filled in later), `token`, `steps`.
fn context(parts: &Parts, params: Vec<(String, String)>) -> Value {
    let path: Map<String, Value> = params
        .into_iter()
        .map(|(name, raw)| {
            let decoded = percent_encoding::percent_decode_str(&raw).decode_utf8_lossy();
            (name, Value::String(decoded.into_owned()))
        })
        .collect();
    let query: Map<String, Value> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(agon_kit::auth::bearer_token)
        .map_or(Value::Null, |t| Value::String(t.to_owned()));
    json!({ "path": path, "query": query, "body": null, "token": token, "steps": [] })
}

/// The client's body as JSON: nothing is `null`; a body that is not JSON is refused unless it was declared as
/// something else (then the calls pass it on as sent).
fn parse_body(headers: &HeaderMap, raw: &Bytes) -> Result<Value, Fault> {
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    let declared_other = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| !ct.contains("json"));
    match serde_json::from_slice(raw) {
        Ok(value) => Ok(value),
        Err(_) if declared_other => Ok(Value::Null),
        Err(e) => Err(Fault::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the request body is not valid JSON: {e}"),
        )),
    }
}

/// The body `call` sends, its headers adjusted: the rendered template (JSON), a file of the client's form, or
/// the client's body as sent.
fn call_body(
    call: &Call,
    sent: &Sent,
    context: &Value,
    headers: &mut HeaderMap,
) -> Result<Bytes, Fault> {
    if let Some(name) = &call.file {
        let part = (sent.files.iter().find(|p| p.name == *name)).ok_or_else(|| {
            Fault::new(
                StatusCode::BAD_REQUEST,
                "missing_field",
                format!("{name} is required (a file of a multipart/form-data body)"),
            )
        })?;
        let octets = HeaderValue::from_static("application/octet-stream");
        let content_type = part.content_type.clone().unwrap_or(octets);
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.remove(header::CONTENT_ENCODING);
        return Ok(part.bytes.clone());
    }
    let Some(template) = &call.body else {
        return Ok(sent.raw.clone());
    };
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The body is the profile's now, written plainly, whatever the client's was.
    headers.remove(header::CONTENT_ENCODING);
    let value = template.render(context).unwrap_or(Value::Null);
    Ok(Bytes::from(serde_json::to_vec(&value).unwrap_or_default()))
}

/// Reads the client's body (at most `limit` bytes) into `{body}`: JSON, or a form's text fields with its files
/// kept for the calls.
async fn read_sent(
    limit: usize,
    parts: &Parts,
    body: Incoming,
    context: &mut Value,
) -> Result<Sent, Fault> {
    let raw = read_bounded(body, limit).await.map_err(|too_large| {
        if too_large {
            Fault::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body exceeds {limit} bytes"),
            )
        } else {
            Fault::new(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "the body could not be read",
            )
        }
    })?;
    let Some(boundary) = multipart_boundary(&parts.headers) else {
        context["body"] = parse_body(&parts.headers, &raw)?;
        return Ok(Sent {
            raw,
            files: Vec::new(),
        });
    };
    let (fields, files) = read_form(raw.clone(), boundary).await.map_err(|e| {
        Fault::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            format!("the multipart body could not be read: {e}"),
        )
    })?;
    context["body"] = Value::Object(fields);
    Ok(Sent { raw, files })
}

fn answer_value(content_type: Option<&HeaderValue>, bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    let json = content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    match json.then(|| serde_json::from_slice(bytes).ok()).flatten() {
        Some(value) => value,
        None => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// Reads a body of at most `limit` bytes; `Err(true)` when it is larger.
async fn read_bounded<B>(body: B, limit: usize) -> Result<Bytes, bool>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(e
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()),
    }
}

fn encode_query(value: Option<Value>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let Some(Value::Object(map)) = value {
        for (key, value) in map {
            match value {
                Value::Null => {}
                Value::Array(items) => {
                    for item in items {
                        out.append_pair(&key, &super::template::text_of(item));
                    }
                }
                other => {
                    out.append_pair(&key, &super::template::text_of(other));
                }
            }
        }
    }
    out.finish()
}

/// Removes dotted paths (`user.password`) from a body.
fn drop_fields(mut body: Value, paths: &[Vec<String>]) -> Value {
    for path in paths {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let pointer: String = parents.iter().map(|p| format!("/{p}")).collect();
        if let Some(Value::Object(map)) = body.pointer_mut(&pointer) {
            map.remove(last);
        }
    }
    body
}

fn answer_response(answer: &Answer, context: &Value, query: Option<&str>) -> Response<Body> {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = match (&answer.text, &answer.body) {
        (Some(text), _) => text_response(status, text.render_text(context)),
        (None, Some(body)) => json_response(status, &body.render(context).unwrap_or(Value::Null)),
        (None, None) => respond(status, None, Bytes::new()),
    };
    if let Some(location) = &answer.location {
        let mut to = location.render_path(context).unwrap_or_default();
        if let Some(q) = query {
            to = format!("{to}?{q}");
        }
        if let Ok(value) = HeaderValue::from_str(&to) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    response
}

fn respond(status: StatusCode, content_type: Option<HeaderValue>, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    respond(
        status,
        Some(HeaderValue::from_static("application/json")),
        Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
    )
}

fn text_response(status: StatusCode, text: String) -> Response<Body> {
    respond(
        status,
        Some(HeaderValue::from_static("text/plain; charset=utf-8")),
        Bytes::from(text),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_fields_are_dropped_and_missing_ones_ignored() {
        let body = json!({ "a": 1, "user": { "password": "x", "name": "n" } });
        let out = drop_fields(
            body,
            &[
                vec!["user".into(), "password".into()],
                vec!["nope".into(), "x".into()],
            ],
        );
        assert_eq!(out, json!({ "a": 1, "user": { "name": "n" } }));
    }

    #[test]
    fn queries_are_encoded_from_objects() {
        let q = encode_query(Some(
            json!({ "q": "a b&c", "n": 5, "skip": null, "tag": ["x", "y"] }),
        ));
        assert_eq!(q, "n=5&q=a+b%26c&tag=x&tag=y");
        assert_eq!(encode_query(None), "");
    }

    #[test]
    fn bodies_parse_as_json_unless_declared_otherwise() {
        let mut headers = HeaderMap::new();
        assert_eq!(parse_body(&headers, &Bytes::new()).unwrap(), Value::Null);
        assert_eq!(
            parse_body(&headers, &Bytes::from_static(b"{\"a\":1}")).unwrap(),
            json!({ "a": 1 })
        );
        assert!(parse_body(&headers, &Bytes::from_static(b"{nope")).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=x"),
        );
        assert_eq!(
            parse_body(&headers, &Bytes::from_static(b"--x")).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn platform_answers_read_as_json_or_text() {
        let json_ct = HeaderValue::from_static("application/problem+json");
        assert_eq!(
            answer_value(Some(&json_ct), &Bytes::from_static(b"{\"code\":\"x\"}")),
            json!({ "code": "x" })
        );
        assert_eq!(
            answer_value(None, &Bytes::from_static(b"plain")),
            json!("plain")
        );
        assert_eq!(answer_value(None, &Bytes::new()), Value::Null);
    }

    #[test]
    fn checks_that_do_not_read_the_body_are_known() {
        let profile = crate::profile::Profile::parse(
            "t",
            r#"
            description = "t"
            [[routes]]
            method = "POST"
            path = "/a"
            call = "POST /auth/token"
            [[routes.checks]]
            value = "{token}"
            status = 401
            code = "c"
            message = "m"
            [[routes.checks]]
            value = "{query.id}"
            equals = "{body.id}"
            status = 404
            code = "c"
            message = "m"
            "#,
        )
        .unwrap();
        let crate::profile::ProfileRoute::Shaped { shaped, .. } = &profile.routes[0] else {
            panic!("shaped")
        };
        let reads: Vec<bool> = shaped.checks.iter().map(Check::reads_body).collect();
        assert_eq!(reads, [false, true]);
    }
}
