//! Entries in one step, the drawn bracket's shape, one match by its place, and the club leaderboard.

use agon_testkit::{TestApp, TestUser, json};
use serde_json::Value;

use crate::send;

/// Creates a single elimination of up to eight, taking entries.
async fn open_tournament(app: &TestApp, admin: &TestUser, name: &str) -> String {
    let body = json!({ "name": name, "format": "single_elimination", "capacity": 8,
                       "starts_at": "2026-12-12T10:00:00Z", "time_zone": "UTC" });
    let (status, t) = send(app, admin, "POST", "/tournaments", body).await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    let open = json!({ "action": "open_registration" });
    let (status, _) = send(
        app,
        admin,
        "POST",
        &format!("/tournaments/{id}/transitions"),
        open,
    )
    .await;
    assert_eq!(status, 200);
    id
}

/// Plays every ready match, the better seed (side 0) winning, until none is left.
async fn play_out(app: &TestApp, admin: &TestUser, id: &str) {
    loop {
        let (_, matches) = send(
            app,
            admin,
            "GET",
            &format!("/tournaments/{id}/matches"),
            Value::Null,
        )
        .await;
        let Some(m) = matches
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["ready"] == true)
        else {
            return;
        };
        let path = format!("/tournaments/{id}/matches/{}/result", m["position"]);
        let result = json!({ "winner_id": m["sides"][0]["id"], "score": "21-15" });
        assert_eq!(send(app, admin, "PUT", &path, result).await.0, 200);
    }
}

#[tokio::test]
async fn entries_in_one_step_are_all_or_none_and_results_feed_the_club_leaderboard() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let cy = app.register("cy@club.org").await;
    let id = open_tournament(&app, &admin, "Spring cup").await;
    let batch = format!("/tournaments/{id}/participants/batch");

    // The organiser enters three members and a guest at once, approved; a duplicate refuses the whole list.
    let entries = json!({ "participants": [
        { "name": "Ana", "user_id": ana.id }, { "name": "Bo", "user_id": bo.id },
        { "name": "Cy", "user_id": cy.id }, { "name": "Guest" } ] });
    let (status, entered) = send(&app, &admin, "POST", &batch, entries).await;
    assert_eq!(status, 201, "{entered}");
    let ids: Vec<Value> = entered
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(
        entered
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "approved")
    );
    let again =
        json!({ "participants": [{ "name": "Dee" }, { "name": "Ana", "user_id": ana.id }] });
    let (status, refused) = send(&app, &admin, "POST", &batch, again).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("already_entered"))
    );
    // A member sends only their own entry.
    let two = json!({ "participants": [{ "name": "Bo" }, { "name": "Friend" }] });
    assert_eq!(send(&app, &bo, "POST", &batch, two).await.0, 403);
    let (_, t) = send(
        &app,
        &ana,
        "GET",
        &format!("/tournaments/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(t["participant_count"], 4, "Dee was not entered: {t}");

    // Drawn in entry order: two semi-finals, then the final.
    let draw = json!({ "seeding": "manual", "order": ids });
    let (status, drawn) = send(
        &app,
        &admin,
        "POST",
        &format!("/tournaments/{id}/draw"),
        draw,
    )
    .await;
    assert_eq!(status, 200, "{drawn}");
    assert_eq!(
        drawn["bracket"],
        json!({ "rounds": 2, "matches": 3, "first_round": 2 })
    );
    let start = json!({ "action": "start" });
    send(
        &app,
        &admin,
        "POST",
        &format!("/tournaments/{id}/transitions"),
        start,
    )
    .await;
    play_out(&app, &admin, &id).await;
    let (status, last) = send(
        &app,
        &cy,
        "GET",
        &format!("/tournaments/{id}/matches/2"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (last["round"].as_i64(), last["winner"]["name"].as_str()),
        (Some(2), Some("Ana"))
    );
    assert_eq!(last["winner"]["user_id"], json!(ana.id));
    let (status, _) = send(
        &app,
        &cy,
        "GET",
        &format!("/tournaments/{id}/matches/3"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);

    // Ana won two matches and the title, Bo one match; Cy lost one; the guest has no line.
    let (status, board) = send(
        &app,
        &cy,
        "GET",
        "/tournaments/leaderboard?limit=2",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(board["total"], 3);
    let line = |l: &Value| {
        (
            l["rank"].as_i64().unwrap(),
            l["name"].as_str().unwrap().to_owned(),
            l["points"].as_i64().unwrap(),
            l["matches_won"].as_i64().unwrap(),
            l["matches_lost"].as_i64().unwrap(),
        )
    };
    let first: Vec<_> = board["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(line)
        .collect();
    assert_eq!(
        first,
        vec![(1, "Ana".into(), 120, 2, 0), (2, "Bo".into(), 10, 1, 1)]
    );
    assert_eq!(board["items"][1]["win_rate"], 50.0);
    let next = format!(
        "/tournaments/leaderboard?limit=2&cursor={}",
        board["next_cursor"].as_str().unwrap()
    );
    let (_, rest) = send(&app, &cy, "GET", &next, Value::Null).await;
    let rest: Vec<_> = rest["items"].as_array().unwrap().iter().map(line).collect();
    assert_eq!(rest, vec![(3, "Cy".into(), 0, 0, 1)]);
    // After the last line (place 3, "Mw" as a cursor): no lines, and the board's size still stands.
    let past = "/tournaments/leaderboard?cursor=Mw";
    let (status, past) = send(&app, &cy, "GET", past, Value::Null).await;
    assert_eq!(
        (status, past["items"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    assert_eq!(past["total"], 3);
}
