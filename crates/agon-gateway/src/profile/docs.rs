//! A profile's OpenAPI document: the seed's API as the gateway serves it, derived from the routes themselves —
//! paths and methods, path parameters, the body fields the calls read, the answer's shape and statuses, and the
//! profile's error shape — so it cannot drift from what is served.

use serde_json::{Map, Value, json};

use super::{Profile, ProfileRoute, Shaped, template::Template};

impl Profile {
    /// The paths of this profile's reshaping routes, as an OpenAPI `paths` object (forwarding routes are the
    /// platform's own operations). The gateway lays them over the platform's document: where a seed's route
    /// takes a path and method of the platform's, the seed's is what is served.
    pub fn openapi_paths(&self) -> Value {
        let mut paths = Map::new();
        for route in &self.routes {
            let ProfileRoute::Shaped {
                matcher,
                methods,
                shaped,
            } = route
            else {
                continue;
            };
            // The other slash form of a route answers a redirect; the written form is the documented one.
            if shaped.answer.as_ref().is_some_and(|a| a.location.is_some()) {
                continue;
            }
            let path = matcher.describe().replace("{*", "{");
            let item = paths
                .entry(path)
                .or_insert_with(|| Value::Object(Map::new()));
            let methods = methods.as_deref().map_or_else(
                || vec!["get".to_owned()],
                |m| m.iter().map(|m| m.as_str().to_ascii_lowercase()).collect(),
            );
            for method in methods {
                item[method] = operation(&self.name, &matcher.params(), shaped);
            }
        }
        Value::Object(paths)
    }
}

fn operation(profile: &str, params: &[String], shaped: &Shaped) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let mut op = json!({
        "tags": [profile],
        "summary": shaped.label,
        "description": format!("Agon: {}.", shaped.describe()),
        "parameters": parameters,
        "responses": responses(shaped),
    });
    let fields = body_fields(shaped);
    let files: Vec<&String> = shaped
        .calls
        .iter()
        .filter_map(|c| c.file.as_ref())
        .collect();
    if !files.is_empty() {
        let mut properties: Map<String, Value> =
            fields.into_iter().map(|f| (f, json!({}))).collect();
        for file in &files {
            properties.insert(
                (*file).clone(),
                json!({ "type": "string", "format": "binary" }),
            );
        }
        op["requestBody"] = json!({ "required": true, "content": { "multipart/form-data": {
            "schema": { "type": "object", "properties": properties, "required": files } } } });
    } else if !fields.is_empty() {
        let properties: Map<String, Value> = fields.into_iter().map(|f| (f, json!({}))).collect();
        op["requestBody"] = json!({ "content": { "application/json": {
            "schema": { "type": "object", "properties": properties } } } });
    }
    op
}

/// The success answer (its status as the seed sees it) and the error shape.
fn responses(shaped: &Shaped) -> Value {
    let mut out = Map::new();
    let (status, content) = match &shaped.answer {
        Some(answer) => (
            answer.status,
            match (&answer.text, &answer.body) {
                (Some(_), _) => Some(json!({ "text/plain": { "schema": { "type": "string" } } })),
                (None, Some(body)) => {
                    Some(json!({ "application/json": { "schema": schema(body) } }))
                }
                (None, None) => None,
            },
        ),
        None => (
            success_status(shaped),
            match (
                &shaped.response.text,
                &shaped.response.body,
                shaped.response.empty,
            ) {
                (_, _, true) => None,
                (Some(_), _, _) => {
                    Some(json!({ "text/plain": { "schema": { "type": "string" } } }))
                }
                (None, Some(body), _) => {
                    Some(json!({ "application/json": { "schema": schema(body) } }))
                }
                (None, None, _) => match &shaped.response.json {
                    Some(constant) => Some(json!({ "application/json": { "example": constant } })),
                    None => Some(json!({ "application/json": { "schema": {} } })),
                },
            },
        ),
    };
    let mut success = json!({ "description": "as the seed answers" });
    if let Some(content) = content {
        success["content"] = content;
    }
    out.insert(status.to_string(), success);
    if shaped.answer.is_none() {
        let error = match (&shaped.errors.text, &shaped.errors.body) {
            (Some(_), _) => json!({ "text/plain": { "schema": { "type": "string" } } }),
            (None, Some(body)) => json!({ "application/json": { "schema": schema(body) } }),
            (None, None) => json!({ "application/problem+json": { "schema": {} } }),
        };
        out.insert(
            "default".into(),
            json!({ "description": "an error, in the seed's shape", "content": error }),
        );
    }
    Value::Object(out)
}

/// The seed's status for the platform's success: the first 2xx the status map gives, else 200.
fn success_status(shaped: &Shaped) -> u16 {
    shaped
        .status
        .iter()
        .filter(|(from, _)| from.starts_with('2'))
        .map(|(_, to)| *to)
        .find(|to| (200..300).contains(to))
        .unwrap_or(200)
}

/// The top-level body fields the calls and checks read (`{body.email}` → `email`).
fn body_fields(shaped: &Shaped) -> Vec<String> {
    let mut fields = Vec::new();
    let templates = shaped.calls.iter().flat_map(|c| {
        [
            c.body.as_ref(),
            c.query.as_ref(),
            c.bearer.as_ref(),
            Some(&c.path),
        ]
    });
    for template in templates.flatten() {
        template.visit_refs(&mut |r| {
            if r.root == "body"
                && let Some(field) = r.path.first()
                && !fields.contains(field)
            {
                fields.push(field.clone());
            }
        });
    }
    fields
}

/// The JSON schema a template's output has: objects with their fields, constants as examples.
fn schema(template: &Template) -> Value {
    match template {
        Template::Const(value) => json!({ "example": value }),
        Template::Ref(_) => json!({}),
        Template::Text(_) => json!({ "type": "string" }),
        Template::Object { spread, fields } => {
            let properties: Map<String, Value> =
                fields.iter().map(|(k, t)| (k.clone(), schema(t))).collect();
            json!({ "type": "object", "properties": properties, "additionalProperties": spread.is_some() })
        }
        Template::Array(items) => {
            json!({ "type": "array", "items": items.first().map_or(json!({}), schema) })
        }
        Template::Each { map, .. } => json!({ "type": "array", "items": schema(map) }),
    }
}
