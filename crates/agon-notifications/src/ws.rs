//! `GET /ws`: a member's live notifications over a WebSocket.
//!
//! The token comes in the `Authorization` header or, from browsers (which cannot set headers on the
//! handshake), as `access_token` in the query. `after=<id>` resumes: the connection first registers for live
//! messages, then sends everything stored after that id, then `{"type":"ready"}`, then live notifications — so
//! nothing committed between the two is missed (a notification may arrive twice around `ready`; clients keep
//! the last id they saw and skip older ones). The server pings every [`PING`] and closes a connection that has
//! not answered for [`IDLE`]. A client that cannot keep up with its queue is closed with 1013 and resumes. When
//! the token's session ends (logout, ban …) the connection is closed with 1008 at its next frame or ping.

use std::time::Duration;

use agon_kit::{AuthUser, Query};
use axum::{
    extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    http::{HeaderMap, header},
    response::Response,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{State, error::Error, send::frame};

pub const PING: Duration = Duration::from_secs(20);
pub const IDLE: Duration = Duration::from_secs(60);
/// Most stored notifications one resume replays; a client further behind pages through `GET /notifications`.
pub const RESUME_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WsParams {
    /// The access token, for clients that cannot send an `Authorization` header.
    pub access_token: Option<String>,
    /// Resume after this notification id (the last one the client saw).
    pub after: Option<Uuid>,
}

/// Live notifications over a WebSocket (upgrade).
#[utoipa::path(get, path = "/ws", tag = "notifications", params(WsParams),
    responses((status = 101, description = "switching to the WebSocket protocol"), (status = 401)))]
pub async fn connect(
    state: State,
    headers: HeaderMap,
    Query(params): Query<WsParams>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Error> {
    let token = match (&params.access_token, headers.get(header::AUTHORIZATION)) {
        (Some(token), _) => token.clone(),
        (None, Some(value)) => agon_kit::auth::bearer_token(value)
            .ok_or(agon_kit::auth::AuthError::Malformed)?
            .to_owned(),
        (None, None) => return Err(agon_kit::auth::AuthError::Missing.into()),
    };
    let user = AuthUser::from_token(&token, &state.verifier).await?;
    // Frames are small JSON documents: small buffers keep ten thousand idle connections cheap (the defaults
    // are 128 KiB each way per connection).
    Ok(upgrade
        .read_buffer_size(4096)
        .write_buffer_size(4096)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| session(state, socket, user, params.after)))
}

async fn session(state: State, mut socket: WebSocket, caller: AuthUser, after: Option<Uuid>) {
    let user = caller.user_id;
    let revoked = || state.verifier.revocations().is_revoked(&caller.session_id);
    // Registered before reading the backlog: whatever commits in between arrives live.
    let (registration, mut live) = state.hub.register(user);
    if let Some(after) = after {
        match state.store.since(user, after, RESUME_LIMIT).await {
            Ok(missed) => {
                for view in missed {
                    if !send(&mut socket, frame(&view)).await {
                        return;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "resume failed");
                close(&mut socket, 1011, "resume failed").await;
                return;
            }
        }
    }
    if !send(&mut socket, r#"{"type":"ready"}"#.to_owned()).await {
        return;
    }
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            message = live.recv() => match message {
                Some(_) if revoked() => {
                    close(&mut socket, 1008, "session ended").await;
                    break;
                }
                Some(text) => {
                    if !send(&mut socket, text).await {
                        break;
                    }
                }
                None => {
                    // The hub cut this connection off: it fell too far behind.
                    close(&mut socket, 1013, "too slow; reconnect with after=<last id>").await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
            },
            _ = ping.tick() => {
                if revoked() {
                    close(&mut socket, 1008, "session ended").await;
                    break;
                }
                if last_heard.elapsed() > IDLE {
                    close(&mut socket, 1001, "no answer to pings").await;
                    break;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    drop(registration);
}

/// Sends one text frame; a client that does not take it within 10 s is gone.
async fn send(socket: &mut WebSocket, text: impl Into<crate::hub::Frame>) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(10),
            socket.send(Message::Text(text.into()))
        )
        .await,
        Ok(Ok(()))
    )
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}
