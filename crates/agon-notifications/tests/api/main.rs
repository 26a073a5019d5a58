//! The notifications service over HTTP and WebSocket through the gateway, with a real SMTP server and a local
//! HTTP server standing in for the SMS and push providers (outside the system).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hostile;
mod stats;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use agon_testkit::{TestApp, TestUser, assert_problem};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Registers a member and waits until the notifications service knows it (its welcome notification exists).
async fn member(app: &TestApp, email: &str) -> TestUser {
    let user = app.register(email).await;
    app.until(|| async { !items(app, &user, "/notifications").await.is_empty() })
        .await;
    user
}

async fn items(app: &TestApp, user: &TestUser, path: &str) -> Vec<Value> {
    let body: Value = app
        .as_user(user)
        .get(path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

/// Opens the WebSocket through the gateway and waits for `ready`; returns the frames replayed before it.
async fn connect(app: &TestApp, user: &TestUser, after: Option<&str>) -> (Socket, Vec<Value>) {
    let mut url = format!("ws://{}/ws?access_token={}", app.addr, user.access_token);
    if let Some(after) = after {
        url.push_str(&format!("&after={after}"));
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut replayed = Vec::new();
    loop {
        let frame = next(&mut socket).await;
        if frame["type"] == "ready" {
            return (socket, replayed);
        }
        replayed.push(frame);
    }
}

/// The next text frame as JSON; fails after 10 s.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn send(app: &TestApp, from: &TestUser, body: Value) -> Value {
    let response = app
        .as_user(from)
        .post_json("/notifications/send", body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

#[tokio::test]
async fn members_read_mark_and_delete_their_own_notifications() {
    let app = TestApp::spawn().await;
    let ana = member(&app, "ana@agon.test").await;
    let bob = member(&app, "bob@agon.test").await;
    let welcome = items(&app, &ana, "/notifications").await;
    assert_eq!(welcome.len(), 1);
    assert_eq!(welcome[0]["type"], "welcome");
    assert_eq!(welcome[0]["read_at"], Value::Null);
    let admin = app.admin().await;
    for i in 0..3 {
        send(
            &app,
            &admin,
            json!({"user_ids": [ana.id], "title": format!("Note {i}"), "body": "Training moved to 18:00"}),
        )
        .await;
    }
    let page: Value = app
        .as_user(&ana)
        .get("/notifications?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["title"], "Note 2", "newest first");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let rest = items(
        &app,
        &ana,
        &format!(
            "/notifications?limit=2&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1]["type"], "welcome");

    let unread = |u: &TestUser| {
        let request = app.as_user(u).get("/notifications/unread-count");
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["unread"].clone() }
    };
    assert_eq!(unread(&ana).await, 4);
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    // Another member cannot see, read or delete it: it is not theirs.
    for response in [
        app.as_user(&bob)
            .get(&format!("/notifications/{id}"))
            .send()
            .await
            .unwrap(),
        app.as_user(&bob)
            .post_json(&format!("/notifications/{id}/read"), json!({}))
            .send()
            .await
            .unwrap(),
        app.as_user(&bob)
            .delete(&format!("/notifications/{id}"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_problem(response, 404, "notification_not_found").await;
    }
    let read: Value = app
        .as_user(&ana)
        .post_json(&format!("/notifications/{id}/read"), json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(read["read_at"].is_string());
    assert_eq!(unread(&ana).await, 3);
    assert_eq!(
        items(&app, &ana, "/notifications?unread=true").await.len(),
        3
    );
    let all: Value = app
        .as_user(&ana)
        .post_json("/notifications/read-all", json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["updated"], 3);
    assert_eq!(unread(&ana).await, 0);
    let response = app
        .as_user(&ana)
        .delete(&format!("/notifications/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(items(&app, &ana, "/notifications").await.len(), 3);
    assert_eq!(unread(&bob).await, 1, "bob's own welcome is untouched");
}

#[tokio::test]
async fn sending_is_for_staff_and_broadcasting_for_administrators() {
    let app = TestApp::spawn().await;
    let ana = member(&app, "ana@agon.test").await;
    let body = json!({"user_ids": [ana.id], "title": "Hi", "body": "Hello"});
    let response = app
        .as_user(&ana)
        .post_json("/notifications/send", body.clone())
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;
    let response = app
        .as_user(&ana)
        .post_json(
            "/notifications/broadcast",
            json!({"title": "x", "body": "y"}),
        )
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;
    let response = app
        .post_json("/notifications/send", body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "unauthenticated").await;
    let admin = app.admin().await;
    let stranger = uuid::Uuid::now_v7();
    let response = app
        .as_user(&admin)
        .post_json(
            "/notifications/send",
            json!({"user_ids": [ana.id, stranger], "title": "Hi", "body": "Hello"}),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "unknown_recipients").await;
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&stranger.to_string())
    );
    for bad in [
        json!({"user_ids": [], "title": "Hi", "body": "Hello"}),
        json!({"user_ids": [ana.id], "title": " ", "body": "Hello"}),
        json!({"user_ids": [ana.id], "title": "Hi", "body": "Hello", "channels": ["fax"]}),
        json!({"user_ids": [ana.id], "title": "Hi", "body": "Hello", "data": [1]}),
        json!({"user_ids": [ana.id], "title": "Hi", "body": "Hello", "extra": 1}),
    ] {
        let response = app
            .as_user(&admin)
            .post_json("/notifications/send", bad.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{bad}");
    }
    assert_eq!(
        items(&app, &ana, "/notifications").await.len(),
        1,
        "refused sends changed nothing"
    );
}

#[tokio::test]
async fn websocket_delivers_live_resumes_without_loss_and_broadcasts_to_everyone() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = member(&app, "ana@agon.test").await;
    let bob = member(&app, "bob@agon.test").await;
    let cy = member(&app, "cy@agon.test").await;

    let (mut socket, replayed) = connect(&app, &ana, None).await;
    assert!(replayed.is_empty(), "no resume asked, nothing replayed");
    let sent = send(
        &app,
        &admin,
        json!({"user_ids": [ana.id], "title": "Live", "body": "now"}),
    )
    .await;
    let frame = next(&mut socket).await;
    assert_eq!(frame["type"], "notification");
    assert_eq!(frame["notification"]["id"], sent["id"]);
    assert_eq!(frame["notification"]["title"], "Live");
    let last_seen = sent["id"].as_str().unwrap().to_owned();
    socket.close(None).await.unwrap();

    // Offline: two more arrive.
    for title in ["Missed 1", "Missed 2"] {
        send(
            &app,
            &admin,
            json!({"user_ids": [ana.id], "title": title, "body": "x"}),
        )
        .await;
    }
    let (mut socket, replayed) = connect(&app, &ana, Some(&last_seen)).await;
    let titles: Vec<&str> = replayed
        .iter()
        .map(|f| f["notification"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Missed 1", "Missed 2"],
        "resume replays exactly what was missed, in order"
    );

    // A broadcast reaches every connected member, and is stored for each.
    let (mut bob_socket, _) = connect(&app, &bob, None).await;
    let (mut cy_socket, _) = connect(&app, &cy, None).await;
    let response = app
        .as_user(&admin)
        .post_json(
            "/notifications/broadcast",
            json!({"title": "Club closed", "body": "Closed on Monday"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let sent: Value = response.json().await.unwrap();
    assert_eq!(sent["recipients"], 4, "three members and the administrator");
    for s in [&mut socket, &mut bob_socket, &mut cy_socket] {
        let frame = next(s).await;
        assert_eq!(frame["notification"]["title"], "Club closed");
        assert_eq!(frame["notification"]["id"], sent["id"]);
    }
    assert_eq!(
        items(&app, &cy, "/notifications").await[0]["title"],
        "Club closed"
    );

    // Cy logs out: her open connection is closed (1008) instead of receiving the next broadcast.
    let response = app
        .as_user(&cy)
        .post_json("/auth/logout", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = app
        .as_user(&admin)
        .post_json(
            "/notifications/broadcast",
            json!({"title": "After", "body": "x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(
        next(&mut bob_socket).await["notification"]["title"],
        "After"
    );
    let closed = tokio::time::timeout(Duration::from_secs(10), cy_socket.next())
        .await
        .unwrap();
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a close frame, got {other:?}"),
    }

    // Without a valid token there is no upgrade.
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?access_token=nope", app.addr)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
}

#[tokio::test]
async fn events_become_notifications_and_email_honours_preferences() {
    let app = TestApp::spawn_with_mail().await;
    let admin = app.admin().await;
    let ana = member(&app, "ana@agon.test").await;
    let welcome = app.mail("ana@agon.test", "Welcome to the club").await;
    assert!(welcome.body.contains("your account is ready"));

    // Opting out of email for staff messages…
    let response = app
        .as_user(&ana)
        .put_json(
            "/notifications/preferences",
            json!({"items": [{"type": "message", "channel": "email", "enabled": false}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // …but security notices cannot be turned off.
    let response = app
        .as_user(&ana)
        .put_json(
            "/notifications/preferences",
            json!({"items": [{"type": "password_changed", "channel": "email", "enabled": false}]}),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "invalid_body").await;
    assert_eq!(problem["errors"][0]["field"], "items[0].enabled");
    let prefs: Value = app
        .as_user(&ana)
        .get("/notifications/preferences")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pref = |kind: &str, channel: &str| {
        prefs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == kind && p["channel"] == channel)
            .unwrap()["enabled"]
            .clone()
    };
    assert_eq!(pref("message", "email"), false);
    assert_eq!(pref("password_changed", "email"), true);

    send(
        &app,
        &admin,
        json!({"user_ids": [ana.id], "title": "Opted out", "body": "x", "channels": ["in_app", "email"]}),
    )
    .await;
    // A password change is a security notice: in-app and by email.
    let response = app
        .as_user(&ana)
        .post_json(
            "/auth/password",
            json!({"current_password": agon_testkit::PASSWORD, "new_password": "a brand new secret"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let notice = app.mail("ana@agon.test", "Your password was changed").await;
    assert!(notice.body.contains("(change)"));
    // A login from a new device is one too.
    let _ = app
        .client
        .post(app.url("/auth/token"))
        .header("user-agent", "NewPhone/1.0")
        .json(&json!({"grant_type": "password", "email": "ana@agon.test", "password": "a brand new secret"}))
        .send()
        .await
        .unwrap();
    let login = app.mail("ana@agon.test", "New login to your account").await;
    assert!(login.body.contains("NewPhone/1.0"));
    let ana = app.login("ana@agon.test", "a brand new secret").await;
    let kinds: Vec<String> = items(&app, &ana, "/notifications")
        .await
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"password_changed".to_owned()));
    assert!(kinds.contains(&"new_device_login".to_owned()));
    assert!(kinds.contains(&"message".to_owned()), "in-app still on");
    assert!(
        app.mails("ana@agon.test")
            .await
            .iter()
            .all(|m| m.subject != "Opted out"),
        "no email for the opted-out type"
    );
}

/// A local HTTP server standing in for an SMS or push provider: records each POST; answers 500 to the first
/// `fail_first` requests.
#[derive(Clone, Default)]
struct Provider {
    received: Arc<Mutex<Vec<(String, Value, String)>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Provider {
    async fn start(fail_first: usize) -> (Self, String) {
        let provider = Provider::default();
        *provider.fail_first.lock().unwrap() = fail_first;
        let state = provider.clone();
        let app = axum::Router::new().route(
            "/{channel}",
            axum::routing::post(
                move |axum::extract::Path(channel): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap,
                      axum::Json(body): axum::Json<Value>| {
                    let state = state.clone();
                    async move {
                        let mut fail = state.fail_first.lock().unwrap();
                        if *fail > 0 {
                            *fail -= 1;
                            return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        let key = headers
                            .get("idempotency-key")
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default();
                        state.received.lock().unwrap().push((channel, body, key));
                        axum::http::StatusCode::ACCEPTED
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (provider, url)
    }

    fn received(&self, channel: &str) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _, _)| c == channel)
            .map(|(_, b, _)| b.clone())
            .collect()
    }
}

#[tokio::test]
async fn sms_and_push_go_to_the_providers_with_retries_and_bursts_become_digests() {
    let (provider, url) = Provider::start(1).await;
    let app = TestApp::spawn_with_mail_and(|c| {
        c.notifications.sms_url = Some(format!("{url}/sms"));
        c.notifications.push_url = Some(format!("{url}/push"));
        c.notifications.digest_window_secs = 1;
    })
    .await;
    let admin = app.admin().await;
    let ana = member(&app, "ana@agon.test").await;
    let response = app
        .as_user(&ana)
        .put_json("/notifications/contact", json!({"phone": "12345"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "invalid_body").await;
    let response = app
        .as_user(&ana)
        .put_json("/notifications/contact", json!({"phone": "+34600111222"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The device is registered with the users service; the notifications service learns it from its event.
    let response = app
        .as_user(&ana)
        .post_json(
            "/users/me/devices",
            json!({"token": "device-token-1", "platform": "android"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let db = app.database("notifications").await;
    app.until(|| async {
        use agon_db::Row;
        sqlx::query("select count(*) from push_tokens")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
            == 1
    })
    .await;

    send(
        &app,
        &admin,
        json!({"user_ids": [ana.id], "title": "Match", "body": "Court 3 at 18:00", "channels": ["sms", "push"]}),
    )
    .await;
    // The first provider call fails (500) and is retried after its back-off.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while provider.received("sms").len() + provider.received("push").len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "provider never got both"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        provider.received("sms"),
        [json!({"to": "+34600111222", "text": "Match: Court 3 at 18:00"})]
    );
    assert_eq!(provider.received("push")[0]["token"], "device-token-1");
    // The provider has answered; the worker records `sent` just after, so the log catches up.
    let sent_log = || async {
        app.as_user(&admin)
            .get("/notifications/admin/deliveries?status=sent")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    app.until(|| async { sent_log().await["items"].as_array().unwrap().len() == 2 })
        .await;
    let log = sent_log().await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["attempts"] == 2),
        "one delivery needed a retry"
    );
    let response = app
        .as_user(&ana)
        .get("/notifications/admin/deliveries")
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;

    // Three new followers in a burst: three in-app notifications, one email and one push for the burst.
    for name in ["f1", "f2", "f3"] {
        let follower = member(&app, &format!("{name}@agon.test")).await;
        let response = app
            .as_user(&follower)
            .put_json(&format!("/users/{}/follow", ana.id), json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    app.until(|| async {
        items(&app, &ana, "/notifications?limit=100")
            .await
            .iter()
            .filter(|n| n["type"] == "new_follower")
            .count()
            == 3
    })
    .await;
    let digest = app.mail("ana@agon.test", "New follower (and 2 more)").await;
    assert!(digest.body.contains("follows you now"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while provider.received("push").len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no digest push");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        provider.received("push").len(),
        2,
        "one push for the whole burst"
    );
    assert_eq!(
        app.mails("ana@agon.test")
            .await
            .iter()
            .filter(|m| m.subject.starts_with("New follower"))
            .count(),
        1,
        "one email for the whole burst"
    );
}

#[tokio::test]
async fn replicas_share_live_messages_through_redis() {
    let Some(redis) = agon_testkit::test_redis_url() else {
        eprintln!("needs AGON_TEST_REDIS_URL (scripts/test starts Redis)");
        return;
    };
    use agon_notifications::hub::{Hub, Push};
    let channel = format!("test:{}", uuid::Uuid::now_v7());
    let (a, receive_a) = Hub::redis(&redis, &channel).await.unwrap();
    let (b, receive_b) = Hub::redis(&redis, &channel).await.unwrap();
    tokio::spawn(receive_a);
    tokio::spawn(receive_b);
    let user = uuid::Uuid::now_v7();
    let (_on_a, mut from_a) = a.register(user);
    let (_everyone, mut on_b) = b.register(uuid::Uuid::now_v7());
    b.publish(Push {
        users: Some(vec![user]),
        frame: "sent on b".into(),
    })
    .await;
    let got = tokio::time::timeout(Duration::from_secs(5), from_a.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &*got, "sent on b",
        "a member on replica A gets what replica B sends"
    );
    a.publish(Push {
        users: None,
        frame: "broadcast".into(),
    })
    .await;
    let got = tokio::time::timeout(Duration::from_secs(5), on_b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&*got, "broadcast");
    assert!(
        on_b.try_recv().is_err(),
        "the targeted message did not reach others"
    );
}
