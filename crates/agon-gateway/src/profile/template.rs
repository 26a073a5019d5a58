//! Templates: the JSON a profile writes for a body, a query or an answer, with `{references}` filled in per
//! request.
//!
//! - A string that is exactly one reference, `"{body.email}"`, becomes the referenced value with its type (an
//!   object, a number…); `"{body.price|text}"` converts it first. Filters, chained left to right: `text`,
//!   `number`, `int`, `bool`, `lower`, `not`, `uuid`, `cents`, `units`, `utc`, `map:NAME` (a table of the
//!   profile's `[maps]`), `in:NAME` (only values the table lists), `or:TEXT` (when the reference leads nowhere);
//!   `filter.rs` says what each does.
//! - A string with references among other text, `"Bearer {token}"`, is text with each value written in; when
//!   none of its references leads anywhere, it is absent like a lone reference.
//! - In an object, a field whose reference is missing is left out, so optional fields stay optional; the key
//!   `"..."` spreads an object's fields first (`{ "..." = "{body}", grant_type = "password" }`).
//! - `{ each = "{response.items}", map = { … "{item.id}" … } }` maps every element of a list.
//! - `"{response|shape:tournament}"` writes a value in one of the profile's `[shapes]` (a template over `{item…}`),
//!   every element of a list alike: one shape, used by every route that answers it.
//!
//! References start at a root — `path`, `query`, `body`, `token`, `steps`, `response`, `status`, `reason`, `error`,
//! `item` — and go down by field names and list indexes (`steps.0.access_token`). Which roots a template may
//! use depends on where it stands, and is checked when the profile loads.

mod filter;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use filter::{Filter, text_of, truthy};
use filter::{apply, parse_filter};

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Const(Value),
    Ref(Ref),
    Text(Vec<Piece>),
    Object {
        spread: Option<Box<Template>>,
        fields: Vec<(String, Template)>,
    },
    Array(Vec<Template>),
    Each {
        list: Ref,
        map: Box<Template>,
    },
}

/// Why a path could not be rendered, naming the field.
#[derive(Debug, PartialEq)]
pub enum PathError {
    /// The request does not have it.
    Missing(String),
    /// It is there but a filter refused it (`uuid`): no such resource.
    Refused(String),
}

/// A piece of interpolated text.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Literal(String),
    Ref(Ref),
}

/// `{root.a.0.b|filter}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub root: String,
    pub path: Vec<String>,
    pub filters: Vec<Filter>,
}

/// A value table from the profile's `[maps]`, for the `map:NAME` filter.
pub type Table = std::sync::Arc<Map<String, Value>>;

/// What a profile names once for all its templates: value tables (`[maps]`) and shapes (`[shapes]`).
#[derive(Debug, Default)]
pub struct Tables {
    pub maps: BTreeMap<String, Table>,
    pub shapes: BTreeMap<String, std::sync::Arc<Template>>,
}

/// The roots every position may use; `steps` and `item` are checked separately.
pub const REQUEST_ROOTS: &[&str] = &["path", "query", "body", "token", "steps"];
pub const RESPONSE_ROOTS: &[&str] = &[
    "path", "query", "body", "token", "steps", "response", "status",
];
pub const ERROR_ROOTS: &[&str] = &[
    "path", "query", "body", "token", "steps", "error", "status", "reason",
];
pub const ANSWER_ROOTS: &[&str] = &["path", "query", "body", "token"];

/// Where a template stands, for checking its references.
pub struct Scope<'a> {
    pub roots: &'a [&'a str],
    /// The path parameters of the route's pattern.
    pub params: &'a [String],
    /// How many calls have answered before this template is rendered.
    pub steps: usize,
    /// The profile's `[maps]` and `[shapes]`.
    pub tables: &'a Tables,
}

impl Template {
    /// Compiles `value` (from the profile file), checking every reference against `scope`.
    pub fn compile(value: &Value, scope: &Scope) -> Result<Self, String> {
        Self::compile_in(value, scope, false)
    }

    /// Compiles a `[shapes]` entry: it reads only `{item…}`, the value it is applied to.
    pub fn compile_shape(value: &Value, tables: &Tables) -> Result<Self, String> {
        let scope = Scope {
            roots: &[],
            params: &[],
            steps: 0,
            tables,
        };
        Self::compile_in(value, &scope, true)
    }

    /// `value` written in this shape; a list element by element.
    fn fit(&self, value: Value) -> Value {
        let mut scope = Value::Object(Map::new());
        let mut one = |item: Value| {
            scope["item"] = item;
            self.render(&scope)
        };
        match value {
            Value::Array(items) => Value::Array(items.into_iter().filter_map(&mut one).collect()),
            item => one(item).unwrap_or(Value::Null),
        }
    }

    fn compile_in(value: &Value, scope: &Scope, in_each: bool) -> Result<Self, String> {
        Ok(match value {
            Value::String(text) => match parse_text(text, scope.tables)? {
                pieces if pieces.is_empty() => Template::Const(Value::String(String::new())),
                mut pieces if pieces.len() == 1 && matches!(pieces[0], Piece::Ref(_)) => {
                    let Some(Piece::Ref(r)) = pieces.pop() else {
                        unreachable!()
                    };
                    check(&r, scope, in_each)?;
                    Template::Ref(r)
                }
                pieces if pieces.iter().all(|p| matches!(p, Piece::Literal(_))) => {
                    let text = pieces.iter().map(|p| match p {
                        Piece::Literal(l) => l.as_str(),
                        Piece::Ref(_) => "",
                    });
                    Template::Const(Value::String(text.collect()))
                }
                pieces => {
                    for piece in &pieces {
                        if let Piece::Ref(r) = piece {
                            check(r, scope, in_each)?;
                        }
                    }
                    Template::Text(pieces)
                }
            },
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .map(|v| Self::compile_in(v, scope, in_each))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) if map.contains_key("each") => {
                let (Some(Value::String(list)), Some(map_value), 2) =
                    (map.get("each"), map.get("map"), map.len())
                else {
                    return Err("`each` takes a reference to a list and a `map` template".into());
                };
                let list = match parse_text(list, scope.tables)?.as_slice() {
                    [Piece::Ref(r)] => r.clone(),
                    _ => return Err(format!("`each = {list:?}` must be one reference")),
                };
                check(&list, scope, in_each)?;
                Template::Each {
                    list,
                    map: Box::new(Self::compile_in(map_value, scope, true)?),
                }
            }
            Value::Object(map) => {
                let mut spread = None;
                let mut fields = Vec::new();
                for (key, value) in map {
                    let compiled = Self::compile_in(value, scope, in_each)
                        .map_err(|e| format!("{key}: {e}"))?;
                    if key == "..." {
                        spread = Some(Box::new(compiled));
                    } else {
                        fields.push((key.clone(), compiled));
                    }
                }
                Template::Object { spread, fields }
            }
            other => Template::Const(other.clone()),
        })
    }

    /// Calls `visit` with every reference the template holds.
    pub fn visit_refs(&self, visit: &mut impl FnMut(&Ref)) {
        match self {
            Template::Const(_) => {}
            Template::Ref(r) => visit(r),
            Template::Text(pieces) => pieces.iter().for_each(|p| {
                if let Piece::Ref(r) = p {
                    visit(r);
                }
            }),
            Template::Object { spread, fields } => {
                if let Some(spread) = spread {
                    spread.visit_refs(visit);
                }
                fields.iter().for_each(|(_, t)| t.visit_refs(visit));
            }
            Template::Array(items) => items.iter().for_each(|t| t.visit_refs(visit)),
            Template::Each { list, map } => {
                visit(list);
                map.visit_refs(visit);
            }
        }
    }

    /// Renders against `context` (an object keyed by root). `None`: a reference that leads nowhere.
    pub fn render(&self, context: &Value) -> Option<Value> {
        match self {
            Template::Const(v) => Some(v.clone()),
            Template::Ref(r) => r.resolve(context),
            Template::Text(pieces) => {
                // Text none of whose references leads anywhere is absent too (no `"Bearer "`, no `" "` name).
                let mut out = String::new();
                let mut found = false;
                for piece in pieces {
                    match piece {
                        Piece::Literal(l) => out.push_str(l),
                        Piece::Ref(r) => {
                            if let Some(v) = r.resolve(context) {
                                found = true;
                                out.push_str(&text_of(v));
                            }
                        }
                    }
                }
                found.then_some(Value::String(out))
            }
            Template::Object { spread, fields } => {
                let mut out = match spread.as_ref().and_then(|s| s.render(context)) {
                    Some(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                for (key, template) in fields {
                    if let Some(v) = template.render(context) {
                        out.insert(key.clone(), v);
                    }
                }
                Some(Value::Object(out))
            }
            Template::Array(items) => Some(Value::Array(
                items.iter().filter_map(|t| t.render(context)).collect(),
            )),
            Template::Each { list, map } => {
                let Value::Array(items) = list.resolve(context)? else {
                    return None;
                };
                let mut scope = context.clone();
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Value::Object(m) = &mut scope {
                        m.insert("item".into(), item);
                    }
                    out.extend(map.render(&scope));
                }
                Some(Value::Array(out))
            }
        }
    }

    /// Renders a path: every referenced value is percent-encoded as one segment (no `../admin`); a value that
    /// could equal a sibling route's literal (`me`) must pass a filter such as `uuid`. `Err` names the field and
    /// whether it was missing or refused by a filter.
    pub fn render_path(&self, context: &Value) -> Result<String, PathError> {
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'~');
        let value = |r: &Ref| {
            let text = r.resolve(context).map(text_of).ok_or_else(|| {
                match r.walk(context).filter(|v| !v.is_null()) {
                    Some(_) => PathError::Refused(r.describe()),
                    None => PathError::Missing(r.describe()),
                }
            })?;
            Ok::<_, PathError>(percent_encoding::utf8_percent_encode(&text, SEGMENT).to_string())
        };
        match self {
            Template::Ref(r) => value(r),
            Template::Text(pieces) => pieces
                .iter()
                .map(|p| match p {
                    Piece::Literal(l) => Ok(l.clone()),
                    Piece::Ref(r) => value(r),
                })
                .collect(),
            other => Ok(other.render_text(context)),
        }
    }

    /// The path with every reference standing as `x`: what the route table is asked when the profile loads.
    pub fn sample_path(&self) -> String {
        match self {
            Template::Const(v) => text_of(v.clone()),
            Template::Text(pieces) => pieces
                .iter()
                .map(|p| match p {
                    Piece::Literal(l) => l.as_str(),
                    Piece::Ref(_) => "x",
                })
                .collect(),
            _ => "x".into(),
        }
    }

    /// Renders as text (a plain-text answer, a path): a string as is, anything else as JSON.
    pub fn render_text(&self, context: &Value) -> String {
        self.render(context).map_or(String::new(), text_of)
    }
}

impl Ref {
    /// The field the reference names, for messages: `user_id` for `{body.user_id}`.
    pub fn describe(&self) -> String {
        match self.path.last() {
            Some(field) => field.clone(),
            None => self.root.clone(),
        }
    }

    pub fn resolve(&self, context: &Value) -> Option<Value> {
        let at = self.walk(context).unwrap_or(&Value::Null);
        let mut value = (!at.is_null()).then(|| at.clone());
        for filter in &self.filters {
            value = match filter {
                Filter::Shape(shape) => value.map(|v| shape.fit(v)),
                _ => apply(filter, value),
            };
        }
        value
    }

    fn walk<'c>(&self, context: &'c Value) -> Option<&'c Value> {
        let mut at = context.get(&self.root)?;
        for step in &self.path {
            at = match at {
                Value::Object(map) => map.get(step)?,
                Value::Array(list) => list.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }
}

fn check(r: &Ref, scope: &Scope, in_each: bool) -> Result<(), String> {
    if r.root == "item" {
        return if in_each {
            Ok(())
        } else {
            Err("{item…} is only known inside `each`".into())
        };
    }
    if !scope.roots.contains(&r.root.as_str()) {
        return Err(format!(
            "{{{}}} is not known here (known: {})",
            r.root,
            scope.roots.join(", ")
        ));
    }
    if r.root == "path" {
        match r.path.first() {
            Some(name) if scope.params.contains(name) => {}
            Some(name) => {
                return Err(format!(
                    "{{path.{name}}}: the route's path has no {{{name}}}"
                ));
            }
            None => return Err("{path} needs a parameter name: {path.id}".into()),
        }
    }
    if r.root == "steps" {
        match r.path.first().map(|i| i.parse::<usize>()) {
            Some(Ok(i)) if i < scope.steps => {}
            _ => {
                return Err(format!(
                    "{{steps.N…}}: N must be the index of an earlier call (0..{})",
                    scope.steps
                ));
            }
        }
    }
    Ok(())
}

/// Splits text into literals and `{references}`; `{{` and `}}` stand for braces.
fn parse_text(text: &str, tables: &Tables) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        literal.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            literal.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(format!("unmatched }} in {text:?}"));
        }
        let end = tail
            .find('}')
            .ok_or_else(|| format!("unclosed {{ in {text:?}"))?;
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        pieces.push(Piece::Ref(parse_ref(&tail[1..end], tables)?));
        rest = &tail[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

fn parse_ref(text: &str, tables: &Tables) -> Result<Ref, String> {
    let mut parts = text.split('|');
    let path = parts.next().unwrap_or_default();
    let filters = parts
        .map(|f| parse_filter(f.trim(), tables).map_err(|e| format!("{e} in {{{text}}}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut parts = path.trim().split('.');
    let root = parts.next().unwrap_or_default();
    if root.is_empty() || !root.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("bad reference {{{text}}}"));
    }
    let path: Vec<String> = parts.map(str::to_owned).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!("bad reference {{{text}}}"));
    }
    Ok(Ref {
        root: root.to_owned(),
        path,
        filters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope<'static> {
        static PARAMS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
        Scope {
            roots: RESPONSE_ROOTS,
            params: PARAMS.get_or_init(|| vec!["id".into()]),
            steps: 1,
            tables: TABLES.get_or_init(|| {
                let table = json!({ "member": "athlete", "true": "yes" });
                let Value::Object(table) = table else {
                    unreachable!()
                };
                let mut tables = Tables {
                    maps: BTreeMap::from([("roles".to_owned(), std::sync::Arc::new(table))]),
                    ..Tables::default()
                };
                let person = json!({ "id": "{item.id}", "role": "{item.role|map:roles}", "boss": "{item.boss|or:null}" });
                let person = Template::compile_shape(&person, &tables).unwrap();
                tables.shapes.insert("person".into(), std::sync::Arc::new(person));
                tables
            }),
        }
    }

    #[test]
    fn a_shape_writes_a_value_and_every_element_of_a_list() {
        let ctx = json!({ "response": { "id": 1, "role": "member", "team": [{ "id": 2 }, { "id": 3, "boss": 1 }] } });
        assert_eq!(
            render(json!("{response|shape:person}"), ctx.clone()),
            Some(json!({ "id": 1, "role": "athlete", "boss": null }))
        );
        assert_eq!(
            render(
                json!({ "people": "{response.team|shape:person}" }),
                ctx.clone()
            ),
            Some(json!({ "people": [{ "id": 2, "boss": null }, { "id": 3, "boss": 1 }] }))
        );
        assert_eq!(render(json!("{response.nobody|shape:person}"), ctx), None);
        // A shape reads only the value it is applied to, and names only shapes that exist.
        let tables = scope().tables;
        let err = Template::compile_shape(&json!({ "x": "{body.id}" }), tables).unwrap_err();
        assert!(err.contains("not known here"), "{err}");
        let err = Template::compile(&json!("{response|shape:nope}"), &scope()).unwrap_err();
        assert!(err.contains("no shape"), "{err}");
    }

    fn render(template: Value, context: Value) -> Option<Value> {
        Template::compile(&template, &scope())
            .unwrap()
            .render(&context)
    }

    #[test]
    fn a_lone_reference_keeps_the_type_and_text_interpolates() {
        let ctx = json!({ "body": { "n": 5, "user": { "email": "a@b.c" } }, "token": "t0k" });
        assert_eq!(render(json!("{body.n}"), ctx.clone()), Some(json!(5)));
        assert_eq!(
            render(json!("{body.user}"), ctx.clone()),
            Some(json!({ "email": "a@b.c" }))
        );
        assert_eq!(
            render(json!("Bearer {token}"), ctx.clone()),
            Some(json!("Bearer t0k"))
        );
        assert_eq!(
            render(json!("n={body.n}, x={body.x}"), ctx.clone()),
            Some(json!("n=5, x="))
        );
        assert_eq!(render(json!("{{literal}}"), ctx), Some(json!("{literal}")));
    }

    #[test]
    fn objects_rename_add_constants_and_leave_out_missing_fields() {
        let ctx = json!({ "body": { "fullname": "Ana", "email": "a@b.c" } });
        let shaped = render(
            json!({ "display_name": "{body.fullname}", "grant_type": "password", "city": "{body.city}" }),
            ctx,
        );
        assert_eq!(
            shaped,
            Some(json!({ "display_name": "Ana", "grant_type": "password" }))
        );
    }

    #[test]
    fn spread_copies_fields_then_the_others_override() {
        let ctx = json!({ "response": { "a": 1, "b": 2 } });
        let shaped = render(json!({ "...": "{response}", "b": 3, "message": "ok" }), ctx);
        assert_eq!(shaped, Some(json!({ "a": 1, "b": 3, "message": "ok" })));
    }

    #[test]
    fn wrap_and_unwrap() {
        let ctx = json!({ "response": { "data": { "id": 7 } }, "body": { "token": "x" } });
        assert_eq!(
            render(json!("{response.data}"), ctx.clone()),
            Some(json!({ "id": 7 }))
        );
        assert_eq!(
            render(json!({ "token": "{body.token}" }), ctx),
            Some(json!({ "token": "x" }))
        );
    }

    #[test]
    fn each_maps_a_list_and_indexes_reach_into_lists() {
        let ctx = json!({ "response": { "items": [{ "id": 1, "display_name": "A" }, { "id": 2 }] },
                          "steps": [{ "items": [{ "id": "first" }] }] });
        let shaped = render(
            json!({ "each": "{response.items}", "map": { "uid": "{item.id}", "name": "{item.display_name}" } }),
            ctx.clone(),
        );
        assert_eq!(
            shaped,
            Some(json!([{ "uid": 1, "name": "A" }, { "uid": 2 }]))
        );
        assert_eq!(
            render(json!("{steps.0.items.0.id}"), ctx),
            Some(json!("first"))
        );
    }

    #[test]
    fn filters_convert_numbers_and_text() {
        let ctx = json!({ "body": { "n": 42, "s": "17", "f": "2.5", "bad": "x", "t": "true", "e": "MiXeD" } });
        assert_eq!(
            render(json!("{body.n|text}"), ctx.clone()),
            Some(json!("42"))
        );
        assert_eq!(render(json!("{body.s|int}"), ctx.clone()), Some(json!(17)));
        assert_eq!(
            render(json!("{body.f|number}"), ctx.clone()),
            Some(json!(2.5))
        );
        assert_eq!(render(json!("{body.f|int}"), ctx.clone()), None);
        assert_eq!(render(json!("{body.bad|number}"), ctx.clone()), None);
        assert_eq!(
            render(json!("{body.t|bool}"), ctx.clone()),
            Some(json!(true))
        );
        assert_eq!(render(json!("{body.missing|bool}"), ctx.clone()), None);
        assert_eq!(
            render(json!("{body.e|lower}"), ctx.clone()),
            Some(json!("mixed"))
        );
        assert_eq!(
            render(json!("{body.missing|not}"), ctx.clone()),
            Some(json!(true))
        );
        assert_eq!(
            render(json!("{body.n|not}"), ctx.clone()),
            Some(json!(false))
        );
        assert_eq!(
            render(json!("{body.missing|or:none}"), ctx.clone()),
            Some(json!("none"))
        );
        assert_eq!(
            render(json!("{body.t|bool|text|map:roles}"), ctx.clone()),
            Some(json!("yes"))
        );
        assert_eq!(
            render(json!("{body.e|map:roles}"), ctx),
            Some(json!("MiXeD")),
            "unlisted: unchanged"
        );
    }

    #[test]
    fn paths_encode_each_value_as_one_segment_and_name_what_is_missing_or_refused() {
        let path = |t: &str, ctx: Value| {
            Template::compile(&json!(t), &scope())
                .unwrap()
                .render_path(&ctx)
        };
        let ctx = json!({ "body": { "a": "x/../y z", "id": "me" } });
        assert_eq!(
            path("/users/{body.a}/follow", ctx.clone()),
            Ok("/users/x%2F%2E%2E%2Fy%20z/follow".into())
        );
        assert_eq!(
            path("/users/{body.b}", ctx.clone()),
            Err(PathError::Missing("b".into()))
        );
        assert_eq!(
            path("/users/{body.id|uuid}", ctx),
            Err(PathError::Refused("id".into()))
        );
    }

    #[test]
    fn references_are_checked_where_they_stand() {
        let bad = |v: Value| Template::compile(&v, &scope()).unwrap_err();
        assert!(bad(json!("{error.code}")).contains("not known here"));
        assert!(bad(json!("{path.user_id}")).contains("has no {user_id}"));
        assert!(bad(json!("{steps.1.x}")).contains("earlier call"));
        assert!(bad(json!("{item.id}")).contains("inside `each`"));
        assert!(bad(json!("{body.x|upper}")).contains("unknown filter"));
        assert!(bad(json!("{body.x|map:nope}")).contains("no table \"nope\""));
        assert!(bad(json!("{body.")).contains("unclosed"));
        assert!(bad(json!("a } b")).contains("unmatched"));
        assert!(bad(json!({ "each": "{body.x}" })).contains("`map`"));
        assert!(bad(json!({ "x": { "y": "{nope}" } })).starts_with("x: y: "));
        Template::compile(&json!("{path.id}"), &scope()).unwrap();
    }
}
