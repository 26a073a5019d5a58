//! The face service's side of a request: its photo sent for a decision — with the request, and again while it
//! stays pending (a face service that was down, or deployed after the request was made) — and the decision
//! recorded when it comes back.

use std::time::Duration;

use agon_bus::{Consume, Envelope};
use agon_db::{Tx, now_text, time_text};
use agon_messages::{auth::VerificationPhoto, faces::VerificationDecided};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{SERVICE, State, store::Store};

/// A request pending this long after its photo was last sent is sent again.
const RESEND_AFTER: Duration = Duration::from_secs(600);

/// How often pending requests are looked at.
const POLL: Duration = Duration::from_secs(10);

/// Sends a request's photo to the face service, in the caller's transaction.
pub async fn send_photo(
    tx: &mut Tx,
    request_id: Uuid,
    user_id: Uuid,
    content_type: &str,
    photo: &[u8],
    requested_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let event = VerificationPhoto {
        request_id,
        user_id,
        content_type: content_type.to_owned(),
        photo: base64::engine::general_purpose::STANDARD.encode(photo),
        requested_at,
    };
    agon_bus::enqueue(tx, SERVICE, &event).await?;
    Store::mark_announced(tx, request_id, &now_text()).await?;
    Ok(())
}

/// Sends again the photos of requests still pending long after they were sent, and those never sent (made
/// before the face service existed). Runs until the process stops.
pub async fn resend_forever(state: State) -> anyhow::Result<()> {
    loop {
        match resend_due(&state).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "verification photos sent again to be decided"),
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "resending verification photos"
            ),
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn resend_due(state: &State) -> anyhow::Result<usize> {
    let before = time_text(Utc::now() - RESEND_AFTER);
    let mut tx = state.store.db().begin().await?;
    let due = Store::unanswered(&mut tx, &before, 20).await?;
    for r in &due {
        let requested_at = agon_db::parse_time(&r.created_at)?;
        send_photo(
            &mut tx,
            r.id,
            r.user_id,
            &r.content_type,
            &r.photo,
            requested_at,
        )
        .await?;
    }
    tx.commit().await?;
    if !due.is_empty() {
        state.outbox.wake();
    }
    Ok(due.len())
}

/// The face service decided: the request and, when it is the account's latest, the account's status follow.
/// A decision on a request no longer pending (sent twice) changes nothing.
impl Consume<VerificationDecided> for State {
    async fn consume(
        &self,
        tx: &mut Tx,
        d: VerificationDecided,
        _: &Envelope,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            d.status == "verified" || d.status == "rejected",
            "unknown verification status {:?}",
            d.status
        );
        let decided = Store::decide_verification(
            tx,
            d.request_id,
            &d.status,
            d.reason.as_deref(),
            &now_text(),
        )
        .await?;
        if decided {
            tracing::info!(request = %d.request_id, user = %d.user_id, status = d.status, "verification decided");
        }
        Ok(())
    }
}
