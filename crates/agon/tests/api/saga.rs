//! The shop's buy across processes, with the ledger and then the shop killed with SIGKILL while buyers keep
//! buying (and retrying with their Idempotency-Keys): once both are back, every order is settled and the shop and
//! the ledger agree — units sold = orders completed = purchases charged.

use std::time::{Duration, Instant};

use agon_testkit::json;
use serde_json::Value;

use crate::cluster::Cluster;

const UNITS: i64 = 60;
const BUYS: usize = 100;
const PRICE: i64 = 100;
const FUNDS: i64 = 10_000;

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// The answer's status and body; 0 when the gateway could not be reached or the service was down.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let body = json!({ "grant_type": "password", "email": email, "password": password });
        let r = self
            .http
            .post(format!("{}/auth/token", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let tokens: Value = r.json().await.unwrap();
        tokens["access_token"]
            .as_str()
            .expect("logged in")
            .to_owned()
    }

    /// A buy, retried with its key until the answer is final (not a failed request, not still pending): the
    /// final status, and how many attempts it took.
    async fn buy(&self, token: &str, item: &str, key: &str) -> (u16, u32) {
        let deadline = Instant::now() + Duration::from_secs(90);
        let path = format!("/shop/items/{item}/buy");
        for attempt in 1.. {
            let (status, _) = self.call("POST", &path, token, None, Some(key)).await;
            if matches!(status, 200 | 201 | 402 | 409) || Instant::now() > deadline {
                return (status, attempt);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        unreachable!()
    }
}

#[tokio::test]
async fn buys_survive_the_ledger_and_the_shop_killed_mid_saga() {
    let Some(mut cluster) = Cluster::start(None, &["ledger", "shop"]).await else {
        return;
    };
    let _logs = cluster.logs_on_failure();
    let client = Client {
        http: reqwest::Client::new(),
        base: cluster.base.clone(),
    };
    let admin = client
        .login(agon_testkit::ADMIN_EMAIL, agon_testkit::ADMIN_PASSWORD)
        .await;
    let item = json!({ "name": "Race entry", "price": PRICE, "stock": UNITS });
    let (status, item) = client
        .call("POST", "/shop/items", &admin, Some(item), None)
        .await;
    assert_eq!(status, 201, "{item}");
    let item = item["id"].as_str().unwrap().to_owned();
    let mut buyers = Vec::new();
    for n in 0..4 {
        let email = format!("buyer{n}@club.org");
        let body = json!({ "email": email, "password": agon_testkit::PASSWORD });
        let r = client
            .http
            .post(format!("{}/auth/register", client.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let token = client.login(&email, agon_testkit::PASSWORD).await;
        let (_, account) = client
            .call("GET", "/ledger/accounts/me", &token, None, None)
            .await;
        let deposit = json!({ "user_id": account["owner_id"], "amount": FUNDS });
        assert_eq!(
            client
                .call("POST", "/ledger/deposits", &admin, Some(deposit), None)
                .await
                .0,
            201
        );
        buyers.push(token);
    }

    let buys = (0..BUYS).map(|n| {
        let (client, token, item) = (&client, &buyers[n % 4], &item);
        async move {
            tokio::time::sleep(Duration::from_millis(40 * n as u64)).await;
            client.buy(token, item, &format!("buy-{n}")).await
        }
    });
    let faults = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        cluster.kill("ledger");
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.launch("ledger").await;
        cluster.kill("shop");
        tokio::time::sleep(Duration::from_secs(1)).await;
        cluster.launch("shop").await;
    };
    let (answers, ()) = tokio::join!(futures_util::future::join_all(buys), faults);
    let paid = answers
        .iter()
        .filter(|(s, _)| matches!(s, 200 | 201))
        .count();
    let sold_out = answers.iter().filter(|(s, _)| *s == 409).count();
    assert_eq!(
        (paid as i64, sold_out),
        (UNITS, BUYS - UNITS as usize),
        "{answers:?}"
    );
    let interrupted = answers.iter().filter(|(_, attempts)| *attempts > 1).count();
    assert!(interrupted > 0, "no buy met a killed process: {answers:?}");

    // Every order settled, and the two services agree.
    let (_, orders) = client
        .call("GET", "/shop/orders?limit=100", &admin, None, None)
        .await;
    let orders = orders["items"].as_array().unwrap().clone();
    assert!(
        orders.iter().all(|o| o["status"] == "completed"),
        "{orders:?}"
    );
    assert_eq!(orders.len() as i64, UNITS);
    let (_, item) = client
        .call("GET", &format!("/shop/items/{item}"), &admin, None, None)
        .await;
    assert_eq!(item["stock"], 0);
    let mut charged = 0;
    for token in &buyers {
        let (_, account) = client
            .call("GET", "/ledger/accounts/me", token, None, None)
            .await;
        charged += FUNDS - account["balance"].as_i64().unwrap();
    }
    assert_eq!(
        charged,
        UNITS * PRICE,
        "every completed order charged once, nothing else"
    );
}
