//! Administrators' operations on credentials and sessions.

use agon_testkit::{PASSWORD, TestApp, assert_problem, json};
use serde_json::Value;

#[tokio::test]
async fn admins_create_accounts_set_passwords_and_end_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let as_admin = app.as_user(&admin);
    let created = as_admin
        .post_json(
            "/auth/admin/users",
            json!({ "email": "coach@club.org", "password": PASSWORD, "roles": ["coach", "admin"] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let coach = app.login("coach@club.org", PASSWORD).await;
    let mut roles: Vec<String> =
        serde_json::from_value(agon_testkit::claims(&coach.access_token)["roles"].clone()).unwrap();
    roles.sort();
    assert_eq!(roles, vec!["admin", "coach"]);
    app.until(|| async {
        app.as_user(&coach)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;

    let second = app.login("coach@club.org", PASSWORD).await;
    let sessions: Value = as_admin
        .get(&format!("/auth/admin/users/{id}/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|s| s["current"] == false));
    let second_sid = agon_testkit::claims(&second.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        as_admin
            .delete(&format!("/auth/admin/sessions/{second_sid}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_problem(
        app.as_user(&second).get("/users/me").send().await.unwrap(),
        401,
        "session_revoked",
    )
    .await;
    assert_eq!(
        app.as_user(&coach)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let gone = as_admin
        .delete(&format!("/auth/admin/sessions/{second_sid}"))
        .send()
        .await
        .unwrap();
    assert_problem(gone, 404, "session_not_found").await;

    let set = as_admin
        .put_json(
            &format!("/auth/admin/users/{id}/password"),
            json!({ "password": "set by the admin" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    assert_problem(
        app.as_user(&coach).get("/users/me").send().await.unwrap(),
        401,
        "session_revoked",
    )
    .await;
    app.login("coach@club.org", "set by the admin").await;
    let unknown = as_admin.put_json(
        &format!("/auth/admin/users/{}/password", uuid::Uuid::now_v7()),
        json!({ "password": "set by the admin" }),
    );
    assert_problem(unknown.send().await.unwrap(), 404, "user_not_found").await;
    let weak = as_admin.put_json(
        &format!("/auth/admin/users/{id}/password"),
        json!({ "password": "12345678" }),
    );
    assert_problem(weak.send().await.unwrap(), 422, "invalid_body").await;
}

#[tokio::test]
async fn credential_administration_is_for_admins_only() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let sid = agon_testkit::claims(&bo.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/auth/admin/users".into(),
            Some(json!({ "email": "x@club.org", "password": PASSWORD, "roles": ["admin"] })),
        ),
        (
            "PUT",
            format!("/auth/admin/users/{}/password", bo.id),
            Some(json!({ "password": "taken over now" })),
        ),
        ("GET", format!("/auth/admin/users/{}/sessions", bo.id), None),
        ("DELETE", format!("/auth/admin/sessions/{sid}"), None),
    ];
    for (method, path, body) in cases {
        let mut request = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&ana.access_token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        assert_problem(request.send().await.unwrap(), 403, "forbidden").await;
    }
    assert_eq!(
        app.as_user(&bo)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "bo's session survived"
    );
    app.login("bo@club.org", PASSWORD).await;
}

fn kid(token: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_old_tokens_keep_working() {
    let app = TestApp::spawn_with(|c| c.auth.key_publish_delay_secs = 2).await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let old_kid = kid(&ana.access_token);

    let rotated: Value = app
        .as_user(&admin)
        .post_json("/auth/admin/keys/rotate", json!(null))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&new_kid.as_str()) && kids.contains(&old_kid.as_str()),
        "{kids:?}"
    );

    // Published, not yet signing.
    assert_eq!(
        kid(&app.login("ana@club.org", PASSWORD).await.access_token),
        old_kid
    );
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let fresh = app.login("ana@club.org", PASSWORD).await;
    assert_eq!(kid(&fresh.access_token), new_kid);
    // Tokens of both keys verify, at a service and at the gateway's edge.
    for token in [&ana.access_token, &fresh.access_token] {
        assert_eq!(
            app.with_token(token)
                .get("/users/me")
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let non_admin = app
        .as_user(&ana)
        .post_json("/auth/admin/keys/rotate", json!(null))
        .send()
        .await
        .unwrap();
    assert_problem(non_admin, 403, "forbidden").await;
}
