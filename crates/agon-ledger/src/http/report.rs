//! Period reports: an account's totals by kind over an inclusive window, and its transactions — as JSON a page
//! at a time, or as CSV with every row, streamed. Read from the ledger as it is, never from a cached copy.

use agon_kit::{AuthUser, Page, PageParams, Path, Query};
use axum::{
    body::Body,
    http::header,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{TransactionView, visible, window};
use crate::{
    State,
    domain::{self, Kind},
    error::Error,
    store::{Store, Window},
};

/// Rows a CSV report reads at a time.
const CSV_BATCH: i64 = 1000;
const CSV_HEADER: &str = "id,created_at,kind,amount,currency,reference,description\n";

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new().routes(routes!(report))
}

/// A report's window and form.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// RFC 3339; inclusive.
    pub from: String,
    /// RFC 3339; inclusive.
    pub to: String,
    /// `json` (default: totals and a page of transactions) or `csv` (every transaction).
    pub format: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Transactions of one kind in the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalView {
    pub kind: Kind,
    pub count: i64,
    /// In minor units.
    pub amount: i64,
}

/// An account's report for a window.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    pub account_id: Uuid,
    pub currency: String,
    pub from: String,
    pub to: String,
    /// By kind; kinds without a transaction in the window are left out.
    pub totals: Vec<TotalView>,
    /// Transactions in the window.
    pub count: i64,
    /// What the account gained in the window (negative: what it gave).
    pub net: i64,
    /// The window's transactions, oldest first, a page at a time.
    pub transactions: Page<TransactionView>,
}

/// An account's report for an inclusive window (its member or an administrator): totals by kind, the net, and
/// the transactions; `format=csv` gives every transaction of the window as a CSV file.
#[utoipa::path(get, path = "/ledger/accounts/{id}/report", tag = "ledger", security(("bearer" = [])),
    params(("id" = Uuid, Path), ReportParams),
    responses((status = 200, body = Report), (status = 200, content_type = "text/csv", body = String),
        (status = 404), (status = 422)))]
async fn report(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(q): Query<ReportParams>,
) -> Result<Response, Error> {
    let account = visible(&state, &auth, id).await?;
    let (from, to) = window(Some(&q.from), Some(&q.to))?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => {}
        "csv" => return Ok(csv(state.store.clone(), account.id, from, to)),
        _ => return Err(Error::invalid("format", "must be json or csv")),
    }
    let totals: Vec<TotalView> = (state.store.totals(account.id, &from, &to).await?)
        .into_iter()
        .filter_map(|t| {
            let kind = Kind::parse(&t.kind)?;
            Some(TotalView {
                kind,
                count: t.count,
                amount: t.amount,
            })
        })
        .collect();
    let page = PageParams::new(q.limit, q.cursor);
    let w = Window {
        from: &from,
        to: &to,
        kind: None,
        after: page.after::<(String, Uuid)>()?,
    };
    let rows = state
        .store
        .transactions(account.id, &w, page.fetch())
        .await?;
    let views = rows.into_iter().map(TransactionView::from).collect();
    Ok(axum::Json(Report {
        account_id: account.id,
        currency: account.currency,
        count: totals.iter().map(|t| t.count).sum(),
        net: totals.iter().map(|t| t.kind.member_delta(t.amount)).sum(),
        totals,
        from,
        to,
        transactions: page.page(views, |t: &TransactionView| (t.created_at.clone(), t.id)),
    })
    .into_response())
}

/// Every transaction of the window as CSV, read and sent a batch at a time.
fn csv(store: Store, account: Uuid, from: String, to: String) -> Response {
    let start = Some((None::<(String, Uuid)>, true));
    let batches = futures_util::stream::unfold(start, move |cursor| {
        let (store, from, to) = (store.clone(), from.clone(), to.clone());
        async move {
            let (after, first) = cursor?;
            let w = Window {
                from: &from,
                to: &to,
                kind: None,
                after,
            };
            let rows = match store.transactions(account, &w, CSV_BATCH).await {
                Ok(rows) => rows,
                Err(e) => return Some((Err(e), None)),
            };
            let next = (rows.len() as i64 == CSV_BATCH)
                .then(|| {
                    rows.last()
                        .map(|t| (Some((t.created_at.clone(), t.id)), false))
                })
                .flatten();
            let mut text = if first {
                CSV_HEADER.to_owned()
            } else {
                String::new()
            };
            for t in rows {
                let fields = [
                    t.id.to_string(),
                    t.created_at,
                    t.kind,
                    t.amount.to_string(),
                    t.currency,
                    t.reference.unwrap_or_default(),
                    t.description,
                ];
                let line: Vec<String> = fields.iter().map(|f| domain::csv_field(f)).collect();
                text.push_str(&line.join(","));
                text.push('\n');
            }
            Some((Ok::<_, Error>(text), next))
        }
    });
    let name = format!("attachment; filename=\"ledger-{account}.csv\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        Body::from_stream(batches),
    )
        .into_response()
}
