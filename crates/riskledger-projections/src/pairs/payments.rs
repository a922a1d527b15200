//! The compact payment fact: 16 bytes per payment, and no text stored for the common id.
//!
//! A payment needs its exact time (the 365-day and 60-day boundaries are exact to the
//! microsecond), its amount and currency (the trailing sum), and its event id (a payment is the
//! evidence of `payments_stopped` whenever it is the last one at some `T`, and the digest
//! covers it). What it does not need is a general-purpose layout for the rare cases:
//!
//! - **amount and currency** share one `u32`: an amount below 2^31 in the contract's payment
//!   currency (the currency of the first payment the contract received) is held as it is; any
//!   other amount or currency (the ledger rejects a payment in another currency than its
//!   contract's, but the fold must still fold it) is held in the book's `odd` table and the
//!   word holds its index with the top bit set;
//! - **the id** is a `u32` too: an id of the form *prefix + decimal number* (`e123`,
//!   `ev-00012345`) whose prefix and zero-padding are one of the book's four interned
//!   [`IdShape`]s and whose number is below 2^29 − 1 is held in the word itself; any other id is
//!   stored as text in the book's payment-id arena and the word holds its offset.
//!
//! Both encodings are exact: decoding gives back the same amount, currency and id text, so
//! every answer and the digest are what they were with the plain 24-byte fact plus arena text.
//! The tables are filled in arrival order (which shapes were seen first, which payment came
//! first to a contract), so the encoding of a payment may differ between two books of the
//! same events; nothing that reaches an output or the digest depends on it.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::arena::Arena;

/// One payment: its time, its amount word, its id word. 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PaymentFact {
    pub(crate) at: i64,
    /// Bit 31 clear: the amount, in the contract's payment currency. Set: the low 31 bits index
    /// [`PaymentTables::odd`].
    pub(crate) amount: u32,
    /// Bit 31 set: bits 29–30 name an [`IdShape`], bits 0–28 the number. Clear: an offset into
    /// [`PaymentTables::ids`].
    pub(crate) id: u32,
}

const HIGH: u32 = 1 << 31;
const SHAPE_SHIFT: u32 = 29;
const NUMBER_MASK: u32 = (1 << SHAPE_SHIFT) - 1;
const MAX_SHAPES: usize = 4;
/// Prefixes longer than this are not interned (the id is stored as text): a prefix is
/// compared as one `u64`.
const MAX_PREFIX: usize = 8;
/// The longest id an [`IdText`] rebuilds: a prefix and nine digits.
const INLINE_TEXT: usize = MAX_PREFIX + 9;

/// `prefix` followed by a decimal number: zero-padded to exactly `width` digits when `width`
/// is not 0, written without leading zeros when it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdShape {
    /// The prefix's bytes, little-endian, the rest zero.
    prefix: u64,
    prefix_len: u8,
    width: u8,
}

/// What the payment facts point into.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct PaymentTables {
    shapes: Vec<IdShape>,
    /// Ids that fit no shape, as text.
    ids: Arena,
    /// Amounts of 2^31 and more, or in a currency other than the contract's payment currency.
    odd: Vec<(u64, [u8; 3])>,
}

/// A payment id read back: borrowed from the arena, or rebuilt from its shape and number.
pub(crate) enum IdText<'a> {
    Stored(&'a str),
    Rebuilt { len: u8, bytes: [u8; INLINE_TEXT] },
}

impl IdText<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            IdText::Stored(text) => text,
            IdText::Rebuilt { len, bytes } => {
                // Only ASCII digits are written after a prefix that was a whole `str`'s start.
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("?")
            }
        }
    }
}

/// Splits `id` into its prefix (as a `u64`, with its length) and the shape and value of its
/// trailing decimal digits, when it has one to nine of them below 2^29 − 1 after a prefix of
/// at most [`MAX_PREFIX`] bytes.
#[inline]
fn split_numeric(id: &[u8]) -> Option<(u64, u8, u8, u32)> {
    // Fast path: exactly eight trailing digits (`ev-00012345`), read as one word.
    if let Some(split) = id.len().checked_sub(8).filter(|&split| split <= MAX_PREFIX) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&id[split..]);
        let word = u64::from_le_bytes(eight);
        let more_digits = split > 0 && id[split - 1].is_ascii_digit();
        if all_digits(word) && !more_digits {
            return shape_of(id, split, parse_eight(word), 8);
        }
    }
    let mut split = id.len();
    let mut value = 0u32;
    let mut scale = 1u32;
    while split > 0 {
        let digit = id[split - 1].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        if id.len() - split == 9 {
            return None;
        }
        value += u32::from(digit) * scale;
        scale = scale.wrapping_mul(10);
        split -= 1;
    }
    let digits = id.len() - split;
    if digits == 0 {
        return None;
    }
    shape_of(id, split, value, digits)
}

fn shape_of(id: &[u8], split: usize, value: u32, digits: usize) -> Option<(u64, u8, u8, u32)> {
    // Below NUMBER_MASK, not at it: no id word is ever `u32::MAX`, which a contract record
    // uses for "no end".
    if split > MAX_PREFIX || value >= NUMBER_MASK {
        return None;
    }
    let width = if digits > 1 && id[split] == b'0' {
        digits as u8
    } else {
        0
    };
    let mut prefix = 0u64;
    for (i, &byte) in id[..split].iter().enumerate() {
        prefix |= u64::from(byte) << (8 * i);
    }
    Some((prefix, split as u8, width, value))
}

/// Whether all eight bytes of `word` are ASCII digits.
#[inline]
fn all_digits(word: u64) -> bool {
    const HIGH_NIBBLES: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    // High nibble 3, and adding 6 to the low nibble does not carry into it (low nibble <= 9).
    word & HIGH_NIBBLES == ZEROS && word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES == ZEROS
}

/// The value of eight ASCII digits, the first in the lowest byte.
#[inline]
fn parse_eight(word: u64) -> u32 {
    let mut v = word.wrapping_sub(0x3030_3030_3030_3030);
    v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let low = (v & 0x0000_00ff_0000_00ff).wrapping_mul(100 + (1_000_000 << 32));
    let high = ((v >> 16) & 0x0000_00ff_0000_00ff).wrapping_mul(1 + (10_000 << 32));
    (low.wrapping_add(high) >> 32) as u32
}

impl PaymentTables {
    /// The id word for `id`.
    pub(crate) fn encode_id(&mut self, id: &str) -> u32 {
        if let Some((prefix, prefix_len, width, number)) = split_numeric(id.as_bytes()) {
            let wanted = IdShape {
                prefix,
                prefix_len,
                width,
            };
            let found = self.shapes.iter().position(|s| *s == wanted);
            let shape = match found {
                Some(shape) => Some(shape),
                None if self.shapes.len() < MAX_SHAPES => {
                    self.shapes.push(wanted);
                    Some(self.shapes.len() - 1)
                }
                None => None,
            };
            if let Some(shape) = shape {
                return HIGH | ((shape as u32) << SHAPE_SHIFT) | number;
            }
        }
        // Offsets stop at 2^31 (the top bit tells the forms apart); beyond, the placeholder.
        self.ids.push_below(id, HIGH)
    }

    pub(crate) fn id_text(&self, word: u32) -> IdText<'_> {
        if word & HIGH == 0 {
            return IdText::Stored(self.ids.get(word));
        }
        let shape = ((word & !HIGH) >> SHAPE_SHIFT) as usize;
        let Some(shape) = self.shapes.get(shape) else {
            return IdText::Stored("?");
        };
        let mut bytes = [0u8; INLINE_TEXT];
        let prefix_bytes = shape.prefix.to_le_bytes();
        let prefix = &prefix_bytes[..usize::from(shape.prefix_len).min(MAX_PREFIX)];
        bytes[..prefix.len()].copy_from_slice(prefix);
        let mut digits = [0u8; 9];
        let mut number = word & NUMBER_MASK;
        let mut used = 0;
        while number > 0 || used < usize::from(shape.width).max(1) {
            digits[8 - used] = b'0' + (number % 10) as u8;
            number /= 10;
            used += 1;
            if used == digits.len() {
                break;
            }
        }
        let len = prefix.len() + used;
        bytes[prefix.len()..len].copy_from_slice(&digits[9 - used..]);
        IdText::Rebuilt {
            len: len as u8,
            bytes,
        }
    }

    /// The amount word for `amount_minor` in `currency`, for a contract paid in `usual`.
    pub(crate) fn encode_amount(
        &mut self,
        amount_minor: u64,
        currency: [u8; 3],
        usual: [u8; 3],
    ) -> u32 {
        if currency == usual && amount_minor < u64::from(HIGH) {
            return amount_minor as u32;
        }
        let index = self.odd.len() as u32 & !HIGH;
        self.odd.push((amount_minor, currency));
        HIGH | index
    }

    /// `(amount, currency)` of an amount word, for a contract paid in `usual`.
    #[inline]
    pub(crate) fn amount(&self, word: u32, usual: [u8; 3]) -> (u64, [u8; 3]) {
        if word & HIGH == 0 {
            return (u64::from(word), usual);
        }
        self.odd
            .get((word & !HIGH) as usize)
            .copied()
            .unwrap_or((0, usual))
    }

    /// Orders two payments of one contract as the fold keeps them: `(at, id, amount,
    /// currency)`.
    pub(crate) fn compare(
        &self,
        a: &PaymentFact,
        b: (i64, &str, u64, [u8; 3]),
        usual: [u8; 3],
    ) -> Ordering {
        a.at.cmp(&b.0).then_with(|| {
            let (amount, currency) = self.amount(a.amount, usual);
            let id = self.id_text(a.id);
            (id.as_str(), amount, currency).cmp(&(b.1, b.2, b.3))
        })
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        self.odd.shrink_to_fit();
    }

    /// Whether `fact` points into these tables (its id stored as text, or its amount in
    /// `odd`): dropping it leaves something behind that [`Self::with_shapes_only`] and a
    /// re-encoding of every live word give back.
    pub(crate) fn holds_part_of(fact: &PaymentFact) -> bool {
        fact.id & HIGH == 0 || fact.amount & HIGH != 0
    }

    /// Empty tables with the same id shapes, for re-encoding every live word into: a shaped
    /// id keeps its word, a stored one is stored again.
    pub(crate) fn with_shapes_only(&self) -> PaymentTables {
        PaymentTables {
            shapes: self.shapes.clone(),
            ids: Arena::default(),
            odd: Vec::new(),
        }
    }
}

impl std::fmt::Debug for IdText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_char('"')?;
        f.write_str(self.as_str())?;
        f.write_char('"')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_exactly() {
        let mut tables = PaymentTables::default();
        let ids = [
            "e1",
            "e0",
            "e10",
            "ev-00012345",
            "ev-12345678",
            "ev-0",
            "ev-00",
            "007",
            "0",
            "x536870910",
            "x536870911",
            "x536870912",
            "x1234567890",
            "plain",
            "",
            "a-very-long-prefix-beyond-twenty-1",
            "pay-ids-1",
            "pay-ids1",
            "f1",
            "g1",
            "h1",
            "é1",
        ];
        let words: Vec<u32> = ids.iter().map(|id| tables.encode_id(id)).collect();
        for (id, word) in ids.iter().zip(&words) {
            assert_eq!(tables.id_text(*word).as_str(), *id);
        }
        // Numeric ids of an interned shape take no text.
        assert_ne!(words[0] & HIGH, 0);
        assert_ne!(words[3] & HIGH, 0);
        assert_eq!(words[12] & HIGH, 0);
        assert_eq!(size_of::<PaymentFact>(), 16);
    }

    #[test]
    fn the_eight_digit_path_agrees_with_digit_by_digit() {
        let slow = |id: &str| {
            let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
            let split = id.len() - digits;
            let value: u64 = id[split..].parse().unwrap_or(u64::MAX);
            (digits > 0 && digits <= 9 && split <= MAX_PREFIX && value < u64::from(NUMBER_MASK))
                .then(|| {
                    let width = if digits > 1 && id.as_bytes()[split] == b'0' {
                        digits
                    } else {
                        0
                    };
                    (split, width, value)
                })
        };
        let mut ids: Vec<String> = Vec::new();
        for prefix in [
            "",
            "e",
            "ev-",
            "evt_",
            "a1b",
            "12345678",
            "abcdefgh",
            "abcdefghi",
            "é",
        ] {
            for n in [
                0u64, 1, 9, 10, 12345678, 99999999, 10000000, 536870910, 536870911, 999999999,
                1234567890,
            ] {
                for width in [0usize, 1, 2, 8, 9, 10] {
                    ids.push(format!("{prefix}{n:0width$}"));
                }
            }
            ids.push(format!("{prefix}1234567:"));
            ids.push(format!("{prefix}/0000000"));
            ids.push(prefix.to_owned());
        }
        for id in &ids {
            let fast = split_numeric(id.as_bytes()).map(|(_, split, width, value)| {
                (usize::from(split), usize::from(width), u64::from(value))
            });
            assert_eq!(fast, slow(id), "{id}");
        }
    }

    #[test]
    fn amounts_read_back_exactly() {
        let mut tables = PaymentTables::default();
        let usd = *b"USD";
        for (amount, currency) in [
            (1, usd),
            (u64::from(HIGH) - 1, usd),
            (u64::from(HIGH), usd),
            (u64::MAX, usd),
            (0, usd),
            (5, *b"EUR"),
        ] {
            let word = tables.encode_amount(amount, currency, usd);
            assert_eq!(tables.amount(word, usd), (amount, currency));
        }
    }
}
