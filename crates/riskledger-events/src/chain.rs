//! The chain rule. Event `n`'s hash is
//!
//! ```text
//! hash(n) = BLAKE3-keyed(KEY, seq(n) as u64 LE || hash(n-1) || stored_bytes(n))
//! KEY     = BLAKE3-derive-key(CHAIN_CONTEXT, "")
//! hash(0) = 32 zero bytes
//! ```
//!
//! It covers the sequence number, the exact stored bytes (never a re-encoding) and the previous
//! hash, so altering, removing or reordering any record changes every hash after it.

/// A chain hash: 32 bytes of BLAKE3.
pub type ChainHash = [u8; 32];

/// The hash before the first event.
pub const GENESIS_HASH: ChainHash = [0; 32];

/// The domain-separation context of the chain key. Changing it changes every hash.
pub const CHAIN_CONTEXT: &str = "riskledger 2026-11-22 event chain v1";

/// Computes chain hashes. Cheap to copy; derive the key once and reuse it.
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
    pub fn new() -> Self {
        ChainHasher {
            key: blake3::derive_key(CHAIN_CONTEXT, b""),
        }
    }

    /// The hash of the event at `seq` whose stored bytes are `stored`, after `prev`.
    pub fn link(&self, seq: u64, prev: &ChainHash, stored: &[u8]) -> ChainHash {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&seq.to_le_bytes());
        hasher.update(prev);
        hasher.update(stored);
        *hasher.finalize().as_bytes()
    }
}

/// Lower-case hex of a hash, as the CLI prints it.
pub fn to_hex(hash: &ChainHash) -> String {
    blake3::Hash::from_bytes(*hash).to_hex().to_string()
}

/// Parses 64 hex digits back into a hash.
pub fn from_hex(text: &str) -> Option<ChainHash> {
    blake3::Hash::from_hex(text).ok().map(|h| *h.as_bytes())
}
