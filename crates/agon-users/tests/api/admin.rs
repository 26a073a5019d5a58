//! Account administration and its reach into the auth service.

use std::time::{Duration, Instant};

use agon_testkit::{PASSWORD, TestApp, TestUser, assert_problem, json};
use serde_json::Value;

async fn login_status(app: &TestApp, email: &str) -> (u16, Value) {
    let r = app
        .post_json(
            "/auth/token",
            json!({ "grant_type": "password", "email": email, "password": PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn register_as(app: &TestApp, email: &str, role: &str) -> Value {
    let r = app
        .post_json(
            "/auth/register",
            json!({ "email": email, "password": PASSWORD, "role": role }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

/// Waits until the token is refused everywhere; fails after `within`.
async fn refused_within(app: &TestApp, user: &TestUser, within: Duration) {
    let start = Instant::now();
    loop {
        let service = app
            .as_user(user)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status();
        let edge = app
            .as_user(user)
            .get("/gateway/services")
            .send()
            .await
            .unwrap()
            .status();
        if service == 401 && edge == 401 {
            return;
        }
        assert!(
            start.elapsed() < within,
            "still accepted after {within:?}: service {service}, gateway {edge}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn trainers_wait_for_approval_and_nobody_self_registers_as_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = register_as(&app, "tess@club.org", "trainer").await;
    assert_eq!(body["pending"], true);
    let id = body["user_id"].as_str().unwrap().to_owned();
    let (status, problem) = login_status(&app, "tess@club.org").await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (403, "account_pending")
    );

    let admin_request = app.as_user(&admin);
    app.until(|| async {
        let page: Value = admin_request
            .get("/users/admin?status=pending")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == id.as_str())
    })
    .await;
    let approved: Value = admin_request
        .post_json(&format!("/users/{id}/approve"), json!(null))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "active");
    let again = admin_request
        .post_json(&format!("/users/{id}/approve"), json!(null))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "not_pending").await;
    app.until(|| async { login_status(&app, "tess@club.org").await.0 == 200 })
        .await;
    let tess = app.login("tess@club.org", PASSWORD).await;
    assert_eq!(
        agon_testkit::claims(&tess.access_token)["roles"],
        json!(["trainer"])
    );

    let admin_attempt = app.post_json(
        "/auth/register",
        json!({ "email": "mal@club.org", "password": PASSWORD, "role": "admin" }),
    );
    assert_problem(admin_attempt.send().await.unwrap(), 422, "invalid_body").await;
    assert_eq!(
        login_status(&app, "mal@club.org").await.0,
        400,
        "no account was created"
    );
}

#[tokio::test]
async fn a_ban_ends_live_sessions_everywhere_within_a_second() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let phone = app.login("ana@club.org", PASSWORD).await;
    let response = app
        .as_user(&admin)
        .post_json(
            &format!("/users/{}/ban", ana.id),
            json!({ "reason": "spam" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    refused_within(&app, &ana, Duration::from_secs(1)).await;
    refused_within(&app, &phone, Duration::from_secs(1)).await;
    let (status, problem) = login_status(&app, "ana@club.org").await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (403, "account_banned")
    );
    let refresh = app.post_json(
        "/auth/token",
        json!({ "grant_type": "refresh_token", "refresh_token": phone.refresh_token }),
    );
    assert_problem(refresh.send().await.unwrap(), 400, "invalid_grant").await;
    // Banned members drop out of the member search; admins still find them.
    let bo = app.register("bo@club.org").await;
    let found: Value = app
        .as_user(&bo)
        .get("/users?q=ana")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found["items"].as_array().unwrap().is_empty());
    let listed: Value = app
        .as_user(&admin)
        .get("/users/admin?status=banned")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["email"], "ana@club.org");
    let one: Value = app
        .as_user(&admin)
        .get(&format!("/users/admin/{}", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (one["email"].as_str(), one["status"].as_str()),
        (Some("ana@club.org"), Some("banned"))
    );

    let unban = app
        .as_user(&admin)
        .post_json(&format!("/users/{}/unban", ana.id), json!(null))
        .send()
        .await
        .unwrap();
    assert_eq!(unban.status(), 200);
    app.until(|| async { login_status(&app, "ana@club.org").await.0 == 200 })
        .await;
    let self_ban = app
        .as_user(&admin)
        .post_json(&format!("/users/{}/ban", admin.id), json!({}));
    assert_problem(
        self_ban.send().await.unwrap(),
        409,
        "cannot_change_own_account",
    )
    .await;
}

#[tokio::test]
async fn role_changes_end_sessions_and_reach_new_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let promote = app.as_user(&admin).put_json(
        &format!("/users/{}/roles", ana.id),
        json!({ "roles": ["coach", "athlete"] }),
    );
    let view: Value = promote.send().await.unwrap().json().await.unwrap();
    assert_eq!(view["roles"], json!(["athlete", "coach"]));
    refused_within(&app, &ana, Duration::from_secs(1)).await;
    let again = app.login("ana@club.org", PASSWORD).await;
    let mut roles: Vec<String> =
        serde_json::from_value(agon_testkit::claims(&again.access_token)["roles"].clone()).unwrap();
    roles.sort();
    assert_eq!(roles, vec!["athlete", "coach"]);
    let bad = app.as_user(&admin).put_json(
        &format!("/users/{}/roles", ana.id),
        json!({ "roles": ["overlord"] }),
    );
    assert_problem(bad.send().await.unwrap(), 422, "invalid_body").await;
    let empty = app
        .as_user(&admin)
        .put_json(&format!("/users/{}/roles", ana.id), json!({ "roles": [] }));
    assert_problem(empty.send().await.unwrap(), 422, "invalid_body").await;
    let demote_self = app.as_user(&admin).put_json(
        &format!("/users/{}/roles", admin.id),
        json!({ "roles": ["athlete"] }),
    );
    assert_problem(demote_self.send().await.unwrap(), 409, "cannot_demote_self").await;
}

#[tokio::test]
async fn administrators_count_accounts_by_status_and_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    app.register("anabel@club.org").await;
    let count = |query: &'static str| {
        let admin = &admin;
        let app = &app;
        async move {
            let r = app
                .as_user(admin)
                .get(&format!("/users/admin/count{query}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["count"].as_i64().unwrap()
        }
    };
    assert_eq!(count("").await, 3, "the admin, Ana and Anabel");
    assert_eq!(count("?q=ana").await, 2);
    assert_eq!(count("?status=pending").await, 0);
    let refused = app
        .as_user(&ana)
        .get("/users/admin/count")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let bad = app
        .as_user(&admin)
        .get("/users/admin/count?status=gone")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn admin_operations_are_refused_to_everyone_else() {
    let app = TestApp::spawn().await;
    let athlete = app.register("ana@club.org").await;
    let target = app.register("bo@club.org").await;
    let id = target.id;
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/users/admin".into(), None),
        ("GET", format!("/users/admin/{id}"), None),
        ("POST", format!("/users/{id}/approve"), Some(json!(null))),
        ("POST", format!("/users/{id}/ban"), Some(json!({}))),
        ("POST", format!("/users/{id}/unban"), Some(json!(null))),
        (
            "PUT",
            format!("/users/{id}/roles"),
            Some(json!({ "roles": ["admin"] })),
        ),
        ("DELETE", format!("/users/{id}"), None),
        ("GET", "/gateway/services".into(), None),
    ];
    for (method, path, body) in cases {
        for (who, token) in [
            ("athlete", Some(athlete.access_token.as_str())),
            ("anonymous", None),
        ] {
            let mut request = app.client.request(method.parse().unwrap(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let expected = if token.is_some() {
                (403, "forbidden")
            } else {
                (401, "unauthenticated")
            };
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status().as_u16(),
                expected.0,
                "{who} {method} {path}"
            );
            assert_problem(response, expected.0, expected.1).await;
        }
    }
    // Nothing changed for the target.
    assert_eq!(
        app.as_user(&target)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        agon_testkit::claims(&app.login("bo@club.org", PASSWORD).await.access_token)["roles"],
        json!(["athlete"])
    );
}

#[tokio::test]
async fn deleting_an_account_removes_it_everywhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let response = app.as_user(&ana).delete("/users/me").send().await.unwrap();
    assert_eq!(response.status(), 204);
    refused_within(&app, &ana, Duration::from_secs(1)).await;
    app.until(|| async { login_status(&app, "ana@club.org").await.0 == 400 })
        .await;
    let gone = app
        .as_user(&bo)
        .get(&format!("/users/{}", ana.id))
        .send()
        .await
        .unwrap();
    assert_problem(gone, 404, "user_not_found").await;
    // The email is free again, as for any account that does not exist.
    app.until(|| async {
        app.post_json(
            "/auth/register",
            json!({ "email": "ana@club.org", "password": PASSWORD }),
        )
        .send()
        .await
        .unwrap()
        .status()
            == 201
    })
    .await;

    let by_admin = app
        .as_user(&admin)
        .delete(&format!("/users/{}", bo.id))
        .send()
        .await
        .unwrap();
    assert_eq!(by_admin.status(), 204);
    refused_within(&app, &bo, Duration::from_secs(1)).await;
    let missing = app
        .as_user(&admin)
        .delete(&format!("/users/{}", bo.id))
        .send()
        .await
        .unwrap();
    assert_problem(missing, 404, "user_not_found").await;
    let self_delete = app
        .as_user(&admin)
        .delete(&format!("/users/{}", admin.id))
        .send()
        .await
        .unwrap();
    assert_problem(self_delete, 409, "cannot_change_own_account").await;
}

#[tokio::test]
async fn members_search_by_name_and_city_in_pages() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    for (i, city) in ["Lyon", "Lyon", "Paris", "Lyon"].iter().enumerate() {
        let u = app.register(&format!("runner{i}@club.org")).await;
        app.as_user(&u)
            .patch_json(
                "/users/me",
                json!({ "display_name": format!("Runner {i}"), "city": city }),
            )
            .send()
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut path = "/users?q=RUNNER&city=lyon&limit=2".to_owned();
    loop {
        let page: Value = app
            .as_user(&ana)
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
                .map(|u| u["display_name"].as_str().unwrap().to_owned()),
        );
        assert!(page["items"][0].get("email").is_none(), "public view only");
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/users?q=RUNNER&city=lyon&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(names, vec!["Runner 0", "Runner 1", "Runner 3"]);
    let wildcard: Value = app
        .as_user(&ana)
        .get("/users?q=%25")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        wildcard["items"].as_array().unwrap().is_empty(),
        "a % in the query is matched literally, and no name holds one: {wildcard}"
    );
}

#[tokio::test]
async fn administrators_find_an_account_by_its_email_or_username() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let opened = app
        .post_json(
            "/auth/register",
            json!({ "username": "Rower_7", "password": agon_testkit::PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    let rower: Value = opened.json().await.unwrap();
    let find = |login: &str| {
        let path = format!("/users/admin?login={login}");
        let request = app.as_user(&admin).get(&path).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap()["items"].clone() }
    };
    app.until(|| async { find("rower_7").await.as_array().unwrap().len() == 1 })
        .await;
    let found = find("ROWER_7").await;
    assert_eq!(found[0]["id"], rower["user_id"]);
    assert_eq!(found[0]["username"], "rower_7");
    assert_eq!(found[0]["email"], Value::Null);
    let found = find("Ana@Club.org").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], ana.id.to_string());
    assert!(find("nobody@club.org").await.as_array().unwrap().is_empty());
}
