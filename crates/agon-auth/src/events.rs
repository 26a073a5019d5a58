//! Events the auth service publishes, always inside the transaction of the change they announce.

use agon_db::Tx;
use agon_kit::Role;
use agon_messages::auth::UserRegistered;
use uuid::Uuid;

use crate::{SERVICE, domain::Email};

pub async fn user_registered(
    tx: &mut Tx,
    user_id: Uuid,
    email: &Email,
    display_name: Option<String>,
    roles: &[Role],
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let event = UserRegistered {
        user_id,
        email: email.as_str().to_owned(),
        display_name,
        roles: crate::domain::format_roles(roles)
            .split(',')
            .map(str::to_owned)
            .collect(),
        registered_at: at,
    };
    agon_bus::enqueue(tx, SERVICE, &event).await?;
    Ok(())
}
