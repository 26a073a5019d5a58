//! The backoffice's business metrics (administrators): counts per metric over a date range, bucketed by day,
//! week or month with their breakdowns, and the stored events themselves. Under `/analytics`, because `/metrics`
//! is every process's Prometheus endpoint.

use std::collections::BTreeMap;

use agon_kit::{AuthUser, Json, Page, PageParams, Query, Role};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    Error, State, projection,
    store::{EventFilter, Key},
};

/// Longest range one query may cover.
pub const MAX_DAYS: i64 = 3660;

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(metrics))
        .routes(routes!(events))
        .with_state(state)
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Day,
    Week,
    Month,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    /// First day, `YYYY-MM-DD` (UTC), inclusive; default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default today.
    pub to: Option<String>,
    /// `day` (default), `week` (ISO weeks, from Monday) or `month`.
    pub bucket: Option<Bucket>,
    /// One metric; default all.
    pub metric: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Metrics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub bucket: Bucket,
    pub metrics: Vec<Series>,
}

/// One metric over the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub metric: String,
    pub total: i64,
    /// The total per breakdown value (login method, password change path …); empty when the metric has none.
    pub by: BTreeMap<String, i64>,
    /// Every bucket in the range, empty ones included. A bucket's `start` may precede `from` (a week or month
    /// that began earlier); only days inside the range are counted.
    pub buckets: Vec<Point>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    pub start: NaiveDate,
    pub count: i64,
    pub by: BTreeMap<String, i64>,
}

/// The payload filter: a field name of letters, digits and `_` (a plain JSON key), and its value — both or neither.
fn payload_field(
    field: Option<String>,
    value: Option<String>,
) -> Result<Option<(String, String)>, Error> {
    match (field, value) {
        (None, None) => Ok(None),
        (Some(field), Some(value)) => {
            let plain = !field.is_empty()
                && field.len() <= 64
                && field
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !plain {
                return Err(Error::invalid(
                    "field",
                    "must be a payload field name (letters, digits, _)",
                ));
            }
            Ok(Some((field, value)))
        }
        (Some(_), None) => Err(Error::invalid("value", "is needed with field")),
        (None, Some(_)) => Err(Error::invalid("field", "is needed with value")),
    }
}

fn parse_day(field: &str, text: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| Error::invalid(field, "must be a date as YYYY-MM-DD"))
}

fn bucket_start(day: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Day => day,
        Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Bucket::Month => day.with_day(1).unwrap_or(day),
    }
}

/// Business metrics over a date range (administrators).
#[utoipa::path(get, path = "/analytics/metrics", tag = "analytics", security(("bearer" = [])), params(MetricsParams),
    responses((status = 200, body = Metrics), (status = 401), (status = 403), (status = 422)))]
async fn metrics(
    auth: AuthUser,
    state: State,
    Query(params): Query<MetricsParams>,
) -> Result<Json<Metrics>, Error> {
    auth.require(Role::Admin)?;
    let (from, to) = range(&params)?;
    let names = projection::metrics();
    let selected: Vec<&str> = match &params.metric {
        Some(m) if names.contains(&m.as_str()) => vec![m.as_str()],
        Some(_) => {
            return Err(Error::invalid(
                "metric",
                &format!("unknown metric; known: {}", names.join(", ")),
            ));
        }
        None => names,
    };
    let bucket = params.bucket.unwrap_or(Bucket::Day);
    let counts = state
        .store
        .daily_counts(&from.to_string(), &to.to_string())
        .await?;
    let metrics = series(&selected, from, to, bucket, counts)?;
    Ok(Json(Metrics {
        from,
        to,
        bucket,
        metrics,
    }))
}

/// The requested days: `to` defaults to today, `from` to 29 days before `to`; at most [`MAX_DAYS`].
fn range(params: &MetricsParams) -> Result<(NaiveDate, NaiveDate), Error> {
    let to = match &params.to {
        Some(text) => parse_day("to", text)?,
        None => Utc::now().date_naive(),
    };
    let from = match &params.from {
        Some(text) => parse_day("from", text)?,
        None => to - Duration::days(29),
    };
    if from > to {
        return Err(Error::invalid("from", "must not be after to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(Error::invalid(
            "from",
            "the range may cover at most 3660 days",
        ));
    }
    Ok((from, to))
}

/// Each selected metric over the range, every bucket present (empty ones too), from the daily counts.
fn series(
    selected: &[&str],
    from: NaiveDate,
    to: NaiveDate,
    bucket: Bucket,
    counts: Vec<(Key, i64)>,
) -> Result<Vec<Series>, Error> {
    let mut starts = Vec::new();
    let mut day = from;
    while day <= to {
        let start = bucket_start(day, bucket);
        if starts.last() != Some(&start) {
            starts.push(start);
        }
        day += Duration::days(1);
    }
    let mut series: Vec<Series> = selected
        .iter()
        .map(|m| Series {
            metric: (*m).to_owned(),
            total: 0,
            by: BTreeMap::new(),
            buckets: starts
                .iter()
                .map(|s| Point {
                    start: *s,
                    count: 0,
                    by: BTreeMap::new(),
                })
                .collect(),
        })
        .collect();
    for ((metric, dimension, day), count) in counts {
        let Some(s) = series.iter_mut().find(|s| s.metric == metric) else {
            continue;
        };
        let start = bucket_start(parse_day("day", &day)?, bucket);
        s.total += count;
        let Ok(i) = starts.binary_search(&start) else {
            continue;
        };
        s.buckets[i].count += count;
        if !dimension.is_empty() {
            *s.by.entry(dimension.clone()).or_default() += count;
            *s.buckets[i].by.entry(dimension).or_default() += count;
        }
    }
    Ok(series)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Only this topic, such as `auth.logged_in.v1`.
    pub topic: Option<String>,
    /// First day (UTC), inclusive.
    pub from: Option<String>,
    /// Last day (UTC), inclusive.
    pub to: Option<String>,
    /// With `value`: only events whose payload's text field `field` (such as `method`) equals `value`.
    pub field: Option<String>,
    pub value: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A stored event.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredEvent {
    pub id: Uuid,
    pub topic: String,
    pub source: String,
    pub occurred_at: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// The stored events, newest first (administrators): the drill-down behind a metric.
#[utoipa::path(get, path = "/analytics/events", tag = "analytics", security(("bearer" = [])), params(EventParams),
    responses((status = 200, body = Page<StoredEvent>), (status = 401), (status = 403), (status = 422)))]
async fn events(
    auth: AuthUser,
    state: State,
    Query(params): Query<EventParams>,
) -> Result<Json<Page<StoredEvent>>, Error> {
    auth.require(Role::Admin)?;
    let from = params
        .from
        .as_deref()
        .map(|t| parse_day("from", t))
        .transpose()?;
    let to = params
        .to
        .as_deref()
        .map(|t| parse_day("to", t))
        .transpose()?;
    let page = PageParams::new(params.limit, params.cursor);
    let rows = state
        .store
        .events(EventFilter {
            topic: params.topic,
            from: from.map(|d| d.to_string()),
            until: to.map(|d| (d + Duration::days(1)).to_string()),
            before: page.after::<i64>()?,
            limit: page.fetch(),
            field: payload_field(params.field, params.value)?,
        })
        .await?;
    let page = page.page(rows, |row| row.seq);
    Ok(Json(Page {
        items: page
            .items
            .into_iter()
            .map(|row| StoredEvent {
                id: row.id,
                topic: row.topic,
                source: row.source,
                occurred_at: row.occurred_at,
                payload: row.payload,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_on_mondays_and_first_days() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(); // a Saturday
        assert_eq!(bucket_start(d, Bucket::Day), d);
        assert_eq!(
            bucket_start(d, Bucket::Week),
            NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
        );
        assert_eq!(
            bucket_start(d, Bucket::Month),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
    }
}
