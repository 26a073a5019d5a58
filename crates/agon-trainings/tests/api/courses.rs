//! Courses over HTTP: lessons and assessments in order, enrolment and progress, scoring against the pass mark,
//! completion exactly once, and certificates anyone can verify and print.

use agon_testkit::{TestApp, TestUser, assert_problem, json};
use serde_json::Value;

use super::trainer;

async fn send(
    app: &TestApp,
    who: &TestUser,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let as_user = app.as_user(who);
    let request = match method {
        "POST" => as_user.post_json(path, body),
        "PUT" => as_user.put_json(path, body),
        "PATCH" => as_user.patch_json(path, body),
        "DELETE" => as_user.delete(path),
        _ => as_user.get(path),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A course of `lessons` lessons and one two-question assessment (10 points, pass mark 70 %), by `who`.
async fn course(app: &TestApp, who: &TestUser, lessons: usize) -> (String, Vec<String>, Value) {
    let body = json!({ "title": "Running 101", "description": "From the couch to 5k", "level": "beginner",
                       "category": "fitness", "price_minor": 1999, "currency": "eur", "duration_minutes": 600 });
    let (status, created) = send(app, who, "POST", "/courses", body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["currency"], "EUR");
    let id = created["id"].as_str().unwrap().to_owned();
    let mut lesson_ids = Vec::new();
    for n in 1..=lessons {
        let body = json!({ "title": format!("Lesson {n}"), "content": "# Warm up\nTen minutes.",
                           "duration_minutes": 20 });
        let (status, lesson) =
            send(app, who, "POST", &format!("/courses/{id}/lessons"), body).await;
        assert_eq!(status, 201, "{lesson}");
        assert_eq!(lesson["position"], n);
        lesson_ids.push(lesson["id"].as_str().unwrap().to_owned());
    }
    let quiz = json!({ "course_id": id, "title": "Check", "questions": [
        { "question": "Warm up first?", "type": "true_false", "correct_answer": "true", "points": 7 },
        { "question": "Best shoes?", "type": "multiple_choice", "options": ["Running", "Dress"],
          "correct_answer": "Running", "points": 3 } ] });
    let (status, assessment) = send(app, who, "POST", "/assessments", quiz).await;
    assert_eq!(status, 201, "{assessment}");
    (id, lesson_ids, assessment)
}

fn answers(assessment: &Value, first: &str, second: &str) -> Value {
    let q = &assessment["questions"];
    json!({ "answers": { q[0]["id"].as_str().unwrap(): first, q[1]["id"].as_str().unwrap(): second } })
}

#[tokio::test]
async fn a_member_follows_a_course_to_a_certificate_anyone_can_verify() {
    let app = TestApp::spawn().await;
    let tess = trainer(&app, "tess@club.org").await;
    let ana = app.register("ana@club.org").await;
    let (id, lessons, assessment) = course(&app, &tess, 2).await;
    let quiz = assessment["id"].as_str().unwrap();

    // The syllabus lists both lessons, then the assessment; members see questions without their answers.
    let (_, detail) = send(&app, &ana, "GET", &format!("/courses/{id}"), Value::Null).await;
    let kinds: Vec<&str> = detail["syllabus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["lesson", "lesson", "assessment"]);
    let (_, seen) = send(
        &app,
        &ana,
        "GET",
        &format!("/assessments/{quiz}"),
        Value::Null,
    )
    .await;
    assert!(
        seen["questions"][0].get("correct_answer").is_none(),
        "{seen}"
    );
    assert_eq!(assessment["questions"][0]["correct_answer"], "true");

    // Lessons are for enrolled members; the instructor does not enrol in their own course.
    let lesson = format!("/courses/{id}/lessons/{}", lessons[0]);
    let response = app.as_user(&ana).get(&lesson).send().await.unwrap();
    assert_problem(response, 403, "not_enrolled").await;
    let done = format!("{lesson}/completion");
    let response = app.as_user(&ana).post(&done).send().await.unwrap();
    assert_problem(response, 403, "not_enrolled").await;
    let enrol = format!("/courses/{id}/enrolment");
    let response = app.as_user(&tess).post(&enrol).send().await.unwrap();
    assert_problem(response, 409, "own_course").await;
    // Enrolling needs no body; enrolling again (here with a name for the certificate) is 200.
    let response = app.as_user(&ana).post(&enrol).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let (status, progress) = send(
        &app,
        &ana,
        "POST",
        &enrol,
        json!({ "certificate_name": "Ana Lima" }),
    )
    .await;
    assert_eq!(
        (status, progress["certificate_name"].as_str()),
        (200, Some("Ana Lima"))
    );
    assert_eq!(
        (
            progress["lessons_total"].as_i64(),
            progress["assessments_total"].as_i64()
        ),
        (Some(2), Some(1))
    );

    // A lesson finished twice counts once.
    for _ in 0..2 {
        let (status, progress) = send(&app, &ana, "POST", &done, Value::Null).await;
        assert_eq!(
            (
                status,
                progress["lessons_completed"].as_array().unwrap().len()
            ),
            (200, 1)
        );
    }
    // 3 of 10 points fails the 70 % mark; 7 of 10 passes it exactly. Answers to unknown questions are refused.
    let submit = format!("/assessments/{quiz}/submissions");
    let (status, failed) = send(
        &app,
        &ana,
        "POST",
        &submit,
        answers(&assessment, "false", "Running"),
    )
    .await;
    assert_eq!(
        (status, failed["score"].as_i64(), failed["passed"].as_bool()),
        (201, Some(3), Some(false))
    );
    let stranger = json!({ "answers": { uuid::Uuid::new_v4().to_string(): "true" } });
    let response = app
        .as_user(&ana)
        .post_json(&submit, stranger)
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "invalid_body").await;
    let (_, passed) = send(
        &app,
        &ana,
        "POST",
        &submit,
        answers(&assessment, "TRUE", "dress"),
    )
    .await;
    assert_eq!(
        (passed["percentage"].as_f64(), passed["passed"].as_bool()),
        (Some(70.0), Some(true))
    );
    // Not complete while a lesson is left; the last lesson completes it.
    let (_, progress) = send(&app, &ana, "GET", &enrol, Value::Null).await;
    assert!(progress["completed_at"].is_null(), "{progress}");
    let last = format!("/courses/{id}/lessons/{}/completion", lessons[1]);
    let (_, progress) = send(&app, &ana, "POST", &last, Value::Null).await;
    assert_eq!(progress["percent"], 100.0);
    let certificate = progress["certificate_id"]
        .as_str()
        .expect("a certificate")
        .to_owned();

    // Anyone verifies it — no token — and prints it.
    let verified: Value = app
        .get(&format!("/certificates/{certificate}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            verified["holder_name"].as_str(),
            verified["course_title"].as_str(),
            verified["valid"].as_bool()
        ),
        (Some("Ana Lima"), Some("Running 101"), Some(true))
    );
    let pdf = app
        .get(&format!("/certificates/{certificate}/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    for unknown in [
        uuid::Uuid::new_v4().to_string(),
        "not-a-certificate".to_owned(),
    ] {
        let response = app
            .get(&format!("/certificates/{unknown}"))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "certificate_not_found").await;
    }
    let (_, mine) = send(&app, &ana, "GET", "/certificates", Value::Null).await;
    assert_eq!(mine["items"][0]["id"], certificate.as_str());

    // The member is told; a completed course is not left; answered questions no longer change.
    let notices = || async {
        let (_, page) = send(&app, &ana, "GET", "/notifications", Value::Null).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "certificate_issued")
            .count()
    };
    app.until(|| async { notices().await == 1 }).await;
    let response = app.as_user(&ana).delete(&enrol).send().await.unwrap();
    assert_problem(response, 409, "course_completed").await;
    let replacement = json!({ "title": "Check", "questions": [
        { "question": "Sure?", "type": "true_false", "correct_answer": "true" } ] });
    let response = app
        .as_user(&tess)
        .put_json(&format!("/assessments/{quiz}"), replacement)
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "assessment_taken").await;
    // The instructor sees every attempt; the member their own.
    let (_, all) = send(&app, &tess, "GET", &submit, Value::Null).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, enrolments) = send(
        &app,
        &tess,
        "GET",
        &format!("/courses/{id}/enrolments"),
        Value::Null,
    )
    .await;
    assert_eq!(
        enrolments["items"][0]["certificate_id"],
        certificate.as_str()
    );
    let response = app
        .as_user(&ana)
        .get(&format!("/courses/{id}/enrolments"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "not_instructor").await;
}

#[tokio::test]
async fn steps_finished_at_once_complete_the_course_exactly_once() {
    let app = TestApp::spawn().await;
    let tess = trainer(&app, "tess@club.org").await;
    let ana = app.register("ana@club.org").await;
    let (id, lessons, assessment) = course(&app, &tess, 8).await;
    let enrol = format!("/courses/{id}/enrolment");
    assert_eq!(send(&app, &ana, "POST", &enrol, json!({})).await.0, 201);
    let quiz = format!(
        "/assessments/{}/submissions",
        assessment["id"].as_str().unwrap()
    );
    let mut calls = Vec::new();
    for lesson in &lessons {
        let path = format!("/courses/{id}/lessons/{lesson}/completion");
        calls.push(tokio::spawn({
            let (url, token) = (app.url(&path), ana.access_token.clone());
            async move {
                reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        }));
    }
    let passing = answers(&assessment, "true", "Running");
    calls.push(tokio::spawn({
        let (url, token) = (app.url(&quiz), ana.access_token.clone());
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&passing)
                .send()
                .await
                .unwrap()
                .status()
        }
    }));
    for call in calls {
        assert!(call.await.unwrap().is_success());
    }
    let (_, progress) = send(&app, &ana, "GET", &enrol, Value::Null).await;
    assert!(progress["certificate_id"].is_string(), "{progress}");
    let (_, mine) = send(&app, &ana, "GET", "/certificates", Value::Null).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.count("trainings", "certificates").await, 1);
}

#[tokio::test]
async fn the_syllabus_reorders_and_inactive_courses_hide() {
    let app = TestApp::spawn().await;
    let tess = trainer(&app, "tess@club.org").await;
    let ana = app.register("ana@club.org").await;
    let (id, lessons, assessment) = course(&app, &tess, 2).await;
    let syllabus = format!("/courses/{id}/syllabus");
    let quiz = assessment["id"].as_str().unwrap();
    // Every step exactly once, or nothing changes.
    let (status, problem) = send(
        &app,
        &tess,
        "PUT",
        &syllabus,
        json!({ "steps": [quiz, lessons[0]] }),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("syllabus_mismatch"))
    );
    let order = json!({ "steps": [quiz, lessons[1], lessons[0]] });
    let (_, ana_try) = send(&app, &ana, "PUT", &syllabus, order.clone()).await;
    assert_eq!(ana_try["code"], "not_instructor");
    let (status, detail) = send(&app, &tess, "PUT", &syllabus, order).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = detail["syllabus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [quiz, lessons[1].as_str(), lessons[0].as_str()]);

    // Inactive: hidden from members (listing and reading), still the instructor's.
    let (status, _) = send(
        &app,
        &tess,
        "PATCH",
        &format!("/courses/{id}"),
        json!({ "active": false }),
    )
    .await;
    assert_eq!(status, 200);
    let response = app
        .as_user(&ana)
        .get(&format!("/courses/{id}"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "course_not_found").await;
    let (_, listed) = send(&app, &ana, "GET", "/courses", Value::Null).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let (_, own) = send(&app, &tess, "GET", "/courses?instructor=me", Value::Null).await;
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    // Bad input is 422 and names every field.
    let bad = json!({ "title": " ", "level": "expert", "category": "fitness", "price_minor": 500 });
    let (status, problem) = send(&app, &tess, "POST", "/courses", bad).await;
    assert_eq!(
        (status, problem["errors"].as_array().unwrap().len()),
        (422, 3),
        "{problem}"
    );
    let (status, _) = send(
        &app,
        &ana,
        "POST",
        "/courses",
        json!({ "title": "Mine", "level": "beginner",
                                                                      "category": "fitness" }),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn removing_the_only_step_left_completes_those_who_did_the_rest() {
    let app = TestApp::spawn().await;
    let tess = trainer(&app, "tess@club.org").await;
    let ana = app.register("ana@club.org").await;
    let (id, lessons, assessment) = course(&app, &tess, 2).await;
    let enrol = format!("/courses/{id}/enrolment");
    assert_eq!(send(&app, &ana, "POST", &enrol, json!({})).await.0, 201);
    let first = format!("/courses/{id}/lessons/{}/completion", lessons[0]);
    assert_eq!(send(&app, &ana, "POST", &first, Value::Null).await.0, 200);
    let quiz = format!(
        "/assessments/{}/submissions",
        assessment["id"].as_str().unwrap()
    );
    let (_, passed) = send(
        &app,
        &ana,
        "POST",
        &quiz,
        answers(&assessment, "true", "Running"),
    )
    .await;
    assert_eq!(passed["passed"], true);
    // More answers than questions is refused before any is checked.
    let q = assessment["questions"][0]["id"].as_str().unwrap();
    let extra = json!({ "answers": { q: "true", uuid::Uuid::new_v4().to_string(): "x",
                                     uuid::Uuid::new_v4().to_string(): "y" } });
    let response = app
        .as_user(&ana)
        .post_json(&quiz, extra)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "invalid_body").await;
    assert_eq!(problem["errors"][0]["field"], "answers");

    let lesson = format!("/courses/{id}/lessons/{}", lessons[1]);
    assert_eq!(
        send(&app, &tess, "DELETE", &lesson, Value::Null).await.0,
        204
    );
    let (_, progress) = send(&app, &ana, "GET", &enrol, Value::Null).await;
    assert!(progress["certificate_id"].is_string(), "{progress}");
    // The steps left are numbered 1…n again, in the syllabus and on the lesson alike.
    let (_, detail) = send(&app, &ana, "GET", &format!("/courses/{id}"), Value::Null).await;
    let positions: Vec<i64> = detail["syllabus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2]);
    // After completion the certificate's name no longer changes.
    let (_, again) = send(
        &app,
        &ana,
        "POST",
        &enrol,
        json!({ "certificate_name": "Someone Else" }),
    )
    .await;
    assert_eq!(again["certificate_name"], Value::Null);
}
