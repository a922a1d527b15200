//! Event ids, account and device names as the accounts fold keeps them: inline when short, so
//! that keeping a login does not allocate and finding an account or a device by name reads no
//! other memory than its record (the ledger's ids and names are short: nearly all fit). An id
//! takes 16 bytes because a located login keeps one and there are millions of those (8 bytes
//! less per id is 66 MB for the 8.21M located logins of the 10M-event history).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An event id or an account name: up to 14 bytes inline (`ev-00012345`, `e10000000`,
/// `c-0000001`), 16 bytes in all.
pub(crate) type ShortText = InlineText<14>;

/// An event id, as the accounts fold keeps it.
pub(crate) type EventId = ShortText;

/// A device's name: up to 22 bytes inline (a 16-hex-digit fingerprint and its prefix), 24
/// bytes in all, so that the device index can compare names in the device's record without
/// a further read.
pub(crate) type DeviceName = InlineText<22>;

/// A text of `len` bytes inline (up to `N`), boxed when longer (a UUID): the box holds a thin
/// pointer to the text's own box, so the whole is `N + 2` bytes rounded up to 8. Ordered and
/// compared as its bytes, which is the byte order of the text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum InlineText<const N: usize> {
    /// `len` bytes of `bytes`, the rest zero.
    Inline { len: u8, bytes: [u8; N] },
    /// Longer than `N` (never shorter, so one text has one form).
    #[allow(clippy::box_collection)] // a thin pointer, so that the text is 16 bytes, not 24
    Boxed(Box<Box<str>>),
}

impl<const N: usize> InlineText<N> {
    pub(crate) fn new(id: &str) -> Self {
        // The copies below cover at most 24 bytes: a wider `N` would leave a gap.
        const { assert!(N <= 24, "InlineText copies at most 24 bytes inline") };
        let text = id.as_bytes();
        let len = text.len();
        if len > N {
            return InlineText::Boxed(Box::new(id.into()));
        }
        let mut bytes = [0u8; N];
        // Fixed-size copies (the last may overlap the one before): no call to `memcpy`.
        let mut copy8 = |at: usize| bytes[at..at + 8].copy_from_slice(&text[at..at + 8]);
        if len <= 7 {
            bytes[..len].copy_from_slice(text);
        } else {
            copy8(0);
            if len > 16 {
                copy8(8);
            }
            copy8(len - 8);
        }
        InlineText::Inline {
            len: len as u8,
            bytes,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            InlineText::Inline { len, bytes } => &bytes[..usize::from(*len)],
            InlineText::Boxed(text) => text.as_bytes(),
        }
    }

    /// The id as text. Inline bytes are a prefix of a `&str` that fits whole, so they are
    /// valid UTF-8; the fallback is never taken.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            InlineText::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            InlineText::Boxed(text) => text,
        }
    }
}

impl<const N: usize> std::ops::Deref for InlineText<N> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Display for InlineText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for InlineText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialOrd for InlineText<N> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize> Ord for InlineText<N> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// Serialised as its text, exactly as a `Box<str>` is.
impl<const N: usize> Serialize for InlineText<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, const N: usize> Deserialize<'de> for InlineText<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| InlineText::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_ids_keep_their_text_and_order() {
        let short = "e".repeat(14);
        let long = "e".repeat(15);
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

    /// Every length up to the inline capacity and past it reads back, for both widths (the
    /// copies overlap differently at 8, 16 and 22 bytes).
    #[test]
    fn every_length_reads_back_in_both_widths() {
        let text: String = ('a'..='z').chain('A'..='Z').collect();
        for len in 0..=text.len() {
            let part = &text[..len];
            assert_eq!(ShortText::new(part).as_str(), part);
            assert_eq!(DeviceName::new(part).as_str(), part);
            assert_eq!(
                matches!(ShortText::new(part), InlineText::Inline { .. }),
                len <= 14
            );
            assert_eq!(
                matches!(DeviceName::new(part), InlineText::Inline { .. }),
                len <= 22
            );
        }
        assert_eq!(std::mem::size_of::<DeviceName>(), 24);
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
