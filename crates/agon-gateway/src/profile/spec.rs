//! A profile file as written: what `toml` reads before [`super::Profile::parse`] checks and compiles it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::route::AuthPolicy;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSpec {
    pub(super) description: String,
    #[serde(default)]
    pub(super) settings: BTreeMap<String, String>,
    /// Agon settings the seed's documented flows need, as defaults (`ledger = { member_deposits = true }`).
    #[serde(default)]
    pub(super) defaults: serde_json::Map<String, Value>,
    /// Value tables for the `map:NAME` filter (`roles = { member = "athlete" }`).
    #[serde(default)]
    pub(super) maps: BTreeMap<String, serde_json::Map<String, Value>>,
    /// Shapes for the `shape:NAME` filter: templates over `{item…}` (a tournament as the seed writes it).
    #[serde(default)]
    pub(super) shapes: BTreeMap<String, Value>,
    #[serde(default)]
    pub(super) errors: ErrorsSpec,
    /// Error shapes routes name with `error_shape` (a seed whose services answer errors in different shapes).
    #[serde(default)]
    pub(super) error_shapes: BTreeMap<String, RouteErrorsSpec>,
    #[serde(default)]
    pub(super) routes: Vec<RouteSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ErrorsSpec {
    pub(super) body: Option<Value>,
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) messages: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) status: BTreeMap<String, u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteSpec {
    pub(super) path: Option<String>,
    pub(super) prefix: Option<String>,
    pub(super) method: Option<String>,
    pub(super) methods: Option<Vec<String>>,
    #[serde(default)]
    pub(super) slash: Slash,
    pub(super) upstream: Option<String>,
    pub(super) rewrite: Option<String>,
    #[serde(default)]
    pub(super) auth: AuthPolicy,
    pub(super) timeout_ms: Option<u64>,
    /// The largest client body a reshaping route reads, in bytes (an upload).
    pub(super) max_body: Option<usize>,
    pub(super) call: Option<String>,
    #[serde(default)]
    pub(super) calls: Vec<CallSpec>,
    pub(super) response: Option<ResponseSpec>,
    #[serde(default)]
    pub(super) checks: Vec<CheckSpec>,
    pub(super) errors: Option<RouteErrorsSpec>,
    /// One of the profile's `[error_shapes]`, instead of `errors`.
    pub(super) error_shape: Option<String>,
    /// Serves the gateway's `static_dir` under the route's `prefix` or `path`.
    #[serde(default)]
    pub(super) files: bool,
    #[serde(default)]
    pub(super) status: BTreeMap<String, u16>,
    #[serde(default)]
    pub(super) messages: BTreeMap<String, String>,
    pub(super) answer: Option<AnswerSpec>,
}

/// How a path with or without its trailing slash is treated.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Slash {
    /// Only the path as written.
    #[default]
    Strict,
    /// Both forms.
    Either,
    /// The other form answers 308 to the one written (Flask, FastAPI).
    Redirect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CallSpec {
    pub(super) to: String,
    pub(super) body: Option<Value>,
    pub(super) query: Option<Value>,
    pub(super) bearer: Option<String>,
    pub(super) when: Option<String>,
    pub(super) file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResponseSpec {
    pub(super) body: Option<Value>,
    pub(super) json: Option<String>,
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) empty: bool,
    #[serde(default)]
    pub(super) drop: Vec<String>,
}

/// A route's own error shape, over the profile's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteErrorsSpec {
    pub(super) body: Option<Value>,
    pub(super) text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckSpec {
    #[serde(default)]
    pub(super) after: usize,
    pub(super) value: String,
    pub(super) equals: Option<String>,
    pub(super) status: u16,
    pub(super) code: String,
    pub(super) message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerSpec {
    #[serde(default = "ok")]
    pub(super) status: u16,
    pub(super) body: Option<Value>,
    pub(super) text: Option<String>,
}

pub(super) fn ok() -> u16 {
    200
}
