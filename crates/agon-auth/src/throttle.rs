//! Brute-force throttling of password checks, per account and per client address, in a sliding window.
//!
//! An attempt is recorded *before* the password is evaluated and counted with the others, so concurrent guesses
//! cannot slip past the limit together: at most `max_failures_per_account` passwords are ever evaluated for one
//! account in a window. Over the limit the answer is 429 with `Retry-After` and nothing is evaluated. There is no
//! permanent lockout: once the window slides past the failures, the owner logs in again, and a success clears the
//! account's record.

use chrono::{Duration, Utc};

use crate::{State, error::Error, http::text};

pub struct Attempt<'a> {
    state: &'a State,
    account: String,
    subjects: Vec<String>,
}

impl<'a> Attempt<'a> {
    /// Checks the limits and records the attempt, or answers 429.
    pub async fn begin(state: &'a State, email: &str, address: &str) -> Result<Self, Error> {
        let now = Utc::now();
        let window = Duration::seconds(state.config.failure_window_secs);
        let account = format!("account:{email}");
        let subjects = vec![account.clone(), format!("ip:{address}")];
        let limits = [
            state.config.max_failures_per_account,
            state.config.max_failures_per_ip,
        ];
        let since = text(now - window);
        // Count first (over the limit: refuse without recording), then record and count again (a concurrent
        // attempt that recorded at the same moment makes both refuse rather than both pass).
        for recorded in [false, true] {
            if recorded {
                state.store.record_failure(&subjects, &text(now)).await?;
            }
            for (subject, limit) in subjects.iter().zip(limits) {
                let (count, oldest) = state.store.failures_since(subject, &since).await?;
                let over = if recorded {
                    count > limit
                } else {
                    count >= limit
                };
                if over {
                    let retry = oldest
                        .and_then(|o| chrono::DateTime::parse_from_rfc3339(&o).ok())
                        .map(|o| (o.with_timezone(&Utc) + window - now).num_seconds() + 1)
                        .unwrap_or(state.config.failure_window_secs);
                    tracing::warn!(
                        subject = subject.split(':').next().unwrap_or_default(),
                        "login throttled"
                    );
                    return Err(Error::Throttled(retry.max(1)));
                }
            }
        }
        Ok(Self {
            state,
            account,
            subjects,
        })
    }

    /// The password was wrong: the recorded attempt stays as a failure.
    pub async fn failed(self) -> Result<(), Error> {
        let _ = &self.subjects;
        Ok(())
    }

    /// The password was right: the account's failures are forgiven.
    pub async fn succeeded(self) -> Result<(), Error> {
        self.state.store.clear_failures(&self.account).await
    }
}
