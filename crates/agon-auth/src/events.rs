//! Events of the auth service: those it publishes, always inside the transaction of the change they announce,
//! and the users service's decisions it follows — account status and roles on the credential, sessions ended on
//! a ban, a role change or a deletion.

use agon_bus::{Consume, Envelope};
use agon_db::{Tx, now_text};
use agon_messages::users::{RolesChanged, UserApproved, UserBanned, UserDeleted, UserUnbanned};
use chrono::Utc;
use uuid::Uuid;

use crate::{
    AccountStatus::{Active, Banned, Pending},
    SERVICE, State,
};

impl Consume<UserApproved> for State {
    async fn consume(&self, tx: &mut Tx, e: UserApproved, _: &Envelope) -> anyhow::Result<()> {
        let store = &self.store;
        store
            .set_status(tx, e.user_id, Active, &[Pending], &now_text())
            .await?;
        Ok(())
    }
}

impl Consume<UserBanned> for State {
    async fn consume(&self, tx: &mut Tx, e: UserBanned, _: &Envelope) -> anyhow::Result<()> {
        let store = &self.store;
        store
            .set_status(tx, e.user_id, Banned, &[Active, Pending], &now_text())
            .await?;
        self.end_sessions(tx, e.user_id).await
    }
}

impl Consume<UserUnbanned> for State {
    async fn consume(&self, tx: &mut Tx, e: UserUnbanned, _: &Envelope) -> anyhow::Result<()> {
        let store = &self.store;
        store
            .set_status(tx, e.user_id, Active, &[Banned], &now_text())
            .await?;
        Ok(())
    }
}

impl Consume<RolesChanged> for State {
    async fn consume(&self, tx: &mut Tx, e: RolesChanged, _: &Envelope) -> anyhow::Result<()> {
        let roles: Vec<agon_kit::Role> = e
            .roles
            .iter()
            .filter_map(|r| serde_json::from_value(serde_json::Value::String(r.clone())).ok())
            .collect();
        let roles = crate::domain::format_roles(&roles);
        self.store
            .set_roles(tx, e.user_id, &roles, &now_text())
            .await?;
        self.end_sessions(tx, e.user_id).await
    }
}

impl Consume<UserDeleted> for State {
    async fn consume(&self, tx: &mut Tx, e: UserDeleted, _: &Envelope) -> anyhow::Result<()> {
        self.end_sessions(tx, e.user_id).await?;
        self.store.delete_account(tx, e.user_id).await?;
        Ok(())
    }
}

impl State {
    async fn end_sessions(&self, tx: &mut Tx, user_id: Uuid) -> anyhow::Result<()> {
        let now = Utc::now();
        let until = now.timestamp() + self.config.access_token_ttl_secs + 60;
        let revoked = self
            .store
            .revoke_sessions(tx, user_id, None, None, &agon_db::time_text(now), until)
            .await?;
        // Fail closed: refusing the tokens before the commit is harmless if the commit fails (the event is
        // delivered again), and makes the ban effective in this process without waiting for the feed.
        self.verifier
            .revocations()
            .revoke(revoked.into_iter().map(|id| (id, until)));
        Ok(())
    }
}

pub async fn password_changed(tx: &mut Tx, user_id: Uuid, via: &str) -> anyhow::Result<()> {
    let event = agon_messages::auth::PasswordChanged {
        user_id,
        via: via.to_owned(),
        at: Utc::now(),
    };
    agon_bus::enqueue(tx, SERVICE, &event).await?;
    Ok(())
}
