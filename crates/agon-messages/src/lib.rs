//! Event contracts between services: versioned payloads and their topic names, nothing else.
//!
//! Every topic has exactly one producing service, named by the module it sits in. A breaking change to a payload
//! is a new struct with a new topic version (`….v2`), published beside the old one until every consumer moved.

use serde::{Serialize, de::DeserializeOwned};

/// A payload that travels on the bus under a fixed topic.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    const TOPIC: &'static str;
}

/// Every event, whatever its topic, as raw JSON: for consumers that keep all of them (the metrics event store).
/// Its topic is the wildcard every broker routes all events to.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AnyEvent(pub serde_json::Value);

impl Event for AnyEvent {
    const TOPIC: &'static str = ALL_TOPICS;
}

/// The topic pattern that matches every topic (RabbitMQ's multi-word wildcard).
pub const ALL_TOPICS: &str = "#";

/// Topics whose payloads are personal data meant for their consumers alone: stores of every event (metrics) keep
/// that such an event happened, never its payload.
pub const PERSONAL_TOPICS: &[&str] = &[auth::VerificationPhoto::TOPIC];

pub mod auth;
pub mod coaching;
pub mod faces;
pub mod ledger;
pub mod shop;
pub mod targets;
pub mod tournaments;
pub mod trainings;
pub mod users;
