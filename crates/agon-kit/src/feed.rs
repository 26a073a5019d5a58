//! Calendar feeds: calendar apps subscribe to a URL and send no token, so the URL carries a member's calendar key
//! instead — a secret the member creates (and replaces, which ends the old URLs), stored only as its SHA-256. A
//! service keeps the hashes in its own table; this is how keys are made, hashed and their feeds answered.

use axum::{http::header, response::IntoResponse};
use base64::Engine;
use sha2::Digest;

/// A new calendar key: 256 random bits, URL-safe.
pub fn new_key() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The form a key is stored and looked up in.
pub fn key_hash(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

/// An iCalendar document as an answer.
pub fn ics(calendar: String) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        calendar,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_new_each_time_and_hash_alike() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(key_hash(&a), key_hash(&a));
        assert_ne!(key_hash(&a), key_hash(&b));
    }
}
