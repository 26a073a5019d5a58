//! The state of each replica of each HTTP upstream, from probes: the gateway is ready while at least one
//! replica of every mounted upstream is (requests go round the others), each replica's state is shown to
//! admins, and a replica is logged when it stops being ready and when it comes back — not on every probe.

use std::{collections::BTreeMap, sync::Arc, sync::Mutex, time::Duration};

use agon_kit::ReadyCheck;
use serde::Serialize;
use utoipa::ToSchema;

/// One replica's last probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReplicaState {
    pub url: String,
    /// The last probe answered 2xx.
    pub up: bool,
    /// When `up` last changed (RFC 3339); absent before the first probe.
    pub since: Option<String>,
}

/// Replica states by upstream (or registry service) name.
#[derive(Default)]
pub struct ReplicaHealth {
    table: Mutex<BTreeMap<String, Vec<ReplicaState>>>,
}

/// A change worth a log line.
#[derive(Debug, PartialEq, Eq)]
pub enum Transition {
    Down,
    Back,
}

impl ReplicaHealth {
    /// Records one probe of `url`, a replica of `name`; logs and returns the change, if any. A replica found
    /// down on its first probe counts as a change; one found up does not.
    pub fn record(&self, name: &str, url: &str, up: bool) -> Option<Transition> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let replicas = table.entry(name.to_owned()).or_default();
        let transition = match replicas.iter_mut().find(|r| r.url == url) {
            Some(r) if r.up == up => return None,
            Some(r) => {
                r.up = up;
                r.since = Some(agon_db::now_text());
                if up {
                    Transition::Back
                } else {
                    Transition::Down
                }
            }
            None => {
                replicas.push(ReplicaState {
                    url: url.to_owned(),
                    up,
                    since: Some(agon_db::now_text()),
                });
                if up {
                    return None;
                }
                Transition::Down
            }
        };
        match transition {
            Transition::Down => tracing::warn!(upstream = name, replica = url, "replica not ready"),
            Transition::Back => {
                tracing::info!(upstream = name, replica = url, "replica ready again")
            }
        }
        Some(transition)
    }

    /// The state of each of `urls` (in that order), unprobed ones as down with no `since`.
    pub fn replicas<'a>(
        &self,
        name: &str,
        urls: impl IntoIterator<Item = &'a str>,
    ) -> Vec<ReplicaState> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let known = table.get(name);
        urls.into_iter()
            .map(|url| {
                known
                    .and_then(|rs| rs.iter().find(|r| r.url == url))
                    .cloned()
                    .unwrap_or_else(|| ReplicaState {
                        url: url.to_owned(),
                        up: false,
                        since: None,
                    })
            })
            .collect()
    }

    /// Forgets names not in `current` (registry services deleted or renamed) and replicas no longer listed.
    pub fn retain(&self, current: &BTreeMap<String, Vec<String>>) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|name, replicas| match current.get(name) {
            Some(urls) => {
                replicas.retain(|r| urls.contains(&r.url));
                true
            }
            None => false,
        });
    }
}

/// Probes `{url}{path}` of every replica at once, records each, and says whether any answered 2xx.
pub async fn probe(health: &ReplicaHealth, name: &str, urls: &[String], path: &str) -> bool {
    let probes = urls.iter().map(|url| async move {
        let up = agon_kit::client::get_status(&format!("{url}{path}"), Duration::from_secs(2))
            .await
            .is_ok_and(|s| s.is_success());
        health.record(name, url, up);
        up
    });
    futures_util::future::join_all(probes)
        .await
        .into_iter()
        .any(|up| up)
}

/// The HTTP upstreams mounted from configuration, with the state of their replicas' `/readyz`.
#[derive(Default)]
pub struct Mounted {
    pub health: Arc<ReplicaHealth>,
    /// Replica URLs by upstream name.
    pub upstreams: BTreeMap<String, Vec<String>>,
}

impl Mounted {
    /// Adds an upstream and returns its readiness check: up while any replica's `/readyz` answers 2xx.
    pub fn add(&mut self, name: &str, urls: Vec<String>) -> ReadyCheck {
        self.upstreams.insert(name.to_owned(), urls.clone());
        let health = self.health.clone();
        let name = name.to_owned();
        let urls = Arc::new(urls);
        ReadyCheck::new(name.clone(), move || {
            let (health, name, urls) = (health.clone(), name.clone(), urls.clone());
            async move { probe(&health, &name, &urls, "/readyz").await }
        })
    }

    /// Probes every mounted upstream once (the prober's round; `/readyz` probes too, when it is asked).
    pub async fn probe_all(&self) {
        let probes = self
            .upstreams
            .iter()
            .map(|(name, urls)| probe(&self.health, name, urls, "/readyz"));
        futures_util::future::join_all(probes).await;
    }

    pub fn views(&self) -> Vec<UpstreamView> {
        self.upstreams
            .iter()
            .map(|(name, urls)| {
                let replicas = self.health.replicas(name, urls.iter().map(String::as_str));
                UpstreamView {
                    name: name.clone(),
                    up: replicas.iter().any(|r| r.up),
                    replicas,
                }
            })
            .collect()
    }
}

/// A mounted HTTP upstream and its replicas.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamView {
    pub name: String,
    /// At least one replica is ready: requests are served.
    pub up: bool,
    pub replicas: Vec<ReplicaState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_logged_once_when_it_goes_and_once_when_it_comes_back() {
        let health = ReplicaHealth::default();
        assert_eq!(health.record("users", "http://a", true), None);
        assert_eq!(
            health.record("users", "http://b", false),
            Some(Transition::Down)
        );
        assert_eq!(health.record("users", "http://b", false), None);
        assert_eq!(
            health.record("users", "http://a", false),
            Some(Transition::Down)
        );
        assert_eq!(health.record("users", "http://a", false), None);
        assert_eq!(
            health.record("users", "http://a", true),
            Some(Transition::Back)
        );
        let states = health.replicas("users", ["http://a", "http://b", "http://c"]);
        let up: Vec<bool> = states.iter().map(|r| r.up).collect();
        assert_eq!(up, [true, false, false]);
        assert!(states[2].since.is_none(), "never probed");
    }

    #[test]
    fn forgotten_services_and_replicas_are_dropped() {
        let health = ReplicaHealth::default();
        health.record("a", "http://a1", false);
        health.record("a", "http://a2", false);
        health.record("b", "http://b1", false);
        health.retain(&BTreeMap::from([(
            "a".to_owned(),
            vec!["http://a2".to_owned()],
        )]));
        // Known again as down: a change, so it is logged again.
        assert_eq!(
            health.record("b", "http://b1", false),
            Some(Transition::Down)
        );
        assert_eq!(
            health.record("a", "http://a1", false),
            Some(Transition::Down)
        );
        assert_eq!(health.record("a", "http://a2", false), None);
    }
}
