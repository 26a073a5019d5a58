//! The `agon` binary's library half: configuration loading and the composition of every service. The binary
//! (`main.rs`) is the CLI around it; `agon-testkit` builds the same platform for tests, so there is one
//! composition, not two.

pub mod config;
pub mod platform;

pub use config::Config;
