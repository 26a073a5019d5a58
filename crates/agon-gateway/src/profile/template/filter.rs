//! Filters, the `|name` after a reference: conversions between the seed's and the platform's forms of a value.

use serde_json::Value;

use super::{Table, Tables, Template};

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Numbers and booleans written as text; text unchanged.
    Text,
    /// Text holding a number read as a number; numbers unchanged.
    Number,
    /// Like `number`, integers only.
    Int,
    /// `true`/`false` text as a boolean; anything else: whether the value is present and not empty.
    Bool,
    Lower,
    /// Whether the value is absent or empty.
    Not,
    /// The value looked up (as text) in a `[maps]` table; a value the table does not list stays as it is.
    Map(Table),
    /// The value when a `[maps]` table lists it (as text), else nothing: a value restricted to a set.
    In(Table),
    /// The value, or this text when the reference leads nowhere.
    Or(Value),
    /// The value written in a `[shapes]` template (each element of a list).
    Shape(std::sync::Arc<Template>),
    /// The value when it is a UUID, else nothing: an id put into a platform path can only ever be an id, never
    /// a sibling route's literal (`me`, `admin`).
    Uuid,
    /// An amount in major units (`9.99`, a number or numeric text) as the integer of minor units the platform
    /// keeps (`999`), rounded to the nearest; anything else: nothing.
    Cents,
    /// Minor units (`999`) as major units (`9.99`).
    Units,
    /// A date-time as RFC 3339: one with an offset unchanged, one without (`2024-01-01T00:00:00`, what Python's
    /// `isoformat()` writes for a naive time) read as UTC; anything else: nothing.
    Utc,
}

pub(super) fn apply(filter: &Filter, value: Option<Value>) -> Option<Value> {
    let value = match (filter, value) {
        (Filter::Or(default), None) => return Some(default.clone()),
        (Filter::Not, value) => return Some(Value::Bool(!value.as_ref().is_some_and(truthy))),
        (_, None) => return None,
        (Filter::Map(table), Some(v)) => {
            return Some(table.get(&text_of(v.clone())).cloned().unwrap_or(v));
        }
        (Filter::In(table), Some(v)) => {
            return table.contains_key(&text_of(v.clone())).then_some(v);
        }
        (Filter::Uuid, Some(v)) => {
            return uuid::Uuid::parse_str(&text_of(v.clone()))
                .is_ok()
                .then_some(v);
        }
        (_, Some(v)) => v,
    };
    let value = &value;
    Some(match (filter, value) {
        (Filter::Text, v) => Value::String(text_of(v.clone())),
        (Filter::Number | Filter::Int, Value::Number(n)) => {
            if *filter == Filter::Int && !(n.is_i64() || n.is_u64()) {
                return None;
            }
            Value::Number(n.clone())
        }
        (Filter::Int, Value::String(s)) => Value::from(s.trim().parse::<i64>().ok()?),
        (Filter::Number, Value::String(s)) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => Value::from(s.parse::<f64>().ok().filter(|f| f.is_finite())?),
            }
        }
        (Filter::Number | Filter::Int, _) => return None,
        (Filter::Cents, v) => Value::from(cents(v)?),
        (Filter::Units, Value::Number(n)) => Value::from(n.as_i64()? as f64 / 100.0),
        (Filter::Units, _) => return None,
        (Filter::Utc, Value::String(s)) => Value::String(utc(s)?),
        (Filter::Utc, _) => return None,
        (Filter::Bool, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (Filter::Bool, v) => Value::Bool(truthy(v)),
        (Filter::Lower, Value::String(s)) => Value::String(s.to_lowercase()),
        (
            Filter::Lower
            | Filter::Not
            | Filter::Map(_)
            | Filter::In(_)
            | Filter::Or(_)
            | Filter::Shape(_)
            | Filter::Uuid,
            v,
        ) => v.clone(),
    })
}

/// Whether a value counts as given: not null, not false, not empty text, not an empty list or object.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

/// A value as text: strings as they are, anything else as its JSON.
pub fn text_of(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(super) fn parse_filter(text: &str, tables: &Tables) -> Result<Filter, String> {
    let maps = &tables.maps;
    Ok(match text.split_once(':') {
        None if text == "text" => Filter::Text,
        None if text == "number" => Filter::Number,
        None if text == "int" => Filter::Int,
        None if text == "bool" => Filter::Bool,
        None if text == "lower" => Filter::Lower,
        None if text == "not" => Filter::Not,
        None if text == "uuid" => Filter::Uuid,
        None if text == "cents" => Filter::Cents,
        None if text == "units" => Filter::Units,
        None if text == "utc" => Filter::Utc,
        Some(("map", name)) => Filter::Map(
            maps.get(name)
                .cloned()
                .ok_or_else(|| format!("no table {name:?} in [maps]"))?,
        ),
        Some(("in", name)) => Filter::In(
            maps.get(name)
                .cloned()
                .ok_or_else(|| format!("no table {name:?} in [maps]"))?,
        ),
        Some(("shape", name)) => Filter::Shape(
            (tables.shapes.get(name).cloned())
                .ok_or_else(|| format!("no shape {name:?} in [shapes]"))?,
        ),
        // `or:0` is the number 0, `or:false` false, `or:none` the text "none".
        Some(("or", default)) => Filter::Or(
            serde_json::from_str(default).unwrap_or_else(|_| Value::String(default.to_owned())),
        ),
        _ => {
            return Err(format!(
                "unknown filter {text:?} (known: text, number, int, bool, lower, not, uuid, cents, units, utc, map:NAME, in:NAME, or:TEXT, shape:NAME)"
            ));
        }
    })
}

/// Major units as whole minor units: `19.99` → `1999` (the nearest, as `19.99 * 100` is `1998.999…`).
fn cents(value: &Value) -> Option<i64> {
    let units = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    let cents = (units * 100.0).round();
    (cents.is_finite() && cents.abs() < 1e15).then_some(cents as i64)
}

/// RFC 3339 text; a naive date-time read as UTC.
fn utc(text: &str) -> Option<String> {
    let text = text.trim();
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        return Some(text.to_owned());
    }
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()?;
    Some(
        naive
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(filter: Filter, value: Value) -> Option<Value> {
        apply(&filter, Some(value))
    }

    #[test]
    fn money_goes_between_major_and_minor_units() {
        assert_eq!(one(Filter::Cents, json!(19.99)), Some(json!(1999)));
        assert_eq!(one(Filter::Cents, json!(0.29)), Some(json!(29)));
        assert_eq!(one(Filter::Cents, json!("9.5")), Some(json!(950)));
        assert_eq!(one(Filter::Cents, json!(-1)), Some(json!(-100)));
        assert_eq!(one(Filter::Cents, json!("ten")), None);
        assert_eq!(one(Filter::Cents, json!(1e300)), None);
        assert_eq!(one(Filter::Units, json!(1999)), Some(json!(19.99)));
        assert_eq!(one(Filter::Units, json!("1999")), None);
    }

    #[test]
    fn naive_times_are_read_as_utc_and_others_kept_or_refused() {
        assert_eq!(
            one(Filter::Utc, json!("2024-01-01T00:00:00")),
            Some(json!("2024-01-01T00:00:00Z"))
        );
        assert_eq!(
            one(Filter::Utc, json!("2024-01-01 10:30:00.25")),
            Some(json!("2024-01-01T10:30:00.250Z"))
        );
        assert_eq!(
            one(Filter::Utc, json!("2024-01-01T00:00:00+03:00")),
            Some(json!("2024-01-01T00:00:00+03:00"))
        );
        assert_eq!(one(Filter::Utc, json!("2024-01-01")), None);
        assert_eq!(one(Filter::Utc, json!(20240101)), None);
    }
}
