//! Platforms of one process per service on PostgreSQL, RabbitMQ and Redis behind `agon serve gateway`, for the
//! tests that need real processes: the seeds' journeys, and processes killed in the middle of a saga.

use std::{fs::OpenOptions, path::Path, process::Command};

use super::{Proc, agon, free_port, wait_healthy};

/// One process per service, each writing its log into `logs` (a restarted process appends to its own).
pub(crate) struct Cluster {
    env: Vec<(&'static str, String)>,
    profile: Option<String>,
    /// Each service's name, port and process (none while stopped); auth first, the gateway last.
    services: Vec<(String, u16, Option<Proc>)>,
    logs: tempfile::TempDir,
    client: reqwest::Client,
    /// The gateway's address.
    pub base: String,
}

impl Cluster {
    /// Auth, then `services`, each in its own process on fresh schemas and queues, behind a gateway serving
    /// `profile` when one is named. `None` outside the PostgreSQL pass.
    pub async fn start(profile: Option<&str>, services: &[&str]) -> Option<Self> {
        let (Some(url), Some(amqp), Some(redis)) = (
            agon_testkit::test_database_url(),
            agon_testkit::test_amqp_url(),
            agon_testkit::test_redis_url(),
        ) else {
            eprintln!(
                "runs in the PostgreSQL pass of scripts/test, which also starts RabbitMQ and Redis"
            );
            return None;
        };
        let prefix = format!("k{}_", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let env = vec![
            ("AGON_DATABASE_URL", url),
            (
                "AGON_SECRET_KEYS",
                agon_kit::sealed::Keyring::generate_key().unwrap(),
            ),
            ("AGON_SCHEMA_PREFIX", prefix),
            ("AGON_AMQP_URL", amqp),
            ("AGON_REDIS_URL", redis),
            (
                "AGON_AUTH__ADMIN_EMAIL",
                agon_testkit::ADMIN_EMAIL.to_owned(),
            ),
            (
                "AGON_AUTH__ADMIN_PASSWORD",
                agon_testkit::ADMIN_PASSWORD.to_owned(),
            ),
        ];
        let names = ["auth"].iter().chain(services).chain(&["gateway"]);
        let mut cluster = Cluster {
            services: names
                .map(|n| ((*n).to_owned(), free_port(), None))
                .collect(),
            env,
            profile: profile.map(str::to_owned),
            logs: tempfile::tempdir().unwrap(),
            client: reqwest::Client::new(),
            base: String::new(),
        };
        let migrated = cluster.agon(&["migrate"]).output().unwrap();
        assert!(
            migrated.status.success(),
            "{}",
            String::from_utf8_lossy(&migrated.stderr)
        );
        let all: Vec<String> = cluster.services.iter().map(|s| s.0.clone()).collect();
        for name in &all {
            cluster.launch(name).await;
        }
        let gateway_port = cluster.port("gateway");
        cluster.base = format!("http://127.0.0.1:{gateway_port}");
        Some(cluster)
    }

    fn agon(&self, args: &[&str]) -> Command {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut command = agon(args, &env);
        command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        command
    }

    fn port(&self, name: &str) -> u16 {
        self.services.iter().find(|s| s.0 == name).unwrap().1
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(name))
    }

    /// Starts `name` on its port and waits until it is healthy.
    pub async fn launch(&mut self, name: &str) {
        let port = self.port(name).to_string();
        let auth_url = self.url("auth");
        let mut args = vec!["serve", name, "--port", &port];
        if name != "auth" {
            args.extend(["--auth-url", &auth_url]);
        }
        // Every process: the gateway serves the profile's routes, the services take its defaults.
        if let Some(profile) = &self.profile {
            args.extend(["--profile", profile]);
        }
        let mut command = self.agon(&args);
        if name == "gateway" {
            let upstreams: Vec<String> = (self.services.iter())
                .filter(|s| s.0 != "gateway")
                .map(|(service, port, _)| format!("{service}=\"http://127.0.0.1:{port}\""))
                .collect();
            command.env(
                "AGON_GATEWAY__UPSTREAMS",
                format!("{{{}}}", upstreams.join(",")),
            );
        }
        let log = log_file(self.logs.path(), name);
        let child = command.stdout(log).spawn().unwrap();
        let url = self.url(name);
        let slot = self.services.iter_mut().find(|s| s.0 == name).unwrap();
        slot.2 = Some(Proc(child));
        wait_healthy(&self.client, &url).await;
    }

    /// Kills `name` with SIGKILL, mid-whatever it was doing.
    pub fn kill(&mut self, name: &str) {
        let slot = self.services.iter_mut().find(|s| s.0 == name).unwrap();
        slot.2.take();
    }

    /// Prints every process's log (its warnings and errors) if the test fails while the guard lives; declare it
    /// after the cluster, so it goes first.
    pub fn logs_on_failure(&self) -> LogsOnFailure {
        LogsOnFailure(self.logs.path().to_owned())
    }
}

pub(crate) struct LogsOnFailure(std::path::PathBuf);

impl Drop for LogsOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for entry in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
            eprintln!("--- {} ---\n{log}", entry.file_name().to_string_lossy());
        }
    }
}

/// The log of `name`, continued by each of its processes.
fn log_file(dir: &Path, name: &str) -> std::fs::File {
    (OpenOptions::new().create(true).append(true))
        .open(dir.join(format!("{name}.log")))
        .unwrap()
}
