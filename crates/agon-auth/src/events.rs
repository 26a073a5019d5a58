//! Events the auth service publishes, always inside the transaction of the change they announce.

use agon_db::Tx;
use uuid::Uuid;

use crate::SERVICE;

pub mod follow {
    use agon_bus::{Consume, Envelope};
    use agon_db::Tx;
    use agon_messages::users::{RolesChanged, UserApproved, UserBanned, UserDeleted, UserUnbanned};
    use chrono::Utc;
    use uuid::Uuid;

    use crate::{AccountStatus, State, http::text};

    pub struct Approved(pub State);
    pub struct Banned(pub State);
    pub struct Unbanned(pub State);
    pub struct Roles(pub State);
    pub struct Deleted(pub State);

    async fn end_sessions(state: &State, tx: &mut Tx, user_id: Uuid) -> anyhow::Result<()> {
        let now = Utc::now();
        let until = now.timestamp() + state.config.access_token_ttl_secs + 60;
        let revoked = state
            .store
            .revoke_sessions(tx, user_id, None, None, &text(now), until)
            .await?;
        // Fail closed: refusing the tokens before the commit is harmless if the commit fails (the event is
        // delivered again), and makes the ban effective in this process without waiting for the feed.
        state
            .verifier
            .revocations()
            .revoke(revoked.into_iter().map(|id| (id, until)));
        Ok(())
    }

    #[async_trait::async_trait]
    impl Consume for Approved {
        type Event = UserApproved;
        async fn consume(&self, tx: &mut Tx, e: UserApproved, _: &Envelope) -> anyhow::Result<()> {
            let now = text(Utc::now());
            self.0
                .store
                .set_status(
                    tx,
                    e.user_id,
                    AccountStatus::Active.as_str(),
                    &["pending"],
                    &now,
                )
                .await?;
            Ok(())
        }
    }

    #[async_trait::async_trait]
    impl Consume for Banned {
        type Event = UserBanned;
        async fn consume(&self, tx: &mut Tx, e: UserBanned, _: &Envelope) -> anyhow::Result<()> {
            let now = text(Utc::now());
            self.0
                .store
                .set_status(
                    tx,
                    e.user_id,
                    AccountStatus::Banned.as_str(),
                    &["active", "pending"],
                    &now,
                )
                .await?;
            end_sessions(&self.0, tx, e.user_id).await
        }
    }

    #[async_trait::async_trait]
    impl Consume for Unbanned {
        type Event = UserUnbanned;
        async fn consume(&self, tx: &mut Tx, e: UserUnbanned, _: &Envelope) -> anyhow::Result<()> {
            let now = text(Utc::now());
            self.0
                .store
                .set_status(
                    tx,
                    e.user_id,
                    AccountStatus::Active.as_str(),
                    &["banned"],
                    &now,
                )
                .await?;
            Ok(())
        }
    }

    #[async_trait::async_trait]
    impl Consume for Roles {
        type Event = RolesChanged;
        async fn consume(&self, tx: &mut Tx, e: RolesChanged, _: &Envelope) -> anyhow::Result<()> {
            let roles: Vec<agon_kit::Role> = e
                .roles
                .iter()
                .filter_map(|r| serde_json::from_value(serde_json::Value::String(r.clone())).ok())
                .collect();
            self.0
                .store
                .set_roles(
                    tx,
                    e.user_id,
                    &crate::domain::format_roles(&roles),
                    &text(Utc::now()),
                )
                .await?;
            end_sessions(&self.0, tx, e.user_id).await
        }
    }

    #[async_trait::async_trait]
    impl Consume for Deleted {
        type Event = UserDeleted;
        async fn consume(&self, tx: &mut Tx, e: UserDeleted, _: &Envelope) -> anyhow::Result<()> {
            end_sessions(&self.0, tx, e.user_id).await?;
            self.0.store.delete_account(tx, e.user_id).await?;
            Ok(())
        }
    }
}

pub async fn password_changed(tx: &mut Tx, user_id: Uuid, via: &str) -> anyhow::Result<()> {
    let event = agon_messages::auth::PasswordChanged {
        user_id,
        via: via.to_owned(),
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(tx, SERVICE, &event).await?;
    Ok(())
}
