//! Connection hygiene over raw sockets: slow heads, idle connections, the connection cap, header sizes.

use std::time::{Duration, Instant};

use agon_testkit::TestApp;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const GET_HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/// Reads one response (head plus a `content-length` body) off `stream`, as text.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(
            n > 0,
            "closed before a full answer: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// Waits until the server closes `stream` (reads EOF or a reset), at most `limit`; returns how long it took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut chunk)).await {
            Err(_) => panic!("still open after {limit:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_half_sent_head_is_closed_after_the_header_read_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.gateway.connections.header_read_timeout_ms = 300;
        c.gateway.connections.idle_timeout_ms = 600_000;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(200), "closed after {took:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.gateway.connections.header_read_timeout_ms = 600_000;
        c.gateway.connections.idle_timeout_ms = 400;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(GET_HEALTHZ).await.unwrap();
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(200), "closed after {took:?}");
}

#[tokio::test]
async fn a_connection_that_never_sends_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with(|c| c.gateway.connections.idle_timeout_ms = 400).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    closed_within(&mut stream, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn clients_over_the_connection_cap_get_503_and_a_freed_slot_serves_again() {
    let app = TestApp::spawn_with(|c| c.gateway.connections.max_connections = 4).await;
    let mut open = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        // A full exchange: the connection is surely accepted and counted.
        stream.write_all(GET_HEALTHZ).await.unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        open.push(stream);
    }
    let mut fifth = TcpStream::connect(app.addr).await.unwrap();
    fifth.write_all(GET_HEALTHZ).await.unwrap();
    let answer = read_response(&mut fifth).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(
        answer.contains(r#""code":"too_many_connections""#),
        "{answer}"
    );
    assert!(answer.contains(r#""status":503"#), "{answer}");
    closed_within(&mut fifth, Duration::from_secs(5)).await;

    drop(open.pop());
    // The server notices the close on its next read; until then a new client may still be refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(GET_HEALTHZ).await.unwrap();
        let answer = read_response(&mut stream).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(Instant::now() < deadline, "no slot freed within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn oversized_headers_get_431_and_many_normal_ones_pass() {
    let app = TestApp::spawn().await;
    // One 64 KiB header: over the whole head's limit, refused by hyper before parsing ends.
    let huge = app
        .get("/healthz")
        .header("x-huge", "a".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 431);
    // 16 KiB: within the head's limit, over one line's — our problem document.
    let long = app
        .get("/healthz")
        .header("x-long", "a".repeat(16 * 1024))
        .send()
        .await
        .unwrap();
    agon_testkit::assert_problem(long, 431, "header_too_large").await;
    // A thousand headers: over hyper's count.
    let mut many = app.get("/healthz");
    for i in 0..1000 {
        many = many.header(format!("x-h{i}"), "1");
    }
    assert_eq!(many.send().await.unwrap().status(), 431);
    // Fifty ordinary headers of 200 bytes each are fine.
    let mut normal = app.get("/healthz");
    for i in 0..50 {
        normal = normal.header(format!("x-h{i}"), "v".repeat(200));
    }
    assert_eq!(normal.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with(|c| c.gateway.connections.idle_timeout_ms = 400).await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("{}/healthz", app.url))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    drop(response);
    // Hyper's HTTP/2 server has no idle timeout of its own: the watchdog sends GOAWAY and the connection ends.
    tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("closed within 5 s")
        .unwrap()
        .ok();
}
