//! Kinetix (seed 000): targets and activity reports as its mobile app calls svc-targets.

use agon_testkit::{TestApp, json};

use super::call;

#[tokio::test]
async fn an_athlete_sets_a_target_and_the_app_reports_until_it_completes() {
    let app = TestApp::spawn_profile("kinetix").await;
    let body = json!({ "email": "ana@kinetix.com", "password": "kinetix password", "fullname": "Ana",
                       "description": "", "city": "Rosario", "country": "Argentina",
                       "latitude": -32.9, "longitude": -60.6 });
    assert_eq!(call(&app, "POST", "/users", None, Some(body)).await.0, 201);
    let login = json!({ "email": "ana@kinetix.com", "password": "kinetix password" });
    let (_, tokens) = call(&app, "POST", "/tokens", None, Some(login)).await;
    let ana = tokens["access_token"].as_str().unwrap().to_owned();
    let ana = Some(ana.as_str());

    let limit = agon_db::time_text(chrono::Utc::now() + chrono::Duration::days(10));
    let goal = json!({ "name": "Run 21 km", "description": "Half marathon month", "type": "Distance travelled",
                       "limit": limit, "current": 0, "target": 21, "multimedia": [] });
    let (status, target) = call(&app, "POST", "/targets", ana, Some(goal)).await;
    assert_eq!(status, 201, "{target}");
    assert_eq!(
        (
            target["type"].as_str(),
            target["completed"].as_bool(),
            target["expired"].as_bool()
        ),
        (Some("Distance travelled"), Some(false), Some(false))
    );
    let path = format!("/targets/{}", target["id"].as_str().unwrap());

    for count in [10.0, 8.5, 5.0] {
        let report = json!({ "type": "Distance travelled", "count": count });
        let (status, body) = call(&app, "POST", "/reports", ana, Some(report)).await;
        assert_eq!((status, body["count"].as_f64()), (201, Some(count)));
    }
    let (_, done) = call(&app, "GET", &path, ana, None).await;
    assert_eq!(
        (done["current"].as_f64(), done["completed"].as_bool()),
        (Some(21.0), Some(true))
    );
    let (status, list) = call(&app, "GET", "/targets", ana, None).await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));
    let (_, sums) = call(&app, "GET", "/reports", ana, None).await;
    let distance = sums
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "Distance travelled")
        .unwrap();
    assert_eq!(distance["count"], 23.5);

    let (status, body) = call(
        &app,
        "GET",
        "/targets/00000000-0000-0000-0000-000000000000",
        ana,
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (404, json!({ "detail": "Target not found" }))
    );
    let bad =
        json!({ "name": "x", "type": "Happiness", "limit": "soon", "current": 0, "target": 1 });
    assert_eq!(call(&app, "POST", "/targets", ana, Some(bad)).await.0, 422);
    let (status, deleted) = call(&app, "DELETE", &path, ana, None).await;
    assert_eq!((status, deleted["name"].as_str()), (200, Some("Run 21 km")));
    assert_eq!(call(&app, "GET", &path, ana, None).await.0, 404);
}
