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
//!
//! ```
//! use riskledger_events::{codec, json, Body};
//!
//! let line = r#"{"id":"e4","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#;
//! let event = json::parse_line(1, line)?;
//! assert!(matches!(event.body, Body::Payment { amount_minor: 400_000, .. }));
//! let stored = codec::encode_to_vec(&event)?; // the bytes that are stored and hashed
//! assert_eq!(codec::decode(&stored)?, event);
//! assert_eq!(json::to_line(&event), line);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod chain;
pub mod codec;
pub mod json;
pub mod limits;
mod model;
pub mod refs;

pub use chain::{ChainHash, ChainHasher, GENESIS_HASH};
pub use model::*;
