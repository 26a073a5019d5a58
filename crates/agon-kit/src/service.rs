//! What a service crate hands to the binary ([`Service`]) and what the binary hands to it ([`Deps`]).
//! One shape for every service, so health, metrics, docs, limits and shutdown exist once, here.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use agon_bus::{Bus, Consume, Outbox};
use agon_db::{Databases, Db, Migrations};
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    MAX_BODY_BYTES,
    auth::TokenVerifier,
    error::{method_not_allowed, not_found},
    observe::observe,
};

/// A background loop of a service (outbox relay, health prober…); it runs until the process stops.
pub type Task = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A dependency probe for `/readyz`.
#[derive(Clone)]
pub struct ReadyCheck {
    pub name: String,
    probe: Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>,
}

/// What every service receives from the binary: where its database is, the bus, the token verifier.
#[derive(Clone)]
pub struct Deps {
    pub databases: Databases,
    pub bus: Bus,
    pub verifier: TokenVerifier,
    /// Where the services' outgoing mail goes.
    pub mail: crate::mail::MailConfig,
    /// Redis, for state shared by replicas (`agon serve`); `None` in one process.
    pub redis_url: Option<String>,
    /// Whose `X-Forwarded-For` entries are believed when finding the client's address.
    pub trusted_proxies: crate::TrustedProxies,
    /// The keys that seal secrets at rest; empty in processes configured without `secret_keys` on PostgreSQL.
    pub keyring: crate::sealed::Keyring,
}

/// A built service: its routes and API description, its background tasks and its readiness checks.
pub struct Service {
    pub name: &'static str,
    pub router: Router,
    pub openapi: OpenApi,
    pub tasks: Vec<Task>,
    pub checks: Vec<ReadyCheck>,
}

/// A service being built: its database, opened and migrated, with what every service gets besides its own
/// routes, consumers and jobs. [`Skeleton::finish`] adds the outbox relay and mail delivery when the service
/// uses them, the readiness checks (database, bus), and hands back the [`Service`].
pub struct Skeleton {
    name: &'static str,
    db: Db,
    deps: Deps,
    outbox: Option<Outbox>,
    mail: Option<crate::Mail>,
    tasks: Vec<Task>,
}

impl Deps {
    /// Opens this service's own database and applies its migrations.
    pub async fn database(&self, service: &str, migrations: &Migrations) -> anyhow::Result<Db> {
        self.databases.open_migrated(service, migrations).await
    }

    /// Starts building the service `name`: opens its database and applies its migrations.
    pub async fn service(
        &self,
        name: &'static str,
        migrations: &Migrations,
    ) -> anyhow::Result<Skeleton> {
        Ok(Skeleton {
            name,
            db: self.database(name, migrations).await?,
            deps: self.clone(),
            outbox: None,
            mail: None,
            tasks: Vec::new(),
        })
    }
}

impl Skeleton {
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn verifier(&self) -> TokenVerifier {
        self.deps.verifier.clone()
    }

    /// The service's outbox, for the events it publishes; its relay runs with the service.
    pub async fn outbox(&mut self) -> anyhow::Result<Outbox> {
        if let Some(outbox) = &self.outbox {
            return Ok(outbox.clone());
        }
        let outbox = self.deps.bus.outbox(&self.db).await?;
        self.outbox = Some(outbox.clone());
        Ok(outbox)
    }

    /// The service's mail queue; its delivery runs with the service.
    pub async fn mail(&mut self) -> anyhow::Result<crate::Mail> {
        if let Some(mail) = &self.mail {
            return Ok(mail.clone());
        }
        let mail = crate::Mail::new(&self.db, &self.deps.mail).await?;
        self.mail = Some(mail.clone());
        Ok(mail)
    }

    /// Subscribes `handler` to the events of type `E` as the durable consumer `consumer`
    /// (`skeleton.consume::<UserBanned>("auth.follow_bans", state.clone())`).
    pub async fn consume<E: agon_messages::Event>(
        &mut self,
        consumer: &str,
        handler: impl Consume<E>,
    ) -> anyhow::Result<()> {
        self.deps
            .bus
            .subscribe::<E>(&self.db, consumer, handler)
            .await
    }

    /// A background job of the service, run for as long as it runs.
    pub fn task(&mut self, task: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.tasks.push(Box::pin(task));
    }

    /// The built service over its documented routes.
    pub fn finish(self, api: OpenApiRouter) -> Service {
        let mut service = Service::new(self.name, api)
            .with_check(ReadyCheck::database(&self.db))
            .with_check(ReadyCheck::bus(&self.deps.bus));
        service.tasks = self.tasks;
        if let Some(outbox) = self.outbox {
            service.tasks.push(Box::pin(outbox.relay()));
        }
        if let Some(mail) = self.mail {
            service.tasks.push(Box::pin(mail.deliver_forever()));
        }
        service
    }
}

impl ReadyCheck {
    pub fn new<F, Fut>(name: impl Into<String>, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        Self {
            name: name.into(),
            probe: Arc::new(move || Box::pin(probe())),
        }
    }

    /// A check that the database answers.
    pub fn database(db: &Db) -> Self {
        let db = db.clone();
        Self::new("database", move || {
            let db = db.clone();
            async move { db.ping().await }
        })
    }

    /// A check that the bus takes events.
    pub fn bus(bus: &Bus) -> Self {
        let bus = bus.clone();
        Self::new("bus", move || {
            let bus = bus.clone();
            async move { bus.ready().await }
        })
    }

    pub async fn run(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), (self.probe)())
            .await
            .unwrap_or(false)
    }
}

impl Service {
    /// Wraps a service's documented routes; `name` labels its logs and metrics.
    pub fn new(name: &'static str, api: OpenApiRouter) -> Self {
        let (router, mut openapi) = api.split_for_parts();
        add_bearer_scheme(&mut openapi);
        // Install the recorder before the first request, or counts made before the first scrape are lost.
        crate::telemetry::prometheus();
        Self {
            name,
            router,
            openapi,
            tasks: Vec::new(),
            checks: Vec::new(),
        }
    }

    pub fn with_task(
        mut self,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Self {
        self.tasks.push(Box::pin(task));
        self
    }

    pub fn with_check(mut self, check: ReadyCheck) -> Self {
        self.checks.push(check);
        self
    }

    /// The service's API with the kit's middleware, body limit and problem+json fallbacks. This is what the
    /// gateway calls in-process in `agon up`.
    pub fn api(&self) -> Router {
        self.router
            .clone()
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(axum::middleware::from_fn_with_state(self.name, observe))
    }

    /// What a process serving only this service listens with: the API plus `/healthz`, `/readyz`, `/metrics`,
    /// `/openapi.json` and `/docs`.
    pub fn standalone(&self) -> Router {
        self.api()
            .merge(process_routes(self.checks.clone()))
            .merge(docs(self.openapi.clone()))
    }
}

/// Declares the `bearer` security scheme that operations needing a token refer to.
pub fn add_bearer_scheme(openapi: &mut OpenApi) {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let scheme = SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build(),
    );
    openapi
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme("bearer", scheme);
}

/// `/healthz` (the process is alive), `/readyz` (its dependencies answer) and `/metrics` (Prometheus).
pub fn process_routes(checks: Vec<ReadyCheck>) -> Router {
    crate::telemetry::prometheus();
    let checks = Arc::new(checks);
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route(
            "/readyz",
            get(move || {
                let checks = checks.clone();
                async move { readiness(&checks).await }
            }),
        )
        .route("/metrics", get(render_metrics))
}

/// The browsable API docs at `/docs` over `/openapi.json`; the Swagger UI assets are compiled in, so the page
/// works with no network.
pub fn docs(openapi: OpenApi) -> Router {
    utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", openapi)
        .into()
}

/// The Swagger UI at `/docs` alone, reading `/openapi.json` that the caller serves (the gateway's document
/// changes as upstreams come and go).
pub fn docs_ui() -> Router {
    utoipa_swagger_ui::SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::from("/openapi.json"))
        .into()
}

async fn readiness(checks: &[ReadyCheck]) -> axum::response::Response {
    let results = futures_util::future::join_all(
        checks
            .iter()
            .map(|c| async move { (c.name.clone(), c.run().await) }),
    )
    .await;
    let ready = results.iter().all(|(_, up)| *up);
    let detail: serde_json::Map<_, _> = results
        .into_iter()
        .map(|(name, up)| (name, serde_json::json!(if up { "up" } else { "down" })))
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": detail });
    (status, axum::Json(body)).into_response()
}

async fn render_metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::prometheus().render(),
    )
}

/// Lets a service's handlers take its state as a plain argument (`state: State`): the state is its own
/// extractor, cloned from the router's. `agon_kit::handler_state!(State);` beside the state's definition.
#[macro_export]
macro_rules! handler_state {
    ($state:ty) => {
        impl $crate::__private::axum::extract::FromRequestParts<$state> for $state {
            type Rejection = ::std::convert::Infallible;

            async fn from_request_parts(
                _: &mut $crate::__private::axum::http::request::Parts,
                state: &$state,
            ) -> Result<Self, Self::Rejection> {
                Ok(state.clone())
            }
        }
    };
}
