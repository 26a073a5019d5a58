//! Faces: a photo's face found and described in-process (BlazeFace, then dlib's ResNet-34 face descriptor, both
//! ONNX run by tract; `model/` says where the weights come from), members' reference faces, and the decisions on
//! photo verification: a photo whose one face lies closer than `faces.threshold` to the member's reference is
//! `verified`; farther, faceless or crowded, `rejected` with the reason.
//!
//! Owns the `faces` database: descriptions, never photos. Consumes `auth.verification_photo.v1`; publishes
//! `faces.verification_decided.v1`.
//!
//! Entry point: [`build`].

mod decide;
mod detect;
mod engine;
mod error;
mod http;
pub mod model;
mod store;

use std::sync::Arc;

pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "faces";

/// Settings of the face service (`[faces]`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Two faces closer than this (Euclidean distance between descriptions) are one person: 0.6, the distance the
    /// descriptor was trained to keep between different people. Lower is stricter.
    pub threshold: f32,
    /// A member with no reference face enrols with their first verification photo that shows exactly one face:
    /// it becomes the reference and they are verified. Default false: staff set references
    /// (`PUT /faces/references/{user_id}`), and requests wait for them.
    pub enrol_first_photo: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            threshold: 0.6,
            enrol_first_photo: false,
        }
    }
}

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
    engine: engine::Engine,
    config: Arc<Config>,
}

agon_kit::handler_state!(State);

/// Opens and migrates the faces database, subscribes to verification photos and returns the service.
pub async fn build(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<agon_kit::Service> {
    anyhow::ensure!(
        (0.2..=1.2).contains(&config.threshold),
        "faces.threshold must lie between 0.2 and 1.2 (descriptions of one person lie within ~0.5)"
    );
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
        engine: engine::Engine::new(),
        config: Arc::new(config),
    };
    skeleton
        .consume::<agon_messages::auth::VerificationPhoto>("faces.verifications", state.clone())
        .await?;
    Ok(skeleton.finish(http::router(state)))
}
