//! The chain rule. Event `n`'s hash is
//!
//! ```text
//! hash(n) = BLAKE3-keyed(KEY, seq(n) as u64 LE || hash(n-1) || stored_bytes(n))
//! KEY     = BLAKE3-derive-key("riskledger 2026-11-22 event chain v1", "")
//! hash(0) = 32 zero bytes
//! ```
//!
//! It covers the sequence number, the exact stored bytes (never a re-encoding) and the previous
//! hash, so altering, removing or reordering any record changes every hash after it.
//!
//! ```
//! use riskledger_events::{chain, codec, json::parse_line, ChainHasher, GENESIS_HASH};
//!
//! # let line = r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#;
//! let stored = codec::encode_to_vec(&parse_line(1, line)?)?;
//! let first = ChainHasher::new().link(1, &GENESIS_HASH, &stored);
//! assert_eq!(chain::to_hex(&first), "5cdbe3441a857315416b626220a0a20990b33a2d896ecbdfeb918e0a5e52b90e");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// A chain hash: 32 bytes of BLAKE3. Printed as 64 lower-case hex digits ([`to_hex`]).
///
/// ```
/// use riskledger_events::{chain, ChainHash};
///
/// let hash: ChainHash = [0xab; 32];
/// assert_eq!(chain::to_hex(&hash).len(), 64);
/// ```
pub type ChainHash = [u8; 32];

/// The hash before the first event: the `prev` of seq 1, and the head hash of an empty log.
///
/// ```
/// use riskledger_events::{ChainHasher, GENESIS_HASH};
///
/// assert_eq!(GENESIS_HASH, [0; 32]);
/// let first = ChainHasher::new().link(1, &GENESIS_HASH, b"\x01stored bytes");
/// assert_ne!(first, GENESIS_HASH);
/// ```
pub const GENESIS_HASH: ChainHash = [0; 32];

/// The domain-separation context of the chain key. Changing it changes every hash.
const CHAIN_CONTEXT: &str = "riskledger 2026-11-22 event chain v1";

/// Computes chain hashes. Cheap to copy; derive the key once and reuse it.
///
/// ```
/// use riskledger_events::{ChainHasher, GENESIS_HASH};
///
/// let chain = ChainHasher::new();
/// let h1 = chain.link(1, &GENESIS_HASH, b"first");
/// let h2 = chain.link(2, &h1, b"second");
/// // Each hash covers the one before: a changed first record changes the second hash too.
/// let h1_altered = chain.link(1, &GENESIS_HASH, b"firsT");
/// assert_ne!(chain.link(2, &h1_altered, b"second"), h2);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ChainHasher {
    key: [u8; 32],
}

impl Default for ChainHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainHasher {
    /// Derives the chain key (from the fixed chain context). Every hasher hashes the same.
    ///
    /// ```
    /// use riskledger_events::{ChainHasher, GENESIS_HASH};
    ///
    /// let (a, b) = (ChainHasher::new(), ChainHasher::default());
    /// assert_eq!(a.link(1, &GENESIS_HASH, b"x"), b.link(1, &GENESIS_HASH, b"x"));
    /// ```
    pub fn new() -> Self {
        ChainHasher {
            key: blake3::derive_key(CHAIN_CONTEXT, b""),
        }
    }

    /// The hash of the event at `seq` whose stored bytes are `stored`, after `prev`.
    ///
    /// ```
    /// use riskledger_events::{ChainHasher, GENESIS_HASH};
    ///
    /// let chain = ChainHasher::new();
    /// let stored = b"\x01some stored record".to_vec();
    /// let hash = chain.link(1, &GENESIS_HASH, &stored);
    /// let mut flipped = stored.clone();
    /// flipped[5] ^= 1; // one bit of one byte
    /// assert_ne!(chain.link(1, &GENESIS_HASH, &flipped), hash);
    /// assert_ne!(chain.link(2, &GENESIS_HASH, &stored), hash, "the seq is covered too");
    /// ```
    pub fn link(&self, seq: u64, prev: &ChainHash, stored: &[u8]) -> ChainHash {
        // One-shot hash of one contiguous input when it fits a small stack buffer (typical
        // records are ~110 bytes): same bytes, same hash, without three incremental updates.
        const INLINE: usize = 256;
        if stored.len() <= INLINE - 40 {
            let mut input = [0u8; INLINE];
            input[..8].copy_from_slice(&seq.to_le_bytes());
            input[8..40].copy_from_slice(prev);
            input[40..40 + stored.len()].copy_from_slice(stored);
            return *blake3::keyed_hash(&self.key, &input[..40 + stored.len()]).as_bytes();
        }
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&seq.to_le_bytes());
        hasher.update(prev);
        hasher.update(stored);
        *hasher.finalize().as_bytes()
    }
}

/// Lower-case hex of a hash, as the CLI prints it.
///
/// ```
/// use riskledger_events::{chain, GENESIS_HASH};
///
/// assert_eq!(chain::to_hex(&GENESIS_HASH), "0".repeat(64));
/// ```
pub fn to_hex(hash: &ChainHash) -> String {
    blake3::Hash::from_bytes(*hash).to_hex().to_string()
}

/// Parses 64 hex digits back into a hash (as [`to_hex`] prints it, or as `export` writes a
/// line's `hash`). `None` for anything else.
///
/// ```
/// use riskledger_events::{chain, ChainHasher, GENESIS_HASH};
///
/// let hash = ChainHasher::new().link(1, &GENESIS_HASH, b"record");
/// assert_eq!(chain::from_hex(&chain::to_hex(&hash)), Some(hash));
/// assert_eq!(chain::from_hex("not hex"), None);
/// ```
pub fn from_hex(text: &str) -> Option<ChainHash> {
    blake3::Hash::from_hex(text).ok().map(|h| *h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-shot path and the incremental one give the same hash, at every length around
    /// the switch between them.
    #[test]
    fn both_paths_hash_the_same() {
        let chain = ChainHasher::new();
        let prev = [7u8; 32];
        for len in [0, 1, 63, 64, 110, 215, 216, 217, 300, 4096] {
            let stored: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut hasher = blake3::Hasher::new_keyed(&chain.key);
            hasher.update(&9u64.to_le_bytes());
            hasher.update(&prev);
            hasher.update(&stored);
            assert_eq!(
                chain.link(9, &prev, &stored),
                *hasher.finalize().as_bytes(),
                "{len}"
            );
        }
    }
}
