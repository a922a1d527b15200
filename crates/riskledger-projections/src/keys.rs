//! The maps the folds use.
//!
//! The hasher is rustc's Fx hash (`rustc-hash`): several times faster than SipHash on short
//! keys, not keyed, so not resistant to deliberately colliding ids; the ids come from the
//! marketplace's own services, and nothing in any output depends on it.

/// The maps of the folds: deterministic, fast on short keys.
pub(crate) type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
