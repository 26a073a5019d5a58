//! Trainings: what trainers author for the club's athletes — a title unique per author, a kind, a difficulty,
//! media and goals — with members' favourites and scores, and administrators' blocks. And courses: ordered
//! lessons and assessments (scored on submission against a pass mark), enrolment and progress, and on completion
//! a certificate anyone can verify by its id, printable as a PDF.
//!
//! Owns the `trainings` database; nobody else reads it. Publishes `trainings.*` events (training created,
//! updated, deleted, blocked, favourited, scored; course created, enrolled, lesson completed, assessment
//! submitted, course completed, certificate issued) for metrics and notifications. Consumes
//! `auth.user_registered.v1` for the name a certificate prints when its holder chose none, and
//! `users.user_deleted.v1` to forget a deleted member (what they wrote, followed, scored and earned).
//!
//! Entry point: [`build`].

mod certificate;
mod courses;
mod domain;
mod error;
mod http;
mod store;

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::{auth::UserRegistered, users::UserDeleted};
pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "trainings";

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
}

agon_kit::handler_state!(State);

/// Opens and migrates the trainings database and returns the service.
pub async fn build(deps: &agon_kit::Deps) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
    };
    skeleton
        .consume::<UserDeleted>("trainings.forget_user", state.clone())
        .await?;
    skeleton
        .consume::<UserRegistered>("trainings.member_names", state.clone())
        .await?;
    Ok(skeleton.finish(http::router(state)))
}

/// A deleted member's trainings, favourites and scores go; the averages they counted in follow.
impl Consume<UserDeleted> for State {
    async fn consume(&self, tx: &mut Tx, event: UserDeleted, _: &Envelope) -> anyhow::Result<()> {
        Ok(store::Store::forget(tx, event.user_id).await?)
    }
}

/// A new member's name, for their certificates: the display name, else the login name; nothing for an account
/// with neither (a certificate then prints a neutral holder until the member chooses a name).
impl Consume<UserRegistered> for State {
    async fn consume(
        &self,
        tx: &mut Tx,
        event: UserRegistered,
        _: &Envelope,
    ) -> anyhow::Result<()> {
        let name = event
            .display_name
            .as_deref()
            .or(event.username.as_deref())
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(name) = name {
            store::Store::remember_member(tx, event.user_id, name).await?;
        }
        Ok(())
    }
}
