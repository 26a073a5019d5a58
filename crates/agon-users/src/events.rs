//! Events the users service consumes.

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::auth::UserRegistered;

use crate::{domain, store::Store};

/// Creates the profile of a newly registered account.
pub struct CreateProfile(pub Store);

#[async_trait::async_trait]
impl Consume for CreateProfile {
    type Event = UserRegistered;

    async fn consume(
        &self,
        tx: &mut Tx,
        event: UserRegistered,
        _envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let at = event
            .registered_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let profile = domain::Profile {
            user_id: event.user_id,
            display_name: domain::initial_display_name(event.display_name.as_deref(), &event.email),
            email: event.email,
            bio: String::new(),
            city: None,
            country: None,
            avatar_url: None,
            roles: event.roles,
            status: if event.pending {
                "pending".into()
            } else {
                "active".into()
            },
            created_at: at.clone(),
            updated_at: at,
        };
        self.0.insert_profile(tx, &profile).await
    }
}
