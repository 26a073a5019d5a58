//! Brute-force throttling of password checks, per account and per client address, in a sliding window.
//!
//! Per account, an attempt is recorded *before* the password is evaluated and counted with the others, so
//! concurrent guesses cannot slip past the limit together: at most `max_failures_per_account` passwords are ever
//! evaluated for one account in a window, and a success clears the account's record. Per client address only
//! *failures* count (recorded after the evaluation): the members behind one NAT or proxy log in as often as they
//! like, and only wrong passwords from that address can use up its allowance. Over a limit the answer is 429 with
//! `Retry-After` and nothing is evaluated. There is no permanent lockout: once the window slides past the
//! failures, the owner logs in again.

use agon_db::time_text;
use chrono::{DateTime, Duration, Utc};

use crate::{State, error::Error};

pub struct Attempt<'a> {
    state: &'a State,
    account: String,
    address: String,
}

impl<'a> Attempt<'a> {
    /// Checks the limits and records the attempt against the account, or answers 429.
    pub async fn begin(state: &'a State, email: &str, address: &str) -> Result<Self, Error> {
        let now = Utc::now();
        let attempt = Self {
            state,
            account: format!("account:{email}"),
            address: format!("ip:{address}"),
        };
        // Count first (over a limit: refuse without recording), then record against the account and count it
        // again (a concurrent attempt that recorded at the same moment makes both refuse rather than both pass).
        let limits = [
            (&attempt.account, state.config.max_failures_per_account),
            (&attempt.address, state.config.max_failures_per_ip),
        ];
        for (subject, limit) in limits {
            attempt.refuse_over(subject, limit, 0, now).await?;
        }
        state
            .store
            .record_failure(&attempt.account, &time_text(now))
            .await?;
        attempt
            .refuse_over(
                &attempt.account,
                state.config.max_failures_per_account,
                1,
                now,
            )
            .await?;
        Ok(attempt)
    }

    /// 429 when `subject` has more than `limit - 1 + recorded` failures in the window.
    async fn refuse_over(
        &self,
        subject: &str,
        limit: i64,
        recorded: i64,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let window = Duration::seconds(self.state.config.failure_window_secs);
        let (count, oldest) = self
            .state
            .store
            .failures_since(subject, &time_text(now - window))
            .await?;
        if count < limit + recorded {
            return Ok(());
        }
        let retry = oldest
            .and_then(|o| agon_db::parse_time(&o).ok())
            .map(|o| (o + window - now).num_seconds() + 1)
            .unwrap_or(self.state.config.failure_window_secs);
        tracing::warn!(
            subject = subject.split(':').next().unwrap_or_default(),
            "login throttled"
        );
        Err(Error::Throttled(retry.max(1)))
    }

    /// The password was wrong: the account's recorded attempt stays, and the address is charged a failure.
    pub async fn failed(self) -> Result<(), Error> {
        self.state
            .store
            .record_failure(&self.address, &time_text(Utc::now()))
            .await
    }

    /// The password was right: the account's failures are forgiven; the address was never charged.
    pub async fn succeeded(self) -> Result<(), Error> {
        self.state.store.clear_failures(&self.account).await
    }
}
