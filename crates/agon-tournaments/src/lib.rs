//! Tournaments: the rules of competition a club runs — elimination brackets (single, with an optional
//! third-place match; double, with a grand final none / single / with reset), round robins in groups, Swiss
//! pairings, and seeding that can be replayed.
//!
//! This crate holds the rules, pure and property-tested (`bracket`, `rounds`); the service around them — its
//! database, lifecycle, scheduling onto courts and times, standings, events and routes — builds on them.

pub mod bracket;
pub mod rounds;
