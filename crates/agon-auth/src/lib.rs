//! Auth: owns credentials, sessions, refresh tokens and the signing keys of access tokens.
//!
//! Owns the `auth` database; nobody else reads it. Publishes `agon_messages::auth::*`. Publishes its public
//! keys into the process's [`agon_kit::auth::KeySet`] (so in-process verifiers need no HTTP call) and at
//! `/.well-known/jwks.json` (for other processes). Knows nothing about profiles, the gateway or other services.
//!
//! Entry point: [`build`].

mod admin;
mod config;
mod domain;
mod error;
mod events;
mod grants;
mod http;
mod keys;
mod mailed;
mod mfa;
mod sso;
mod store;
mod throttle;
mod verification;

use std::sync::Arc;

use agon_messages::users::{RolesChanged, UserApproved, UserBanned, UserDeleted, UserUnbanned};

pub use config::Config;
pub(crate) use domain::AccountStatus;
pub use error::Error;
pub use sso::ProviderConfig as SsoProvider;

/// The service's name: its database, its log and metric label, the source of its events.
pub const SERVICE: &str = "auth";

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
    hasher: domain::Hasher,
    keys: keys::Keys,
    mail: agon_kit::Mail,
    sso: sso::Providers,
    config: Arc<Config>,
}

agon_kit::handler_state!(State);

/// Opens and migrates the auth database, loads (or creates) the signing key and returns the service.
pub async fn build(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<agon_kit::Service> {
    let (mut skeleton, state) = open(deps, config).await?;
    bootstrap_admin(&state).await?;
    // The users service decides account state; auth enforces it (`events.rs`).
    skeleton
        .consume::<UserApproved>("auth.follow_approvals", state.clone())
        .await?;
    skeleton
        .consume::<UserBanned>("auth.follow_bans", state.clone())
        .await?;
    skeleton
        .consume::<UserUnbanned>("auth.follow_unbans", state.clone())
        .await?;
    skeleton
        .consume::<RolesChanged>("auth.follow_roles", state.clone())
        .await?;
    skeleton
        .consume::<UserDeleted>("auth.follow_deletions", state.clone())
        .await?;
    skeleton
        .consume::<agon_messages::faces::VerificationDecided>(
            "auth.verification_decisions",
            state.clone(),
        )
        .await?;
    skeleton.task(verification::decisions::resend_forever(state.clone()));
    skeleton.task(follow_revocations(state.clone()));
    let ttl = state.config.access_token_ttl_secs;
    skeleton.task(state.keys.clone().maintain(ttl));
    Ok(skeleton.finish(http::router(state)))
}

/// Creates the configured first administrator unless an account with that email exists. Its profile follows
/// through the bus like any registration's.
async fn bootstrap_admin(state: &State) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let (Some(email), Some(password)) = (&state.config.admin_email, &state.config.admin_password)
    else {
        return Ok(());
    };
    let email = domain::Email::parse(email)
        .map_err(|e| anyhow::anyhow!("auth.admin_email {}", e.message))?;
    if state.store.credentials(email.as_str()).await?.is_some() {
        return Ok(());
    }
    let hash = state
        .hasher
        .hash(password.expose_secret().to_owned())
        .await?;
    match create_account(
        state,
        domain::Signup::named(
            email.clone(),
            Some(
                state
                    .config
                    .admin_name
                    .clone()
                    .unwrap_or_else(|| "Administrator".into()),
            ),
        ),
        &hash,
        &[agon_kit::Role::Admin],
        AccountStatus::Active,
        "admin",
    )
    .await
    {
        // Another replica created it first.
        Err(Error::EmailTaken) => return Ok(()),
        other => other?,
    };
    tracing::info!(email = email.as_str(), "first administrator created");
    Ok(())
}

/// Opens the auth database (migrating it) and assembles the state the handlers and `agon admin` share.
async fn open(
    deps: &agon_kit::Deps,
    config: Config,
) -> anyhow::Result<(agon_kit::Skeleton, State)> {
    config.validate()?;
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!()).await?;
    if deps.keyring.is_empty() {
        anyhow::bail!(
            "the auth service seals its signing keys and TOTP secrets: configure secret_keys \
             (AGON_SECRET_KEYS; `agon secret-key` prints a new key)"
        );
    }
    let store = store::Store::new(skeleton.db().clone(), deps.keyring.clone());
    let resealed = store.reseal().await?;
    if resealed > 0 {
        tracing::info!(resealed, "secrets sealed again under the first secret key");
    }
    let keys = keys::Keys::load(&store, deps.verifier.keys()).await?;
    let hasher = domain::Hasher::new(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.max_concurrent_hashes,
    )?;
    let state = State {
        store,
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
        hasher,
        keys,
        mail: skeleton.mail().await?,
        sso: sso::Providers::default(),
        config: Arc::new(config),
    };
    Ok((skeleton, state))
}

/// `agon admin`: credential operations straight on the auth database, for when no administrator can log in
/// (or for scripts). Events and mail they cause wait in the outbox until the service runs.
pub struct AdminCli {
    state: State,
}

impl AdminCli {
    pub async fn open(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<Self> {
        Ok(Self {
            state: open(deps, config).await?.1,
        })
    }

    /// Creates an active account with `roles`.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        roles: &[agon_kit::Role],
    ) -> anyhow::Result<uuid::Uuid> {
        let email =
            domain::Email::parse(email).map_err(|e| anyhow::anyhow!("email {}", e.message))?;
        domain::check_password(password).map_err(|e| anyhow::anyhow!("password {}", e.message))?;
        if roles.is_empty() {
            anyhow::bail!("give at least one --role");
        }
        let hash = self.state.hasher.hash(password.to_owned()).await?;
        Ok(create_account(
            &self.state,
            domain::Signup::named(email, None),
            &hash,
            roles,
            AccountStatus::Active,
            "admin",
        )
        .await?)
    }

    /// Sets the password of the account that logs in as `login` (email or username); its sessions end.
    pub async fn set_password(&self, login: &str, password: &str) -> anyhow::Result<()> {
        domain::check_password(password).map_err(|e| anyhow::anyhow!("password {}", e.message))?;
        let user_id = self.user(login).await?;
        let hash = self.state.hasher.hash(password.to_owned()).await?;
        let mut tx = self.state.store.db().begin().await?;
        self.state
            .store
            .set_password_hash(
                &mut tx,
                user_id,
                &hash,
                &agon_db::time_text(chrono::Utc::now()),
            )
            .await?;
        events::password_changed(&mut tx, user_id, "admin").await?;
        tx.commit().await?;
        revoke(&self.state, user_id, None, None).await?;
        Ok(())
    }

    /// Ends every session of the account that logs in as `login`; returns how many.
    pub async fn revoke_sessions(&self, login: &str) -> anyhow::Result<usize> {
        let user_id = self.user(login).await?;
        Ok(revoke(&self.state, user_id, None, None).await?.len())
    }

    /// The account that logs in as `login` (an email or a username).
    async fn user(&self, login: &str) -> anyhow::Result<uuid::Uuid> {
        let login = login.trim().to_lowercase();
        let account = self.state.store.credentials(&login).await?;
        account
            .map(|a| a.user_id)
            .ok_or_else(|| anyhow::anyhow!("no account logs in as {login}"))
    }
}

/// Revokes sessions of `user_id` (one, or all but `except`), then applies the revocation to this process's
/// verifier at once and pushes it to every other process through Redis when there is one; other processes also
/// follow the feed.
pub(crate) async fn revoke(
    state: &State,
    user_id: uuid::Uuid,
    only: Option<uuid::Uuid>,
    except: Option<uuid::Uuid>,
) -> Result<Vec<uuid::Uuid>, Error> {
    let now = chrono::Utc::now();
    // Tokens issued up to now expire at most one access-token lifetime later (plus the verifiers' leeway).
    let until = now.timestamp() + state.config.access_token_ttl_secs + 60;
    let mut tx = state.store.db().begin().await?;
    let revoked = state
        .store
        .revoke_sessions(
            &mut tx,
            user_id,
            only,
            except,
            &agon_db::time_text(now),
            until,
        )
        .await?;
    tx.commit().await?;
    state
        .verifier
        .announce(revoked.iter().map(|id| (*id, until)).collect())
        .await;
    Ok(revoked)
}

/// Applies revocations made by other replicas of the auth service (same database) to this process, every
/// 250 ms, and prunes records that no longer matter.
async fn follow_revocations(state: State) -> anyhow::Result<()> {
    let mut ticks = 0u64;
    loop {
        let cursor = state.verifier.revocations().cursor();
        match state
            .store
            .revocations_after(cursor, chrono::Utc::now().timestamp(), 1000)
            .await
        {
            Ok(page) => state.verifier.revocations().apply(&page),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "revocation feed not read"),
        }
        ticks += 1;
        if ticks.is_multiple_of(240) {
            let now = chrono::Utc::now();
            let before = agon_db::time_text(
                now - chrono::Duration::seconds(state.config.failure_window_secs),
            );
            if let Err(error) = state.store.prune(&before, now.timestamp()).await {
                tracing::warn!(error = format!("{error:#}"), "pruning failed");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Creates an account and announces it, in one transaction. The one way accounts come to exist.
pub(crate) async fn create_account(
    state: &State,
    signup: domain::Signup,
    password_hash: &str,
    roles: &[agon_kit::Role],
    status: AccountStatus,
    method: &str,
) -> Result<uuid::Uuid, Error> {
    let domain::Signup {
        email,
        username,
        display_name,
        profile,
    } = signup;
    let user_id = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .insert_account(
            &mut tx,
            &store::NewAccount {
                id: user_id,
                email: email.as_ref().map(domain::Email::as_str),
                username: username.as_ref().map(domain::Username::as_str),
                password_hash,
                roles: &domain::format_roles(roles),
                status,
                now: &agon_db::time_text(now),
            },
        )
        .await?;
    let event = agon_messages::auth::UserRegistered {
        user_id,
        email: email.as_ref().map(|e| e.as_str().to_owned()),
        username: username.as_ref().map(|n| n.as_str().to_owned()),
        display_name,
        roles: domain::format_roles(roles)
            .split(',')
            .map(str::to_owned)
            .collect(),
        pending: status == AccountStatus::Pending,
        method: method.to_owned(),
        registered_at: now,
        profile,
    };
    agon_bus::enqueue(&mut tx, SERVICE, &event).await?;
    if let Some(email) = &email {
        mailed::queue_confirmation(state, &mut tx, user_id, email).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    state.mail.wake();
    Ok(user_id)
}
