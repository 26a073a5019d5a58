//! Kinetix (seed 000): trainings, scores and favourites as its mobile app calls svc-trainings.

use agon_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, json};

use super::call;

async fn token(app: &TestApp, email: &str, password: &str) -> String {
    let body = json!({ "email": email, "password": password });
    let (status, tokens) = call(app, "POST", "/tokens", None, Some(body)).await;
    assert_eq!(status, 201, "{tokens}");
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// A member signed up through Kinetix's `POST /users`; returns its id.
async fn member(app: &TestApp, email: &str) -> String {
    let body = json!({ "email": email, "password": "kinetix password", "fullname": "Runner",
                       "description": "", "city": "Rosario", "country": "Argentina",
                       "latitude": -32.9, "longitude": -60.6 });
    let (status, user) = call(app, "POST", "/users", None, Some(body)).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_trainer_publishes_trainings_that_athletes_score_and_favourite() {
    let app = TestApp::spawn_profile("kinetix").await;
    let admin = token(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let tess_id = member(&app, "tess@kinetix.com").await;
    member(&app, "ana@kinetix.com").await;
    // Trainings are a trainer's: the administrator grants the role (Kinetix let anyone author).
    let roles = format!("/users/{tess_id}/roles");
    let body = json!({ "roles": ["athlete", "trainer"] });
    app.until(|| async {
        call(&app, "PUT", &roles, Some(&admin), Some(body.clone()))
            .await
            .0
            == 200
    })
    .await;
    // The new role reaches the auth service through the bus; a token issued after that carries it.
    let has_role = || async {
        let tess = token(&app, "tess@kinetix.com", "kinetix password").await;
        agon_testkit::claims(&tess)["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("trainer"))
    };
    app.until(has_role).await;
    let tess = token(&app, "tess@kinetix.com", "kinetix password").await;
    let ana = token(&app, "ana@kinetix.com", "kinetix password").await;

    let training = json!({ "title": "Costanera 10k", "description": "Along the river", "type": "running",
                           "difficulty": 4, "multimedia": ["https://kinetix.example/rio.jpg"],
                           "goals": [{ "name": "Pace", "description": "5:30 per km" }] });
    let (status, created) = call(
        &app,
        "POST",
        "/trainings",
        Some(&tess),
        Some(training.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["type"].as_str(), created["score_amount"].as_i64()),
        (Some("running"), Some(0))
    );
    assert_eq!(created["author"], tess_id.as_str());
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = call(&app, "POST", "/trainings", Some(&tess), Some(training)).await;
    let taken = json!({ "detail": "A training with the title \"Costanera 10k\" already exists" });
    assert_eq!((status, body), (409, taken));
    let walk = json!({ "title": "Park walk", "description": "", "type": "walk", "difficulty": 0,
                       "multimedia": [], "goals": [] });
    let (status, walk) = call(&app, "POST", "/trainings", Some(&tess), Some(walk)).await;
    assert_eq!(
        (status, walk["type"].as_str()),
        (201, Some("walk")),
        "{walk}"
    );

    // Filters as the app sends them: type, difficulty from `mindiff` up to (not including) `maxdiff`.
    let (status, list) = call(
        &app,
        "GET",
        "/trainings?type=running&mindiff=0&maxdiff=5",
        Some(&ana),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let titles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Costanera 10k"]);
    let (_, list) = call(
        &app,
        "GET",
        "/trainings?type=all&maxdiff=4",
        Some(&ana),
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (_, count) = call(&app, "GET", "/trainings/count?author=me", Some(&tess), None).await;
    assert_eq!(count, json!({ "count": 2 }));

    // Only the author edits: FastAPI's 401 for anyone else.
    let path = format!("/trainings/{id}");
    let (status, body) = call(
        &app,
        "PATCH",
        &path,
        Some(&ana),
        Some(json!({ "difficulty": 1 })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({ "detail": "User isn't author of the training" })
        )
    );
    let (status, edited) = call(
        &app,
        "PATCH",
        &path,
        Some(&tess),
        Some(json!({ "difficulty": 0 })),
    )
    .await;
    assert_eq!((status, edited["difficulty"].as_i64()), (200, Some(0)));

    // Scores: 201 with the score; the average shows on the training.
    let scores = format!("/trainings/{id}/scores");
    let (status, scored) = call(
        &app,
        "POST",
        &scores,
        Some(&ana),
        Some(json!({ "score": 4.5 })),
    )
    .await;
    assert_eq!((status, scored), (201, json!({ "score": 4.5 })));
    let (status, _) = call(
        &app,
        "POST",
        &scores,
        Some(&ana),
        Some(json!({ "score": 6 })),
    )
    .await;
    assert_eq!(status, 422, "FastAPI's validation status");
    let (_, mine) = call(&app, "GET", &format!("{scores}/me"), Some(&ana), None).await;
    assert_eq!(mine, json!({ "score": 4.5 }));
    let (status, none) = call(&app, "GET", &format!("{scores}/me"), Some(&tess), None).await;
    assert_eq!(
        (status, none),
        (404, json!({ "detail": "Score or training not found" }))
    );
    let (_, read) = call(&app, "GET", &path, Some(&ana), None).await;
    assert_eq!(
        (read["score"].as_f64(), read["score_amount"].as_i64()),
        (Some(4.5), Some(1))
    );

    // Favourites.
    let (status, body) = call(
        &app,
        "POST",
        "/favorites",
        Some(&ana),
        Some(json!({ "training_id": id })),
    )
    .await;
    assert_eq!((status, body), (201, json!({ "training_id": id })));
    let (_, favourites) = call(&app, "GET", "/favorites", Some(&ana), None).await;
    assert_eq!(favourites[0]["id"], id.as_str());
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/favorites/{id}"),
        Some(&ana),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, favourites) = call(&app, "GET", "/favorites", Some(&ana), None).await;
    assert_eq!(favourites, json!([]));

    // The backoffice's counters.
    let read = || call(&app, "GET", "/metrics/trainings", Some(&admin), None);
    app.until(|| async { read().await.1["trainingsFavorited"] == 1 })
        .await;
    let (status, counters) = read().await;
    let expected = json!({ "trainingsCreated": 2, "trainingsFavorited": 1 });
    assert_eq!((status, counters), (200, expected));

    // The administrator blocks it: gone for the athlete, listed with `blocked=true` for the administrator.
    let status_path = format!("{path}/status");
    let (status, blocked) = call(
        &app,
        "PATCH",
        &status_path,
        Some(&admin),
        Some(json!({ "blocked": true })),
    )
    .await;
    assert_eq!((status, blocked["blocked"].as_bool()), (200, Some(true)));
    let (status, body) = call(&app, "GET", &path, Some(&ana), None).await;
    assert_eq!(
        (status, body),
        (404, json!({ "detail": "Training not found" }))
    );
    let (_, list) = call(&app, "GET", "/trainings?blocked=true", Some(&admin), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = call(
        &app,
        "PATCH",
        &status_path,
        Some(&tess),
        Some(json!({ "blocked": false })),
    )
    .await;
    assert_eq!(status, 403);
}
