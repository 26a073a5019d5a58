//! The service registry (seed 000's service management): upstreams added, edited, blocked and deleted at run
//! time by admins, kept in the gateway's own database. Every change rebuilds the route table and swaps it in
//! one atomic store, so requests in flight finish on the table they started with.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use agon_db::{Db, ResultExt, Row, query, query_as};
use agon_kit::{AuthUser, ErrorCode, FieldError, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    Tables,
    health::{Mounted, ReplicaHealth, ReplicaState, UpstreamView},
    route::{AuthPolicy, Matcher},
    upstream::HttpUpstream,
};

/// A registered service as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Entry {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub name: String,
    pub url: String,
    /// Path prefix routed to this service.
    pub prefix: String,
    #[sqlx(try_from = "String")]
    pub auth: AuthPolicy,
    pub timeout_ms: i64,
    /// A blocked service keeps its entry but gets no traffic: its paths answer 404.
    #[sqlx(try_from = "agon_db::Flag")]
    pub blocked: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone)]
pub struct Registry {
    pub db: Db,
    pub tables: Arc<Tables>,
    /// Each registered service's replicas, from the health prober.
    pub health: Arc<ReplicaHealth>,
    /// The HTTP upstreams mounted from configuration, probed alongside.
    pub mounted: Arc<Mounted>,
    pub verifier: agon_kit::TokenVerifier,
}

agon_kit::handler_state!(Registry);

impl axum::extract::FromRef<Registry> for agon_kit::TokenVerifier {
    fn from_ref(r: &Registry) -> Self {
        r.verifier.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("service {0} not found")]
    NotFound(Uuid),
    #[error("a service named {0:?} already exists")]
    NameTaken(String),
    #[error(transparent)]
    Api(agon_kit::ApiError),
}

agon_kit::service_error!(Error);

/// A service in the registry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    #[serde(flatten)]
    pub entry: Entry,
    /// The last health probe of `{url}/healthz` answered 2xx for at least one replica.
    pub up: bool,
    /// Each replica (of a comma-separated `url`) and its last probe.
    pub replicas: Vec<ReplicaState>,
}

/// A service to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateService {
    /// 2 to 31 characters: letters, digits, `-` and `_`.
    pub name: String,
    /// `http://host:port[/base]`.
    pub url: String,
    /// Path prefix, such as `/scores`.
    pub prefix: String,
    #[serde(default)]
    pub auth: AuthPolicy,
    /// 1 to 300000; default 30000.
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub blocked: bool,
}

/// A partial edit of a service.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    pub name: Option<String>,
    pub url: Option<String>,
    pub prefix: Option<String>,
    pub auth: Option<AuthPolicy>,
    pub timeout_ms: Option<i64>,
    pub blocked: Option<bool>,
}

/// Filters of the service list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListServices {
    pub blocked: Option<bool>,
    pub up: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub fn router(registry: Registry) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_services, create_service))
        .routes(routes!(count_services))
        .routes(routes!(get_service, update_service, delete_service))
        .routes(routes!(list_upstreams))
        .with_state(registry)
}

/// Lists registered services, by name.
#[utoipa::path(get, path = "/gateway/services", tag = "gateway", security(("bearer" = [])), params(ListServices),
    responses((status = 200, body = Page<ServiceView>), (status = 401), (status = 403)))]
async fn list_services(
    auth: AuthUser,
    r: Registry,
    Query(q): Query<ListServices>,
) -> Result<Json<Page<ServiceView>>, Error> {
    auth.require(Role::Admin)?;
    let page = PageParams::new(q.limit, q.cursor);
    let after = page.after::<ServiceName>()?;
    // Filtering on `up` happens after the query (health is in memory), so fetch in rounds until the page fills.
    let mut items = Vec::new();
    let mut cursor = after.map(|n| n.0).unwrap_or_default();
    loop {
        let rows = r.list(&cursor, q.blocked, page.fetch()).await?;
        let exhausted = (rows.len() as i64) < page.fetch();
        for entry in rows {
            cursor = entry.name.clone();
            let view = r.view(entry);
            if q.up.is_none_or(|up| up == view.up) {
                items.push(view);
            }
        }
        if exhausted || items.len() as i64 >= page.fetch() {
            break;
        }
    }
    Ok(Json(
        page.page(items, |s| ServiceName(s.entry.name.clone())),
    ))
}

/// Filters of the service count.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CountServices {
    pub blocked: Option<bool>,
    pub up: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceCount {
    pub count: usize,
}

/// How many services are registered (the backoffice's counters). Health is in memory, so the count reads every
/// entry: a registry holds services, not millions of rows.
#[utoipa::path(get, path = "/gateway/services/count", tag = "gateway", security(("bearer" = [])),
    params(CountServices), responses((status = 200, body = ServiceCount), (status = 401), (status = 403)))]
async fn count_services(
    auth: AuthUser,
    r: Registry,
    Query(q): Query<CountServices>,
) -> Result<Json<ServiceCount>, Error> {
    auth.require(Role::Admin)?;
    let rows = r.list("", q.blocked, i64::MAX).await?;
    let count = rows
        .into_iter()
        .filter(|e| q.up.is_none_or(|up| r.view(e.clone()).up == up))
        .count();
    Ok(Json(ServiceCount { count }))
}

/// The key of the registry listing: a service name, in the shape `validate` allows.
struct ServiceName(String);

impl agon_kit::CursorKey for ServiceName {
    fn render(&self) -> String {
        self.0.clone()
    }
    fn parse(text: &str) -> Option<Self> {
        valid_name(text).then(|| Self(text.to_owned()))
    }
}

fn valid_name(name: &str) -> bool {
    (2..=31).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The HTTP upstreams from configuration (`agon serve gateway`) and each replica's readiness. The gateway is
/// ready while every upstream has at least one ready replica.
#[utoipa::path(get, path = "/gateway/upstreams", tag = "gateway", security(("bearer" = [])),
    responses((status = 200, body = Vec<UpstreamView>), (status = 401), (status = 403)))]
async fn list_upstreams(auth: AuthUser, r: Registry) -> Result<Json<Vec<UpstreamView>>, Error> {
    auth.require(Role::Admin)?;
    Ok(Json(r.mounted.views()))
}

/// One registered service.
#[utoipa::path(get, path = "/gateway/services/{id}", tag = "gateway", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ServiceView), (status = 404)))]
async fn get_service(
    auth: AuthUser,
    r: Registry,
    Path(id): Path<Uuid>,
) -> Result<Json<ServiceView>, Error> {
    auth.require(Role::Admin)?;
    let entry = r.get(id).await?.ok_or(Error::NotFound(id))?;
    Ok(Json(r.view(entry)))
}

/// Registers a service; its prefix is routed as soon as this returns (unless blocked).
#[utoipa::path(post, path = "/gateway/services", tag = "gateway", security(("bearer" = [])), request_body = CreateService,
    responses((status = 201, body = ServiceView), (status = 409), (status = 422)))]
async fn create_service(
    auth: AuthUser,
    r: Registry,
    Json(body): Json<CreateService>,
) -> Result<(StatusCode, Json<ServiceView>), Error> {
    auth.require(Role::Admin)?;
    let now = agon_db::now_text();
    let entry = Entry {
        id: Uuid::now_v7(),
        name: body.name,
        url: body.url,
        prefix: body.prefix,
        auth: body.auth,
        timeout_ms: body.timeout_ms.unwrap_or(30_000),
        blocked: body.blocked,
        created_at: now.clone(),
        updated_at: now,
    };
    let entry = validate(entry)?;
    r.insert(&entry).await?;
    r.tables.reload().await?;
    Ok((StatusCode::CREATED, Json(r.view(entry))))
}

/// Edits a service; blocking takes it out of the route table at once.
#[utoipa::path(patch, path = "/gateway/services/{id}", tag = "gateway", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = UpdateService,
    responses((status = 200, body = ServiceView), (status = 404), (status = 409), (status = 422)))]
async fn update_service(
    auth: AuthUser,
    r: Registry,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateService>,
) -> Result<Json<ServiceView>, Error> {
    auth.require(Role::Admin)?;
    let mut entry = r.get(id).await?.ok_or(Error::NotFound(id))?;
    entry.name = body.name.unwrap_or(entry.name);
    entry.url = body.url.unwrap_or(entry.url);
    entry.prefix = body.prefix.unwrap_or(entry.prefix);
    entry.auth = body.auth.unwrap_or(entry.auth);
    entry.timeout_ms = body.timeout_ms.unwrap_or(entry.timeout_ms);
    entry.blocked = body.blocked.unwrap_or(entry.blocked);
    entry.updated_at = agon_db::now_text();
    let entry = validate(entry)?;
    r.update(&entry).await?;
    r.tables.reload().await?;
    Ok(Json(r.view(entry)))
}

/// Removes a service from the registry and the route table.
#[utoipa::path(delete, path = "/gateway/services/{id}", tag = "gateway", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404)))]
async fn delete_service(
    auth: AuthUser,
    r: Registry,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    auth.require(Role::Admin)?;
    let deleted = query("delete from services where id = $1", (id.to_string(),))
        .execute(r.db.pool())
        .await
        .map_err(anyhow::Error::from)?;
    if deleted.rows_affected() == 0 {
        return Err(Error::NotFound(id));
    }
    r.tables.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn validate(entry: Entry) -> Result<Entry, Error> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
        })
    };
    if !valid_name(&entry.name) {
        bad("name", "must be 2 to 31 letters, digits, `-` or `_`".into());
    }
    if entry.url.len() > 255 {
        bad("url", "must be at most 255 characters".into());
    } else if let Err(e) = HttpUpstream::parse(&entry.url) {
        bad("url", e);
    }
    if entry.prefix.len() > 255 || entry.prefix.contains(['{', '}', '?', '#']) {
        bad(
            "prefix",
            "must be a plain path prefix of at most 255 characters".into(),
        );
    } else if let Err(e) = Matcher::parse(Some(&entry.prefix), None) {
        bad("prefix", e);
    } else if entry.prefix.trim_end_matches('/').is_empty() || crate::is_gateway_path(&entry.prefix)
    {
        bad(
            "prefix",
            "cannot take over the root or the gateway's own paths".into(),
        );
    }
    if !(1..=300_000).contains(&entry.timeout_ms) {
        bad("timeout_ms", "must be between 1 and 300000".into());
    }
    if errors.is_empty() {
        Ok(entry)
    } else {
        Err(Error::invalid_fields(errors))
    }
}

impl Registry {
    fn view(&self, e: Entry) -> ServiceView {
        let urls = replica_urls(&e.url);
        let replicas = self
            .health
            .replicas(&e.name, urls.iter().map(String::as_str));
        let up = replicas.iter().any(|r| r.up);
        ServiceView {
            entry: e,
            up,
            replicas,
        }
    }

    /// Every entry, for building the route table.
    pub async fn all(&self) -> anyhow::Result<Vec<Entry>> {
        all_entries(&self.db).await
    }

    async fn list(
        &self,
        after: &str,
        blocked: Option<bool>,
        limit: i64,
    ) -> Result<Vec<Entry>, Error> {
        let sql = "select * from services where name > $1 and ($2 < 0 or blocked = $2) \
                   order by name limit $3";
        let params = (after, blocked.map_or(-1_i64, i64::from), limit);
        Ok(query_as(sql, params).fetch_all(self.db.pool()).await?)
    }

    async fn get(&self, id: Uuid) -> Result<Option<Entry>, Error> {
        Ok(
            query_as("select * from services where id = $1", (id.to_string(),))
                .fetch_optional(self.db.pool())
                .await?,
        )
    }

    async fn insert(&self, e: &Entry) -> Result<(), Error> {
        query(
            "insert into services (id, name, url, prefix, auth, timeout_ms, blocked, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            (
                e.id.to_string(),
                &e.name,
                &e.url,
                &e.prefix,
                policy_text(e.auth),
                e.timeout_ms,
                i64::from(e.blocked),
                &e.created_at,
                &e.updated_at,
            ),
        )
        .execute(self.db.pool())
        .await
        .on_unique(|| Error::NameTaken(e.name.clone()))?;
        Ok(())
    }

    async fn update(&self, e: &Entry) -> Result<(), Error> {
        query(
            "update services set name = $2, url = $3, prefix = $4, auth = $5, timeout_ms = $6, blocked = $7, \
             updated_at = $8 where id = $1",
            (
                e.id.to_string(),
                &e.name,
                &e.url,
                &e.prefix,
                policy_text(e.auth),
                e.timeout_ms,
                i64::from(e.blocked),
                &e.updated_at,
            ),
        )
        .execute(self.db.pool())
        .await
        .on_unique(|| Error::NameTaken(e.name.clone()))?;
        Ok(())
    }

    /// A cheap summary that changes whenever the registry does, so replicas notice edits made elsewhere.
    pub async fn fingerprint_of(db: &Db) -> anyhow::Result<String> {
        let row = query(
            "select count(*) as n, coalesce(max(updated_at), '') as latest from services",
            (),
        )
        .fetch_one(db.pool())
        .await?;
        Ok(format!(
            "{}:{}",
            row.try_get::<i64, _>("n")?,
            row.try_get::<String, _>("latest")?
        ))
    }

    /// Probes `{url}/healthz` of each replica of every registered service, and `/readyz` of each replica of
    /// the mounted upstreams, forever.
    pub async fn probe_forever(self, every: Duration) -> anyhow::Result<()> {
        loop {
            if let Ok(entries) = self.all().await {
                let services: BTreeMap<String, Vec<String>> = entries
                    .into_iter()
                    .map(|e| (e.name, replica_urls(&e.url)))
                    .collect();
                let probes = services
                    .iter()
                    .map(|(name, urls)| crate::health::probe(&self.health, name, urls, "/healthz"));
                futures_util::future::join(
                    futures_util::future::join_all(probes),
                    self.mounted.probe_all(),
                )
                .await;
                self.health.retain(&services);
            } else {
                self.mounted.probe_all().await;
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// The replicas' URLs of a registry entry's `url` (none if it does not parse: the service gets 502).
fn replica_urls(url: &str) -> Vec<String> {
    HttpUpstream::parse(url)
        .map(|up| up.urls().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Every registered service, by name.
pub async fn all_entries(db: &Db) -> anyhow::Result<Vec<Entry>> {
    Ok(query_as("select * from services order by name", ())
        .fetch_all(db.pool())
        .await?)
}

fn policy_text(p: AuthPolicy) -> &'static str {
    match p {
        AuthPolicy::Public => "public",
        AuthPolicy::Token => "token",
        AuthPolicy::Athlete => "athlete",
        AuthPolicy::Trainer => "trainer",
        AuthPolicy::Coach => "coach",
        AuthPolicy::Admin => "admin",
    }
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "service_not_found",
            Error::NameTaken(_) => "service_name_taken",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::NameTaken(_) => StatusCode::CONFLICT,
            Error::Api(e) => e.status(),
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            Error::Api(e) => e.fields(),
            _ => Vec::new(),
        }
    }
}
