//! Test harness: the whole platform in this process on `127.0.0.1:0`, on fresh databases, driven over HTTP
//! through the gateway exactly as a client would.
//!
//! SQLite in a temporary directory by default; with `AGON_TEST_DATABASE_URL=postgres://…` every app gets fresh
//! schemas (a random prefix) in that database, so the same tests run on both engines.
//!
//! ```ignore
//! let app = TestApp::spawn().await;
//! let ana = app.register("ana@club.org").await;
//! let me = app.as_user(&ana).get("/users/me").send().await?;
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // A harness fails loudly.

pub mod journeys;

use std::{future::Future, net::SocketAddr, time::Duration};

pub use agon::Config;
use agon::platform::Embedded;
use agon_db::{Databases, query};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinSet};
use uuid::Uuid;

pub use reqwest;
pub use serde_json::json;

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery";
/// The configured first administrator.
pub const ADMIN_EMAIL: &str = "admin@agon.test";
pub const ADMIN_PASSWORD: &str = "admin password 1";

/// A running platform.
pub struct TestApp {
    /// Base URL of the gateway, without a trailing slash.
    pub url: String,
    pub addr: SocketAddr,
    pub client: Client,
    databases: Databases,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    smtp: Option<SmtpSink>,
    /// Opens what the platform sealed (the signing key [`TestApp::sign`] uses).
    keyring: agon_kit::sealed::Keyring,
    bus: agon_bus::Bus,
    _tasks: JoinSet<()>,
    _dir: tempfile::TempDir,
}

/// An account with live tokens.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A client that sends one user's token.
pub struct AsUser<'a> {
    app: &'a TestApp,
    token: String,
}

impl TestApp {
    /// The platform with the default configuration (plus the test administrator).
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// The platform sending mail to a real local SMTP server (Python's aiosmtpd), readable with [`TestApp::mails`].
    pub async fn spawn_with_mail() -> Self {
        Self::spawn_with_mail_and(|_| {}).await
    }

    /// [`TestApp::spawn_with_mail`] after `adjust` changed the test configuration.
    pub async fn spawn_with_mail_and(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let sink = SmtpSink::start(dir).await;
        let url = format!("smtp://127.0.0.1:{}", sink.port);
        let mut app = Self::spawn_with(|c| {
            c.mail.smtp_url = Some(url);
            adjust(c);
        })
        .await;
        app.smtp = Some(sink);
        app
    }

    /// Messages the SMTP server has received for `to` so far, oldest first.
    pub async fn mails(&self, to: &str) -> Vec<ReceivedMail> {
        let sink = self.smtp.as_ref().expect("started with spawn_with_mail");
        sink.read()
            .into_iter()
            .filter(|m| m.to.contains(to))
            .collect()
    }

    /// The message with `subject` sent to `to`; waits up to 10 s for it.
    pub async fn mail(&self, to: &str, subject: &str) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mail) = self
                .mails(to)
                .await
                .into_iter()
                .find(|m| m.subject == subject)
            {
                return mail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no mail {subject:?} to {to}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The platform serving the seed profile `name` from the workspace's `profiles/`, as `agon up --profile`.
    pub async fn spawn_profile(name: &str) -> Self {
        Self::spawn_with(|c| {
            c.profiles_dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../profiles");
            c.profile = Some(name.to_owned());
            *c = c
                .clone()
                .with_profile_defaults()
                .expect("the profile's defaults");
        })
        .await
    }

    /// The platform after `adjust` changed the test configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config {
            data_dir: dir.path().join("data"),
            profiles_dir: dir.path().join("profiles"),
            ..Config::default()
        };
        config.auth.admin_email = Some(ADMIN_EMAIL.into());
        config.auth.admin_password = Some(ADMIN_PASSWORD.into());
        config.gateway.probe_interval_secs = 1;
        config.gateway.registry_poll_secs = 1;
        // Bound first, so the configuration (links in emails, the SSO callback) can name the real address.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        config.auth.public_url = format!("http://{addr}");
        if on_postgres() {
            // On PostgreSQL the key that seals secrets at rest must be configured (on SQLite it is a file).
            config.secret_keys = vec![
                agon_kit::sealed::Keyring::generate_key()
                    .expect("a key")
                    .into(),
            ];
        }
        adjust(&mut config);
        let databases = test_databases(&config);
        let keyring = agon::platform::keyring(&config, &databases).expect("secret keys");
        let embedded = Embedded::build(&config, databases.clone())
            .await
            .expect("platform builds");
        let mut tasks = JoinSet::new();
        for task in embedded.tasks {
            tasks.spawn(async move {
                let _ = task.await;
            });
        }
        let (tx, rx) = oneshot::channel::<()>();
        let gateway = embedded.gateway;
        let bus = embedded.bus;
        let server = tokio::spawn(async move {
            gateway
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await
                .expect("gateway serves");
        });
        Self {
            url: format!("http://{addr}"),
            addr,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            databases,
            shutdown: Some(tx),
            server: Some(server),
            smtp: None,
            keyring,
            bus,
            _tasks: tasks,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post_json(&self, path: &str, body: Value) -> RequestBuilder {
        self.client.post(self.url(path)).json(&body)
    }

    pub fn as_user(&self, user: &TestUser) -> AsUser<'_> {
        self.with_token(&user.access_token)
    }

    pub fn with_token(&self, token: &str) -> AsUser<'_> {
        AsUser {
            app: self,
            token: token.to_owned(),
        }
    }

    /// Registers `email` with [`PASSWORD`], logs in, and waits until the profile exists.
    pub async fn register(&self, email: &str) -> TestUser {
        let response = self
            .post_json(
                "/auth/register",
                json!({ "email": email, "password": PASSWORD }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            201,
            "register {email}: {}",
            response.text().await.unwrap_or_default()
        );
        let user = self.login(email, PASSWORD).await;
        self.until(|| async {
            self.as_user(&user)
                .get("/users/me")
                .send()
                .await
                .unwrap()
                .status()
                == 200
        })
        .await;
        user
    }

    /// Logs in with the password grant.
    pub async fn login(&self, email: &str, password: &str) -> TestUser {
        let response = self
            .post_json(
                "/auth/token",
                json!({ "grant_type": "password", "email": email, "password": password }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login {email}");
        let body: Value = response.json().await.unwrap();
        let access_token = body["access_token"].as_str().unwrap().to_owned();
        TestUser {
            id: claims(&access_token)["sub"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
            email: email.to_owned(),
            access_token,
            refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Registers `email` with [`PASSWORD`] asking for `role` (`trainer`, `coach`), has the administrator approve
    /// the account, and logs in once the approval reached the auth service.
    pub async fn approved(&self, email: &str, role: &str) -> TestUser {
        let admin = self.admin().await;
        let registered: Value = self
            .post_json(
                "/auth/register",
                json!({ "email": email, "password": PASSWORD, "role": role }),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let approve = format!("/users/{}/approve", registered["user_id"].as_str().unwrap());
        self.until(|| async {
            let response = self
                .as_user(&admin)
                .post_json(&approve, Value::Null)
                .send()
                .await
                .unwrap();
            response.status() == 200
        })
        .await;
        // Approval reaches the auth service through the bus.
        self.until(|| async {
            let body = json!({ "grant_type": "password", "email": email, "password": PASSWORD });
            self.post_json("/auth/token", body)
                .send()
                .await
                .unwrap()
                .status()
                == 200
        })
        .await;
        self.login(email, PASSWORD).await
    }

    /// The configured administrator, logged in.
    pub async fn admin(&self) -> TestUser {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Polls `condition` until it holds (events are asynchronous); fails the test after 10 s.
    pub async fn until<F, Fut>(&self, condition: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !condition().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "condition not met within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `who` has a notification of `kind` whose body holds `text`.
    pub async fn told(&self, who: &TestUser, kind: &str, text: &str) {
        self.until(|| async {
            let response = self
                .as_user(who)
                .get("/notifications")
                .send()
                .await
                .unwrap();
            let page: Value = response.json().await.unwrap_or(Value::Null);
            let items = page["items"].as_array().cloned().unwrap_or_default();
            items
                .iter()
                .any(|n| n["type"] == kind && n["body"].as_str().is_some_and(|b| b.contains(text)))
        })
        .await;
    }

    /// Opens a service's database directly, for assertions that nothing was written.
    pub async fn database(&self, service: &str) -> agon_db::Db {
        self.databases.open(service).await.expect("open database")
    }

    /// Counts the rows of `table` in `service`'s database.
    pub async fn count(&self, service: &str, table: &str) -> i64 {
        use sqlx::Row;
        let db = self.database(service).await;
        let sql = format!("select count(*) as n from {table}");
        let row = query(sqlx::AssertSqlSafe(sql), ())
            .fetch_one(db.pool())
            .await
            .unwrap();
        row.try_get::<i64, _>("n").unwrap()
    }

    /// Signs `claims` with the auth service's current key: for tests of expired, premature or otherwise
    /// hostile tokens that only the key holder could make.
    pub async fn sign(&self, claims: &Value, typ: &str) -> String {
        self.sign_with(claims, |header| header.typ = Some(typ.to_owned()))
            .await
    }

    /// Signs `claims` with the auth service's current key under a header `edit` shapes (`kid` and `alg` set).
    pub async fn sign_with(
        &self,
        claims: &Value,
        edit: impl FnOnce(&mut jsonwebtoken::Header),
    ) -> String {
        use sqlx::Row;
        let db = self.database("auth").await;
        let row = query(
            "select kid, private_pkcs8 from signing_keys order by created_at desc limit 1",
            (),
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        let kid: String = row.try_get("kid").unwrap();
        let sealed: String = row.try_get("private_pkcs8").unwrap();
        let pkcs8 = self
            .keyring
            .open(&sealed, &format!("signing_keys:{kid}"))
            .expect("the signing key opens")
            .value;
        let der = URL_SAFE_NO_PAD.decode(pkcs8).unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid);
        edit(&mut header);
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ed_der(&der),
        )
        .unwrap()
    }

    /// Stops accepting, drains, and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Otherwise the services' pools live on (the bus holds them) and their connections pile up across a
        // test binary's tests.
        self.bus.close();
    }
}

impl AsUser<'_> {
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.app
            .client
            .get(self.app.url(path))
            .bearer_auth(&self.token)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.app
            .client
            .delete(self.app.url(path))
            .bearer_auth(&self.token)
    }

    /// A POST with no body at all (an action, not a document).
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.app
            .client
            .post(self.app.url(path))
            .bearer_auth(&self.token)
    }

    pub fn post_json(&self, path: &str, body: Value) -> RequestBuilder {
        self.app
            .client
            .post(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
    }

    pub fn put_json(&self, path: &str, body: Value) -> RequestBuilder {
        self.app
            .client
            .put(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
    }

    pub fn patch_json(&self, path: &str, body: Value) -> RequestBuilder {
        self.app
            .client
            .patch(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
    }
}

/// The claims of a JWT, unverified (for reading ids in tests).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}

/// Serves the seed profile `name` from the workspace's `profiles/` (for [`TestApp::spawn_with_mail_and`]).
pub fn use_profile(config: &mut Config, name: &str) {
    config.profiles_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../profiles");
    config.profile = Some(name.to_owned());
    *config = config
        .clone()
        .with_profile_defaults()
        .expect("the profile's defaults");
}

/// A message as the SMTP server stored it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl ReceivedMail {
    /// The value after `code: ` in the body (the token the platform mails).
    pub fn code(&self) -> String {
        let at = self.body.find("code: ").expect("a code in the mail") + "code: ".len();
        self.body[at..]
            .split_whitespace()
            .next()
            .expect("code")
            .to_owned()
    }
}

/// A real SMTP server for the tests: `python3 -m aiosmtpd` writing to a Maildir.
struct SmtpSink {
    port: u16,
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    async fn start(dir: tempfile::TempDir) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.path().join("maildir");
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "aiosmtpd did not start: is it installed (pip install aiosmtpd)?"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { port, child, dir }
    }

    fn read(&self) -> Vec<ReceivedMail> {
        let new = self.dir.path().join("maildir").join("new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|raw| {
                let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                        .unwrap_or_default()
                };
                ReceivedMail {
                    to: header("To:"),
                    subject: header("Subject:"),
                    body: body.replace("=\n", "").replace("\r", ""),
                }
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts a problem+json answer with `status` and `code`, and returns its body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "content type"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "code in {body}");
    assert_eq!(body["status"], status, "status in {body}");
    assert!(body["request_id"].is_string(), "request_id in {body}");
    body
}

fn test_databases(config: &Config) -> Databases {
    match test_database_url() {
        Some(url) => Databases::Postgres {
            url,
            schema_prefix: format!("t{}_", &Uuid::new_v4().simple().to_string()[..12]),
        },
        None => Databases::SqliteDir(config.data_dir.clone()),
    }
}

/// True when the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    test_database_url().is_some()
}

/// `AGON_TEST_DATABASE_URL`: which engine the suite runs on. A switch of the harness, not platform
/// configuration, so it is read here rather than through `agon::Config`.
#[allow(clippy::disallowed_methods)]
pub fn test_database_url() -> Option<String> {
    std::env::var("AGON_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `AGON_TEST_AMQP_URL`: the RabbitMQ server scripts/test started for this run, if any.
#[allow(clippy::disallowed_methods)]
pub fn test_amqp_url() -> Option<String> {
    std::env::var("AGON_TEST_AMQP_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `AGON_TEST_REDIS_URL`: the Redis server scripts/test started for this run, if any.
#[allow(clippy::disallowed_methods)]
pub fn test_redis_url() -> Option<String> {
    std::env::var("AGON_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}
