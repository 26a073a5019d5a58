//! Follows, nearby search, preferences and devices.

use agon_testkit::{TestApp, assert_problem, json};
use serde_json::Value;

#[tokio::test]
async fn members_follow_and_list_each_other() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let cy = app.register("cy@club.org").await;
    for (who, whom) in [(&bo, &ana), (&cy, &ana), (&ana, &bo)] {
        let r = app
            .as_user(who)
            .put_json(&format!("/users/{}/follow", whom.id), json!(null))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    // Idempotent.
    assert_eq!(
        app.as_user(&bo)
            .put_json(&format!("/users/{}/follow", ana.id), json!(null))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let followers: Value = app
        .as_user(&bo)
        .get(&format!("/users/{}/followers?limit=1", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(followers["items"].as_array().unwrap().len(), 1);
    let next = followers["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .as_user(&bo)
        .get(&format!(
            "/users/{}/followers?limit=1&cursor={next}",
            ana.id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids = vec![
        followers["items"][0]["id"].clone(),
        rest["items"][0]["id"].clone(),
    ];
    ids.sort_by_key(|v| v.as_str().unwrap().to_owned());
    let mut expected = vec![json!(bo.id.to_string()), json!(cy.id.to_string())];
    expected.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(ids, expected);
    let view: Value = app
        .as_user(&cy)
        .get(&format!("/users/{}", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (view["followers"].as_i64(), view["following"].as_i64()),
        (Some(2), Some(1))
    );

    assert_eq!(
        app.as_user(&bo)
            .delete(&format!("/users/{}/follow", ana.id))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let following: Value = app
        .as_user(&bo)
        .get(&format!("/users/{}/following", bo.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(following["items"].as_array().unwrap().is_empty());
    assert_problem(
        app.as_user(&ana)
            .put_json(&format!("/users/{}/follow", ana.id), json!(null))
            .send()
            .await
            .unwrap(),
        409,
        "cannot_follow_self",
    )
    .await;
    let ghost = uuid::Uuid::now_v7();
    assert_problem(
        app.as_user(&ana)
            .put_json(&format!("/users/{ghost}/follow"), json!(null))
            .send()
            .await
            .unwrap(),
        404,
        "user_not_found",
    )
    .await;

    // A deleted member disappears from others' lists.
    app.as_user(&cy).delete("/users/me").send().await.unwrap();
    let followers: Value = app
        .as_user(&bo)
        .get(&format!("/users/{}/followers", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(followers["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn nearby_finds_members_within_the_radius_nearest_first() {
    let app = TestApp::spawn().await;
    let me = app.register("me@club.org").await;
    let places = [
        ("lyon1", 45.7640, 4.8357),
        ("villeurbanne", 45.7719, 4.8902),
        ("grenoble", 45.1885, 5.7245),
        ("paris", 48.8566, 2.3522),
    ];
    for (name, lat, lon) in places {
        let u = app.register(&format!("{name}@club.org")).await;
        let r = app
            .as_user(&u)
            .put_json(
                "/users/me/location",
                json!({ "latitude": lat, "longitude": lon }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let near_me = app.as_user(&me);
    assert_problem(
        near_me
            .get("/users/nearby?radius_km=10")
            .send()
            .await
            .unwrap(),
        422,
        "invalid_body",
    )
    .await;
    near_me
        .put_json(
            "/users/me/location",
            json!({ "latitude": 45.7600, "longitude": 4.8400 }),
        )
        .send()
        .await
        .unwrap();
    let page: Value = near_me
        .get("/users/nearby?radius_km=10")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["lyon1", "villeurbanne"]);
    let first = page["items"][0]["distance_km"].as_f64().unwrap();
    assert!(first < 1.0, "{first}");
    // Wider, around a given point, in pages of one.
    let mut seen = Vec::new();
    let mut path = "/users/nearby?radius_km=120&latitude=45.76&longitude=4.84&limit=1".to_owned();
    loop {
        let page: Value = near_me
            .get(&path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["display_name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => {
                path = format!(
                    "/users/nearby?radius_km=120&latitude=45.76&longitude=4.84&limit=1&cursor={c}"
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, vec!["lyon1", "villeurbanne", "grenoble"]);
    for bad in [
        "radius_km=0",
        "radius_km=501",
        "radius_km=5&latitude=95&longitude=0",
        "radius_km=5&latitude=45",
    ] {
        let r = near_me
            .get(&format!("/users/nearby?{bad}"))
            .send()
            .await
            .unwrap();
        assert_problem(r, 422, "invalid_body").await;
    }
    let bad_location = near_me.put_json(
        "/users/me/location",
        json!({ "latitude": 45, "longitude": 200 }),
    );
    assert_problem(bad_location.send().await.unwrap(), 422, "invalid_body").await;
}

#[tokio::test]
async fn preferences_and_devices_belong_to_their_owner() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let me = app.as_user(&ana);
    assert_eq!(
        me.get("/users/me/preferences")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        json!({})
    );
    let prefs = json!({ "units": "metric", "notifications": { "email": false } });
    assert_eq!(
        me.put_json("/users/me/preferences", prefs.clone())
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        prefs
    );
    assert_eq!(
        me.get("/users/me/preferences")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        prefs
    );
    assert_problem(
        me.put_json("/users/me/preferences", json!([1, 2]))
            .send()
            .await
            .unwrap(),
        422,
        "invalid_body",
    )
    .await;
    let huge = json!({ "blob": "x".repeat(9000) });
    assert_problem(
        me.put_json("/users/me/preferences", huge)
            .send()
            .await
            .unwrap(),
        422,
        "invalid_body",
    )
    .await;

    assert_eq!(
        me.post_json(
            "/users/me/devices",
            json!({ "token": "tok-1", "platform": "ios" })
        )
        .send()
        .await
        .unwrap()
        .status(),
        204
    );
    let bad = me.post_json(
        "/users/me/devices",
        json!({ "token": "tok-2", "platform": "palm" }),
    );
    assert_problem(bad.send().await.unwrap(), 422, "invalid_body").await;
    // The same phone signed in as bo: refused while ana holds it (tests/api/hostile.rs has the rest).
    let taken = app.as_user(&bo).post_json(
        "/users/me/devices",
        json!({ "token": "tok-1", "platform": "ios" }),
    );
    assert_problem(taken.send().await.unwrap(), 409, "device_taken").await;
    let mine: Value = me
        .get("/users/me/devices")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["token"], "tok-1");
    assert_problem(
        app.as_user(&bo)
            .delete("/users/me/devices/tok-1")
            .send()
            .await
            .unwrap(),
        404,
        "device_not_found",
    )
    .await;
    assert_eq!(
        me.delete("/users/me/devices/tok-1")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
}
