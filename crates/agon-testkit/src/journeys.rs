//! Journeys of the seed systems' clients, written once over plain HTTP so that the same steps run against the
//! platform in one process (`agon up`) and against one process per service (`agon serve`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod apigw;
mod ecom;
mod gymit;
pub use apigw::apigw;
pub use ecom::little_ecom;
pub use gymit::gymit;

/// A seed client speaking to a gateway at `base`.
pub struct SeedClient {
    http: reqwest::Client,
    base: String,
}

impl SeedClient {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// One call: the status and the body (JSON, or the text as a JSON string).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A file uploaded as `multipart/form-data` (one part named `field`), as `httpx` sends it.
    pub async fn upload(&self, path: &str, token: &str, field: &str, bytes: &[u8]) -> (u16, Value) {
        let boundary = "----agon-journey-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"photo.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Calls until `done` holds for the answer (events cross the bus; processes follow feeds), for at most 30 s.
    pub async fn until(
        &self,
        what: &str,
        (method, path, token, body): (&str, &str, Option<&str>, Option<Value>),
        done: impl Fn(u16, &Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, answer) = self.call(method, path, token, body.clone()).await;
            if done(status, &answer) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: still {status} {answer} after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Kinetix (seed 000) end to end, as its mobile app and backoffice call it: sign up, log in, a trainer's
/// training favourited and scored, a target the app's reports complete, the backoffice's metrics, and a logout
/// after which the token is refused.
pub async fn kinetix(base: &str) {
    let c = SeedClient::new(base);
    let (admin, tess, ana) = kinetix_people(&c).await;
    kinetix_training_and_target(&c, &tess, &ana).await;
    kinetix_backoffice(&c, &admin).await;
    // Logout ends the session: the token is refused from then on.
    assert_eq!(c.call("DELETE", "/tokens", Some(&ana), None).await.0, 200);
    c.until(
        "the logged-out token refused",
        ("GET", "/users/me", Some(&ana), None),
        |s, _| s == 403,
    )
    .await;
}

/// Tess and Ana sign up; the administrator makes Tess a trainer. Tokens of the administrator, Tess and Ana.
async fn kinetix_people(c: &SeedClient) -> (String, String, String) {
    let token = |email: &'static str, password: &'static str| async move {
        let body = json!({ "email": email, "password": password });
        let (status, tokens) = c.call("POST", "/tokens", None, Some(body)).await;
        assert_eq!(status, 201, "{tokens}");
        tokens["access_token"].as_str().unwrap().to_owned()
    };
    let mut ids = Vec::new();
    for (email, fullname) in [("tess@kinetix.com", "Tess"), ("ana@kinetix.com", "Ana")] {
        let body = json!({ "email": email, "password": "kinetix password", "fullname": fullname,
                           "description": "", "city": "Rosario", "country": "Argentina",
                           "latitude": -32.9, "longitude": -60.6 });
        let (status, user) = c.call("POST", "/users", None, Some(body)).await;
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let admin = token(crate::ADMIN_EMAIL, crate::ADMIN_PASSWORD).await;
    // The administrator makes Tess a trainer; a token issued once the role reached the auth service carries it.
    let roles = json!({ "roles": ["athlete", "trainer"] });
    let path = format!("/users/{}/roles", ids[0]);
    c.until(
        "the trainer role",
        ("PUT", &path, Some(&admin), Some(roles)),
        |s, _| s == 200,
    )
    .await;
    let login = json!({ "email": "tess@kinetix.com", "password": "kinetix password" });
    let tokens = c
        .until(
            "a trainer's token",
            ("POST", "/tokens", None, Some(login)),
            |_, t| {
                t["access_token"]
                    .as_str()
                    .is_some_and(|t| crate::claims(t)["roles"].to_string().contains("trainer"))
            },
        )
        .await;
    let tess = tokens["access_token"].as_str().unwrap().to_owned();
    let ana = token("ana@kinetix.com", "kinetix password").await;

    (admin, tess, ana)
}

/// Tess's training, favourited and scored by Ana; Ana's target, completed by the app's reports.
async fn kinetix_training_and_target(c: &SeedClient, tess: &str, ana: &str) {
    let training = json!({ "title": "Costanera 10k", "description": "Along the river", "type": "running",
                           "difficulty": 4, "multimedia": [], "goals": [{ "name": "Pace" }] });
    let (status, created) = c
        .call("POST", "/trainings", Some(tess), Some(training))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let favourite = json!({ "training_id": id });
    let (status, _) = c
        .call("POST", "/favorites", Some(ana), Some(favourite))
        .await;
    assert_eq!(status, 201);
    let scores = format!("/trainings/{id}/scores");
    let (status, _) = c
        .call("POST", &scores, Some(ana), Some(json!({ "score": 5 })))
        .await;
    assert_eq!(status, 201);
    let (_, read) = c
        .call("GET", &format!("/trainings/{id}"), Some(ana), None)
        .await;
    assert_eq!(
        (read["score"].as_f64(), read["score_amount"].as_i64()),
        (Some(5.0), Some(1))
    );

    let limit = agon_db::time_text(chrono::Utc::now() + chrono::Duration::days(10));
    let goal = json!({ "name": "Run 10 km", "description": "", "type": "Distance travelled", "limit": limit,
                       "current": 0, "target": 10, "multimedia": [] });
    let (status, target) = c.call("POST", "/targets", Some(ana), Some(goal)).await;
    assert_eq!(status, 201, "{target}");
    for count in [4, 4, 4] {
        let report = json!({ "type": "Distance travelled", "count": count });
        assert_eq!(
            c.call("POST", "/reports", Some(ana), Some(report)).await.0,
            201
        );
    }
    let target_path = format!("/targets/{}", target["id"].as_str().unwrap());
    let (_, done) = c.call("GET", &target_path, Some(ana), None).await;
    assert_eq!(
        (done["current"].as_f64(), done["completed"].as_bool()),
        (Some(10.0), Some(true))
    );
}

/// The backoffice's counters and the events behind them, once the events reached the metrics service.
async fn kinetix_backoffice(c: &SeedClient, admin: &str) {
    let counters = c
        .until(
            "the trainings counters",
            ("GET", "/metrics/trainings", Some(admin), None),
            |_, m| m["trainingsFavorited"] == 1,
        )
        .await;
    assert_eq!(
        counters,
        json!({ "trainingsCreated": 1, "trainingsFavorited": 1 })
    );
    let (status, created) = c
        .call(
            "GET",
            "/metrics/trainings/events/trainingCreated/",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(
        (status, created[0]["attrs"]["title"].as_str()),
        (200, Some("Costanera 10k")),
        "{created}"
    );
    let signed = c
        .until(
            "the sign-ups",
            ("GET", "/metrics/users", Some(admin), None),
            |_, m| m["signinsWithMail"] == 2,
        )
        .await;
    assert_eq!(signed["loginsWithFederatedId"], 0);
    let (_, signups) = c
        .call(
            "GET",
            "/metrics/users/events/signinsWithMail",
            Some(admin),
            None,
        )
        .await;
    let emails: Vec<&str> = signups
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["attrs"]["email"].as_str())
        .collect();
    assert_eq!(emails, ["ana@kinetix.com", "tess@kinetix.com"]);
    let (_, none) = c
        .call(
            "GET",
            "/metrics/users/events/noSuchCommand",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(none, json!([]));
}
