//! Results reported by the players themselves (agreeing reports record, disagreeing ones wait for the
//! organisers), corrections after completion, completing by hand, groups without one champion, and deletion
//! only once play is over.

use agon_testkit::{TestApp, TestUser, json};
use serde_json::Value;

use crate::send;

/// A tournament made from `body`, its `entries` approved in one step, drawn in that order (the first entry the top
/// seed) and started: its path and the entries as answered.
async fn started(
    app: &TestApp,
    admin: &TestUser,
    body: Value,
    entries: Value,
) -> (String, Vec<Value>) {
    let (status, t) = send(app, admin, "POST", "/tournaments", body).await;
    assert_eq!(status, 201, "{t}");
    let path = format!("/tournaments/{}", t["id"].as_str().unwrap());
    let act = |action: &str| json!({ "action": action });
    let transitions = format!("{path}/transitions");
    let opened = send(app, admin, "POST", &transitions, act("open_registration")).await;
    assert_eq!(opened.0, 200, "{}", opened.1);
    let batch = json!({ "participants": entries });
    let (status, entered) = send(
        app,
        admin,
        "POST",
        &format!("{path}/participants/batch"),
        batch,
    )
    .await;
    assert_eq!(status, 201, "{entered}");
    let entered = entered.as_array().unwrap().clone();
    let order: Vec<&Value> = entered.iter().map(|p| &p["id"]).collect();
    let draw = json!({ "seeding": "manual", "order": order });
    let (status, drawn) = send(app, admin, "POST", &format!("{path}/draw"), draw).await;
    assert_eq!(status, 200, "{drawn}");
    assert_eq!(
        send(app, admin, "POST", &transitions, act("start")).await.0,
        200
    );
    (path, entered)
}

async fn matches(app: &TestApp, who: &TestUser, path: &str) -> Vec<Value> {
    let (status, matches) = send(app, who, "GET", &format!("{path}/matches"), Value::Null).await;
    assert_eq!(status, 200, "{matches}");
    matches.as_array().unwrap().clone()
}

/// The match in which `participant` plays and which is waiting for its result.
async fn ready_match_of(app: &TestApp, who: &TestUser, path: &str, participant: &Value) -> Value {
    let all = matches(app, who, path).await;
    let playing =
        |m: &&Value| m["ready"] == true && (0..2).any(|i| m["sides"][i]["id"] == *participant);
    all.iter().find(playing).cloned().expect("a ready match")
}

/// Records side `side` of match `m` as its winner, as the organiser `admin`.
async fn won_by(
    app: &TestApp,
    admin: &TestUser,
    path: &str,
    m: &Value,
    side: usize,
) -> (u16, Value) {
    let result = format!("{path}/matches/{}/result", m["position"]);
    let winner = json!({ "winner_id": m["sides"][side]["id"] });
    send(app, admin, "PUT", &result, winner).await
}

#[tokio::test]
async fn players_report_their_results_and_agreeing_reports_record_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let [ana, bo, cy, dee] = [
        app.register("ana@club.org").await,
        app.register("bo@club.org").await,
        app.register("cy@club.org").await,
        app.register("dee@club.org").await,
    ];
    let body = json!({ "name": "Ladder", "format": "single_elimination", "capacity": 4, "reporting": "players",
                       "starts_at": "2026-12-12T10:00:00Z", "time_zone": "UTC" });
    let entries = json!([{ "name": "Ana", "user_id": ana.id }, { "name": "Bo", "user_id": bo.id },
                         { "name": "Cy", "user_id": cy.id }, { "name": "Dee", "user_id": dee.id }]);
    let (path, entered) = started(&app, &admin, body, entries).await;
    let id_of = |i: usize| entered[i]["id"].clone();
    // Seeds 1 v 4 (Ana v Dee) and 2 v 3 (Bo v Cy).
    let first = ready_match_of(&app, &ana, &path, &id_of(0)).await;
    let report = format!("{path}/matches/{}/reports", first["position"]);
    let ana_wins = json!({ "winner_id": id_of(0), "games": [[21, 15]], "score": "21-15" });

    // Only the match's players report it.
    let (status, problem) = send(&app, &cy, "POST", &report, ana_wins.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("not_your_match"))
    );
    let (status, problem) = send(&app, &admin, "POST", &report, ana_wins.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("not_your_match"))
    );
    // A report is checked as a result is.
    let stranger = json!({ "winner_id": id_of(1) });
    assert_eq!(send(&app, &ana, "POST", &report, stranger).await.0, 422);

    // Ana reports: the match waits for Dee.
    let (status, answer) = send(&app, &ana, "POST", &report, ana_wins.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "waiting");
    assert_eq!(answer["match"]["winner_id"], Value::Null);
    assert_eq!(answer["match"]["reports"][0]["participant_id"], id_of(0));
    assert_eq!(answer["match"]["disputed"], false);
    // Dee claims the win: disputed, nothing recorded.
    let dee_wins = json!({ "winner_id": id_of(3), "games": [[15, 21]] });
    let (_, answer) = send(&app, &dee, "POST", &report, dee_wins).await;
    assert_eq!(answer["status"], "disputed", "{answer}");
    assert_eq!(answer["match"]["disputed"], true);
    assert_eq!(answer["match"]["ready"], true);
    app.told(
        &admin,
        "result_disputed",
        "Ana v Dee reported different results",
    )
    .await;
    // Dee reports again, as Ana did: the result is recorded and the reports go.
    let (_, answer) = send(&app, &dee, "POST", &report, ana_wins.clone()).await;
    assert_eq!(answer["status"], "recorded", "{answer}");
    assert_eq!(answer["match"]["winner_id"], id_of(0));
    assert_eq!(answer["match"]["score"], "21-15");
    assert_eq!(answer["match"]["reports"], json!([]));
    // A decided match is the organisers' to correct.
    let (status, problem) = send(&app, &ana, "POST", &report, ana_wins).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("match_not_ready"))
    );

    // Bo and Cy disagree; the organiser's result settles it and clears their reports.
    let second = ready_match_of(&app, &bo, &path, &id_of(1)).await;
    let report = format!("{path}/matches/{}/reports", second["position"]);
    send(&app, &bo, "POST", &report, json!({ "winner_id": id_of(1) })).await;
    let (_, answer) = send(&app, &cy, "POST", &report, json!({ "winner_id": id_of(2) })).await;
    assert_eq!(answer["status"], "disputed", "{answer}");
    let result = format!("{path}/matches/{}/result", second["position"]);
    let (status, all) = send(
        &app,
        &admin,
        "PUT",
        &result,
        json!({ "winner_id": id_of(2) }),
    )
    .await;
    assert_eq!(status, 200, "{all}");
    let decided = &all[second["position"].as_u64().unwrap() as usize];
    assert_eq!(
        (decided["winner_id"].clone(), decided["reports"].clone()),
        (id_of(2), json!([]))
    );

    // The final, reported by both: the tournament completes with its champion.
    let last = ready_match_of(&app, &ana, &path, &id_of(0)).await;
    let report = format!("{path}/matches/{}/reports", last["position"]);
    let cy_wins = json!({ "winner_id": id_of(2) });
    assert_eq!(
        send(&app, &cy, "POST", &report, cy_wins.clone()).await.1["status"],
        "waiting"
    );
    assert_eq!(
        send(&app, &ana, "POST", &report, cy_wins).await.1["status"],
        "recorded"
    );
    let (_, t) = send(&app, &bo, "GET", &path, Value::Null).await;
    assert_eq!(
        (t["status"].as_str(), t["champion_id"].clone()),
        (Some("completed"), id_of(2))
    );
    assert_eq!(t["reporting"], "players");
}

#[tokio::test]
async fn completion_follows_corrections_and_a_tournament_in_play_is_not_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let body = json!({ "name": "Cup", "format": "single_elimination", "capacity": 4,
                       "starts_at": "2026-12-12T10:00:00Z", "time_zone": "UTC" });
    let entries = json!([{ "name": "P1" }, { "name": "P2" }, { "name": "P3" }, { "name": "P4" }]);
    let (path, entered) = started(&app, &admin, body, entries).await;
    let transitions = format!("{path}/transitions");

    let (status, problem) = send(&app, &admin, "DELETE", &path, Value::Null).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("tournament_in_play"))
    );
    let complete = json!({ "action": "complete" });
    let (status, problem) = send(&app, &admin, "POST", &transitions, complete.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("matches_left"))
    );
    // Organisers report here: a member's report is refused whoever sends it.
    let (status, problem) = send(
        &app,
        &ana,
        "POST",
        &format!("{path}/matches/0/reports"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("reporting_by_organisers"))
    );

    // Side 0 wins every match: P1 is champion.
    let mut last = Value::Null;
    while let Some(m) = matches(&app, &admin, &path)
        .await
        .into_iter()
        .find(|m| m["ready"] == true)
    {
        let (status, body) = won_by(&app, &admin, &path, &m, 0).await;
        assert_eq!(status, 200, "{body}");
        last = m;
    }
    let (_, t) = send(&app, &admin, "GET", &path, Value::Null).await;
    assert_eq!(
        (t["status"].as_str(), t["champion_id"].clone()),
        (Some("completed"), entered[0]["id"].clone())
    );

    // The final corrected after completion: the other finalist is champion, and the tournament stays completed.
    assert_eq!(won_by(&app, &admin, &path, &last, 1).await.0, 200);
    let (_, t) = send(&app, &admin, "GET", &path, Value::Null).await;
    assert_eq!(
        (t["status"].as_str(), t["champion_id"].clone()),
        (Some("completed"), last["sides"][1]["id"].clone())
    );
    // A semi-final fed the played final: it stays.
    let semi = matches(&app, &admin, &path)
        .await
        .into_iter()
        .find(|m| m["round"] == 1)
        .unwrap();
    let (status, problem) = won_by(&app, &admin, &path, &semi, 1).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("result_locked"))
    );

    assert_eq!(
        send(&app, &admin, "DELETE", &path, Value::Null).await.0,
        204
    );
}

#[tokio::test]
async fn groups_complete_without_one_champion_and_a_swiss_may_end_early() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let guests = json!([{ "name": "P1" }, { "name": "P2" }, { "name": "P3" }, { "name": "P4" }]);

    // Two groups of two: each group has its winner, the tournament no single champion.
    let body = json!({ "name": "Groups", "format": "round_robin", "groups": 2, "capacity": 4,
                       "starts_at": "2026-12-12T10:00:00Z", "time_zone": "UTC" });
    let (path, _) = started(&app, &admin, body, guests.clone()).await;
    for m in matches(&app, &admin, &path).await {
        assert_eq!(won_by(&app, &admin, &path, &m, 0).await.0, 200);
    }
    let (_, t) = send(&app, &admin, "GET", &path, Value::Null).await;
    assert_eq!(
        (t["status"].as_str(), t["champion_id"].clone()),
        (Some("completed"), Value::Null)
    );
    let (_, tables) = send(
        &app,
        &admin,
        "GET",
        &format!("{path}/standings"),
        Value::Null,
    )
    .await;
    assert_eq!(tables.as_array().map(Vec::len), Some(2));

    // A Swiss of three rounds: a result stays once the next round is paired from it; completing by hand after
    // round two names the top of the table.
    let body = json!({ "name": "Swiss", "format": "swiss", "rounds": 3, "capacity": 4,
                       "starts_at": "2026-12-12T10:00:00Z", "time_zone": "UTC" });
    let (path, _) = started(&app, &admin, body, guests).await;
    for round in 1..=2 {
        for m in matches(&app, &admin, &path)
            .await
            .iter()
            .filter(|m| m["round"] == round)
        {
            assert_eq!(won_by(&app, &admin, &path, m, 0).await.0, 200);
        }
        if round == 1 {
            assert_eq!(
                send(&app, &admin, "POST", &format!("{path}/rounds"), Value::Null)
                    .await
                    .0,
                200
            );
            let result = format!("{path}/matches/0/result");
            let (status, problem) =
                send(&app, &admin, "PUT", &result, json!({ "draw": true })).await;
            assert_eq!(
                (status, problem["code"].as_str()),
                (409, Some("result_locked"))
            );
        }
    }
    let complete = json!({ "action": "complete" });
    let (status, t) = send(
        &app,
        &admin,
        "POST",
        &format!("{path}/transitions"),
        complete,
    )
    .await;
    assert_eq!(status, 200, "{t}");
    let (_, tables) = send(
        &app,
        &admin,
        "GET",
        &format!("{path}/standings"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (t["status"].as_str(), t["champion_id"].clone()),
        (
            Some("completed"),
            tables[0]["lines"][0]["participant_id"].clone()
        )
    );
}
