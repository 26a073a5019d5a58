//! GYM IT (seed 003): the identity journey its static frontend and `scripts/test-microservices.sh` drive.

use agon_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, json};
use serde_json::Value;

use super::call;

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({ "email": email, "password": password });
    call(app, "POST", "/api/auth/login", None, Some(body)).await
}

#[tokio::test]
async fn members_trainers_and_admins_go_through_gym_it_routes() {
    let app = TestApp::spawn_profile("gymit").await;
    let (status, health) = call(&app, "GET", "/healthz", None, None).await;
    assert_eq!(
        (status, health),
        (200, json!({ "status": "ok", "service": "api-gateway" }))
    );

    // Members are approved at once, trainers wait for an admin; asking to be an admin gives a member.
    let register = |email: &str, role: Option<&str>| {
        let mut body =
            json!({ "email": email, "password": "gym password 1", "full_name": "Ana Gym" });
        if let Some(role) = role {
            body["role"] = json!(role);
        }
        call(&app, "POST", "/api/auth/register", None, Some(body))
    };
    let (status, member) = register("Ana@Gym.com", None).await;
    assert_eq!(status, 201);
    assert_eq!(
        member,
        json!({ "detail": "Account created successfully",
                "user": { "email": "ana@gym.com", "role": "member", "is_approved": true } })
    );
    let (status, trainer) = register("tom@gym.com", Some("trainer")).await;
    assert_eq!(status, 201);
    assert_eq!(
        trainer["detail"],
        "Account created; awaiting admin approval"
    );
    assert_eq!(trainer["user"]["is_approved"], false);
    assert_eq!(
        register("eve@gym.com", Some("admin")).await.1["user"]["role"],
        "member"
    );
    assert_eq!(
        register("ana@gym.com", None).await,
        (409, json!({ "detail": "Email already registered" }))
    );

    // Logins answer the token and who logged in; refusals carry GYM IT's messages.
    let (status, ana) = login(&app, "ana@gym.com", "gym password 1").await;
    assert_eq!(status, 200, "{ana}");
    assert_eq!(ana["user"]["email"], "ana@gym.com");
    assert_eq!(ana["user"]["role"], "member");
    let ana_token = ana["access_token"].as_str().unwrap().to_owned();
    let ana_id = ana["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        login(&app, "tom@gym.com", "gym password 1").await,
        (403, json!({ "detail": "Account pending approval" }))
    );
    assert_eq!(
        login(&app, "ana@gym.com", "wrong password").await,
        (401, json!({ "detail": "Invalid credentials" }))
    );
    assert_eq!(login(&app, "", "").await.0, 400);

    let (status, me) = call(&app, "GET", "/api/users/me", Some(&ana_token), None).await;
    assert_eq!(status, 200);
    assert_eq!(me["full_name"], "Ana Gym");
    assert_eq!(me["role"], "member");
    assert_eq!(
        call(&app, "GET", "/api/users/me", None, None).await,
        (401, json!({ "detail": "Missing Authorization Header" }))
    );
    let (status, valid) = call(&app, "POST", "/api/auth/validate", Some(&ana_token), None).await;
    assert_eq!(status, 200);
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["user_id"], ana_id.as_str());

    // The admin lists, approves, bans, creates admins and deletes; members cannot.
    let (status, admin) = login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, 200);
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    let admin = Some(admin_token.as_str());
    let (status, users) = call(&app, "GET", "/api/users/", admin, None).await;
    assert_eq!(status, 200);
    let users = users.as_array().unwrap().clone();
    let tom = users.iter().find(|u| u["email"] == "tom@gym.com").unwrap();
    assert_eq!(
        (tom["role"].clone(), tom["is_approved"].clone()),
        (json!("trainer"), json!(false))
    );
    let tom_id = tom["id"].as_str().unwrap().to_owned();
    let response = app
        .client
        .get(app.url("/api/users"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.url().path(),
        "/api/users/",
        "Flask's strict slash: 308 to /api/users/"
    );
    assert_eq!(
        call(&app, "GET", "/api/users/", Some(&ana_token), None)
            .await
            .0,
        403
    );

    assert_eq!(
        call(&app, "PATCH", "/api/users/approve", admin, Some(json!({}))).await,
        (400, json!({ "detail": "user_id required" }))
    );
    assert_eq!(
        call(
            &app,
            "PATCH",
            "/api/users/approve",
            admin,
            Some(json!({ "user_id": tom_id }))
        )
        .await,
        (200, json!({ "detail": "User approved", "user_id": tom_id }))
    );
    app.until(|| async { login(&app, "tom@gym.com", "gym password 1").await.0 == 200 })
        .await;

    assert_eq!(
        call(
            &app,
            "PATCH",
            "/api/users/ban",
            admin,
            Some(json!({ "user_id": ana_id }))
        )
        .await,
        (200, json!({ "detail": "User banned", "user_id": ana_id }))
    );
    app.until(|| async {
        call(&app, "GET", "/api/users/me", Some(&ana_token), None)
            .await
            .0
            == 401
    })
    .await;
    assert_eq!(
        login(&app, "ana@gym.com", "gym password 1").await,
        (403, json!({ "detail": "Account is banned" }))
    );

    let new_admin =
        json!({ "email": "root@gym.com", "password": "root password 1", "full_name": "Root" });
    let (status, created) = call(
        &app,
        "POST",
        "/api/auth/create_admin",
        admin,
        Some(new_admin.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["detail"], "Admin created successfully");
    assert_eq!(created["user"]["role"], "admin");
    let (_, tom) = login(&app, "tom@gym.com", "gym password 1").await;
    let tom_token = tom["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/auth/create_admin",
            Some(&tom_token),
            Some(new_admin)
        )
        .await
        .0,
        403
    );

    // Notifications: sent by staff, read by the member through the platform's own inbox.
    let send = json!({ "message": "Court 2 is closed", "user_id": tom_id });
    assert_eq!(
        call(&app, "POST", "/api/notifications/send", admin, Some(send)).await,
        (200, json!({ "detail": "Notification sent" }))
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/notifications/send",
            admin,
            Some(json!({ "user_id": tom_id }))
        )
        .await,
        (400, json!({ "detail": "Message is required" }))
    );
    let (_, inbox) = call(&app, "GET", "/notifications", Some(&tom_token), None).await;
    assert_eq!(inbox["items"][0]["body"], "Court 2 is closed", "{inbox}");
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/notifications/broadcast",
            admin,
            Some(json!({ "message": "Gym opens at 7" }))
        )
        .await,
        (200, json!({ "detail": "Message broadcasted" }))
    );

    let path = format!("/api/users/{tom_id}");
    let (status, tom_public) = call(&app, "GET", &path, Some(&tom_token), None).await;
    assert_eq!(
        (status, tom_public["role"].clone()),
        (200, json!("trainer"))
    );
    assert_eq!(
        call(&app, "DELETE", &path, admin, None).await,
        (200, json!({ "detail": "User deleted" }))
    );
    assert_eq!(
        call(&app, "DELETE", &path, admin, None).await,
        (404, json!({ "detail": "User not found" }))
    );
}

#[tokio::test]
async fn the_frontend_is_served_from_the_configured_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>GYM IT</h1>").unwrap();
    std::fs::write(dir.path().join("tournaments.html"), "<h1>Tournaments</h1>").unwrap();
    std::fs::create_dir(dir.path().join("css")).unwrap();
    std::fs::write(dir.path().join("css/app.css"), "body{}").unwrap();
    let root = dir.path().to_owned();
    let app = TestApp::spawn_with(|c| {
        agon_testkit::use_profile(c, "gymit");
        c.gateway.static_dir = Some(root);
    })
    .await;
    let get = |path: &'static str| {
        let app = &app;
        async move {
            let r = app.get(path).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, ct.unwrap_or_default(), r.text().await.unwrap())
        }
    };
    assert_eq!(
        get("/").await,
        (200, "text/html".into(), "<h1>GYM IT</h1>".into())
    );
    assert_eq!(get("/tournaments").await.2, "<h1>Tournaments</h1>");
    assert_eq!(
        get("/css/app.css").await,
        (200, "text/css".into(), "body{}".into())
    );
    assert_eq!(get("/missing").await.0, 404);
    assert_eq!(get("/css/../../etc/passwd").await.0, 404);
    // The API is still the API.
    assert_eq!(
        get("/healthz").await.2,
        r#"{"service":"api-gateway","status":"ok"}"#
    );
}
