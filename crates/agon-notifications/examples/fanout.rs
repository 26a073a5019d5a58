//! WebSocket fan-out load: holds N connections through the gateway, then has the administrator broadcast and
//! measures, per connection, the time from the broadcast request to the frame's arrival. Used by `bench/ws.sh`.
//!
//!   fanout --url http://127.0.0.1:8000 --email admin@… --password … --connections 10000 --rounds 5

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    url: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = reqwest::Client::new();
    let (token, ws) = login(&client, &args).await;

    let (arrivals, mut arrived) = mpsc::unbounded_channel::<Instant>();
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<()>();
    let handshakes = Arc::new(Semaphore::new(200));
    let opening = Instant::now();
    for _ in 0..args.connections {
        let (ws, arrivals, ready_tx, handshakes) = (
            ws.clone(),
            arrivals.clone(),
            ready_tx.clone(),
            handshakes.clone(),
        );
        tokio::spawn(async move {
            let permit = handshakes.acquire_owned().await.unwrap();
            let (mut socket, _) = tokio_tungstenite::connect_async(ws)
                .await
                .expect("connected");
            drop(permit);
            while let Some(Ok(message)) = socket.next().await {
                let now = Instant::now();
                let Ok(text) = message.to_text() else {
                    continue;
                };
                if text.contains("\"ready\"") {
                    ready_tx.send(()).unwrap();
                } else if text.contains("\"notification\"") {
                    arrivals.send(now).unwrap();
                }
            }
        });
    }
    for _ in 0..args.connections {
        ready.recv().await.unwrap();
    }
    println!(
        "{} connections open and ready in {:.1} s",
        args.connections,
        opening.elapsed().as_secs_f64()
    );

    let mut latencies = Vec::with_capacity(args.connections * args.rounds);
    for round in 0..args.rounds {
        let sent = Instant::now();
        let response = client
            .post(format!("{}/notifications/broadcast", args.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({"title": format!("Round {round}"), "body": "fan-out"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        for _ in 0..args.connections {
            let at = tokio::time::timeout(Duration::from_secs(30), arrived.recv())
                .await
                .expect("every connection got the broadcast within 30 s")
                .unwrap();
            latencies.push(at.duration_since(sent));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "broadcast to {} connections × {} rounds: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (all {} delivered)",
        args.connections,
        args.rounds,
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
        latencies.len()
    );
}

/// The member's access token, and the WebSocket URL it opens.
async fn login(client: &reqwest::Client, args: &Args) -> (String, String) {
    let token: serde_json::Value = client
        .post(format!("{}/auth/token", args.url))
        .json(&serde_json::json!({"grant_type": "password", "email": args.email, "password": args.password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"]
        .as_str()
        .expect("logged in")
        .to_owned();
    let ws = format!(
        "{}/ws?access_token={token}",
        args.url.replacen("http://", "ws://", 1)
    );
    (token, ws)
}
