//! Event ids and account names as the accounts fold keeps them: inline when short, so that
//! keeping a login does not allocate and finding an account by name reads no other memory
//! than its record (the ledger's ids and names are short: nearly all fit), in 16 bytes,
//! because a located login keeps one and there are millions of those (at 10M events, 8 bytes
//! less per id was 66 MB less resident).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const INLINE_BYTES: usize = 14;

/// An event id, as the accounts fold keeps it.
pub(crate) type EventId = ShortText;

/// An event id or an account name: `len` bytes inline (up to 14: `ev-00012345`, `e10000000`), boxed when longer
/// (a UUID). 16 bytes either way: the box holds a thin pointer to the text's own box. Ordered
/// and compared as its bytes, which is the byte order of the text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ShortText {
    /// `len` bytes of `bytes`, the rest zero.
    Inline { len: u8, bytes: [u8; INLINE_BYTES] },
    /// Longer than `INLINE_BYTES` (never shorter, so one id has one form).
    #[allow(clippy::box_collection)] // a thin pointer, so that the id is 16 bytes, not 24
    Boxed(Box<Box<str>>),
}

impl ShortText {
    pub(crate) fn new(id: &str) -> Self {
        let text = id.as_bytes();
        let len = text.len();
        let mut bytes = [0u8; INLINE_BYTES];
        // Fixed-size copies (the last may overlap the one before): no call to `memcpy`.
        let mut copy8 = |at: usize| bytes[at..at + 8].copy_from_slice(&text[at..at + 8]);
        match len {
            0..=7 => bytes[..len].copy_from_slice(text),
            8..=INLINE_BYTES => {
                copy8(0);
                copy8(len - 8);
            }
            _ => return ShortText::Boxed(Box::new(id.into())),
        }
        ShortText::Inline {
            len: len as u8,
            bytes,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            ShortText::Inline { len, bytes } => &bytes[..usize::from(*len)],
            ShortText::Boxed(text) => text.as_bytes(),
        }
    }

    /// The id as text. Inline bytes are a prefix of a `&str` that fits whole, so they are
    /// valid UTF-8; the fallback is never taken.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            ShortText::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            ShortText::Boxed(text) => text,
        }
    }
}

impl std::ops::Deref for ShortText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialOrd for ShortText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// Serialised as its text, exactly as a `Box<str>` is.
impl Serialize for ShortText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShortText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| ShortText::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_ids_keep_their_text_and_order() {
        let short = "e".repeat(INLINE_BYTES);
        let long = "e".repeat(INLINE_BYTES + 1);
        assert!(matches!(EventId::new(&short), EventId::Inline { .. }));
        assert!(matches!(EventId::new(&long), EventId::Boxed(_)));
        for id in ["", "a", "ev-00000001", "é-ü", &short, &long] {
            assert_eq!(EventId::new(id).as_str(), id);
        }
        assert_ne!(EventId::new("a"), EventId::new("a\0"));
        assert!(EventId::new("a") < EventId::new("a\0"));
        assert!(EventId::new(&short) < EventId::new(&long));
        assert!(EventId::new("f") > EventId::new(&long));
        assert_eq!(std::mem::size_of::<EventId>(), 16);
    }

    #[test]
    fn serialises_as_text() {
        let config = bincode::config::legacy();
        for id in ["x", &"y".repeat(40)] {
            let ours = bincode::serde::encode_to_vec(EventId::new(id), config).unwrap();
            let text: Box<str> = id.into();
            assert_eq!(ours, bincode::serde::encode_to_vec(&text, config).unwrap());
            let (back, _): (EventId, usize) =
                bincode::serde::decode_from_slice(&ours, config).unwrap();
            assert_eq!(back.as_str(), id);
        }
    }
}
