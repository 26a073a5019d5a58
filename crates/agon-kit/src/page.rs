//! Cursor pagination: every list takes `limit` and `cursor` and answers `items` plus `next_cursor`. The limit is
//! clamped to [`MAX_LIMIT`]; a cursor is opaque to clients (base64url of the sort key of the last item).
//!
//! Each list names the shape of its sort key ([`CursorKey`]: a UUID, a sequence number, a pair…), and the kit
//! both encodes and decodes it: a cursor that is too long, not base64url, or whose text is not that shape is
//! refused with `invalid_cursor` rather than taken as a position.

use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ErrorCode;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Longest cursor accepted, in bytes. Our own keys encode to well under this; anything longer is not ours and is
/// refused before it is decoded.
pub const MAX_CURSOR_BYTES: usize = 512;

/// The query parameters of a list endpoint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page: 1 to 100, default 20; larger values are clamped to 100.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page a list endpoint's own query parameters ask for.
    pub fn new(limit: Option<u32>, cursor: Option<String>) -> Self {
        Self { limit, cursor }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The sort key a list's cursor carries, as text. `parse` must accept exactly what `render` produces (and may
/// accept equivalent spellings); anything else is refused.
pub trait CursorKey: Sized {
    fn render(&self) -> String;
    fn parse(text: &str) -> Option<Self>;
}

impl CursorKey for Uuid {
    fn render(&self) -> String {
        self.to_string()
    }
    fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok()
    }
}

/// A text key (a fixed-width timestamp); in a compound key it comes first and must not hold `|`.
impl CursorKey for String {
    fn render(&self) -> String {
        self.clone()
    }
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

impl CursorKey for i64 {
    fn render(&self) -> String {
        self.to_string()
    }
    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// Finite numbers only: a NaN or an infinity never comes out of a list.
impl CursorKey for f64 {
    fn render(&self) -> String {
        self.to_string()
    }
    fn parse(text: &str) -> Option<Self> {
        text.parse().ok().filter(|v: &f64| v.is_finite())
    }
}

/// A compound key (`distance|id`): the first part must not contain `|`, which the kit's own keys never do.
impl<A: CursorKey, B: CursorKey> CursorKey for (A, B) {
    fn render(&self) -> String {
        format!("{}|{}", self.0.render(), self.1.render())
    }
    fn parse(text: &str) -> Option<Self> {
        let (a, b) = text.split_once('|')?;
        Some((A::parse(a)?, B::parse(b)?))
    }
}

/// A `cursor` that is not one this list handed out.
#[derive(Debug, thiserror::Error)]
#[error("cursor: {0}")]
pub struct CursorError(&'static str);

impl ErrorCode for CursorError {
    fn code(&self) -> &'static str {
        "invalid_cursor"
    }
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

impl axum::response::IntoResponse for CursorError {
    fn into_response(self) -> axum::response::Response {
        crate::error_response(&self)
    }
}

impl PageParams {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// The sort key after which the page starts, or `None` for the first page.
    pub fn after<K: CursorKey>(&self) -> Result<Option<K>, CursorError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        if cursor.len() > MAX_CURSOR_BYTES {
            return Err(CursorError("too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| CursorError("not a cursor"))?;
        let text = String::from_utf8(bytes).map_err(|_| CursorError("not a cursor"))?;
        K::parse(&text)
            .map(Some)
            .ok_or(CursorError("not a cursor of this list"))
    }

    /// Builds the page from up to `limit + 1` fetched rows: the extra row only tells that another page exists.
    pub fn page<T, K: CursorKey>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Page<T> {
        let limit = self.limit() as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last()
                .map(|last| URL_SAFE_NO_PAD.encode(key(last).render()))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// Rows to fetch: one more than the limit.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit()) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(cursor: &str) -> PageParams {
        PageParams {
            limit: None,
            cursor: Some(cursor.into()),
        }
    }

    #[test]
    fn clamps_and_round_trips_cursor() {
        let p = PageParams {
            limit: Some(1000),
            cursor: None,
        };
        assert_eq!(p.limit(), MAX_LIMIT);
        let p = PageParams {
            limit: Some(2),
            cursor: None,
        };
        let page = p.page(vec![1i64, 2, 3], |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        let next = PageParams {
            limit: Some(2),
            cursor: page.next_cursor,
        };
        assert_eq!(next.after::<i64>().unwrap(), Some(2));
        assert!(p.page(vec![1i64], |n| *n).next_cursor.is_none());
        assert_eq!(p.after::<Uuid>().unwrap(), None);
    }

    #[test]
    fn refuses_cursors_that_are_not_ours() {
        let id = Uuid::now_v7();
        let pair = PageParams {
            limit: Some(1),
            cursor: None,
        }
        .page(vec![(1.5, id), (2.0, id)], |k| *k);
        let back = with(pair.next_cursor.as_deref().unwrap());
        assert_eq!(back.after::<(f64, Uuid)>().unwrap(), Some((1.5, id)));
        // Not base64url, too long, or well-formed base64 of the wrong shape.
        assert!(with("!!").after::<i64>().is_err());
        assert!(
            with(&"A".repeat(MAX_CURSOR_BYTES + 1))
                .after::<i64>()
                .is_err()
        );
        let text = |t: &str| URL_SAFE_NO_PAD.encode(t);
        assert!(with(&text("hello")).after::<Uuid>().is_err());
        assert!(with(&text("12x")).after::<i64>().is_err());
        assert!(with(&text("NaN|x")).after::<(f64, Uuid)>().is_err());
        assert!(
            with(&text(&format!("inf|{id}")))
                .after::<(f64, Uuid)>()
                .is_err()
        );
        assert_eq!(
            with(&text("hello")).after::<i64>().unwrap_err().code(),
            "invalid_cursor"
        );
    }
}
