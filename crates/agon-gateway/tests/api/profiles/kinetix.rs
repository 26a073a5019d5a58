//! Kinetix (seed 000): the identity journey its mobile app and backoffice drive through the gateway.

use agon_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, json, use_profile};
use serde_json::Value;

use super::call;

fn signup(email: &str) -> Value {
    json!({ "email": email, "password": "kinetix password", "fullname": "Ana Runner",
            "description": "10k every sunday", "city": "Buenos Aires", "country": "Argentina",
            "latitude": -34.6, "longitude": -58.38 })
}

async fn token(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({ "email": email, "password": password });
    call(app, "POST", "/tokens", None, Some(body)).await
}

fn nest(status: u16, message: &str, error: &str) -> Value {
    json!({ "statusCode": status, "message": message, "error": error })
}

#[tokio::test]
async fn sign_up_log_in_edit_follow_block_recover_and_log_out_as_the_kinetix_app_does() {
    let app = TestApp::spawn_with_mail_and(|c| use_profile(c, "kinetix")).await;
    let (status, health) = call(&app, "GET", "/health", None, None).await;
    assert_eq!(
        (status, health),
        (200, json!({ "status": "Alive and kicking!" }))
    );

    // Sign-up carries the profile; the same email again is Nest's 400.
    let (status, ana) = call(
        &app,
        "POST",
        "/users",
        None,
        Some(signup("ana@kinetix.com")),
    )
    .await;
    assert_eq!(status, 201, "{ana}");
    assert_eq!(
        (&ana["fullname"], &ana["city"], &ana["blocked"]),
        (&json!("Ana Runner"), &json!("Buenos Aires"), &json!(false))
    );
    let ana_id = ana["id"].as_str().unwrap().to_owned();
    let (status, again) = call(
        &app,
        "POST",
        "/users",
        None,
        Some(signup("ana@kinetix.com")),
    )
    .await;
    assert_eq!(
        (status, again),
        (400, nest(400, "Email en uso", "Bad Request"))
    );
    let (_, bo) = call(&app, "POST", "/users", None, Some(signup("bo@kinetix.com"))).await;
    let bo_id = bo["id"].as_str().unwrap().to_owned();

    let (status, tokens) = token(&app, "ana@kinetix.com", "kinetix password").await;
    assert_eq!(status, 201);
    let ana_token = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(tokens.as_object().unwrap().len(), 1, "{tokens}");
    assert_eq!(
        token(&app, "ana@kinetix.com", "wrong password").await,
        (
            400,
            nest(400, "Email y password no corresponden", "Bad Request")
        )
    );
    let ana_auth = Some(ana_token.as_str());
    app.until(|| async { call(&app, "GET", "/users/me", ana_auth, None).await.0 == 200 })
        .await;
    let (_, me) = call(&app, "GET", "/users/me", ana_auth, None).await;
    assert_eq!(me["id"], ana_id.as_str());
    assert_eq!(me["description"], "10k every sunday");
    assert_eq!(
        (&me["latitude"], &me["longitude"]),
        (&json!(-34.6), &json!(-58.38))
    );
    assert_eq!(me["profileimage"], "profile.jpg");
    let (status, _) = call(&app, "GET", "/users/me", None, None).await;
    assert_eq!(status, 403, "Nest's AuthGuard: Forbidden resource");

    // Edits: one's own profile only.
    let own = format!("/users/{ana_id}");
    let (status, edited) = call(
        &app,
        "PATCH",
        &own,
        ana_auth,
        Some(json!({ "city": "Rosario" })),
    )
    .await;
    assert_eq!((status, edited["city"].clone()), (200, json!("Rosario")));
    let other = format!("/users/{bo_id}");
    let (status, _) = call(
        &app,
        "PATCH",
        &other,
        ana_auth,
        Some(json!({ "city": "Nope" })),
    )
    .await;
    assert_eq!(status, 401);
    let (status, public) = call(&app, "GET", &other, ana_auth, None).await;
    assert_eq!(
        (status, public["fullname"].clone()),
        (200, json!("Ana Runner"))
    );

    // Follows.
    let follow = format!("/users/{ana_id}/following/{bo_id}");
    assert_eq!(call(&app, "POST", &follow, ana_auth, None).await.0, 201);
    let (_, followers) = call(
        &app,
        "GET",
        &format!("/users/{bo_id}/followers"),
        ana_auth,
        None,
    )
    .await;
    assert_eq!(
        followers.as_array().unwrap()[0]["id"],
        ana_id.as_str(),
        "{followers}"
    );
    let as_bo = format!("/users/{bo_id}/following/{ana_id}");
    assert_eq!(
        call(&app, "POST", &as_bo, ana_auth, None).await.0,
        401,
        "only as oneself"
    );
    assert_eq!(call(&app, "DELETE", &follow, ana_auth, None).await.0, 200);

    // Nearby members, by the caller's own location (both signed up in Buenos Aires).
    let (status, near) = call(&app, "GET", "/users?maxDistance=10", ana_auth, None).await;
    assert_eq!(status, 200, "{near}");
    assert!(
        near.as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == bo_id.as_str()),
        "{near}"
    );
    let far = "/users?maxDistance=10&latitude=48.85&longitude=2.35";
    assert_eq!(
        call(&app, "GET", far, ana_auth, None).await.1,
        json!([]),
        "nobody near Paris"
    );
    let (_, named) = call(&app, "GET", "/users?q=runner", ana_auth, None).await;
    assert!(named.as_array().unwrap().len() >= 2, "{named}");

    // An id is an id: `me` (a literal of the platform's paths) reaches nothing.
    assert_eq!(
        call(&app, "DELETE", "/users/me", ana_auth, None).await.0,
        404
    );
    assert_eq!(
        call(&app, "GET", "/users/admin", ana_auth, None).await.0,
        404
    );
    assert_eq!(call(&app, "GET", "/users/me", ana_auth, None).await.0, 200);

    // The backoffice: counts, admins, blocking.
    let (_, admin) = token(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    let admin = Some(admin_token.as_str());
    let (status, count) = call(&app, "GET", "/users/count", admin, None).await;
    assert_eq!(
        (status, count["count"].as_i64().unwrap() >= 3),
        (200, true),
        "{count}"
    );
    assert_eq!(
        call(&app, "GET", "/users/count", ana_auth, None).await.0,
        401
    );
    let new_admin =
        json!({ "email": "boss@kinetix.com", "password": "boss password 1", "fullname": "Boss" });
    let (status, created) = call(&app, "POST", "/admin", admin, Some(new_admin)).await;
    assert_eq!(
        (status, created["email"].clone()),
        (201, json!("boss@kinetix.com"))
    );
    let status_of = format!("/users/{bo_id}/status");
    let (status, blocked) = call(
        &app,
        "PATCH",
        &status_of,
        admin,
        Some(json!({ "blocked": true })),
    )
    .await;
    assert_eq!((status, blocked["blocked"].clone()), (200, json!(true)));
    app.until(|| async { token(&app, "bo@kinetix.com", "kinetix password").await.0 == 401 })
        .await;
    assert_eq!(
        token(&app, "bo@kinetix.com", "kinetix password").await.1,
        nest(401, "El usuario se encuentra bloqueado", "Unauthorized")
    );
    let (status, _) = call(
        &app,
        "PATCH",
        &status_of,
        admin,
        Some(json!({ "blocked": "maybe" })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        call(
            &app,
            "PATCH",
            &status_of,
            admin,
            Some(json!({ "blocked": false }))
        )
        .await
        .0,
        200
    );
    app.until(|| async { token(&app, "bo@kinetix.com", "kinetix password").await.0 == 201 })
        .await;

    // Password recovery through the mailed token.
    let (status, sent) = call(
        &app,
        "POST",
        "/users/password",
        None,
        Some(json!({ "email": "ana@kinetix.com" })),
    )
    .await;
    assert_eq!(
        (status, sent),
        (201, json!({ "message": "Mail enviado a ana@kinetix.com" }))
    );
    let code = app
        .mail("ana@kinetix.com", "Reset your password")
        .await
        .code();
    let reset =
        |token: &str| json!({ "password": "a new kinetix password", "passRecoveryToken": token });
    assert_eq!(
        call(
            &app,
            "PATCH",
            "/users/password",
            None,
            Some(reset("forged"))
        )
        .await,
        (400, nest(400, "Token invalido", "Bad Request"))
    );
    assert_eq!(
        call(&app, "PATCH", "/users/password", None, Some(reset(&code))).await,
        (200, json!({ "message": "Passowrd cambiado exitosamente" }))
    );
    let (status, tokens) = token(&app, "ana@kinetix.com", "a new kinetix password").await;
    assert_eq!(status, 201);
    let fresh = tokens["access_token"].as_str().unwrap().to_owned();

    // Logout ends the bearer's own session.
    assert_eq!(
        call(&app, "DELETE", "/tokens", Some(&fresh), None).await.0,
        200
    );
    app.until(|| async { call(&app, "GET", "/users/me", Some(&fresh), None).await.0 == 403 })
        .await;
    let (status, body) = call(&app, "DELETE", "/tokens", None, None).await;
    assert_eq!(
        (status, body),
        (401, json!({ "detail": "Not authenticated" }))
    );
}

#[tokio::test]
async fn the_backoffice_edits_the_service_registry_and_reads_the_user_metrics() {
    let app = TestApp::spawn_profile("kinetix").await;
    let (_, admin) = token(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    let admin = Some(admin_token.as_str());
    call(
        &app,
        "POST",
        "/users",
        None,
        Some(signup("ana@kinetix.com")),
    )
    .await;
    let (_, ana) = token(&app, "ana@kinetix.com", "kinetix password").await;
    let ana_token = ana["access_token"].as_str().unwrap().to_owned();

    let service = json!({ "name": "scores", "url": "http://127.0.0.1:9", "path": "/scores" });
    let (status, created) = call(&app, "POST", "/services", admin, Some(service.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (&created["path"], &created["blocked"]),
        (&json!("/scores"), &json!(false))
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&app, "POST", "/services", admin, Some(service)).await,
        (
            409,
            json!({ "detail": "A service with the name \"scores\" already exists" })
        )
    );
    let (status, listed) = call(&app, "GET", "/services", admin, None).await;
    assert_eq!((status, listed[0]["name"].clone()), (200, json!("scores")));
    assert_eq!(
        call(&app, "GET", "/services", Some(&ana_token), None).await,
        (
            403,
            json!({ "detail": "Action requires admin permissions" })
        )
    );
    assert_eq!(
        call(&app, "GET", "/services", None, None).await,
        (401, json!({ "detail": "Not authenticated" }))
    );
    let count = |query: &'static str| {
        let app = &app;
        async move { call(app, "GET", &format!("/services/count{query}"), admin, None).await }
    };
    assert_eq!(count("").await, (200, json!({ "count": 1 })));
    assert_eq!(count("?blocked=true").await.1, json!({ "count": 0 }));
    let one = format!("/services/{id}");
    let (status, blocked) =
        call(&app, "PATCH", &one, admin, Some(json!({ "blocked": true }))).await;
    assert_eq!((status, blocked["blocked"].clone()), (200, json!(true)));
    assert_eq!(count("?blocked=true").await.1, json!({ "count": 1 }));
    let (status, deleted) = call(&app, "DELETE", &one, admin, None).await;
    assert_eq!((status, deleted["name"].clone()), (200, json!("scores")));
    assert_eq!(
        call(&app, "GET", &one, admin, None).await,
        (404, json!({ "detail": "Service not found" }))
    );

    // The dashboard's counters follow the events.
    app.until(|| async {
        let (status, metrics) = call(&app, "GET", "/metrics/users", admin, None).await;
        status == 200 && metrics["signinsWithMail"] == 1 && metrics["loginsWithMail"] == 2
    })
    .await;
    let (_, metrics) = call(&app, "GET", "/metrics/users/", admin, None).await;
    assert_eq!(metrics["blockedUsers"], 0, "{metrics}");
    assert_eq!(metrics.as_object().unwrap().len(), 6, "{metrics}");
}
