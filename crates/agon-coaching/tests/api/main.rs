//! Coaching over HTTP through the gateway: a coach's profile and availability, the slots it gives, bookings
//! (one per slot, whoever races for it), cancelling and moving under the cut-off, attendance, notes, the calendar
//! feed and the events the other services hear.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agon_testkit::{TestApp, TestUser, json};
use serde_json::Value;

async fn send(
    app: &TestApp,
    who: &TestUser,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    send_keyed(app, who, (method, path), None, body).await
}

async fn send_keyed(
    app: &TestApp,
    who: &TestUser,
    (method, path): (&str, &str),
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let as_user = app.as_user(who);
    let mut request = match method {
        "POST" => as_user.post_json(path, body),
        "PUT" => as_user.put_json(path, body),
        "DELETE" => as_user.delete(path),
        _ => as_user.get(path),
    };
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A coach in Europe/Paris, hour-long sessions every day from 08:00 to 20:00, bookable an hour ahead.
async fn coach(app: &TestApp, email: &str) -> TestUser {
    let coach = app.approved(email, "coach").await;
    let profile = json!({ "name": "Carla Coach", "bio": "Sprint and hurdles", "specialities": ["Sprint"],
                          "languages": ["fr", "en"], "price": 4000, "time_zone": "Europe/Paris",
                          "cutoff_hours": 24, "notice_hours": 1 });
    let (status, body) = send(app, &coach, "PUT", "/coaching/coaches/me", profile).await;
    assert_eq!(status, 200, "{body}");
    let rules: Vec<Value> = (1..=7)
        .map(|d| json!({ "weekday": d, "start": "08:00", "end": "20:00" }))
        .collect();
    let path = format!("/coaching/coaches/{}/availability", coach.id);
    let (status, body) = send(app, &coach, "PUT", &path, json!({ "rules": rules })).await;
    assert_eq!(status, 200, "{body}");
    coach
}

/// The coach's free slots over the next `days` days.
async fn slots(app: &TestApp, who: &TestUser, coach: &TestUser, days: i64) -> Vec<String> {
    let from = chrono::Utc::now() + chrono::Duration::days(2);
    let to = from + chrono::Duration::days(days);
    let path = format!(
        "/coaching/coaches/{}/slots?from={}&to={}&limit=1000",
        coach.id,
        from.format("%Y-%m-%dT00:00:00Z"),
        to.format("%Y-%m-%dT00:00:00Z")
    );
    let (status, body) = send(app, who, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{body}");
    (body["items"].as_array().unwrap().iter())
        .map(|s| s["starts_at"].as_str().unwrap().to_owned())
        .collect()
}

fn booking(coach: &TestUser, start: &str) -> Value {
    json!({ "coach_id": coach.id, "starts_at": start, "note": "Block starts" })
}

/// `who` books `coach`'s session starting at `start`.
async fn book(app: &TestApp, who: &TestUser, coach: &TestUser, start: &str) -> (u16, Value) {
    send(
        app,
        who,
        "POST",
        "/coaching/bookings",
        booking(coach, start),
    )
    .await
}

async fn book_keyed(app: &TestApp, who: &TestUser, key: &str, body: Value) -> (u16, Value) {
    send_keyed(app, who, ("POST", "/coaching/bookings"), Some(key), body).await
}

/// An answer's status and problem code.
fn problem((status, body): (u16, Value)) -> (u16, Option<String>) {
    (status, body["code"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn an_athlete_books_a_slot_that_nobody_else_gets_and_the_coach_sees_it() {
    let app = TestApp::spawn().await;
    let carla = coach(&app, "carla@club.org").await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;

    // Athletes do not get coach profiles.
    let profile = json!({ "name": "Ana", "time_zone": "Europe/Paris" });
    assert_eq!(
        problem(send(&app, &ana, "PUT", "/coaching/coaches/me", profile).await),
        (403, Some("coach_role_required".into()))
    );
    let (status, body) = send(
        &app,
        &ana,
        "GET",
        "/coaching/coaches?speciality=sprint",
        Value::Null,
    )
    .await;
    assert_eq!((status, body["items"].as_array().unwrap().len()), (200, 1));

    let free = slots(&app, &ana, &carla, 1).await;
    assert_eq!(free.len(), 12, "{free:?}");
    let first = free[0].clone();
    let (status, made) = book_keyed(&app, &ana, "k-1", booking(&carla, &first)).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (made["status"].as_str(), made["price"].as_i64()),
        (Some("confirmed"), Some(4000))
    );
    // A retry with the same key is the same booking; the key for another time is refused.
    let (status, again) = book_keyed(&app, &ana, "k-1", booking(&carla, &first)).await;
    assert_eq!((status, &again["id"]), (200, &made["id"]));
    assert_eq!(
        problem(book_keyed(&app, &ana, "k-1", booking(&carla, &free[1])).await),
        (422, Some("idempotency_key_reused".into()))
    );

    // The slot is gone for everyone; Bo cannot have it, nor a time that is no slot, nor a session with himself.
    assert!(!slots(&app, &bo, &carla, 1).await.contains(&first));
    assert_eq!(
        problem(book(&app, &bo, &carla, &first).await),
        (409, Some("slot_taken".into()))
    );
    let half_past = first.replace(":00:00Z", ":30:00Z");
    assert_eq!(
        problem(book(&app, &bo, &carla, &half_past).await),
        (422, Some("slot_not_available".into()))
    );
    assert_eq!(
        problem(book(&app, &carla, &carla, &free[2]).await),
        (409, Some("own_session".into()))
    );
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(10))
        .format("%Y-%m-%dT%H:00:00Z")
        .to_string();
    assert_eq!(
        problem(book(&app, &bo, &carla, &soon).await),
        (422, Some("too_soon".into()))
    );

    app.stop().await;
}

#[tokio::test]
async fn a_booking_and_its_notes_are_seen_by_its_two_people_each_as_allowed() {
    let app = TestApp::spawn().await;
    let carla = coach(&app, "carla@club.org").await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let free = slots(&app, &ana, &carla, 1).await;
    let (status, made) = book(&app, &ana, &carla, &free[0]).await;
    assert_eq!(status, 201, "{made}");
    // Only the two of them (and staff) see the booking; the coach lists it among hers.
    let path = format!("/coaching/bookings/{}", made["id"].as_str().unwrap());
    assert_eq!(send(&app, &bo, "GET", &path, Value::Null).await.0, 404);
    assert_eq!(send(&app, &carla, "GET", &path, Value::Null).await.0, 200);
    let as_coach = "/coaching/bookings?as=coach";
    let (_, mine) = send(&app, &carla, "GET", as_coach, Value::Null).await;
    assert_eq!(mine["items"][0]["id"], made["id"]);
    let (_, none) = send(&app, &bo, "GET", "/coaching/bookings", Value::Null).await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // Notes: the coach writes, the athlete reads the shared ones only.
    let notes = format!("{path}/notes");
    let by_athlete = json!({ "body": "I am the coach now" });
    assert_eq!(post(&app, &ana, &notes, by_athlete).await.0, 403);
    for (body, shared) in [
        ("Left hip tight", false),
        ("Work on the first three steps", true),
    ] {
        let note = json!({ "body": body, "shared": shared });
        assert_eq!(post(&app, &carla, &notes, note).await.0, 201);
    }
    let (_, seen) = send(&app, &ana, "GET", &notes, Value::Null).await;
    let seen: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["Work on the first three steps"]);
    let (_, all) = send(&app, &carla, "GET", &notes, Value::Null).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);

    // Attendance waits for the session.
    let early = post(
        &app,
        &carla,
        &format!("{path}/attendance"),
        json!({ "attended": true }),
    )
    .await;
    assert_eq!(problem(early), (409, Some("session_not_started".into())));

    // The event reached the bus: the metrics service's event store has it.
    app.until(|| async {
        let db = app.database("metrics").await;
        let n: i64 = sqlx::query_scalar(
            "select count(*) from events where topic = 'coaching.booking_confirmed.v1'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap_or(0);
        n == 1
    })
    .await;
    app.stop().await;
}

/// `who` posts `body` to `path`.
async fn post(app: &TestApp, who: &TestUser, path: &str, body: Value) -> (u16, Value) {
    send(app, who, "POST", path, body).await
}

#[tokio::test]
async fn cancelling_and_moving_free_the_time() {
    let app = TestApp::spawn().await;
    let carla = coach(&app, "carla@club.org").await;
    let ana = app.register("ana@club.org").await;
    let free = slots(&app, &ana, &carla, 1).await;
    let (_, made) = book(&app, &ana, &carla, &free[3]).await;
    let path = format!("/coaching/bookings/{}", made["id"].as_str().unwrap());

    let to_later = json!({ "starts_at": free[5], "reason": "Exam moved" });
    let (status, body) = post(&app, &ana, &format!("{path}/reschedule"), to_later).await;
    assert_eq!(status, 200, "{body}");
    let moved_to = body["starts_at"].as_str().map(|s| s[..19].to_owned());
    assert_eq!(moved_to.as_deref(), Some(&free[5][..19]));
    let now_free = slots(&app, &ana, &carla, 1).await;
    assert!(now_free.contains(&free[3]) && !now_free.contains(&free[5]));

    let cancel = format!("{path}/cancel");
    let no_reason = post(&app, &ana, &cancel, json!({ "reason": "" })).await;
    assert_eq!(problem(no_reason), (422, Some("invalid_body".into())));
    let (status, body) = post(&app, &ana, &cancel, json!({ "reason": "Injured" })).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")));
    assert!(slots(&app, &ana, &carla, 1).await.contains(&free[5]));
    let twice = post(&app, &ana, &cancel, json!({ "reason": "Twice" })).await;
    assert_eq!(problem(twice), (409, Some("booking_not_confirmed".into())));
    app.stop().await;
}

#[tokio::test]
async fn inside_the_cutoff_the_coach_may_cancel_and_the_athlete_may_not() {
    let app = TestApp::spawn().await;
    let carla = coach(&app, "carla@club.org").await;
    let ana = app.register("ana@club.org").await;
    // Sessions from 08:00 to 20:00 in Paris: one starts within 15 hours of any moment three hours from now.
    let from = (chrono::Utc::now() + chrono::Duration::hours(3)).format("%Y-%m-%dT%H:00:00Z");
    let path = format!("/coaching/coaches/{}/slots?from={from}&limit=1", carla.id);
    let (_, near) = send(&app, &ana, "GET", &path, Value::Null).await;
    let start = near["items"][0]["starts_at"].as_str().unwrap();
    let starts = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    assert!(
        starts < chrono::Utc::now() + chrono::Duration::hours(24),
        "{start}"
    );
    let (status, soon) = book(&app, &ana, &carla, start).await;
    assert_eq!(status, 201, "{soon}");
    let cancel = format!("/coaching/bookings/{}/cancel", soon["id"].as_str().unwrap());
    let late = post(&app, &ana, &cancel, json!({ "reason": "Tired" })).await;
    assert_eq!(problem(late), (409, Some("cutoff_passed".into())));
    let moved = json!({ "starts_at": start, "reason": "Tired" });
    let path = format!(
        "/coaching/bookings/{}/reschedule",
        soon["id"].as_str().unwrap()
    );
    assert_eq!(
        problem(post(&app, &ana, &path, moved).await),
        (409, Some("cutoff_passed".into()))
    );
    let (status, _) = post(&app, &carla, &cancel, json!({ "reason": "Ill" })).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_hundred_requests_for_one_slot_make_exactly_one_booking() {
    let app = TestApp::spawn().await;
    let carla = coach(&app, "carla@club.org").await;
    let athletes = futures_util::future::join_all((0..20).map(|n| {
        let app = &app;
        async move { app.register(&format!("athlete{n}@club.org")).await }
    }))
    .await;
    let start = slots(&app, &athletes[0], &carla, 1).await[4].clone();
    let body = booking(&carla, &start);
    let sent = (0..100).map(|n| {
        send(
            &app,
            &athletes[n % 20],
            "POST",
            "/coaching/bookings",
            body.clone(),
        )
    });
    let answers = futures_util::future::join_all(sent).await;
    let made = answers.iter().filter(|(s, _)| *s == 201).count();
    let taken = (answers.iter())
        .filter(|(s, b)| *s == 409 && b["code"] == "slot_taken")
        .count();
    assert_eq!(
        (made, taken),
        (1, 99),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert_eq!(app.count("coaching", "bookings").await, 1);
    assert_eq!(app.count("coaching", "claims").await, 2 * 12);
    app.stop().await;
}

#[tokio::test]
async fn a_members_sessions_come_as_an_icalendar_feed_opened_by_their_key() {
    let app = TestApp::spawn().await;
    let carla = coach(&app, "carla@club.org").await;
    let ana = app.register("ana@club.org").await;
    let free = slots(&app, &ana, &carla, 1).await;
    let (status, _) = book(&app, &ana, &carla, &free[0]).await;
    assert_eq!(status, 201);
    let (status, key) = send(&app, &ana, "POST", "/coaching/calendar", Value::Null).await;
    assert_eq!(status, 201);
    let feed = app
        .get(key["sessions_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = feed.text().await.unwrap();
    assert!(
        text.contains("BEGIN:VEVENT") && text.contains("Coaching session with Carla Coach"),
        "{text}"
    );
    // A new key ends the old feed.
    let (_, newer) = send(&app, &ana, "POST", "/coaching/calendar", Value::Null).await;
    assert_ne!(newer["key"], key["key"]);
    let old = app
        .get(key["sessions_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_athlete_is_told_and_reminded_and_the_coach_records_attendance_once_the_session_began()
{
    // Reminders three days ahead: a session booked two days out is reminded at once.
    let app = TestApp::spawn_with(|c| c.coaching.reminder_hours = 72).await;
    let carla = coach(&app, "carla@club.org").await;
    let ana = app.register("ana@club.org").await;
    let free = slots(&app, &ana, &carla, 1).await;
    let (_, made) = book(&app, &ana, &carla, &free[0]).await;
    app.told(
        &ana,
        "session_booked",
        "Your session with Carla Coach is on",
    )
    .await;
    app.told(
        &ana,
        "session_reminder",
        "Your session with Carla Coach is on",
    )
    .await;

    // The session began an hour ago (moved back in time in the database: the API books only ahead).
    let id = made["id"].as_str().unwrap();
    let db = app.database("coaching").await;
    let began = agon_db::time_text(chrono::Utc::now() - chrono::Duration::hours(1));
    let ended = agon_db::time_text(chrono::Utc::now());
    sqlx::query("update bookings set starts_at = $1, ends_at = $2 where id = $3")
        .bind(began)
        .bind(ended)
        .bind(id)
        .execute(db.pool())
        .await
        .unwrap();
    let path = format!("/coaching/bookings/{id}/attendance");
    let (status, _) = send(&app, &ana, "POST", &path, json!({ "attended": true })).await;
    assert_eq!(status, 403);
    let (status, body) = send(&app, &carla, "POST", &path, json!({ "attended": true })).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("attended")),
        "{body}"
    );
    assert_eq!(
        problem(send(&app, &carla, "POST", &path, json!({ "attended": false })).await),
        (409, Some("booking_not_confirmed".into()))
    );
    // Nor can a session under way be cancelled any more.
    let (status, body) = send(
        &app,
        &carla,
        "POST",
        &format!("/coaching/bookings/{id}/cancel"),
        json!({ "reason": "x" }),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    app.stop().await;
}
