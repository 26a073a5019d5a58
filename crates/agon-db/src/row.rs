//! How values are written to and read from rows on both engines: timestamps as fixed-width RFC 3339 UTC text,
//! ids as UUID text, JSON as text. One home for each, so every service stores them alike.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

/// A timestamp as stored: RFC 3339 in UTC with microseconds (`2026-03-04T05:06:07.123456Z`). Fixed width, so
/// text order is time order on both engines, and a day is its first ten characters.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Now, as stored.
pub fn now_text() -> String {
    time_text(Utc::now())
}

/// A stored timestamp read back.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

/// Typed reads of the columns Agon stores as text.
pub trait RowExt {
    /// A UUID column.
    fn id(&self, column: &str) -> Result<Uuid, sqlx::Error>;
    /// A nullable UUID column.
    fn opt_id(&self, column: &str) -> Result<Option<Uuid>, sqlx::Error>;
    /// A timestamp column.
    fn time(&self, column: &str) -> Result<DateTime<Utc>, sqlx::Error>;
    /// A JSON column.
    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> Result<T, sqlx::Error>;
}

impl RowExt for AnyRow {
    fn id(&self, column: &str) -> Result<Uuid, sqlx::Error> {
        let text: String = self.try_get(column)?;
        text.parse().map_err(|e| decode(column, e))
    }

    fn opt_id(&self, column: &str) -> Result<Option<Uuid>, sqlx::Error> {
        let text: Option<String> = self.try_get(column)?;
        text.map(|t| t.parse().map_err(|e| decode(column, e)))
            .transpose()
    }

    fn time(&self, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
        let text: String = self.try_get(column)?;
        parse_time(&text).map_err(|e| decode(column, e))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> Result<T, sqlx::Error> {
        let text: String = self.try_get(column)?;
        serde_json::from_str(&text).map_err(|e| decode(column, e))
    }
}

fn decode(column: &str, error: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_are_fixed_width_and_read_back() {
        let t = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = time_text(t);
        assert_eq!(text, "2026-03-04T05:06:07.000000Z");
        assert_eq!(parse_time(&text).unwrap(), t);
        assert_eq!(now_text().len(), text.len());
    }
}
