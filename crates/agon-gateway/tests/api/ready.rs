//! Readiness of a gateway in front of replicated HTTP upstreams (`agon serve gateway`): ready while each
//! upstream has a ready replica, and each replica's state shown to admins.

use std::time::Duration;

use agon_gateway::{Mount, Upstream};
use agon_testkit::TestApp;
use serde_json::Value;

use crate::upstream;

/// A gateway proxying `/pair` to `replicas` over HTTP, verifying tokens against `auth`'s keys; its URL.
async fn spawn_gateway(auth: &TestApp, replicas: &str, dir: &std::path::Path) -> String {
    let deps = agon_kit::Deps {
        databases: agon_db::Databases::SqliteDir(dir.to_owned()),
        bus: agon_bus::Bus::in_process(),
        verifier: agon_kit::TokenVerifier::new(
            Default::default(),
            agon_kit::TOKEN_ISSUER,
            agon_kit::TOKEN_AUDIENCE,
            Some(auth.url.clone()),
        ),
        mail: Default::default(),
        redis_url: None,
        trusted_proxies: agon_kit::TrustedProxies::new(&agon_kit::TrustedProxies::loopback()),
        keyring: agon_kit::sealed::Keyring::empty(),
    };
    let config = agon_gateway::Config {
        probe_interval_secs: 1,
        ..Default::default()
    };
    let mount = Mount {
        name: "pair".into(),
        prefixes: vec!["/pair".into()],
        upstream: Upstream::http(replicas).unwrap(),
        openapi: None,
        checks: Vec::new(),
    };
    let (gateway, tasks) = agon_gateway::build(&deps, config, None, vec![mount])
        .await
        .unwrap();
    for task in tasks {
        tokio::spawn(task);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        gateway
            .serve(listener, std::future::pending())
            .await
            .unwrap()
    });
    url
}

/// Polls `check` for up to 10 s.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within 10 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn ready_while_one_replica_serves_and_each_replica_shown() {
    let auth = TestApp::spawn().await;
    let admin = auth.admin().await;
    let (a, b) = (upstream::spawn().await, upstream::spawn().await);
    let dir = tempfile::tempdir().unwrap();
    let gateway = spawn_gateway(&auth, &format!("{},{}", a.url, b.url), dir.path()).await;
    let client = reqwest::Client::new();
    let readyz = || async {
        let response = client
            .get(format!("{gateway}/readyz"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let (status, body) = readyz().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["pair"], "up", "{body}");

    b.stop();
    let upstreams = || async {
        client
            .get(format!("{gateway}/gateway/upstreams"))
            .bearer_auth(&admin.access_token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    eventually("the stopped replica shown down", || async {
        let view = upstreams().await;
        view[0]["replicas"][1]["up"] == false
    })
    .await;
    let view = upstreams().await;
    assert_eq!(view[0]["name"], "pair", "{view}");
    assert_eq!(view[0]["up"], true, "{view}");
    assert_eq!(view[0]["replicas"][0]["url"], a.url.as_str(), "{view}");
    assert_eq!(view[0]["replicas"][0]["up"], true, "{view}");
    assert_eq!(view[0]["replicas"][1]["url"], b.url.as_str(), "{view}");
    let (status, body) = readyz().await;
    assert_eq!(status, 200, "one replica still serves: {body}");
    let served = client
        .get(format!("{gateway}/pair/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    // The admin view is for admins only.
    let anonymous = client
        .get(format!("{gateway}/gateway/upstreams"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    a.stop();
    eventually("not ready with both replicas stopped", || async {
        readyz().await.0 == 503
    })
    .await;
    let (_, body) = readyz().await;
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["checks"]["pair"], "down", "{body}");
}

#[tokio::test]
async fn the_registry_shows_each_replica_of_a_service() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let live = upstream::spawn().await;
    let dead = upstream::spawn().await;
    dead.stop();
    let created: Value = app
        .as_user(&admin)
        .post_json(
            "/gateway/services",
            serde_json::json!({ "name": "pair", "url": format!("{},{}", live.url, dead.url), "prefix": "/echo" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let view = || async {
        app.as_user(&admin)
            .get(&format!("/gateway/services/{id}"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    eventually("both replicas probed", || async {
        let v = view().await;
        v["replicas"][0]["up"] == true && v["replicas"][1]["since"].is_string()
    })
    .await;
    let v = view().await;
    assert_eq!(v["up"], true, "{v}");
    assert_eq!(v["replicas"][1]["url"], dead.url.as_str(), "{v}");
    assert_eq!(v["replicas"][1]["up"], false, "{v}");
}
