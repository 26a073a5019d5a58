//! How values are written to and read from rows on both engines: timestamps as fixed-width RFC 3339 UTC text,
//! ids as UUID text, JSON as text, booleans as integers. One home for each, so every service stores them alike.

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

/// A UUID column read from a row mapped by hand (a single value, a tuple); a `#[derive(sqlx::FromRow)]` struct
/// uses `#[sqlx(try_from = "String")]` and the wrappers below instead.
pub trait RowExt {
    fn id(&self, column: &str) -> Result<Uuid, sqlx::Error>;
}

impl RowExt for AnyRow {
    fn id(&self, column: &str) -> Result<Uuid, sqlx::Error> {
        let text: String = self.try_get(column)?;
        text.parse().map_err(|e| decode(column, e))
    }
}

fn decode(column: &str, error: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(error),
    }
}

/// A text column holding JSON, read into a `serde_json::Value` by a `#[derive(sqlx::FromRow)]` struct:
/// `#[sqlx(try_from = "agon_db::JsonText")] payload: serde_json::Value`.
pub struct JsonText(pub String);

/// A text column holding a timestamp: `#[sqlx(try_from = "agon_db::TimeText")] at: DateTime<Utc>`.
pub struct TimeText(pub String);

/// An integer column holding a boolean (0 or 1): `#[sqlx(try_from = "agon_db::Flag")] critical: bool`.
pub struct Flag(pub i64);

/// A nullable text column holding a UUID: `#[sqlx(try_from = "agon_db::OptionalId")] id: Option<Uuid>`.
pub struct OptionalId(pub Option<String>);

impl TryFrom<JsonText> for serde_json::Value {
    type Error = serde_json::Error;

    fn try_from(text: JsonText) -> Result<Self, Self::Error> {
        serde_json::from_str(&text.0)
    }
}

impl TryFrom<TimeText> for DateTime<Utc> {
    type Error = chrono::ParseError;

    fn try_from(text: TimeText) -> Result<Self, Self::Error> {
        parse_time(&text.0)
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> Self {
        flag.0 != 0
    }
}

impl TryFrom<OptionalId> for Option<Uuid> {
    type Error = uuid::Error;

    fn try_from(id: OptionalId) -> Result<Self, Self::Error> {
        id.0.map(|text| text.parse()).transpose()
    }
}

/// Decodes and types a wrapper as the column type it wraps.
macro_rules! column_as {
    ($wrapper:ident, $inner:ty) => {
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $wrapper {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok($wrapper(<$inner as sqlx::Decode<'r, sqlx::Any>>::decode(
                    value,
                )?))
            }
        }

        impl sqlx::Type<sqlx::Any> for $wrapper {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <$inner as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <$inner as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }
    };
}

column_as!(JsonText, String);
column_as!(TimeText, String);
column_as!(Flag, i64);
column_as!(OptionalId, Option<String>);

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

    /// A row as a service reads it, through the column wrappers.
    #[derive(sqlx::FromRow)]
    struct Stored {
        #[sqlx(try_from = "String")]
        id: Uuid,
        #[sqlx(try_from = "crate::OptionalId")]
        parent: Option<Uuid>,
        #[sqlx(try_from = "crate::JsonText")]
        data: serde_json::Value,
        #[sqlx(try_from = "crate::Flag")]
        done: bool,
        #[sqlx(try_from = "crate::TimeText")]
        at: DateTime<Utc>,
    }

    #[tokio::test]
    async fn values_bound_from_a_tuple_read_back_through_the_wrappers() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Databases::SqliteDir(dir.path().to_owned())
            .open("rows")
            .await
            .unwrap();
        crate::query(
            "create table t (id text, parent text, data text, done integer, at text)",
            (),
        )
        .execute(db.pool())
        .await
        .unwrap();
        let (id, at) = (Uuid::now_v7(), Utc::now());
        let rows = [(id, None, true), (Uuid::now_v7(), Some(id), false)];
        for (row, parent, done) in rows {
            crate::query(
                "insert into t (id, parent, data, done, at) values ($1, $2, $3, $4, $5)",
                (
                    row.to_string(),
                    parent.map(|p| p.to_string()),
                    r#"{"n": 1}"#,
                    i64::from(done),
                    time_text(at),
                ),
            )
            .execute(db.pool())
            .await
            .unwrap();
        }
        let read: Vec<Stored> = crate::query_as("select * from t order by done desc", ())
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!((read[0].id, read[0].parent, read[0].done), (id, None, true));
        assert_eq!((read[1].parent, read[1].done), (Some(id), false));
        assert_eq!(read[0].data, serde_json::json!({"n": 1}));
        assert_eq!(read[0].at, parse_time(&time_text(at)).unwrap());
    }
}
