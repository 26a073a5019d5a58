//! Hostile input: device takeover and flooding, wildcard search, control characters, forged cursors.

use agon_testkit::{TestApp, TestUser, assert_problem, json};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

async fn register_device(app: &TestApp, user: &TestUser, token: &str, platform: &str) -> u16 {
    app.as_user(user)
        .post_json(
            "/users/me/devices",
            json!({ "token": token, "platform": platform }),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Every device of `user`, following the cursors `limit` at a time.
async fn all_devices(app: &TestApp, user: &TestUser, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = format!("/users/me/devices?limit={limit}");
    loop {
        let page: Value = app
            .as_user(user)
            .get(&path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit as usize, "{page}");
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/users/me/devices?limit={limit}&cursor={c}"),
            None => return items,
        }
    }
}

/// Who the notifications service believes holds `token`, once the users outbox is drained.
async fn push_owner(app: &TestApp, token: &str) -> Option<String> {
    app.until(|| async { app.count("users", "outbox").await == 0 })
        .await;
    let db = app.database("notifications").await;
    sqlx::query_scalar::<_, String>("select user_id from push_tokens where token = $1")
        .bind(token)
        .fetch_optional(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_device_token_stays_with_its_first_owner() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    assert_eq!(register_device(&app, &ana, "tok-1", "ios").await, 204);
    let first = all_devices(&app, &ana, 10).await;

    let taken = app
        .as_user(&bo)
        .post_json(
            "/users/me/devices",
            json!({ "token": "tok-1", "platform": "android" }),
        )
        .send()
        .await
        .unwrap();
    assert_problem(taken, 409, "device_taken").await;
    assert!(all_devices(&app, &bo, 10).await.is_empty());
    assert_eq!(all_devices(&app, &ana, 10).await, first, "nothing changed");
    assert_eq!(
        push_owner(&app, "tok-1").await,
        Some(ana.id.to_string()),
        "pushes still go to ana"
    );

    // The owner registering again refreshes the device.
    assert_eq!(register_device(&app, &ana, "tok-1", "android").await, 204);
    let again = all_devices(&app, &ana, 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["platform"], "android");
    assert_eq!(again[0]["created_at"], first[0]["created_at"]);
    assert!(again[0]["last_seen_at"].as_str() >= first[0]["last_seen_at"].as_str());

    // Once ana removes it, the phone can change hands.
    let removed = app
        .as_user(&ana)
        .delete("/users/me/devices/tok-1")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(register_device(&app, &bo, "tok-1", "ios").await, 204);
    assert_eq!(push_owner(&app, "tok-1").await, Some(bo.id.to_string()));
}

#[tokio::test]
async fn devices_beyond_the_cap_evict_the_least_recently_seen() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    for i in 0..50 {
        assert_eq!(
            register_device(&app, &ana, &format!("tok-{i}"), "web").await,
            204
        );
    }
    // tok-0 is seen again, so tok-1 is now the least recently seen.
    assert_eq!(register_device(&app, &ana, "tok-0", "web").await, 204);
    assert_eq!(register_device(&app, &ana, "tok-50", "web").await, 204);
    let tokens: Vec<String> = all_devices(&app, &ana, 20)
        .await
        .iter()
        .map(|d| d["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 50);
    assert!(!tokens.contains(&"tok-1".to_owned()), "{tokens:?}");
    assert!(tokens.contains(&"tok-0".to_owned()) && tokens.contains(&"tok-50".to_owned()));
    // The eviction is announced as a deletion is: the notifications service forgot the token.
    assert_eq!(push_owner(&app, "tok-1").await, None);
    assert_eq!(push_owner(&app, "tok-50").await, Some(ana.id.to_string()));
    assert_eq!(app.count("notifications", "push_tokens").await, 50);
}

#[tokio::test]
async fn the_device_list_is_a_cursor_page() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    for i in 0..25 {
        assert_eq!(
            register_device(&app, &ana, &format!("tok-{i:02}"), "ios").await,
            204
        );
    }
    let first: Value = app
        .as_user(&ana)
        .get("/users/me/devices")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        first["items"].as_array().unwrap().len(),
        20,
        "the default page"
    );
    assert!(first["next_cursor"].is_string());
    let mut tokens: Vec<String> = all_devices(&app, &ana, 7)
        .await
        .iter()
        .map(|d| d["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 25);
    tokens.dedup();
    assert_eq!(tokens.len(), 25, "registration order, no repeats");
    assert_eq!(tokens[0], "tok-00");
}

#[tokio::test]
async fn search_wildcards_match_literally() {
    let app = TestApp::spawn().await;
    let names = ["100% Ana", "ana_b", "Anabel", "Back\\slash", "anaXb"];
    for (i, name) in names.iter().enumerate() {
        let user = app.register(&format!("m{i}@club.org")).await;
        let r = app
            .as_user(&user)
            .patch_json("/users/me", json!({ "display_name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let viewer = app.register("viewer@club.org").await;
    let search = |q: &'static str| {
        let app = &app;
        let viewer = &viewer;
        async move {
            let page: Value = app
                .as_user(viewer)
                .get(&format!("/users?q={q}&limit=100"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut found: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["display_name"].as_str().unwrap().to_owned())
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(search("%25").await, ["100% Ana"]);
    assert_eq!(search("_").await, ["ana_b"]);
    assert_eq!(search("%5C").await, ["Back\\slash"]);
    assert_eq!(search("a_b").await, ["ana_b"], "`_` is not any character");
    assert_eq!(search("0%25%20a").await, ["100% Ana"], "case-insensitive");
    assert_eq!(
        search("ANA").await,
        ["100% Ana", "Anabel", "anaXb", "ana_b"],
        "case-insensitive"
    );
}

#[tokio::test]
async fn control_characters_are_refused_in_profile_text() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let me = app.as_user(&ana);
    let set = me
        .patch_json(
            "/users/me",
            json!({ "display_name": "Ana", "bio": "Runner\nand swimmer" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200, "a bio keeps its line feeds");
    let before: Value = me
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (field, value) in [
        ("display_name", "An\0a"),
        ("display_name", "Ana\u{7}"),
        ("display_name", "\u{1b}[31mAna"),
        ("display_name", "Ana\nAdmin"),
        ("display_name", "Ana\u{202E}nimda"),
        ("display_name", "A\u{200B}na"),
        ("bio", "Runner\u{1b}[2J"),
        ("bio", "Runner\r\nx"),
        ("city", "Lyon\0"),
        ("country", "F\u{7}R"),
        ("avatar_url", "https://img.example/\u{0}a.png"),
    ] {
        let problem = assert_problem(
            me.patch_json("/users/me", json!({ field: value }))
                .send()
                .await
                .unwrap(),
            422,
            "invalid_body",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{value:?}: {problem}");
    }
    let after: Value = me
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, before, "the profile is unchanged");

    let prefs = me
        .put_json(
            "/users/me/preferences",
            json!({ "ok": { "bad\u{7}key": 1 } }),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(prefs, 422, "invalid_body").await;
    assert_eq!(problem["errors"][0]["field"], "ok");
    let device = me
        .post_json(
            "/users/me/devices",
            json!({ "token": "tok\0\u{1b}", "platform": "ios" }),
        )
        .send()
        .await
        .unwrap();
    assert_problem(device, 422, "invalid_body").await;
    assert_eq!(app.count("users", "devices").await, 0);
}

#[tokio::test]
async fn cursors_that_are_not_ours_are_refused() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let too_long = "A".repeat(5000);
    let wrong_shape = URL_SAFE_NO_PAD.encode("hello, world");
    let not_a_distance = URL_SAFE_NO_PAD.encode(format!("NaN|{}", ana.id));
    for list in [
        "/users?".to_owned(),
        format!("/users/{}/followers?", ana.id),
        "/users/me/devices?".to_owned(),
        "/users/nearby?radius_km=10&latitude=45&longitude=5&".to_owned(),
        "/users/admin?".to_owned(),
    ] {
        let caller = if list.starts_with("/users/admin") {
            app.admin().await
        } else {
            ana.clone()
        };
        for cursor in [&too_long, &wrong_shape, &not_a_distance] {
            let response = app
                .as_user(&caller)
                .get(&format!("{list}cursor={cursor}"))
                .send()
                .await
                .unwrap();
            assert_problem(response, 400, "invalid_cursor").await;
        }
    }
}
