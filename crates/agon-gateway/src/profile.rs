//! Profiles: a seed system's API served by the platform, declared in `profiles/<name>.toml`.
//!
//! A profile route either forwards as any configured route does (`upstream`, `rewrite`: streamed, unchanged)
//! or reshapes: it reads the client's request (at most [`MAX_SHAPED_BODY`]), makes one or more calls onto the
//! platform's own routes (`calls`, each with its body, query and bearer written as templates), and writes the
//! answer the seed's clients expect — its body (`response`), its status codes (`status`), its error shape
//! (`errors`) — or answers a constant (`answer`). Every template and reference is checked when the file loads;
//! a broken file stops the start with the file, the route and the reason. `docs/profiles.md` documents each
//! operation with an example.
//!
//! Operations are named fields with templates (`template.rs`) rather than a jq program: a profile stays a
//! readable table of "this seed route is that platform route, shaped so", and a shaped request costs a few map
//! lookups, not an interpreter.

mod docs;
mod form;
mod serve;
mod spec;
pub mod template;

use std::{collections::BTreeMap, path::Path, sync::Arc};

use http::Method;
use serde_json::Value;

use crate::{
    RouteConfig,
    route::{AuthPolicy, Matcher},
};
pub use serve::MAX_SHAPED_BODY;
use spec::{
    AnswerSpec, CallSpec, CheckSpec, FileSpec, ResponseSpec, RouteErrorsSpec, RouteSpec, Slash,
};
use template::{ANSWER_ROOTS, ERROR_ROOTS, REQUEST_ROOTS, RESPONSE_ROOTS, Scope, Tables, Template};

/// A loaded, checked profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// The seed's own configuration names, each an alias of an Agon setting (`ADMIN_EMAIL = "auth.admin.email"`).
    pub settings: BTreeMap<String, String>,
    /// Agon settings the seed's flows need (`[defaults] ledger = { member_deposits = true }`): they replace the
    /// built-in defaults, and a configuration file, `AGON_*` variables and flags still override them.
    pub defaults: serde_json::Map<String, serde_json::Value>,
    pub routes: Vec<ProfileRoute>,
}

/// One route of a profile, ready for the route table.
#[derive(Debug, Clone)]
pub enum ProfileRoute {
    /// Forwarded like a configured route.
    Forward(RouteConfig),
    /// Static files from the gateway's `static_dir` (`files.rs`).
    Files {
        matcher: Matcher,
        methods: Option<Vec<Method>>,
    },
    /// Reshaped: matched by `matcher` and `methods`, served by `shaped`.
    Shaped {
        matcher: Matcher,
        methods: Option<Vec<Method>>,
        shaped: Arc<Shaped>,
    },
}

/// What a reshaping route does.
#[derive(Debug)]
pub struct Shaped {
    /// `POST /auth/signin`, for logs and `agon routes`.
    pub label: String,
    pub calls: Vec<Call>,
    pub response: ResponseShape,
    /// Conditions on the request and the answers so far, each checked once `after` calls have answered.
    pub checks: Vec<Check>,
    /// Seed status by platform error code or platform status (`"201"`); the route's over the profile's.
    pub status: BTreeMap<String, u16>,
    /// The message an error carries (`{error.message}`) by platform error code.
    pub messages: BTreeMap<String, Template>,
    pub errors: Arc<ErrorShape>,
    pub answer: Option<Answer>,
    /// The largest client body read (`max_body`; default `MAX_SHAPED_BODY`).
    pub max_body: usize,
}

impl Shaped {
    /// What the route does, for `agon routes`: its calls, or its constant answer.
    pub fn describe(&self) -> String {
        if let Some(answer) = &self.answer {
            return format!("answers {}", answer.status);
        }
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|c| format!("{} {}", c.method, c.path.sample_path()))
            .collect();
        format!("calls {}", calls.join(" then "))
    }
}

/// One call onto a platform route.
#[derive(Debug)]
pub struct Call {
    pub method: Method,
    /// The platform path; references in it are percent-encoded as one segment each.
    pub path: Template,
    /// The platform query; absent: the client's query as sent.
    pub query: Option<Template>,
    /// The platform body; absent: the client's body as sent.
    pub body: Option<Template>,
    /// The bearer token sent; absent: the client's `Authorization` as sent.
    pub bearer: Option<Template>,
    /// Made only when this is present and not empty or false; a call not made answers `null` in `steps`.
    pub when: Option<Template>,
    /// The body is this part of the client's `multipart/form-data` body, as sent, with its content type.
    pub file: Option<String>,
}

/// How a successful answer is written.
#[derive(Debug, Default)]
pub struct ResponseShape {
    pub body: Option<Template>,
    /// A constant JSON document (`json = "null"`: FastAPI's answer of a route that returns nothing).
    pub json: Option<Value>,
    pub text: Option<Template>,
    pub empty: bool,
    pub drop: Vec<Vec<String>>,
}

/// A condition; when it does not hold the route answers this error and makes no further call.
#[derive(Debug)]
pub struct Check {
    /// How many calls have answered when it is checked (0: before any).
    pub after: usize,
    /// Holds when present and not empty or false…
    pub value: Template,
    /// …and, when given, equal to this.
    pub equals: Option<Template>,
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// How errors are written: a JSON body, plain text, or (neither) the platform's problem+json.
#[derive(Debug, Default)]
pub struct ErrorShape {
    pub body: Option<Template>,
    pub text: Option<Template>,
}

/// A constant answer, with no call.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Template>,
    pub text: Option<Template>,
    pub location: Option<Template>,
}

// ---- The file -------------------------------------------------------------------------------------------

impl RouteErrorsSpec {
    fn compile(&self, at: &At) -> Result<ErrorShape, String> {
        if self.body.is_some() && self.text.is_some() {
            return Err("give `body` or `text`, not both".into());
        }
        Ok(ErrorShape {
            body: optional(self.body.as_ref(), ERROR_ROOTS, at, 0)?,
            text: optional_text(self.text.as_deref(), ERROR_ROOTS, at, 0)?,
        })
    }
}

impl Profile {
    /// Reads and checks `path`; the error names the file and the line or the route.
    pub fn load(name: &str, path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("profile {name:?}: cannot read {}: {e}", path.display())
        })?;
        Self::parse(name, &text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses and checks a profile's text.
    pub fn parse(name: &str, text: &str) -> Result<Self, String> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut tables = Tables {
            maps: (spec.maps.into_iter())
                .map(|(name, table)| (name, Arc::new(table)))
                .collect(),
            ..Tables::default()
        };
        // Shapes use the maps, not each other (whatever the order they are compiled in).
        let maps_only = Tables {
            maps: tables.maps.clone(),
            ..Tables::default()
        };
        for (name, shape) in &spec.shapes {
            let compiled = Template::compile_shape(shape, &maps_only)
                .map_err(|e| format!("[shapes] {name}: {e}"))?;
            tables.shapes.insert(name.clone(), Arc::new(compiled));
        }
        let tables = Arc::new(tables);
        let top = At {
            params: &[],
            tables: &tables,
        };
        let errors = Arc::new(ErrorShape {
            body: optional(spec.errors.body.as_ref(), ERROR_ROOTS, &top, 0)
                .map_err(|e| format!("[errors] body: {e}"))?,
            text: optional_text(spec.errors.text.as_deref(), ERROR_ROOTS, &top, 0)
                .map_err(|e| format!("[errors] text: {e}"))?,
        });
        if errors.body.is_some() && errors.text.is_some() {
            return Err("[errors]: give `body` or `text`, not both".into());
        }
        let error_shapes = (spec.error_shapes.iter())
            .map(|(name, shape)| {
                let compiled = shape
                    .compile(&top)
                    .map_err(|e| format!("[error_shapes.{name}]: {e}"))?;
                Ok((name.clone(), Arc::new(compiled)))
            })
            .collect::<Result<_, String>>()?;
        let shared = Shared {
            tables: tables.clone(),
            errors,
            error_shapes,
            messages: spec.errors.messages,
            status: spec.errors.status,
        };
        check_statuses(&shared.status).map_err(|e| format!("[errors] status: {e}"))?;
        let mut routes = Vec::new();
        for (i, route) in spec.routes.into_iter().enumerate() {
            let label = route.label();
            let compiled = route
                .compile(&shared)
                .map_err(|e| format!("route #{} ({label}): {e}", i + 1))?;
            routes.extend(compiled);
        }
        Ok(Profile {
            name: name.to_owned(),
            description: spec.description,
            settings: spec.settings,
            defaults: spec.defaults,
            routes,
        })
    }
}

/// What every route of a profile shares.
struct Shared {
    tables: Arc<Tables>,
    errors: Arc<ErrorShape>,
    error_shapes: BTreeMap<String, Arc<ErrorShape>>,
    messages: BTreeMap<String, String>,
    status: BTreeMap<String, u16>,
}

impl RouteSpec {
    fn label(&self) -> String {
        let methods = match (&self.method, &self.methods) {
            (Some(m), _) => m.to_uppercase(),
            (None, Some(list)) => list.join(",").to_uppercase(),
            (None, None) => "*".into(),
        };
        let path = self
            .path
            .as_deref()
            .or(self.prefix.as_deref())
            .unwrap_or("?");
        format!("{methods} {path}")
    }

    fn methods(&self) -> Result<Option<Vec<Method>>, String> {
        let list = match (&self.method, &self.methods) {
            (Some(_), Some(_)) => return Err("give `method` or `methods`, not both".into()),
            (Some(m), None) => vec![m.clone()],
            (None, Some(list)) => list.clone(),
            (None, None) => return Ok(None),
        };
        list.iter()
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("bad method {m:?}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn compile(self, shared: &Shared) -> Result<Vec<ProfileRoute>, String> {
        let methods = self.methods()?;
        let shaping = self.call.is_some() || !self.calls.is_empty() || self.answer.is_some();
        if self.files {
            return self.files_route(shaping, methods);
        }
        if self.upstream.is_some() {
            return self.forward_route(shaping);
        }
        if !shaping {
            return Err(
                "a route needs `upstream` (forward), `call`/`calls` (reshape) or `answer`".into(),
            );
        }
        if self.prefix.is_some() || self.rewrite.is_some() || self.auth != AuthPolicy::Public {
            return Err("a reshaping route takes a `path`, and no `prefix`, `rewrite` or `auth` (the platform routes it calls check tokens)".into());
        }
        let path = self
            .path
            .clone()
            .ok_or("a reshaping route needs a `path`")?;
        let matcher = Matcher::parse(None, Some(&path))?;
        let params = matcher.params();
        let at = At {
            params: &params,
            tables: &shared.tables,
        };
        let shaped = Arc::new(self.shaped(&at, shared)?);
        let mut routes = vec![ProfileRoute::Shaped {
            matcher,
            methods: methods.clone(),
            shaped: shaped.clone(),
        }];
        if self.slash != Slash::Strict && path.len() > 1 {
            let other = match path.strip_suffix('/') {
                Some(without) => without.to_owned(),
                None => format!("{path}/"),
            };
            let shaped = if self.slash == Slash::Either {
                shaped
            } else {
                Arc::new(redirect(&path, &at, shared)?)
            };
            routes.push(ProfileRoute::Shaped {
                matcher: Matcher::parse(None, Some(&other))?,
                methods,
                shaped,
            });
        }
        Ok(routes)
    }

    fn files_route(
        self,
        shaping: bool,
        methods: Option<Vec<Method>>,
    ) -> Result<Vec<ProfileRoute>, String> {
        if shaping
            || self.upstream.is_some()
            || self.response.is_some()
            || self.rewrite.is_some()
            || self.auth != AuthPolicy::Public
            || self.timeout_ms.is_some()
            || self.max_body.is_some()
        {
            return Err("a `files` route serves public files only: no `upstream`, `rewrite`, `auth`, `timeout_ms`, `max_body`, `call`, `calls`, `answer` or `response`".into());
        }
        let matcher = Matcher::parse(self.prefix.as_deref(), self.path.as_deref())?;
        Ok(vec![ProfileRoute::Files { matcher, methods }])
    }

    fn forward_route(self, shaping: bool) -> Result<Vec<ProfileRoute>, String> {
        if shaping
            || self.response.is_some()
            || !self.checks.is_empty()
            || self.errors.is_some()
            || self.error_shape.is_some()
            || self.max_body.is_some()
        {
            return Err("a forwarding route (`upstream`) has no `call`, `calls`, `answer`, `response`, `checks`, `errors` or `max_body` (it streams)".into());
        }
        if self.slash != Slash::Strict {
            return Err("`slash` applies to reshaping routes".into());
        }
        Ok(vec![ProfileRoute::Forward(RouteConfig {
            prefix: self.prefix,
            path: self.path,
            upstream: self.upstream.unwrap_or_default(),
            rewrite: self.rewrite,
            methods: self.methods,
            auth: self.auth,
            timeout_ms: self.timeout_ms,
        })])
    }

    fn shaped(&self, at: &At, shared: &Shared) -> Result<Shaped, String> {
        let mut specs: Vec<CallSpec> = Vec::new();
        if let Some(to) = &self.call {
            if !self.calls.is_empty() {
                return Err("give `call` or `calls`, not both".into());
            }
            specs.push(CallSpec {
                to: to.clone(),
                body: None,
                query: None,
                bearer: None,
                when: None,
                file: None,
            });
        }
        let calls = specs
            .iter()
            .chain(&self.calls)
            .enumerate()
            .map(|(i, c)| {
                c.compile(at, i)
                    .map_err(|e| format!("call #{}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let answer = match &self.answer {
            Some(_) if !calls.is_empty() => return Err("an `answer` route makes no calls".into()),
            Some(_)
                if self.response.is_some()
                    || !self.checks.is_empty()
                    || !self.status.is_empty()
                    || !self.messages.is_empty()
                    || self.errors.is_some()
                    || self.error_shape.is_some() =>
            {
                return Err("an `answer` route is its answer: no `response`, `checks`, `status`, `messages` or `errors`".into());
            }
            Some(a) => Some(a.compile(at).map_err(|e| format!("answer: {e}"))?),
            None => None,
        };
        let steps = calls.len();
        let response = match &self.response {
            None => ResponseShape::default(),
            Some(r) => r.compile(at, steps).map_err(|e| format!("response: {e}"))?,
        };
        let mut checks = (self.checks.iter().enumerate())
            .map(|(i, c)| {
                c.compile(at, steps)
                    .map_err(|e| format!("check #{}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        checks.sort_by_key(|c| c.after);
        let errors = match (&self.errors, &self.error_shape) {
            (Some(_), Some(_)) => return Err("give `errors` or `error_shape`, not both".into()),
            (Some(spec), None) => Arc::new(spec.compile(at).map_err(|e| format!("errors: {e}"))?),
            (None, Some(name)) => (shared.error_shapes.get(name).cloned())
                .ok_or_else(|| format!("error_shape: the profile has no [error_shapes.{name}]"))?,
            (None, None) => shared.errors.clone(),
        };
        check_statuses(&self.status).map_err(|e| format!("status: {e}"))?;
        let max_body = max_body(self.max_body)?;
        let mut status = shared.status.clone();
        status.extend(self.status.clone());
        let mut texts = shared.messages.clone();
        texts.extend(self.messages.clone());
        let messages = messages(texts, at)?;
        Ok(Shaped {
            label: self.label(),
            calls,
            response,
            checks,
            status,
            messages,
            errors,
            answer,
            max_body,
        })
    }
}

/// A route's `max_body`, checked: at most `MAX_UPLOAD`.
fn max_body(given: Option<usize>) -> Result<usize, String> {
    match given {
        Some(n) if n == 0 || n > serve::MAX_UPLOAD => {
            Err(format!("max_body: from 1 to {} bytes", serve::MAX_UPLOAD))
        }
        Some(n) => Ok(n),
        None => Ok(serve::MAX_SHAPED_BODY),
    }
}

/// The `messages` of a route (its own over the profile's), compiled as templates.
fn messages(
    texts: BTreeMap<String, String>,
    at: &At,
) -> Result<BTreeMap<String, Template>, String> {
    texts
        .into_iter()
        .map(|(code, text)| {
            let template = optional_text(Some(&text), ERROR_ROOTS, at, 0)
                .map_err(|e| format!("messages.{code}: {e}"))?;
            Ok((code, template.unwrap_or(Template::Const(Value::Null))))
        })
        .collect()
}

/// The route answering the other slash form of `path` with a redirect to it.
fn redirect(path: &str, at: &At, shared: &Shared) -> Result<Shaped, String> {
    Ok(Shaped {
        label: format!("redirect to {path}"),
        calls: Vec::new(),
        response: ResponseShape::default(),
        checks: Vec::new(),
        status: BTreeMap::new(),
        messages: BTreeMap::new(),
        errors: shared.errors.clone(),
        max_body: 0,
        answer: Some(Answer {
            status: 308,
            body: None,
            text: None,
            location: Some(Template::compile(
                &Value::String(path.replace("{*", "{").replace('{', "{path.")),
                &at.scope(ANSWER_ROOTS, 0),
            )?),
        }),
    })
}

impl CallSpec {
    fn compile(&self, at: &At, index: usize) -> Result<Call, String> {
        let (method, path) = self
            .to
            .split_once(' ')
            .ok_or_else(|| format!("`to = {:?}` is `METHOD /path`", self.to))?;
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("bad method in `to = {:?}`", self.to))?;
        let path = path.trim();
        if !path.starts_with('/') || path.contains('?') {
            return Err(format!(
                "`to = {:?}`: the path starts with / and has no query (use `query`)",
                self.to
            ));
        }
        if self.file.is_some() && self.body.is_some() {
            return Err("give `body` or `file`, not both".into());
        }
        let scope = at.scope(REQUEST_ROOTS, index);
        Ok(Call {
            method,
            path: Template::compile(&Value::String(path.to_owned()), &scope)
                .map_err(|e| format!("to: {e}"))?,
            query: optional(self.query.as_ref(), REQUEST_ROOTS, at, index)
                .map_err(|e| format!("query: {e}"))?,
            body: optional(self.body.as_ref(), REQUEST_ROOTS, at, index)
                .map_err(|e| format!("body: {e}"))?,
            bearer: optional_text(self.bearer.as_deref(), REQUEST_ROOTS, at, index)
                .map_err(|e| format!("bearer: {e}"))?,
            when: optional_text(self.when.as_deref(), REQUEST_ROOTS, at, index)
                .map_err(|e| format!("when: {e}"))?,
            file: self.file.clone(),
        })
    }
}

impl ResponseSpec {
    fn compile(&self, at: &At, steps: usize) -> Result<ResponseShape, String> {
        let given = [
            self.body.is_some(),
            self.json.is_some(),
            self.text.is_some(),
            self.empty,
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err("give one of `body`, `json`, `text` and `empty`".into());
        }
        if steps == 0 && (self.body.is_some() || self.text.is_some() || self.json.is_some()) {
            return Err("an `answer` route writes its body in `answer`".into());
        }
        let json = (self.json.as_deref())
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| format!("json: not a JSON document ({e})"))?;
        Ok(ResponseShape {
            body: optional(self.body.as_ref(), RESPONSE_ROOTS, at, steps)?,
            json,
            text: optional_text(self.text.as_deref(), RESPONSE_ROOTS, at, steps)?,
            empty: self.empty,
            drop: self
                .drop
                .iter()
                .map(|d| d.split('.').map(str::to_owned).collect())
                .collect(),
        })
    }
}

impl CheckSpec {
    fn compile(&self, at: &At, calls: usize) -> Result<Check, String> {
        if self.after > calls {
            return Err(format!(
                "after = {}, but the route makes {calls} calls",
                self.after
            ));
        }
        let scope = at.scope(REQUEST_ROOTS, self.after);
        let text = |t: &str| Template::compile(&Value::String(t.to_owned()), &scope);
        Ok(Check {
            after: self.after,
            value: text(&self.value)?,
            equals: self.equals.as_deref().map(text).transpose()?,
            status: checked_status(self.status)?,
            code: self.code.clone(),
            message: self.message.clone(),
        })
    }
}

impl AnswerSpec {
    fn compile(&self, at: &At) -> Result<Answer, String> {
        if self.body.is_some() && self.text.is_some() {
            return Err("give `body` or `text`, not both".into());
        }
        Ok(Answer {
            status: checked_status(self.status)?,
            body: optional(self.body.as_ref(), ANSWER_ROOTS, at, 0)?,
            text: optional_text(self.text.as_deref(), ANSWER_ROOTS, at, 0)?,
            location: None,
        })
    }
}

/// Where a route's templates stand: its path parameters and the profile's tables.
struct At<'a> {
    params: &'a [String],
    tables: &'a Tables,
}

impl<'a> At<'a> {
    fn scope(&self, roots: &'a [&'a str], steps: usize) -> Scope<'a> {
        Scope {
            roots,
            params: self.params,
            steps,
            tables: self.tables,
        }
    }
}

fn optional(
    value: Option<&Value>,
    roots: &[&str],
    at: &At,
    steps: usize,
) -> Result<Option<Template>, String> {
    value
        .map(|v| Template::compile(v, &at.scope(roots, steps)))
        .transpose()
}

fn optional_text(
    text: Option<&str>,
    roots: &[&str],
    at: &At,
    steps: usize,
) -> Result<Option<Template>, String> {
    optional(
        text.map(|t| Value::String(t.to_owned())).as_ref(),
        roots,
        at,
        steps,
    )
}

fn checked_status(status: u16) -> Result<u16, String> {
    if (100..=599).contains(&status) {
        Ok(status)
    } else {
        Err(format!("{status} is not an HTTP status"))
    }
}

fn check_statuses(map: &BTreeMap<String, u16>) -> Result<(), String> {
    for (key, status) in map {
        checked_status(*status).map_err(|e| format!("{key}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
