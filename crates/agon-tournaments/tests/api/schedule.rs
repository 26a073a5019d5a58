//! Scheduling through the API: courts and windows in the tournament's zone, a plan that respects feeders and rest,
//! placements by hand checked for conflicts, players told, and the calendar feeds.

use agon_testkit::{TestApp, TestUser, json};
use serde_json::Value;

use crate::send;

#[tokio::test]
async fn matches_are_planned_onto_courts_and_times_and_players_follow_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let body = json!({ "name": "Winter open", "format": "single_elimination", "capacity": 8,
                       "starts_at": "2027-01-16T09:00:00+01:00", "time_zone": "Europe/Madrid" });
    let (_, t) = send(&app, &admin, "POST", "/tournaments", body).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let at = |rest: &str| format!("/tournaments/{id}{rest}");
    send(
        &app,
        &admin,
        "POST",
        &at("/transitions"),
        json!({ "action": "open_registration" }),
    )
    .await;

    // Windows are local times in the tournament's zone; a time the clocks skip is refused.
    let settings = |windows: Value| {
        json!({ "match_minutes": 30, "rest_minutes": 15,
                                            "courts": ["Court 1", "Court 2"], "windows": windows })
    };
    let skipped = settings(json!([{ "date": "2027-03-28", "from": "02:30", "to": "05:00" }]));
    let (status, refused) = send(&app, &admin, "PUT", &at("/schedule"), skipped).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("invalid_body")),
        "{refused}"
    );
    let day = settings(json!([{ "date": "2027-01-16", "from": "09:00", "to": "13:00" }]));
    let (status, schedule) = send(&app, &admin, "PUT", &at("/schedule"), day).await;
    assert_eq!(status, 200, "{schedule}");
    assert_eq!(
        schedule["windows"][0]["starts_at"],
        "2027-01-16T08:00:00.000000Z"
    );
    let courts: Vec<Value> = schedule["courts"].as_array().unwrap().clone();
    let (status, early) = send(&app, &admin, "POST", &at("/schedule/plan"), json!({})).await;
    assert_eq!(
        (status, early["code"].as_str()),
        (409, Some("not_scheduling"))
    );

    // Six entries; Bo (seed 4) meets a guest in the first round, Ana (seed 1) has a bye.
    let entries = json!({ "participants": [
        { "name": "Ana", "user_id": ana.id }, { "name": "Gil" }, { "name": "Hal" },
        { "name": "Bo", "user_id": bo.id }, { "name": "Ivy" }, { "name": "Jo" } ] });
    let (_, entered) = send(&app, &admin, "POST", &at("/participants/batch"), entries).await;
    let order: Vec<Value> = entered
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    send(
        &app,
        &admin,
        "POST",
        &at("/draw"),
        json!({ "seeding": "manual", "order": order }),
    )
    .await;
    send(
        &app,
        &admin,
        "POST",
        &at("/transitions"),
        json!({ "action": "start" }),
    )
    .await;
    app.told(&bo, "match_ready", "time to be announced").await;

    let (status, planned) = send(&app, &admin, "POST", &at("/schedule/plan"), json!({})).await;
    assert_eq!(status, 200, "{planned}");
    let placed: Vec<&Value> = planned
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["starts_at"].is_string())
        .collect();
    // Two first-round matches side by side at 09:00, the semi-finals after them and the rest, the final last.
    let when = |m: &Value| {
        (
            m["round"].as_i64().unwrap(),
            m["starts_at"].as_str().unwrap().to_owned(),
        )
    };
    let mut slots: Vec<_> = placed.iter().map(|m| when(m)).collect();
    slots.sort();
    assert_eq!(
        slots,
        vec![
            (1, "2027-01-16T08:00:00.000000Z".into()),
            (1, "2027-01-16T08:00:00.000000Z".into()),
            (2, "2027-01-16T09:00:00.000000Z".into()),
            (2, "2027-01-16T09:00:00.000000Z".into()),
            (3, "2027-01-16T10:00:00.000000Z".into()),
        ],
        "{planned}"
    );
    app.told(&bo, "match_scheduled", "Sat 16 Jan 2027, 09:00 CET")
        .await;
    by_hand(&app, &admin, &id, &planned, &courts).await;
    replanned(&app, &admin, &id).await;

    // Bo wins: Ana's semi-final is ready, and she is told where and when.
    let bo_match = placed
        .iter()
        .find(|m| m["sides"][0]["name"] == "Bo")
        .unwrap();
    let result = json!({ "winner_id": bo_match["sides"][0]["id"] });
    let path = at(&format!("/matches/{}/result", bo_match["position"]));
    assert_eq!(send(&app, &admin, "PUT", &path, result).await.0, 200);
    app.told(&ana, "match_ready", "10:00 CET").await;
    feeds(&app, (&admin, &bo), &id).await;
}

/// Placing by hand: conflicts are named, a pinned match stays when the rest is planned again.
async fn by_hand(app: &TestApp, admin: &TestUser, id: &str, planned: &Value, courts: &[Value]) {
    let at = |rest: &str| format!("/tournaments/{id}{rest}");
    let matches = planned.as_array().unwrap();
    let final_match = matches.iter().find(|m| m["round"] == 3).unwrap();
    let first = matches
        .iter()
        .find(|m| m["round"] == 1 && m["starts_at"].is_string())
        .unwrap();
    let place = |m: &Value| at(&format!("/matches/{}/schedule", m["position"]));
    let too_soon = json!({ "court_id": courts[0]["id"], "starts_at": "2027-01-16T09:30:00+01:00" });
    let (status, refused) = send(app, admin, "PUT", &place(final_match), too_soon).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("schedule_conflict")),
        "{refused}"
    );
    let other = if first["court"]["id"] == courts[0]["id"] {
        &courts[1]
    } else {
        &courts[0]
    };
    let taken = json!({ "court_id": other["id"], "starts_at": "2027-01-16T09:00:00+01:00" });
    let (status, refused) = send(app, admin, "PUT", &place(first), taken).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("schedule_conflict")),
        "{refused}"
    );
    let later = json!({ "court_id": courts[1]["id"], "starts_at": "2027-01-16T12:00:00+01:00" });
    let (status, pinned) = send(app, admin, "PUT", &place(final_match), later).await;
    assert_eq!((status, &pinned["pinned"]), (200, &json!(true)), "{pinned}");
    let (_, again) = send(app, admin, "POST", &at("/schedule/plan"), json!({})).await;
    let final_again = &again[final_match["position"].as_u64().unwrap() as usize];
    assert_eq!(
        (&final_again["starts_at"], &final_again["court"]["name"]),
        (&json!("2027-01-16T11:00:00.000000Z"), &json!("Court 2"))
    );
    // A court with matches on it stays.
    let fewer = json!({ "match_minutes": 30, "courts": ["Court 1"],
                        "windows": [{ "date": "2027-01-16", "from": "09:00", "to": "13:00" }] });
    let (status, refused) = send(app, admin, "PUT", &at("/schedule"), fewer).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("court_in_use"))
    );
}

/// New timing re-plans at once; a match under way at the planning time stays where it is.
async fn replanned(app: &TestApp, admin: &TestUser, id: &str) {
    let at = |rest: &str| format!("/tournaments/{id}{rest}");
    let settings = |minutes: i64| {
        json!({ "match_minutes": minutes, "rest_minutes": 15, "courts": ["Court 1", "Court 2"],
                "windows": [{ "date": "2027-01-16", "from": "09:00", "to": "13:00" }] })
    };
    let starts = |matches: &Value, round: i64| -> Vec<String> {
        (matches.as_array().unwrap().iter())
            .filter(|m| m["round"] == round && m["starts_at"].is_string())
            .map(|m| m["starts_at"].as_str().unwrap().to_owned())
            .collect()
    };
    // 45-minute matches: the first round still at 09:00, the semi-finals at 10:30 (09:45 + 15 rest → next slot).
    let (status, view) = send(app, admin, "PUT", &at("/schedule"), settings(45)).await;
    assert_eq!(status, 200, "{view}");
    let (_, matches) = send(app, admin, "GET", &at("/matches"), Value::Null).await;
    assert_eq!(starts(&matches, 1), ["2027-01-16T08:00:00.000000Z"; 2]);
    assert_eq!(starts(&matches, 2), ["2027-01-16T09:30:00.000000Z"; 2]);
    // Planning from 09:20 local: the first round is under way and stays; the rest fits around the pinned final.
    let from = json!({ "from": "2027-01-16T09:20:00+01:00" });
    let (status, again) = send(app, admin, "POST", &at("/schedule/plan"), from).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(starts(&again, 1), ["2027-01-16T08:00:00.000000Z"; 2]);
    assert_eq!(starts(&again, 2), ["2027-01-16T09:30:00.000000Z"; 2]);
    let (status, view) = send(app, admin, "PUT", &at("/schedule"), settings(30)).await;
    assert_eq!(status, 200, "{view}");
}

/// The calendar feeds: no token, the key in the URL; a new key ends the old one, and a ban ends the key.
async fn feeds(app: &TestApp, (admin, bo): (&TestUser, &TestUser), id: &str) {
    let (status, key) = send(app, bo, "POST", "/tournaments/calendar", Value::Null).await;
    assert_eq!(status, 201, "{key}");
    let get = |path: String| async move {
        let response = app
            .client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, kind, response.text().await.unwrap())
    };
    let (status, kind, mine) = get(key["matches_url"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        (status, kind.as_deref()),
        (200, Some("text/calendar; charset=utf-8")),
        "{mine}"
    );
    assert!(
        mine.contains("BEGIN:VCALENDAR") && mine.contains("DTSTART:20270116T080000Z"),
        "{mine}"
    );
    assert!(
        mine.contains("against Ivy") && mine.contains("against Ana"),
        "{mine}"
    );
    let tournament_url = key["tournament_url"].as_str().unwrap().replace("{id}", id);
    let (status, _, all) = get(tournament_url.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(all.matches("BEGIN:VEVENT").count(), 5, "{all}");
    assert!(all.contains("LOCATION:Court 2"), "{all}");
    let (_, fresh) = send(app, bo, "POST", "/tournaments/calendar", Value::Null).await;
    assert_ne!(fresh["key"], key["key"]);
    assert_eq!(get(tournament_url).await.0, 404);
    assert_eq!(
        get("/tournaments/calendar/nothing/matches".into()).await.0,
        404
    );
    let fresh_url = fresh["matches_url"].as_str().unwrap().to_owned();
    assert_eq!(get(fresh_url.clone()).await.0, 200);
    let ban = json!({ "reason": "left the club" });
    let path = format!("/users/{}/ban", bo.id);
    assert_eq!(send(app, admin, "POST", &path, ban).await.0, 200);
    app.until(|| async { get(fresh_url.clone()).await.0 == 404 })
        .await;
}
