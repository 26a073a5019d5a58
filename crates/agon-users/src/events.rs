//! Events the users service consumes.

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::auth::UserRegistered;

use crate::{
    State,
    domain::{self, Status},
};

/// A new account gets its profile.
impl Consume<UserRegistered> for State {
    async fn consume(
        &self,
        tx: &mut Tx,
        event: UserRegistered,
        _: &Envelope,
    ) -> anyhow::Result<()> {
        let at = agon_db::time_text(event.registered_at);
        // Checked by the auth service against the same limits (`InitialProfile`) before it was announced.
        let given = event.profile.unwrap_or_default();
        let location = given.latitude.zip(given.longitude);
        let profile = domain::Profile {
            user_id: event.user_id,
            display_name: domain::initial_display_name(
                event.display_name.as_deref(),
                event.username.as_deref(),
                event.email.as_deref(),
            ),
            email: event.email,
            username: event.username,
            bio: given.bio.unwrap_or_default(),
            city: given.city,
            country: given.country,
            avatar_url: None,
            roles: event.roles,
            status: if event.pending {
                Status::Pending
            } else {
                Status::Active
            },
            created_at: at.clone(),
            updated_at: at,
        };
        self.store.insert_profile(tx, &profile, location).await
    }
}
