//! Event contracts between services: versioned payloads and their topic names, nothing else.
//!
//! Every topic has exactly one producing service, named by the module it sits in. A breaking change to a payload
//! is a new struct with a new topic version (`….v2`), published beside the old one until every consumer moved.

use serde::{Serialize, de::DeserializeOwned};

/// A payload that travels on the bus under a fixed topic.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    const TOPIC: &'static str;
}

/// Events produced by the auth service.
pub mod auth {
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    /// A new account exists; the users service creates its profile from this.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct UserRegistered {
        pub user_id: Uuid,
        pub email: String,
        pub display_name: Option<String>,
        pub roles: Vec<String>,
        pub registered_at: chrono::DateTime<chrono::Utc>,
    }

    impl super::Event for UserRegistered {
        const TOPIC: &'static str = "auth.user_registered.v1";
    }
}
