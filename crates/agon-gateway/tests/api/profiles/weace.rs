//! WeAce (seed 002): the identity and notification journey its web app drives through `/api/v1`.

use agon_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, json, use_profile};
use serde_json::Value;

use super::call;

const PASSWORD: &str = "WeAce#Pass1";

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({ "email": email, "password": password });
    call(app, "POST", "/api/v1/auth/login", None, Some(body)).await
}

fn nest(status: u16, message: &str, error: &str) -> Value {
    json!({ "statusCode": status, "message": message, "error": error })
}

#[tokio::test]
async fn register_log_in_manage_the_profile_and_read_notifications_as_the_weace_app_does() {
    let app = TestApp::spawn_with_mail_and(|c| use_profile(c, "weace")).await;
    let (status, health) = call(&app, "GET", "/api/v1/health", None, None).await;
    assert_eq!((status, health["status"].clone()), (200, json!("ok")));

    let register = json!({ "email": "ana@weace.io", "password": PASSWORD, "firstName": "Ana",
                           "lastName": "Coachee", "role": "coachee", "gender": "Female" });
    let (status, registered) = call(
        &app,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(register.clone()),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    assert_eq!(
        (&registered["userConfirmed"], &registered["message"]),
        (&json!(true), &json!("User registered successfully"))
    );
    let ana_id = registered["userId"].as_str().unwrap().to_owned();
    let (status, again) = call(&app, "POST", "/api/v1/auth/register", None, Some(register)).await;
    assert_eq!((status, again["statusCode"].clone()), (400, json!(400)));

    let (status, tokens) = login(&app, "ana@weace.io", PASSWORD).await;
    assert_eq!(
        (status, tokens["tokenType"].clone()),
        (200, json!("Bearer")),
        "{tokens}"
    );
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(
        login(&app, "ana@weace.io", "Wrong#Pass1").await,
        (
            401,
            nest(
                401,
                "Sign in failed: Incorrect username or password.",
                "Unauthorized"
            )
        )
    );
    let ana = Some(access.as_str());
    app.until(|| async {
        call(&app, "GET", "/api/v1/auth/verify-token", ana, None)
            .await
            .0
            == 200
    })
    .await;
    let (_, verified) = call(&app, "GET", "/api/v1/auth/verify-token", ana, None).await;
    assert_eq!(
        (&verified["userId"], &verified["role"]),
        (&json!(ana_id), &json!("coachee"))
    );
    assert_eq!(verified["firstName"], "Ana Coachee");
    assert_eq!(
        call(&app, "GET", "/api/v1/auth/verify-token", None, None).await,
        (
            401,
            nest(
                401,
                "Authorization header with Bearer token is required",
                "Unauthorized"
            )
        )
    );

    // Profile: read, edit one's own only, list and search.
    let (status, profile) = call(&app, "GET", "/api/v1/users/profile", ana, None).await;
    assert_eq!(
        (status, profile["message"].clone()),
        (200, json!("User profile retrieved"))
    );
    assert_eq!(profile["data"]["email"], "ana@weace.io");
    let own = format!("/api/v1/users/{ana_id}");
    let (status, updated) = call(
        &app,
        "PUT",
        &own,
        ana,
        Some(json!({ "bio": "Coachee since 2024" })),
    )
    .await;
    assert_eq!(
        (status, updated["data"]["bio"].clone()),
        (200, json!("Coachee since 2024")),
        "{updated}"
    );
    assert_eq!(
        updated["data"]["display_name"], "Ana Coachee",
        "a name left out stays"
    );
    let (_, admin) = login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_token = admin["accessToken"].as_str().unwrap().to_owned();
    let admin = Some(admin_token.as_str());
    let (_, admin_me) = call(&app, "GET", "/api/v1/users/profile", admin, None).await;
    let admin_path = format!("/api/v1/users/{}", admin_me["data"]["id"].as_str().unwrap());
    assert_eq!(
        call(&app, "PUT", &admin_path, ana, Some(json!({ "bio": "x" })))
            .await
            .0,
        403
    );
    let (status, found) = call(
        &app,
        "POST",
        "/api/v1/users/search",
        ana,
        Some(json!({ "query": "coachee" })),
    )
    .await;
    assert_eq!(
        (status, found["data"][0]["id"].clone()),
        (201, json!(ana_id)),
        "{found}"
    );
    let (status, listed) = call(&app, "GET", "/api/v1/users?limit=1", ana, None).await;
    assert_eq!((status, listed["data"].as_array().unwrap().len()), (200, 1));
    assert!(listed["nextCursor"].is_string(), "{listed}");

    // Tokens refresh; a forgotten password is reset with the mailed code.
    let refresh = json!({ "refreshToken": tokens["refreshToken"] });
    let (status, refreshed) = call(
        &app,
        "POST",
        "/api/v1/auth/sso/refresh",
        None,
        Some(refresh),
    )
    .await;
    assert_eq!(
        (status, refreshed["message"].clone()),
        (201, json!("Tokens refreshed successfully"))
    );
    let forgot = json!({ "email": "ana@weace.io" });
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/v1/auth/forgot-password",
            None,
            Some(forgot)
        )
        .await
        .0,
        200
    );
    let code = app.mail("ana@weace.io", "Reset your password").await.code();
    let confirm =
        json!({ "email": "ana@weace.io", "confirmationCode": code, "newPassword": "WeAce#Pass2" });
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/v1/auth/confirm-forgot-password",
            None,
            Some(confirm)
        )
        .await,
        (200, json!({ "message": "Password reset successfully" }))
    );
    let (status, tokens) = login(&app, "ana@weace.io", "WeAce#Pass2").await;
    assert_eq!(status, 200);
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let ana = Some(access.as_str());

    // Notifications: staff send, the member reads, marks and deletes her own.
    let note = json!({ "userId": ana_id, "type": "in_app", "title": "Session moved", "message": "Now at 6 pm" });
    let (status, sent) = call(
        &app,
        "POST",
        "/api/v1/notifications",
        admin,
        Some(note.clone()),
    )
    .await;
    assert_eq!(
        (status, sent["status"].clone()),
        (201, json!("sent")),
        "{sent}"
    );
    assert_eq!(
        call(&app, "POST", "/api/v1/notifications", ana, Some(note))
            .await
            .0,
        403
    );
    let (_, inbox) = call(&app, "GET", "/api/v1/notifications", ana, None).await;
    let first = &inbox["notifications"][0];
    assert_eq!(
        (&first["message"], &first["status"]),
        (&json!("Now at 6 pm"), &json!("sent")),
        "{inbox}"
    );
    let id = first["id"].as_str().unwrap().to_owned();
    let read = format!("/api/v1/notifications/{id}/mark-read");
    assert_eq!(
        call(&app, "PATCH", &read, ana, None).await.1,
        json!({ "message": "Notification marked as read" })
    );
    let (_, inbox) = call(&app, "GET", "/api/v1/notifications", ana, None).await;
    assert_eq!(inbox["notifications"][0]["status"], "read");
    let all = format!("/api/v1/notifications/user/{ana_id}/mark-read");
    assert_eq!(call(&app, "PATCH", &all, ana, None).await.0, 200);
    let one = format!("/api/v1/notifications/{id}");
    assert_eq!(call(&app, "DELETE", &one, ana, None).await.0, 200);
    assert_eq!(
        call(&app, "GET", &one, ana, None).await,
        (
            404,
            nest(
                404,
                &format!("Notification with ID {id} not found"),
                "Not Found"
            )
        )
    );

    // Staff create accounts; members cannot.
    let new_user = json!({ "email": "bo@weace.io", "password": "WeAce#Pass3" });
    let (status, created) = call(
        &app,
        "POST",
        "/api/v1/auth/admin/create-user",
        admin,
        Some(new_user.clone()),
    )
    .await;
    assert_eq!(
        (status, created["message"].clone()),
        (201, json!("User created successfully"))
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/v1/auth/admin/create-user",
            ana,
            Some(new_user)
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn administrators_set_passwords_delete_members_and_count_notifications_by_email() {
    let app = TestApp::spawn_profile("weace").await;
    let (_, admin) = login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_token = admin["accessToken"].as_str().unwrap().to_owned();
    let admin = Some(admin_token.as_str());
    let register = json!({ "email": "cy@weace.io", "password": PASSWORD, "firstName": "Cy",
                           "lastName": "Coachee", "role": "coachee", "gender": "Male" });
    let (status, _) = call(&app, "POST", "/api/v1/auth/register", None, Some(register)).await;
    assert_eq!(status, 201);
    let (_, tokens) = login(&app, "cy@weace.io", PASSWORD).await;
    let cy_token = tokens["accessToken"].as_str().unwrap().to_owned();
    let cy = Some(cy_token.as_str());

    // set-password by email: the member's sessions end and the new password logs in.
    let set = |body: Value| {
        call(
            &app,
            "POST",
            "/api/v1/auth/admin/set-password",
            admin,
            Some(body),
        )
    };
    let body = json!({ "email": "CY@weace.io", "password": "WeAce#Pass9", "permanent": true });
    app.until(|| async { set(body.clone()).await.0 == 200 })
        .await;
    assert_eq!(
        set(body.clone()).await.1,
        json!({ "message": "Password set successfully" })
    );
    assert_eq!(login(&app, "cy@weace.io", "WeAce#Pass9").await.0, 200);
    assert_eq!(
        call(&app, "GET", "/api/v1/auth/verify-token", cy, None)
            .await
            .0,
        401
    );
    let (status, body) =
        set(json!({ "email": "nobody@weace.io", "password": "WeAce#Pass9" })).await;
    assert_eq!(
        (status, body),
        (404, nest(404, "User does not exist.", "Not Found"))
    );
    // A blank email looks nothing up (a blank filter would match every account, the administrator first).
    for blank in [" ", "\t"] {
        let (status, _) = set(json!({ "email": blank, "password": "WeAce#Pass7" })).await;
        assert_eq!(status, 400, "{blank:?}");
    }
    assert_eq!(login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0, 200);
    // Without an email nothing is looked up either.
    assert_eq!(set(json!({ "password": "WeAce#Pass9" })).await.0, 400);
    let (_, tokens) = login(&app, "cy@weace.io", "WeAce#Pass9").await;
    let cy_token = tokens["accessToken"].as_str().unwrap().to_owned();
    let cy = Some(cy_token.as_str());
    let by_member = json!({ "email": "cy@weace.io", "password": "WeAce#Pass8" });
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/auth/admin/set-password",
        cy,
        Some(by_member),
    )
    .await;
    assert_eq!(status, 403);

    // Stats: administrators only.
    let (status, stats) = call(&app, "GET", "/api/v1/notifications/stats", admin, None).await;
    assert_eq!(status, 200, "{stats}");
    assert!(stats["total"].as_i64().unwrap() >= 1, "{stats}");
    assert!(
        stats["byStatus"].is_object() && stats["byType"].is_object(),
        "{stats}"
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/notifications/stats", cy, None)
            .await
            .0,
        403
    );

    // delete-user by email.
    let delete = json!({ "email": "cy@weace.io" });
    let (status, body) = call(
        &app,
        "POST",
        "/api/v1/auth/admin/delete-user",
        admin,
        Some(delete.clone()),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({ "message": "User deleted successfully" }))
    );
    // The account goes once the auth service has the users service's decision (through the bus).
    app.until(|| async { login(&app, "cy@weace.io", "WeAce#Pass9").await.0 == 401 })
        .await;
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/auth/admin/delete-user",
        admin,
        Some(delete),
    )
    .await;
    assert_eq!(status, 404);

    // No provider configured: the SSO routes say so.
    for path in ["/api/v1/auth/sso/login", "/api/v1/auth/login-url"] {
        let (status, body) = call(&app, "GET", path, None, None).await;
        assert_eq!(
            (status, body),
            (
                404,
                nest(404, "Single sign-on is not configured", "Not Found")
            ),
            "{path}"
        );
    }
    let (status, body) = call(&app, "GET", "/api/v1/auth/logout-url", None, None).await;
    let none = nest(
        404,
        "The identity provider publishes no logout page",
        "Not Found",
    );
    assert_eq!((status, body), (404, none));
}
