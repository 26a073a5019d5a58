//! GYM IT (seed 003) end to end, as its static frontend calls it: a trainer approved by the administrator runs a
//! tournament; members ask to join and are approved (told live over the WebSocket), guests are entered by name,
//! the bracket is generated and played to its champion, who leads the club leaderboard.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::SeedClient;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads the socket until a notification of `kind` arrives (others, such as the welcome, pass by).
async fn notified(socket: &mut Socket, kind: &str) -> Value {
    let wait = async {
        while let Some(frame) = socket.next().await {
            let text = frame.unwrap().into_text().unwrap();
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["notification"]["type"] == kind {
                return frame["notification"].clone();
            }
        }
        panic!("the socket closed before a {kind} notification");
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind} notification within 30 s"))
}

async fn login(c: &SeedClient, email: &str, password: &str) -> (String, Value) {
    let body = json!({ "email": email, "password": password });
    let answer = c
        .until(
            &format!("{email} logs in"),
            ("POST", "/api/auth/login", None, Some(body)),
            |s, _| s == 200,
        )
        .await;
    let token = answer["access_token"].as_str().unwrap().to_owned();
    (token, answer["user"].clone())
}

/// Registers a member (approved at once) and logs in.
async fn member(c: &SeedClient, email: &str, name: &str) -> (String, Value) {
    let body = json!({ "email": email, "password": "gym password 1", "full_name": name });
    let (status, answer) = c.call("POST", "/api/auth/register", None, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    login(c, email, "gym password 1").await
}

/// A trainer: registered, approved by the administrator, logged in with the trainer's role.
async fn trainer(c: &SeedClient, admin: &str) -> String {
    let body = json!({ "email": "tom@gym.com", "password": "gym password 1", "full_name": "Tom",
                       "role": "trainer" });
    let (status, answer) = c.call("POST", "/api/auth/register", None, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    // The sign-up reaches the users service over the bus.
    let has_tom = |u: &Value| u["email"] == "tom@gym.com";
    let users = c
        .until(
            "the trainer's profile",
            ("GET", "/api/users/", Some(admin), None),
            |_, users| users.as_array().is_some_and(|l| l.iter().any(has_tom)),
        )
        .await;
    let tom = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| has_tom(u))
        .unwrap();
    let approve = json!({ "user_id": tom["id"] });
    let (status, _) = c
        .call("PATCH", "/api/users/approve", Some(admin), Some(approve))
        .await;
    assert_eq!(status, 200);
    let (token, user) = login(c, "tom@gym.com", "gym password 1").await;
    assert_eq!(user["role"], "trainer");
    token
}

pub async fn gymit(base: &str) {
    let c = SeedClient::new(base);
    let (admin, _) = login(&c, crate::ADMIN_EMAIL, crate::ADMIN_PASSWORD).await;
    let tom = trainer(&c, &admin).await;
    let mut members = Vec::new();
    for (email, name) in [
        ("ana@gym.com", "Ana"),
        ("bo@gym.com", "Bo"),
        ("cy@gym.com", "Cy"),
    ] {
        members.push(member(&c, email, name).await);
    }
    let [(ana, ana_user), (bo, _), (cy, cy_user)] = <[_; 3]>::try_from(members).unwrap();

    let id = create(&c, &tom, &ana).await;
    let at = |rest: &str| format!("/api/tournaments/{id}{rest}");
    let (_, listed) = c.call("GET", "/api/tournaments/", Some(&bo), None).await;
    assert_eq!(listed["tournaments"][0]["id"], json!(id));

    // Ana follows her notifications live.
    let ws = format!(
        "{}/ws?access_token={ana}",
        base.replacen("http://", "ws://", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws).await.unwrap();

    entries(
        &c,
        (&tom, &ana, &bo, &cy),
        (&ana_user, &cy_user),
        &id,
        &mut socket,
    )
    .await;
    // Guests by name, approved at once: six entries.
    let guests =
        json!({ "participants": [{ "name": "Gil" }, { "name": "Hal" }, { "name": "Ivy" }] });
    let (status, added) = c
        .call("PUT", &at("/participants"), Some(&tom), Some(guests))
        .await;
    assert_eq!(
        (status, &added["message"]),
        (200, &json!("Participants added successfully")),
        "{added}"
    );
    play(&c, (&tom, &ana), &id).await;
    let told = notified(&mut socket, "tournament_won").await;
    assert!(
        told["body"].as_str().unwrap().contains("Winter smash"),
        "{told}"
    );

    standings_then_delete(&c, (&tom, &bo), &id).await;
}

/// Members do not create tournaments; the trainer does, and it takes entries at once. Its id.
async fn create(c: &SeedClient, tom: &str, ana: &str) -> String {
    // Members do not create tournaments; the trainer does, and it takes entries at once.
    let new = json!({ "name": "Winter smash", "start_date": "2027-01-16T09:00:00.000Z", "max_participants": 8 });
    let (status, refused) = c
        .call("POST", "/api/tournaments/", Some(ana), Some(new.clone()))
        .await;
    assert_eq!(
        (status, &refused["detail"]),
        (403, &json!("Trainer or Admin access required"))
    );
    let (status, created) = c
        .call("POST", "/api/tournaments/", Some(tom), Some(new))
        .await;
    assert_eq!(
        (status, &created["message"]),
        (201, &json!("Tournament created successfully")),
        "{created}"
    );
    let t = &created["tournament"];
    assert_eq!(
        (
            &t["status"],
            &t["participant_count"],
            &t["max_participants"]
        ),
        (&json!("setup"), &json!(0), &json!(8))
    );
    assert_eq!(t["tournament_type"], "single_elimination");
    t["id"].as_str().unwrap().to_owned()
}

/// Members ask for themselves only (pending); the trainer approves them.
async fn entries(
    c: &SeedClient,
    (tom, ana, bo, cy): (&str, &str, &str, &str),
    (ana_user, cy_user): (&Value, &Value),
    id: &str,
    socket: &mut Socket,
) {
    let at = |rest: &str| format!("/api/tournaments/{id}{rest}");
    let mine = json!({ "participants": [{ "user_id": ana_user["id"], "name": "Ana" }] });
    let (status, asked) = c
        .call("PUT", &at("/participants"), Some(ana), Some(mine))
        .await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(
        asked["message"],
        "Join request submitted successfully! Waiting for trainer/admin approval."
    );
    assert_eq!(asked["participants"][0]["status"], "pending");
    let theirs = json!({ "participants": [{ "user_id": cy_user["id"], "name": "Cy" }] });
    let (status, refused) = c
        .call("PUT", &at("/participants"), Some(bo), Some(theirs))
        .await;
    assert_eq!(
        (status, &refused["detail"]),
        (
            403,
            &json!("Members can only add themselves to tournaments")
        )
    );
    let (status, bo_entry) = c
        .call(
            "POST",
            &at("/participants"),
            Some(bo),
            Some(json!({ "name": "Bo" })),
        )
        .await;
    assert_eq!(
        (status, &bo_entry["participant"]["status"]),
        (201, &json!("pending")),
        "{bo_entry}"
    );
    let (status, again) = c
        .call(
            "POST",
            &at("/participants"),
            Some(bo),
            Some(json!({ "name": "Bo" })),
        )
        .await;
    assert_eq!(
        (status, &again["detail"]),
        (409, &json!("User already registered for this tournament"))
    );
    let cy_asks = json!({ "participants": [{ "name": "Cy" }] });
    assert_eq!(
        c.call("PUT", &at("/participants"), Some(cy), Some(cy_asks))
            .await
            .0,
        200
    );
    approvals(c, tom, id, socket).await;
}

/// The trainer approves the three requests (once each), and Ana hears of it.
async fn approvals(c: &SeedClient, tom: &str, id: &str, socket: &mut Socket) {
    let at = |rest: &str| format!("/api/tournaments/{id}{rest}");
    let (_, entries) = c.call("GET", &at("/participants"), Some(tom), None).await;
    let pending: Vec<Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(pending.len(), 3, "{entries}");
    for p in &pending {
        let path = at(&format!("/participants/{}/approve", p.as_str().unwrap()));
        let (status, approved) = c.call("PATCH", &path, Some(tom), None).await;
        assert_eq!(
            (status, &approved["participant"]["status"]),
            (200, &json!("approved")),
            "{approved}"
        );
    }
    let path = at(&format!(
        "/participants/{}/approve",
        pending[0].as_str().unwrap()
    ));
    let (status, twice) = c.call("PATCH", &path, Some(tom), None).await;
    assert_eq!(
        (status, &twice["detail"]),
        (400, &json!("Participant is not pending approval"))
    );
    let told = notified(socket, "tournament_entry_approved").await;
    assert!(
        told["body"].as_str().unwrap().contains("Winter smash"),
        "{told}"
    );
}

/// Ana won the title and two matches (her bye counts for nothing); guests have no line. Then the tournament goes.
async fn standings_then_delete(c: &SeedClient, (tom, bo): (&str, &str), id: &str) {
    let at = |rest: &str| format!("/api/tournaments/{id}{rest}");
    let (status, board) = c
        .call("GET", "/api/tournaments/leaderboard", Some(bo), None)
        .await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(board["total_players"], 3, "{board}");
    let first = &board["leaderboard"][0];
    assert_eq!(
        (&first["user_name"], &first["rank"], &first["points"]),
        (&json!("Ana"), &json!(1), &json!(120))
    );
    assert_eq!(
        (
            &first["tournament_wins"],
            &first["total_wins"],
            &first["total_losses"]
        ),
        (&json!(1), &json!(2), &json!(0))
    );

    let (status, gone) = c.call("DELETE", &at(""), Some(tom), None).await;
    assert_eq!(
        (status, &gone["message"]),
        (200, &json!("Tournament deleted successfully"))
    );
    let (status, missing) = c.call("GET", &at(""), Some(tom), None).await;
    assert_eq!(
        (status, missing),
        (404, json!({ "detail": "Tournament not found" }))
    );
}

/// Generates the bracket of six and plays it out, the first side winning each match.
async fn play(c: &SeedClient, (tom, ana): (&str, &str), id: &str) {
    let at = |rest: &str| format!("/api/tournaments/{id}{rest}");
    assert_eq!(
        c.call("POST", &at("/generate-bracket"), Some(ana), None)
            .await
            .0,
        403
    );
    let (status, generated) = c
        .call("POST", &at("/generate-bracket"), Some(tom), None)
        .await;
    assert_eq!(status, 200, "{generated}");
    assert_eq!(
        generated,
        json!({ "message": "Bracket generated successfully", "rounds": 3, "matches": 2 })
    );
    let (status, again) = c
        .call("POST", &at("/generate-bracket"), Some(tom), None)
        .await;
    assert_eq!(
        (status, &again["detail"]),
        (400, &json!("The bracket is generated and play has started"))
    );
    let (_, t) = c.call("GET", &at(""), Some(ana), None).await;
    assert_eq!(
        (&t["status"], &t["participant_count"]),
        (&json!("active"), &json!(6))
    );
    loop {
        let (_, view) = c.call("GET", &at("/bracket"), Some(ana), None).await;
        assert_eq!(view["participants"].as_array().unwrap().len(), 6);
        let matches = view["bracket"].as_array().unwrap();
        let Some(m) = matches.iter().find(|m| {
            m["participant1"].is_object()
                && m["participant2"].is_object()
                && m["winner_id"].is_null()
        }) else {
            break;
        };
        let result = at(&format!("/bracket/{}/result", m["id"]));
        // A winner from outside the match is refused; a member records nothing.
        let outsider = matches
            .iter()
            .flat_map(|o| [&o["participant1"], &o["participant2"]])
            .find(|p| {
                p.is_object()
                    && p["id"] != m["participant1"]["id"]
                    && p["id"] != m["participant2"]["id"]
            });
        if let Some(outsider) = outsider {
            let body = json!({ "winner_id": outsider["id"] });
            let (status, refused) = c.call("PUT", &result, Some(tom), Some(body)).await;
            assert_eq!(
                (status, &refused["detail"]),
                (400, &json!("Winner must be one of the match participants"))
            );
        }
        let body = json!({ "winner_id": m["participant1"]["id"], "score": "21-17, 21-19" });
        assert_eq!(
            c.call("PUT", &result, Some(ana), Some(body.clone()))
                .await
                .0,
            403
        );
        let (status, recorded) = c.call("PUT", &result, Some(tom), Some(body)).await;
        assert_eq!(status, 200, "{recorded}");
        assert_eq!(
            recorded["bracket"]["winner"]["name"],
            m["participant1"]["name"]
        );
    }
    let (_, view) = c.call("GET", &at("/bracket"), Some(ana), None).await;
    assert_eq!(view["tournament"]["status"], "completed", "{view}");
    let last = view["bracket"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["round"], &last["winner"]["name"]),
        (&json!(3), &json!("Ana")),
        "{last}"
    );
}
