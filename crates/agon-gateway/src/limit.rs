//! Rate limiting at the edge: at most `requests` per client address per fixed window of `window_secs`. In one
//! process the counters are local; with Redis (`agon serve`) every gateway replica counts in the same keys, so a
//! client cannot multiply its allowance by spreading over replicas. Should Redis fail, requests pass (and a
//! warning is logged): the limiter protects the platform; it must not take it down.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

/// `[gateway.rate_limit]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests one client address may make per window; 0 turns limiting off.
    pub requests: u64,
    pub window_secs: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests: 0,
            window_secs: 60,
        }
    }
}

pub enum Limiter {
    Off,
    Local {
        config: RateLimitConfig,
        counters: moka::sync::Cache<(String, u64), Arc<AtomicU64>>,
    },
    Redis {
        config: RateLimitConfig,
        connection: redis::aio::ConnectionManager,
        prefix: String,
    },
}

impl Limiter {
    /// A limiter for `config`: shared through Redis at `redis_url` (keys under `prefix`) when given.
    pub async fn new(
        config: RateLimitConfig,
        redis_url: Option<&str>,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        if config.requests == 0 {
            return Ok(Limiter::Off);
        }
        let config = RateLimitConfig {
            window_secs: config.window_secs.max(1),
            ..config
        };
        Ok(match redis_url {
            Some(url) => Limiter::Redis {
                connection: redis::Client::open(url)?.get_connection_manager().await?,
                prefix: format!("{prefix}agon:ratelimit:"),
                config,
            },
            None => Limiter::Local {
                counters: moka::sync::Cache::builder()
                    .max_capacity(1_000_000)
                    .time_to_live(Duration::from_secs(config.window_secs * 2))
                    .build(),
                config,
            },
        })
    }

    /// Counts one request of `client`; `Err(seconds)` when over the limit, with the seconds until the window
    /// ends (for `Retry-After`).
    pub async fn check(&self, client: &str) -> Result<(), u64> {
        let (config, count) = match self {
            Limiter::Off => return Ok(()),
            Limiter::Local { config, counters } => {
                let window = window(config);
                let counter = counters.get_with((client.to_owned(), window), Default::default);
                (config, counter.fetch_add(1, Ordering::Relaxed) + 1)
            }
            Limiter::Redis {
                config,
                connection,
                prefix,
            } => {
                let key = format!("{prefix}{client}:{}", window(config));
                let mut connection = connection.clone();
                let counted: redis::RedisResult<(u64, i64)> = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(config.window_secs * 2)
                    .arg("NX")
                    .query_async(&mut connection)
                    .await;
                match counted {
                    Ok((count, _)) => (config, count),
                    Err(error) => {
                        tracing::warn!(%error, "rate limit not checked: Redis failed");
                        return Ok(());
                    }
                }
            }
        };
        if count > config.requests {
            Err(config.window_secs - now_secs() % config.window_secs)
        } else {
            Ok(())
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn window(config: &RateLimitConfig) -> u64 {
    now_secs() / config.window_secs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_over_its_allowance_is_refused_until_the_window_ends() {
        let limiter = Limiter::new(
            RateLimitConfig {
                requests: 3,
                window_secs: 3600,
            },
            None,
            "",
        )
        .await
        .unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check("10.0.0.1").await, Ok(()));
        }
        let retry = limiter.check("10.0.0.1").await.unwrap_err();
        assert!((1..=3600).contains(&retry));
        assert_eq!(
            limiter.check("10.0.0.2").await,
            Ok(()),
            "others are not affected"
        );
        let off = Limiter::new(RateLimitConfig::default(), None, "")
            .await
            .unwrap();
        for _ in 0..100 {
            assert_eq!(off.check("10.0.0.1").await, Ok(()));
        }
    }
}
