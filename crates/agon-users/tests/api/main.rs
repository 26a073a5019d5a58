//! The users service driven over HTTP through the gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod hostile;
mod social;

use agon_testkit::{TestApp, assert_problem, json};
use serde_json::Value;

#[tokio::test]
async fn registration_creates_the_profile_through_the_bus() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/auth/register",
            json!({ "email": "bo@club.org", "password": agon_testkit::PASSWORD, "display_name": "Bo" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let user = app.login("bo@club.org", agon_testkit::PASSWORD).await;
    app.until(|| async {
        app.as_user(&user)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    let me: Value = app
        .as_user(&user)
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user.id.to_string());
    assert_eq!(me["email"], "bo@club.org");
    assert_eq!(me["display_name"], "Bo");
    assert_eq!(me["roles"], json!(["athlete"]));
    // The event was consumed once and the outbox is empty.
    app.until(|| async { app.count("auth", "outbox").await == 0 })
        .await;
    assert_eq!(
        app.count("users", "inbox").await,
        2,
        "the admin's and Bo's registrations"
    );
}

/// A sign-up that fills the profile in the same call; the fields are checked before the account exists.
#[tokio::test]
async fn registration_may_carry_the_first_profile_fields() {
    let app = TestApp::spawn().await;
    let register = |profile: Value| {
        app.post_json(
            "/auth/register",
            json!({ "email": "cy@club.org", "password": agon_testkit::PASSWORD, "profile": profile }),
        )
        .send()
    };
    for (bad, field) in [
        (
            json!({ "latitude": 91.0, "longitude": 0.0 }),
            "profile.latitude",
        ),
        (json!({ "latitude": 10.0 }), "profile.latitude"),
        (json!({ "city": "x".repeat(101) }), "profile.city"),
        (json!({ "bio": "a\u{1b}[2Jb" }), "profile.bio"),
    ] {
        let problem = assert_problem(register(bad).await.unwrap(), 422, "invalid_body").await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let unknown = register(json!({ "shoe_size": 44 })).await.unwrap();
    assert_eq!(unknown.status(), 422);
    assert_eq!(
        app.count("auth", "accounts").await,
        1,
        "nothing but the admin was created"
    );

    let profile = json!({ "bio": " Runner ", "city": "Lyon", "country": "France", "latitude": 45.76, "longitude": 4.84 });
    assert_eq!(register(profile).await.unwrap().status(), 201);
    let user = app.login("cy@club.org", agon_testkit::PASSWORD).await;
    let me = || async {
        let r = app.as_user(&user).get("/users/me").send().await.unwrap();
        (r.status() == 200).then_some(()).map(|_| r)
    };
    app.until(|| async { me().await.is_some() }).await;
    let me: Value = me().await.unwrap().json().await.unwrap();
    assert_eq!(
        (
            &me["bio"],
            &me["city"],
            &me["country"],
            &me["latitude"],
            &me["longitude"]
        ),
        (
            &json!("Runner"),
            &json!("Lyon"),
            &json!("France"),
            &json!(45.76),
            &json!(4.84)
        )
    );
}

#[tokio::test]
async fn profile_edits_validate_and_clear() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let me = app.as_user(&ana);
    let updated: Value = me
        .patch_json("/users/me", json!({ "display_name": " Ana ", "bio": "Runner", "city": "Lyon", "avatar_url": "https://img.example/ana.png" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["display_name"], "Ana");
    assert_eq!(updated["city"], "Lyon");
    let cleared: Value = me
        .patch_json("/users/me", json!({ "city": null }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["city"], Value::Null);
    assert_eq!(cleared["bio"], "Runner", "fields left out stay");

    for (body, field) in [
        (json!({ "display_name": "" }), "display_name"),
        (json!({ "bio": "x".repeat(2001) }), "bio"),
        (json!({ "avatar_url": "javascript:alert(1)" }), "avatar_url"),
        (json!({ "bio": 5 }), "bio"),
    ] {
        let problem = assert_problem(
            me.patch_json("/users/me", body).send().await.unwrap(),
            422,
            "invalid_body",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let after: Value = me
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["bio"], "Runner", "rejected edits changed nothing");
}

#[tokio::test]
async fn owners_cannot_set_privileged_fields() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    for field in [
        "role", "roles", "approved", "banned", "verified", "email", "id",
    ] {
        let response = app
            .as_user(&ana)
            .patch_json("/users/me", json!({ field: "admin" }))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid_body").await;
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("unknown field"),
            "{field}: {problem}"
        );
    }
    let me: Value = app
        .as_user(&ana)
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["athlete"]));
}

#[tokio::test]
async fn public_view_hides_private_fields() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let view: Value = app
        .as_user(&bo)
        .get(&format!("/users/{}", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["id"], ana.id.to_string());
    assert!(view.get("email").is_none(), "{view}");
    let missing = app
        .as_user(&bo)
        .get(&format!("/users/{}", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    assert_problem(missing, 404, "user_not_found").await;
    let bad = app
        .as_user(&bo)
        .get("/users/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_problem(bad, 400, "invalid_path").await;
    let anonymous = app.get(&format!("/users/{}", ana.id)).send().await.unwrap();
    assert_problem(anonymous, 401, "unauthenticated").await;
}
