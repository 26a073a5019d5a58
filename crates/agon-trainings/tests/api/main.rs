//! The trainings service over HTTP through the gateway: authoring, listing, blocks, favourites and scores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agon_testkit::{TestApp, TestUser, assert_problem, json};
use serde_json::Value;

mod courses;

/// A trainer, approved by the administrator.
async fn trainer(app: &TestApp, email: &str) -> TestUser {
    app.approved(email, "trainer").await
}

fn run(title: &str) -> Value {
    json!({ "title": title, "description": "Easy pace along the river", "kind": "running", "difficulty": 3,
            "media": ["https://club.example/run.jpg"], "goals": [{ "name": "Endurance" }] })
}

async fn create(app: &TestApp, who: &TestUser, body: Value) -> (u16, Value) {
    let response = app
        .as_user(who)
        .post_json("/trainings", body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn trainers_author_trainings_that_members_find_favourite_and_score() {
    let app = TestApp::spawn().await;
    let tess = trainer(&app, "tess@club.org").await;
    let ana = app.register("ana@club.org").await;

    let (status, training) = create(&app, &tess, run("Morning run")).await;
    assert_eq!(status, 201, "{training}");
    assert_eq!(
        (training["kind"].as_str(), training["score"].as_f64()),
        (Some("running"), Some(0.0))
    );
    let id = training["id"].as_str().unwrap().to_owned();
    // The title is the author's own: the same title again is 409, without case; members do not author.
    let (status, problem) = create(&app, &tess, run(" morning RUN ")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("title_taken"))
    );
    let (status, _) = create(&app, &ana, run("Ana's run")).await;
    assert_eq!(status, 403);
    let (status, problem) = create(
        &app,
        &tess,
        json!({ "title": "", "kind": "flying", "difficulty": 11 }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3, "{problem}");

    // Only the author edits; a difficulty of 0 can be set.
    let path = format!("/trainings/{id}");
    let response = app
        .as_user(&ana)
        .patch_json(&path, json!({ "difficulty": 0 }))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "not_author").await;
    let edited: Value = (app
        .as_user(&tess)
        .patch_json(&path, json!({ "difficulty": 0 })))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        (edited["difficulty"].as_i64(), edited["title"].as_str()),
        (Some(0), Some("Morning run"))
    );

    // Filters and the count.
    create(
        &app,
        &tess,
        json!({ "title": "Heavy lifts", "kind": "strength", "difficulty": 8 }),
    )
    .await;
    let page: Value = (app
        .as_user(&ana)
        .get("/trainings?kind=running&max_difficulty=5&q=river"))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let count: Value = (app.as_user(&ana).get("/trainings/count?min_difficulty=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count["count"], 1);
    let bad = app
        .as_user(&ana)
        .get("/trainings?min_difficulty=12")
        .send()
        .await
        .unwrap();
    assert_problem(bad, 422, "invalid_body").await;

    // Favourites are idempotent; scores replace the member's own and make the average.
    let favourite = format!("/trainings/{id}/favourite");
    for _ in 0..2 {
        let response = app
            .as_user(&ana)
            .put_json(&favourite, Value::Null)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    let mine: Value = (app.as_user(&ana).get("/trainings/favourites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let score = format!("/trainings/{id}/score");
    let put = |who: &TestUser, body: Value| app.as_user(who).put_json(&score, body).send();
    let response = put(&tess, json!({ "score": 5 })).await.unwrap();
    assert_problem(response, 409, "own_training").await;
    let response = put(&ana, json!({ "score": 5.5 })).await.unwrap();
    assert_problem(response, 422, "invalid_body").await;
    put(&ana, json!({ "score": 2 })).await.unwrap();
    let scored: Value = put(&ana, json!({ "score": 4.5, "comment": "Lovely route" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (scored["score"].as_f64(), scored["score_count"].as_i64()),
        (Some(4.5), Some(1))
    );
    let bo = app.register("bo@club.org").await;
    let scored: Value = put(&bo, json!({ "score": 3 }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (scored["score"].as_f64(), scored["score_count"].as_i64()),
        (Some(3.75), Some(2))
    );
    let my: Value = app
        .as_user(&ana)
        .get(&score)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(my, json!({ "score": 4.5, "comment": "Lovely route" }));

    // The business metrics count them (created by kind).
    let admin = app.admin().await;
    let metric = |name: &'static str| {
        let request = app
            .as_user(&admin)
            .get(&format!("/analytics/metrics?metric={name}"));
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            body["metrics"][0].clone()
        }
    };
    app.until(|| async { metric("trainings_favourited").await["total"] == 1 })
        .await;
    let created = metric("trainings_created").await;
    assert_eq!(
        (created["total"].as_i64(), created["by"]["running"].as_i64()),
        (Some(2), Some(1)),
        "{created}"
    );
    assert_eq!(metric("trainings_scored").await["total"], 3);

    // A member who deletes their account leaves no score behind: the average is the others' again.
    let gone = app.as_user(&bo).delete("/users/me").send().await.unwrap();
    assert_eq!(gone.status(), 204);
    let path = format!("/trainings/{id}");
    let read = || async {
        let body: Value = app
            .as_user(&ana)
            .get(&path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body
    };
    app.until(|| async { read().await["score_count"] == 1 })
        .await;
    assert_eq!(read().await["score"], 4.5);
}

#[tokio::test]
async fn blocked_trainings_show_only_to_administrators_and_their_author() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let tess = trainer(&app, "tess@club.org").await;
    let ana = app.register("ana@club.org").await;
    let (_, training) = create(&app, &tess, run("Hill repeats")).await;
    let id = training["id"].as_str().unwrap().to_owned();

    let block = format!("/trainings/{id}/block");
    let response = app
        .as_user(&tess)
        .post_json(&block, Value::Null)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let blocked: Value = (app.as_user(&admin).post_json(&block, Value::Null))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(blocked["blocked"], true);

    let path = format!("/trainings/{id}");
    let response = app.as_user(&ana).get(&path).send().await.unwrap();
    assert_problem(response, 404, "training_not_found").await;
    for who in [&tess, &admin] {
        assert_eq!(
            app.as_user(who).get(&path).send().await.unwrap().status(),
            200
        );
    }
    let listed = |who: &TestUser, query: &'static str| {
        let request = app.as_user(who).get(&format!("/trainings{query}")).send();
        async move {
            let page: Value = request.await.unwrap().json().await.unwrap();
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(listed(&ana, "").await, 0);
    assert_eq!(listed(&ana, "?blocked=all").await, 0);
    assert_eq!(listed(&tess, "?blocked=true").await, 1);
    assert_eq!(listed(&admin, "?blocked=true").await, 1);
    assert_eq!(listed(&tess, "").await, 0);

    let unblock = format!("/trainings/{id}/unblock");
    app.as_user(&admin)
        .post_json(&unblock, Value::Null)
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&ana, "").await, 1);
    // The author deletes it; its favourites and scores go with it.
    let favourite = format!("/trainings/{id}/favourite");
    app.as_user(&ana)
        .put_json(&favourite, Value::Null)
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.as_user(&ana)
            .delete(&path)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.as_user(&tess)
            .delete(&path)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.as_user(&ana).get(&path).send().await.unwrap().status(),
        404
    );
    assert_eq!(app.count("trainings", "favourites").await, 0);
}

#[tokio::test]
async fn concurrent_scores_keep_the_average_exact() {
    let app = TestApp::spawn().await;
    let tess = trainer(&app, "tess@club.org").await;
    let (_, training) = create(&app, &tess, run("Track session")).await;
    let score = format!("/trainings/{}/score", training["id"].as_str().unwrap());
    let mut members = Vec::new();
    for i in 0..6 {
        members.push(app.register(&format!("m{i}@club.org")).await);
    }
    // Everyone scores at once, and the first member changes their mind four times at once too.
    let mut sends = Vec::new();
    for (i, member) in members.iter().enumerate() {
        sends.push(
            app.as_user(member)
                .put_json(&score, json!({ "score": 1 + i % 5 }))
                .send(),
        );
    }
    for value in [1.0, 2.0, 3.5, 5.0] {
        sends.push(
            app.as_user(&members[0])
                .put_json(&score, json!({ "score": value }))
                .send(),
        );
    }
    for response in futures_util::future::join_all(sends).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    let first: Value = app
        .as_user(&members[0])
        .get(&score)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let others: f64 = (1..6).map(|i| (1 + i % 5) as f64).sum();
    let expected = ((others + first["score"].as_f64().unwrap()) / 6.0 * 100.0).round() / 100.0;
    let path = format!("/trainings/{}", training["id"].as_str().unwrap());
    let read: Value = app
        .as_user(&tess)
        .get(&path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (read["score_count"].as_i64(), read["score"].as_f64()),
        (Some(6), Some(expected))
    );
}
