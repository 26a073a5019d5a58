//! The gateway driven over HTTP: the registry, routing to real HTTP upstreams, profiles and edge behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conn;
mod profiles;
mod ready;
mod upstream;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use agon_testkit::{TestApp, TestUser, assert_problem, json};
use serde_json::Value;

async fn register_service(app: &TestApp, admin: &TestUser, body: Value) -> Value {
    let response = app
        .as_user(admin)
        .post_json("/gateway/services", body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn registry_is_admin_only() {
    let app = TestApp::spawn().await;
    let athlete = app.register("ana@club.org").await;
    assert_problem(
        app.get("/gateway/services").send().await.unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.as_user(&athlete)
            .get("/gateway/services")
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let body = json!({ "name": "x1", "url": "http://127.0.0.1:9", "prefix": "/x1" });
    assert_problem(
        app.as_user(&athlete)
            .post_json("/gateway/services", body)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_eq!(app.count("gateway", "services").await, 0);
}

#[tokio::test]
async fn registry_validates_and_lists_in_pages() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let as_admin = app.as_user(&admin);
    for (body, field) in [
        (
            json!({ "name": "x", "url": "http://127.0.0.1:9", "prefix": "/x" }),
            "name",
        ),
        (
            json!({ "name": "ok", "url": "ftp://h", "prefix": "/x" }),
            "url",
        ),
        (
            json!({ "name": "ok", "url": "http://127.0.0.1:9", "prefix": "nope" }),
            "prefix",
        ),
        (
            json!({ "name": "ok", "url": "http://127.0.0.1:9", "prefix": "/gateway/x" }),
            "prefix",
        ),
        (
            json!({ "name": "ok", "url": "http://127.0.0.1:9", "prefix": "/" }),
            "prefix",
        ),
        (
            json!({ "name": "ok", "url": "http://127.0.0.1:9", "prefix": "/x", "timeout_ms": 0 }),
            "timeout_ms",
        ),
    ] {
        let problem = assert_problem(
            as_admin
                .post_json("/gateway/services", body)
                .send()
                .await
                .unwrap(),
            422,
            "invalid_body",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let unknown = as_admin.post_json(
        "/gateway/services",
        json!({ "name": "ok", "url": "http://h", "prefix": "/x", "apikey": "k" }),
    );
    assert_problem(unknown.send().await.unwrap(), 422, "invalid_body").await;
    assert_eq!(app.count("gateway", "services").await, 0);

    for i in 0..5 {
        let blocked = i % 2 == 0;
        register_service(&app, &admin, json!({ "name": format!("svc{i}"), "url": "http://127.0.0.1:9", "prefix": format!("/svc{i}"), "blocked": blocked })).await;
    }
    let dup = as_admin.post_json(
        "/gateway/services",
        json!({ "name": "svc1", "url": "http://127.0.0.1:9", "prefix": "/y" }),
    );
    assert_problem(dup.send().await.unwrap(), 409, "service_name_taken").await;

    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/gateway/services?limit=2&cursor={c}"),
            None => "/gateway/services?limit=2".to_owned(),
        };
        let page: Value = as_admin
            .get(&path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, vec!["svc0", "svc1", "svc2", "svc3", "svc4"]);
    let blocked: Value = as_admin
        .get("/gateway/services?blocked=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(blocked["items"].as_array().unwrap().len(), 3);
    for (query, count) in [("", 5), ("?blocked=true", 3), ("?blocked=false", 2)] {
        let counted: Value = as_admin
            .get(&format!("/gateway/services/count{query}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(counted, json!({ "count": count }), "{query}");
    }
    let bad = as_admin
        .get("/gateway/services?blocked=maybe")
        .send()
        .await
        .unwrap();
    assert_problem(bad, 400, "invalid_query").await;
    // A cursor is a service name: base64url of `a b` (a space) or of 5000 bytes is not one.
    for cursor in ["YSBi".to_owned(), "A".repeat(5000)] {
        let forged = as_admin
            .get(&format!("/gateway/services?cursor={cursor}"))
            .send()
            .await
            .unwrap();
        assert_problem(forged, 400, "invalid_cursor").await;
    }
}

#[tokio::test]
async fn registered_services_are_routed_blocked_and_removed() {
    let app = TestApp::spawn().await;
    let upstream = upstream::spawn().await;
    let admin = app.admin().await;
    let as_admin = app.as_user(&admin);
    let created = register_service(
        &app,
        &admin,
        json!({ "name": "echo", "url": upstream.url, "prefix": "/echo" }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();

    let echoed: Value = app
        .get("/echo/a/b?q=1")
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["path"], "/echo/a/b");
    assert_eq!(echoed["query"], "q=1");
    assert_eq!(echoed["x-request-id"], "req-42");
    assert_eq!(echoed["x-forwarded-for"], "127.0.0.1");
    assert!(echoed["traceparent"].as_str().unwrap().starts_with("00-"));

    // The health prober marks it up.
    app.until(|| async {
        let view: Value = as_admin
            .get(&format!("/gateway/services/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        view["up"] == true
    })
    .await;
    let up: Value = as_admin
        .get("/gateway/services?up=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up["items"].as_array().unwrap().len(), 1);

    let blocked = as_admin
        .patch_json(
            &format!("/gateway/services/{id}"),
            json!({ "blocked": true }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);
    assert_problem(app.get("/echo/a").send().await.unwrap(), 404, "not_found").await;
    as_admin
        .patch_json(
            &format!("/gateway/services/{id}"),
            json!({ "blocked": false }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(app.get("/echo/a").send().await.unwrap().status(), 200);

    let deleted = as_admin
        .delete(&format!("/gateway/services/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_problem(app.get("/echo/a").send().await.unwrap(), 404, "not_found").await;
    let missing = as_admin
        .get(&format!("/gateway/services/{id}"))
        .send()
        .await
        .unwrap();
    assert_problem(missing, 404, "service_not_found").await;
}

#[tokio::test]
async fn registry_changes_under_load_drop_no_request() {
    let app = Arc::new(TestApp::spawn().await);
    let upstream = upstream::spawn().await;
    let admin = app.admin().await;
    let user = app.register("ana@club.org").await;
    register_service(
        &app,
        &admin,
        json!({ "name": "echo", "url": upstream.url, "prefix": "/echo" }),
    )
    .await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for worker in 0..8 {
        let (app, stop, ok, user) = (app.clone(), stop.clone(), ok.clone(), user.clone());
        load.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                // Half the workers hold slow requests open across the swaps.
                let path = if worker % 2 == 0 {
                    "/echo/fast".to_owned()
                } else {
                    "/echo/slow?ms=150".to_owned()
                };
                let proxied = app.get(&path).send().await;
                let in_process = app.as_user(&user).get("/users/me").send().await;
                for r in [proxied, in_process] {
                    match r {
                        Ok(r) if r.status() == 200 => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => failures.push(format!(
                            "{} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        )),
                        Err(e) => failures.push(e.to_string()),
                    }
                }
            }
            failures
        }));
    }
    let as_admin = app.as_user(&admin);
    for round in 0..20 {
        let created = register_service(
            &app,
            &admin,
            json!({ "name": format!("churn{round}"), "url": upstream.url, "prefix": format!("/churn{round}") }),
        )
        .await;
        let id = created["id"].as_str().unwrap();
        as_admin
            .patch_json(
                &format!("/gateway/services/{id}"),
                json!({ "blocked": true }),
            )
            .send()
            .await
            .unwrap();
        as_admin
            .delete(&format!("/gateway/services/{id}"))
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for worker in load {
        failures.extend(worker.await.unwrap());
    }
    assert!(failures.is_empty(), "dropped or failed: {failures:?}");
    assert!(ok.load(Ordering::Relaxed) > 50, "the load actually ran");
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let app = TestApp::spawn().await;
    let upstream = upstream::spawn().await;
    let admin = app.admin().await;
    register_service(
        &app,
        &admin,
        json!({ "name": "echo", "url": upstream.url, "prefix": "/echo" }),
    )
    .await;

    // 16 MiB upload: far over the services' 1 MiB JSON limit, the gateway itself does not buffer.
    let chunk = vec![b'x'; 1 << 20];
    let stream =
        futures_util::stream::iter((0..16).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let response = app
        .client
        .post(app.url("/echo/upload"))
        .body(agon_testkit::reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), (16 << 20).to_string());

    // The upstream sends its second chunk only after we received the first through the gateway.
    let mut response = app.get("/echo/stream").send().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), response.chunk())
        .await
        .expect("first chunk streamed")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"first;");
    upstream.release.notify_one();
    let second = tokio::time::timeout(Duration::from_secs(10), response.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&second[..], b"second");
}

#[tokio::test]
async fn slow_and_dead_upstreams_get_gateway_problems() {
    let app = TestApp::spawn().await;
    let upstream = upstream::spawn().await;
    let admin = app.admin().await;
    register_service(
        &app,
        &admin,
        json!({ "name": "slow", "url": upstream.url, "prefix": "/echo", "timeout_ms": 200 }),
    )
    .await;
    register_service(
        &app,
        &admin,
        json!({ "name": "dead", "url": "http://127.0.0.1:9", "prefix": "/dead" }),
    )
    .await;
    assert_problem(
        app.get("/echo/slow?ms=2000").send().await.unwrap(),
        504,
        "upstream_timeout",
    )
    .await;
    assert_problem(
        app.get("/dead/x").send().await.unwrap(),
        502,
        "upstream_unavailable",
    )
    .await;
}

#[tokio::test]
async fn profiles_map_paths_methods_and_policies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("legacy.toml"),
        r#"
description = "a legacy client's paths"

[[routes]]
path = "/api/v1/profile/{id}"
rewrite = "/users/{id}"
upstream = "users"
methods = ["GET"]
auth = "token"

[[routes]]
prefix = "/api/v1/account"
rewrite = "/auth"
upstream = "auth"

[[routes]]
prefix = "/api/v1/staff"
rewrite = "/users"
upstream = "users"
auth = "trainer"
"#,
    )
    .unwrap();
    let profiles = dir.path().to_owned();
    let app = TestApp::spawn_with(move |c| {
        c.profile = Some("legacy".into());
        c.profiles_dir = profiles;
    })
    .await;
    let register = app.post_json(
        "/api/v1/account/register",
        json!({ "email": "ana@club.org", "password": agon_testkit::PASSWORD }),
    );
    assert_eq!(register.send().await.unwrap().status(), 201);
    let ana = app.login("ana@club.org", agon_testkit::PASSWORD).await;
    app.until(|| async {
        app.as_user(&ana)
            .get(&format!("/api/v1/profile/{}", ana.id))
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    let view: Value = app
        .as_user(&ana)
        .get(&format!("/api/v1/profile/{}", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["id"], ana.id.to_string());
    // The profile route takes GET only, and its token policy is enforced at the edge.
    let post = app
        .as_user(&ana)
        .post_json(&format!("/api/v1/profile/{}", ana.id), json!({}));
    assert_problem(post.send().await.unwrap(), 405, "method_not_allowed").await;
    assert_problem(
        app.get(&format!("/api/v1/profile/{}", ana.id))
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    // A role policy: athletes are refused at the edge, trainers pass.
    assert_problem(
        app.as_user(&ana)
            .get("/api/v1/staff/me")
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let admin = app.admin().await;
    let created = app
        .as_user(&admin)
        .post_json(
            "/auth/admin/users",
            json!({ "email": "tess@club.org", "password": agon_testkit::PASSWORD, "roles": ["trainer"] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let tess = app.login("tess@club.org", agon_testkit::PASSWORD).await;
    app.until(|| async {
        app.as_user(&tess)
            .get("/api/v1/staff/me")
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    // Canonical paths keep working beside the profile.
    assert_eq!(
        app.as_user(&ana)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn cors_is_answered_for_allowed_origins_only() {
    let app = TestApp::spawn_with(|c| {
        c.gateway.cors.allowed_origins = vec!["https://club.example".into()]
    })
    .await;
    let preflight = app
        .client
        .request(agon_testkit::reqwest::Method::OPTIONS, app.url("/users/me"))
        .header("origin", "https://club.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://club.example"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "authorization"
    );
    let other = app
        .get("/auth/token")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn edge_endpoints_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
    let ready: Value = app
        .get("/readyz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    app.get("/users/me").send().await.unwrap();
    let metrics = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("agon_http_requests_total"), "{metrics}");
    let docs = app.get("/docs/").send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let spec: Value = app
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/auth/register",
        "/auth/token",
        "/users/me",
        "/users/{id}",
        "/gateway/services",
        "/.well-known/jwks.json",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} documented");
    }
    let unknown = app
        .get("/nowhere")
        .header("x-request-id", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.headers()["x-request-id"], "abc");
    let problem = assert_problem(unknown, 404, "not_found").await;
    assert_eq!(problem["request_id"], "abc");
}

#[tokio::test]
async fn clients_over_the_rate_limit_get_429_with_retry_after() {
    let app = TestApp::spawn_with(|c| {
        c.gateway.rate_limit = agon_gateway::limit::RateLimitConfig {
            requests: 5,
            window_secs: 3600,
        }
    })
    .await;
    for _ in 0..5 {
        let response = app.get("/users/me").send().await.unwrap();
        assert_eq!(response.status(), 401, "counted, then passed on");
    }
    let response = app.get("/users/me").send().await.unwrap();
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    assert_problem(response, 429, "rate_limited").await;
    // The gateway's own health endpoints stay reachable for probes.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
}

/// Requests from `client` as a proxy on loopback would forward them.
async fn via_proxy(app: &TestApp, client: &str) -> u16 {
    let response = app.get("/users/me").header("x-forwarded-for", client);
    response.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let limit = agon_gateway::limit::RateLimitConfig {
        requests: 2,
        window_secs: 3600,
    };
    // Loopback is trusted by default: the test client stands for a proxy on the same machine.
    let app = TestApp::spawn_with(|c| c.gateway.rate_limit = limit.clone()).await;
    assert_eq!(via_proxy(&app, "198.51.100.1").await, 401);
    assert_eq!(via_proxy(&app, "198.51.100.1").await, 401);
    assert_eq!(via_proxy(&app, "198.51.100.1").await, 429);
    assert_eq!(via_proxy(&app, "198.51.100.2").await, 401, "another client");
    // A client cannot escape its limit by forging entries left of what the proxy appended.
    assert_eq!(via_proxy(&app, "6.6.6.6, 198.51.100.1").await, 429);

    // Without trusted proxies the header is the client's word: every request counts against the connection.
    let app = TestApp::spawn_with(|c| {
        c.gateway.rate_limit = limit.clone();
        c.trusted_proxies = Vec::new();
    })
    .await;
    assert_eq!(via_proxy(&app, "198.51.100.1").await, 401);
    assert_eq!(via_proxy(&app, "198.51.100.2").await, 401);
    assert_eq!(via_proxy(&app, "198.51.100.3").await, 429);
}

#[tokio::test]
async fn replicas_count_one_client_together_through_redis() {
    let Some(redis) = agon_testkit::test_redis_url() else {
        eprintln!("needs AGON_TEST_REDIS_URL (scripts/test starts Redis)");
        return;
    };
    use agon_gateway::limit::{Limiter, RateLimitConfig};
    let config = RateLimitConfig {
        requests: 4,
        window_secs: 3600,
    };
    let namespace = format!("t{}:", uuid::Uuid::now_v7().simple());
    let a = Limiter::new(config.clone(), Some(&redis), &namespace)
        .await
        .unwrap();
    let b = Limiter::new(config, Some(&redis), &namespace)
        .await
        .unwrap();
    // Two requests through each replica use up the allowance of four…
    for limiter in [&a, &b, &a, &b] {
        assert_eq!(limiter.check("192.0.2.7").await, Ok(()));
    }
    // …so the fifth is refused wherever it arrives.
    assert!(a.check("192.0.2.7").await.is_err());
    assert!(b.check("192.0.2.7").await.is_err());
    assert_eq!(
        b.check("192.0.2.8").await,
        Ok(()),
        "another client has its own allowance"
    );
}

#[tokio::test]
async fn replicas_are_balanced_and_a_refusing_one_is_retried_around() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let live = upstream::spawn().await;
    // A port nobody listens on: connections to it are refused.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    register_service(
        &app,
        &admin,
        json!({ "name": "pair", "url": format!("http://127.0.0.1:{dead},{}", live.url), "prefix": "/echo" }),
    )
    .await;
    // Requests without a body go to the other replica when one refuses: every one succeeds.
    for i in 0..6 {
        let response = app.get(&format!("/echo/item/{i}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "request {i}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["path"], format!("/echo/item/{i}"));
    }
    // A body streams to the replica in turn; the refusing one is resting by now, so it reaches the live one.
    let response = app
        .client
        .post(app.url("/echo/upload"))
        .body(vec![7u8; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "100000");
}
