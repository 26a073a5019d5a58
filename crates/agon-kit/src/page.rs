//! Cursor pagination: every list takes `limit` and `cursor` and answers `items` plus `next_cursor`. The limit is
//! clamped to [`MAX_LIMIT`]; a cursor is opaque to clients (base64url of the sort key of the last item).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::error::KitError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The query parameters of a list endpoint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page: 1 to 100, default 20; larger values are clamped to 100.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// The decoded sort key after which the page starts.
    pub fn after(&self) -> Result<Option<String>, KitError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| KitError::InvalidQuery("cursor: not a cursor".into()))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| KitError::InvalidQuery("cursor: not a cursor".into()))
    }

    /// Builds the page from up to `limit + 1` fetched rows: the extra row only tells that another page exists.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = self.limit() as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| URL_SAFE_NO_PAD.encode(key(last)))
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
        let page = p.page(vec![1, 2, 3], |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        let next = PageParams {
            limit: Some(2),
            cursor: page.next_cursor,
        };
        assert_eq!(next.after().unwrap().as_deref(), Some("2"));
        assert!(
            PageParams {
                limit: None,
                cursor: Some("!!".into())
            }
            .after()
            .is_err()
        );
        assert!(p.page(vec![1], |n| n.to_string()).next_cursor.is_none());
    }
}
