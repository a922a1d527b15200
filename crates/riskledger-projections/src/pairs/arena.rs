//! One append-only buffer for every identifier the pair fold must print back (event ids,
//! contract ids, account names). A reference is a `u32` byte offset, four bytes instead of a
//! 16-byte `Box<str>` plus its own allocation: the per-payment event id is what dominates the
//! memory of the fold, so it is kept as small as it can be while staying exact.

use serde::{Deserialize, Serialize};

/// A reference to one text in an [`Arena`]: the byte offset of its length prefix.
pub(crate) type TextRef = u32;

/// Texts, each stored as a LEB128 length followed by its UTF-8 bytes.
///
/// Offset 0 always holds the placeholder `"?"`, which is what a text stored after the arena
/// reached 4 GiB (`u32` offsets) reads back as: a documented limit instead of a panic.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Arena {
    bytes: Vec<u8>,
}

const PLACEHOLDER: &str = "?";

impl Default for Arena {
    fn default() -> Self {
        let mut arena = Arena { bytes: Vec::new() };
        arena.push_unchecked(PLACEHOLDER);
        arena
    }
}

impl Arena {
    /// Stores `text` and returns its reference.
    pub(crate) fn push(&mut self, text: &str) -> TextRef {
        self.push_below(text, u32::MAX)
    }

    /// Stores `text` if its reference and bytes stay below `limit`; the placeholder otherwise.
    pub(crate) fn push_below(&mut self, text: &str, limit: u32) -> TextRef {
        let room_needed = self.bytes.len() as u64 + text.len() as u64 + 10;
        if room_needed > u64::from(limit) {
            return 0;
        }
        self.push_unchecked(text)
    }

    fn push_unchecked(&mut self, text: &str) -> TextRef {
        // Grown by an eighth, not doubled, like the book's other lists (`reserve_an_eighth`).
        let needed = text.len() + 10;
        if self.bytes.capacity() - self.bytes.len() < needed {
            self.bytes.reserve_exact(self.bytes.len() / 8 + needed + 64);
        }
        let offset = self.bytes.len() as TextRef;
        let mut len = text.len();
        loop {
            let low = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                self.bytes.push(low);
                break;
            }
            self.bytes.push(low | 0x80);
        }
        self.bytes.extend_from_slice(text.as_bytes());
        offset
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
    }

    /// The text stored at `at`; the placeholder for a reference this arena never returned.
    pub(crate) fn get(&self, at: TextRef) -> &str {
        self.try_get(at).unwrap_or(PLACEHOLDER)
    }

    /// The bytes of the text stored at `at`, unchecked as UTF-8 (for comparing names in the
    /// indexes); the placeholder's for a reference this arena never returned.
    #[inline]
    pub(crate) fn bytes(&self, at: TextRef) -> &[u8] {
        self.try_bytes(at).unwrap_or(PLACEHOLDER.as_bytes())
    }

    fn try_get(&self, at: TextRef) -> Option<&str> {
        std::str::from_utf8(self.try_bytes(at)?).ok()
    }

    #[inline]
    fn try_bytes(&self, at: TextRef) -> Option<&[u8]> {
        let mut cursor = at as usize;
        let mut len: usize = 0;
        let mut shift = 0u32;
        loop {
            let byte = *self.bytes.get(cursor)?;
            cursor += 1;
            len |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let end = cursor.checked_add(len)?;
        self.bytes.get(cursor..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_back_exactly() {
        let mut arena = Arena::default();
        let long = "x".repeat(300);
        let a = arena.push("e-1");
        let b = arena.push(&long);
        let c = arena.push("");
        assert_eq!(arena.get(a), "e-1");
        assert_eq!(arena.get(b), long);
        assert_eq!(arena.get(c), "");
        assert_eq!(arena.get(0), "?");
        assert_eq!(arena.get(u32::MAX), "?");
    }
}
