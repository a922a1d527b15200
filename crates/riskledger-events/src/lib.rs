//! The event vocabulary of riskledger.
//!
//! Everything here is pure: no IO, no clock. It owns
//!
//! - the event types of `spec/events.md` ([`Event`], [`Body`]) and their validation;
//! - the NDJSON interchange format, both ways ([`json`]);
//! - the one function that produces the bytes that are stored and hashed ([`codec::encode`]);
//! - the chain rule ([`chain`]);
//! - referential checks that need the history so far, as a pure fold ([`refs`]).
//!
//! Limits on every input are in [`limits`].

pub mod chain;
pub mod codec;
pub mod json;
pub mod limits;
mod model;
pub mod refs;

pub use chain::{ChainHash, ChainHasher, GENESIS_HASH};
pub use model::*;
