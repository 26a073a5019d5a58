//! Routes and the route table: matching a request path to an upstream, and rewriting the path for it.
//! Pure data and logic; the table is rebuilt whole and swapped atomically by the gateway.

use std::{borrow::Cow, sync::Arc, time::Duration};

use agon_kit::Role;
use http::Method;
use serde::{Deserialize, Serialize};

use crate::{profile::Shaped, upstream::Upstream};

/// Who may pass a route at the gateway. Services check tokens again themselves; this rejects early and cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthPolicy {
    /// Anyone; a token, if sent, is checked by the service.
    #[default]
    Public,
    /// A valid access token.
    Token,
    /// A valid access token with the athlete role.
    Athlete,
    /// A valid access token with the trainer role.
    Trainer,
    /// A valid access token with the coach role.
    Coach,
    /// A valid access token with the admin role.
    Admin,
}

impl TryFrom<String> for AuthPolicy {
    type Error = serde_json::Error;

    /// The policy as stored (`public`, `token`, a role name).
    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_value(serde_json::Value::String(text))
    }
}

/// How a route matches paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// `/users` matches `/users` and `/users/…`, not `/usersx`.
    Prefix(String),
    /// `/api/items/{id}/buy`: literal segments and `{name}` for one segment, `{*name}` for the rest.
    Pattern(Vec<Segment>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Param(String),
    Rest(String),
}

/// One entry of the route table.
#[derive(Clone)]
pub struct Route {
    /// Where the route came from and what it is called (`config:users`, `registry:scores`, `profile:gymit#3`).
    pub name: String,
    pub matcher: Matcher,
    /// Prefix routes: replaces the prefix. Pattern routes: a template using the pattern's `{names}`.
    pub rewrite: Option<String>,
    /// `None` allows every method.
    pub methods: Option<Vec<Method>>,
    pub auth: AuthPolicy,
    pub timeout: Duration,
    pub upstream_name: String,
    pub upstream: Upstream,
    /// A profile route that reshapes: its calls onto canonical routes and its answer (`profile/`).
    pub shaped: Option<Arc<Shaped>>,
    /// A route of the platform's own API (not a profile's): the only ones a shaped route's calls reach.
    pub canonical: bool,
}

/// The routes, most specific first.
#[derive(Clone, Default)]
pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

/// The outcome of a lookup.
pub enum Lookup<'a> {
    /// The route and the upstream path: borrowed from the request when the route does not rewrite it.
    Found(&'a Arc<Route>, Cow<'a, str>),
    /// Some route has this path but not this method.
    MethodNotAllowed,
    NotFound,
}

impl Matcher {
    /// Parses `prefix` or `path` from configuration.
    pub fn parse(prefix: Option<&str>, path: Option<&str>) -> Result<Self, String> {
        match (prefix, path) {
            (Some(prefix), None) => {
                if !prefix.starts_with('/') {
                    return Err(format!("prefix {prefix:?} must start with /"));
                }
                let trimmed = prefix.trim_end_matches('/');
                Ok(Matcher::Prefix(if trimmed.is_empty() {
                    "/".into()
                } else {
                    trimmed.into()
                }))
            }
            (None, Some(path)) => {
                if !path.starts_with('/') {
                    return Err(format!("path {path:?} must start with /"));
                }
                let mut segments = Vec::new();
                let parts: Vec<&str> = path[1..].split('/').collect();
                for (i, part) in parts.iter().enumerate() {
                    let segment = if let Some(name) =
                        part.strip_prefix("{*").and_then(|p| p.strip_suffix('}'))
                    {
                        if i + 1 != parts.len() {
                            return Err(format!(
                                "path {path:?}: {{*{name}}} must be the last segment"
                            ));
                        }
                        Segment::Rest(name.into())
                    } else if let Some(name) =
                        part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
                    {
                        Segment::Param(name.into())
                    } else {
                        Segment::Literal((*part).into())
                    };
                    segments.push(segment);
                }
                Ok(Matcher::Pattern(segments))
            }
            _ => Err("a route needs exactly one of `prefix` and `path`".into()),
        }
    }

    /// Matches `path` and returns the upstream path after `rewrite`.
    fn rewrite<'p>(&self, path: &'p str, rewrite: Option<&str>) -> Option<Cow<'p, str>> {
        match self {
            Matcher::Prefix(prefix) => {
                let rest = if prefix == "/" {
                    path
                } else {
                    let rest = path.strip_prefix(prefix.as_str())?;
                    if !(rest.is_empty() || rest.starts_with('/')) {
                        return None;
                    }
                    rest
                };
                Some(match rewrite {
                    None => Cow::Borrowed(path),
                    Some(to) => {
                        let to = to.trim_end_matches('/');
                        Cow::Owned(match (to.is_empty(), rest.is_empty()) {
                            (true, true) => "/".to_owned(),
                            (true, false) => rest.to_owned(),
                            (false, _) => format!("{to}{rest}"),
                        })
                    }
                })
            }
            Matcher::Pattern(_) => {
                let params = self.captures(path)?;
                Some(match rewrite {
                    None => Cow::Borrowed(path),
                    Some(template) => {
                        let mut out = template.to_owned();
                        for (name, value) in &params {
                            out = out
                                .replace(&format!("{{*{name}}}"), value)
                                .replace(&format!("{{{name}}}"), value);
                        }
                        Cow::Owned(out)
                    }
                })
            }
        }
    }

    /// A pattern's parameters in `path` as sent (still percent-encoded); `None` when it does not match. A prefix
    /// has none.
    pub fn captures(&self, path: &str) -> Option<Vec<(String, String)>> {
        let Matcher::Pattern(segments) = self else {
            return Some(Vec::new());
        };
        let mut params = Vec::new();
        let mut parts = path[1.min(path.len())..].split('/');
        for segment in segments {
            match segment {
                Segment::Literal(lit) => {
                    if parts.next()? != lit {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let part = parts.next().filter(|p| !p.is_empty())?;
                    params.push((name.clone(), part.to_owned()));
                }
                Segment::Rest(name) => {
                    params.push((name.clone(), parts.by_ref().collect::<Vec<_>>().join("/")));
                }
            }
        }
        if parts.next().is_some() {
            return None;
        }
        Some(params)
    }

    /// The names of a pattern's parameters.
    pub fn params(&self) -> Vec<String> {
        match self {
            Matcher::Prefix(_) => Vec::new(),
            Matcher::Pattern(segments) => segments
                .iter()
                .filter_map(|s| match s {
                    Segment::Param(n) | Segment::Rest(n) => Some(n.clone()),
                    Segment::Literal(_) => None,
                })
                .collect(),
        }
    }

    /// Orders routes: patterns before prefixes, then more literal text first.
    fn specificity(&self) -> (u8, usize) {
        match self {
            Matcher::Pattern(segments) => {
                let literal: usize = segments
                    .iter()
                    .map(|s| {
                        if let Segment::Literal(l) = s {
                            l.len() + 1
                        } else {
                            0
                        }
                    })
                    .sum();
                (1, literal * 2 + segments.len())
            }
            Matcher::Prefix(prefix) => (0, prefix.len()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Matcher::Prefix(p) => format!("{p}/**"),
            Matcher::Pattern(segments) => {
                let parts: Vec<String> = segments
                    .iter()
                    .map(|s| match s {
                        Segment::Literal(l) => l.clone(),
                        Segment::Param(n) => format!("{{{n}}}"),
                        Segment::Rest(n) => format!("{{*{n}}}"),
                    })
                    .collect();
                format!("/{}", parts.join("/"))
            }
        }
    }
}

impl RouteTable {
    pub fn new(mut routes: Vec<Route>) -> Self {
        // Stable sort: among equally specific routes, the earlier source (profile, config, registry) wins.
        routes.sort_by_key(|r| std::cmp::Reverse(r.matcher.specificity()));
        Self {
            routes: routes.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn lookup<'a>(&'a self, method: &Method, path: &'a str) -> Lookup<'a> {
        self.lookup_in(method, path, false)
    }

    /// Like `lookup`, among the platform's own routes only: where a profile's calls go.
    pub fn lookup_canonical<'a>(&'a self, method: &Method, path: &'a str) -> Lookup<'a> {
        self.lookup_in(method, path, true)
    }

    fn lookup_in<'a>(&'a self, method: &Method, path: &'a str, canonical: bool) -> Lookup<'a> {
        let mut method_mismatch = false;
        for route in self.routes.iter().filter(|r| r.canonical || !canonical) {
            if let Some(rewritten) = route.matcher.rewrite(path, route.rewrite.as_deref()) {
                match &route.methods {
                    Some(methods) if !methods.contains(method) => method_mismatch = true,
                    _ => return Lookup::Found(route, rewritten),
                }
            }
        }
        if method_mismatch {
            Lookup::MethodNotAllowed
        } else {
            Lookup::NotFound
        }
    }

    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }
}

impl AuthPolicy {
    pub fn required_role(self) -> Option<Role> {
        match self {
            AuthPolicy::Public | AuthPolicy::Token => None,
            AuthPolicy::Athlete => Some(Role::Athlete),
            AuthPolicy::Trainer => Some(Role::Trainer),
            AuthPolicy::Coach => Some(Role::Coach),
            AuthPolicy::Admin => Some(Role::Admin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(
        name: &str,
        prefix: Option<&str>,
        path: Option<&str>,
        rewrite: Option<&str>,
        methods: Option<Vec<Method>>,
    ) -> Route {
        Route {
            name: name.into(),
            matcher: Matcher::parse(prefix, path).unwrap(),
            rewrite: rewrite.map(Into::into),
            methods,
            auth: AuthPolicy::Public,
            timeout: Duration::from_secs(1),
            upstream_name: name.into(),
            upstream: Upstream::Unavailable,
            shaped: None,
            canonical: true,
        }
    }

    fn found(table: &RouteTable, method: Method, path: &str) -> Option<(String, String)> {
        match table.lookup(&method, path) {
            Lookup::Found(r, p) => Some((r.name.clone(), p.into_owned())),
            _ => None,
        }
    }

    #[test]
    fn most_specific_route_wins() {
        let table = RouteTable::new(vec![
            route("users", Some("/users"), None, None, None),
            route("me", Some("/users/me"), None, None, None),
            route(
                "buy",
                None,
                Some("/users/{id}/buy"),
                Some("/shop/{id}"),
                None,
            ),
            route("root", Some("/"), None, None, None),
        ]);
        assert_eq!(found(&table, Method::GET, "/users/me/x").unwrap().0, "me");
        assert_eq!(found(&table, Method::GET, "/users/42").unwrap().0, "users");
        assert_eq!(
            found(&table, Method::POST, "/users/42/buy").unwrap(),
            ("buy".into(), "/shop/42".into())
        );
        assert_eq!(found(&table, Method::GET, "/usersx").unwrap().0, "root");
    }

    #[test]
    fn prefixes_match_whole_segments_and_rewrite() {
        let table = RouteTable::new(vec![route(
            "api",
            Some("/api/v1/"),
            None,
            Some("/v2"),
            None,
        )]);
        assert_eq!(
            found(&table, Method::GET, "/api/v1/items?x").unwrap().1,
            "/v2/items?x"
        );
        assert_eq!(found(&table, Method::GET, "/api/v1").unwrap().1, "/v2");
        assert!(found(&table, Method::GET, "/api/v10").is_none());
        let strip = RouteTable::new(vec![route("s", Some("/svc"), None, Some("/"), None)]);
        assert_eq!(found(&strip, Method::GET, "/svc").unwrap().1, "/");
        assert_eq!(found(&strip, Method::GET, "/svc/a").unwrap().1, "/a");
    }

    #[test]
    fn patterns_capture_params_and_rest() {
        let table = RouteTable::new(vec![route(
            "r",
            None,
            Some("/files/{kind}/{*rest}"),
            Some("/static/{rest}?k={kind}"),
            None,
        )]);
        assert_eq!(
            found(&table, Method::GET, "/files/img/a/b.png").unwrap().1,
            "/static/a/b.png?k=img"
        );
        assert!(found(&table, Method::GET, "/files").is_none());
        let exact = RouteTable::new(vec![route(
            "e",
            None,
            Some("/api/auth-service/register/"),
            Some("/auth/register"),
            None,
        )]);
        assert_eq!(
            found(&exact, Method::POST, "/api/auth-service/register/")
                .unwrap()
                .1,
            "/auth/register"
        );
        assert!(found(&exact, Method::POST, "/api/auth-service/register").is_none());
    }

    #[test]
    fn method_filter_gives_405_not_404() {
        let table = RouteTable::new(vec![route(
            "r",
            Some("/x"),
            None,
            None,
            Some(vec![Method::GET]),
        )]);
        assert!(matches!(
            table.lookup(&Method::GET, "/x"),
            Lookup::Found(..)
        ));
        assert!(matches!(
            table.lookup(&Method::POST, "/x"),
            Lookup::MethodNotAllowed
        ));
        assert!(matches!(
            table.lookup(&Method::POST, "/y"),
            Lookup::NotFound
        ));
    }

    #[test]
    fn bad_definitions_are_refused() {
        assert!(Matcher::parse(Some("x"), None).is_err());
        assert!(Matcher::parse(None, None).is_err());
        assert!(Matcher::parse(Some("/a"), Some("/b")).is_err());
        assert!(Matcher::parse(None, Some("/{*a}/b")).is_err());
    }
}
