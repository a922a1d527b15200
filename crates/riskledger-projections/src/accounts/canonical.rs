//! The canonical form of an [`AccountBook`]: accounts and devices sorted by id, with every index
//! that refers to them renumbered to match. It is what snapshots store and what the digest
//! hashes, so the same set of events gives the same bytes whatever order they arrived in.
//!
//! One reader, and one set of borrowed views that write it: `Serialize for AccountBook` (and the
//! snapshot's two parts) through them, and `write_canonical`, the digest's writer, the same
//! bytes with the items encoded on two threads (a test holds the two equal). The views write
//! one item at a time (a login is copied on the stack to renumber its device), never from a
//! copy of the book: a snapshot of a million accounts would otherwise hold the book three times over
//! (serde's `into` cloned it, then an owned canonical form copied it), and a full rebuild would
//! spend much of its time copying the state it is about to hash. [`Snapshot`] is the shape it
//! is read back into. Equality of books is equality of these bytes.

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use std::io::{self, Write};

use crate::chunked::{Chunked, CHUNK_ITEMS};
use crate::keys::name_index;
use crate::parallel::write_encoded_in_order;

use super::devices::Link;
use super::state::{
    refresh_angles, AccountState, DeviceState, DeviceUse, FirstUse, Found, HiddenLogin, Horizon,
    LocatedLogin, Rare,
};
use super::AccountBook;

/// The canonical form as it is read back. Its field order and types are the encoding: the
/// borrowed views below write exactly these fields, in this order.
#[derive(Deserialize)]
pub(super) struct Snapshot {
    horizon: Option<Horizon>,
    accounts: Chunked<AccountState>,
    devices: Chunked<DeviceState>,
}

/// The sort orders of a book and the renumbering they imply.
struct Canonical<'a> {
    book: &'a AccountBook,
    /// Account indexes sorted by name.
    account_order: Vec<usize>,
    device_order: Vec<usize>,
    /// `account_rank[old index] = new index`.
    account_rank: Vec<usize>,
    device_rank: Vec<usize>,
}

impl<'a> Canonical<'a> {
    fn new(book: &'a AccountBook) -> Self {
        let accounts = &book.accounts;
        let account_order = sorted_order(accounts.len(), |i| accounts[i].name.as_bytes());
        let devices = &book.devices;
        let device_order = sorted_order(devices.len(), |i| devices[i].name.as_bytes());
        Canonical {
            book,
            account_rank: ranks(&account_order, book.accounts.len()),
            device_rank: ranks(&device_order, book.devices.len()),
            account_order,
            device_order,
        }
    }

    fn device(&self, old: usize) -> usize {
        renumber(&self.device_rank, old)
    }

    fn device_u32(&self, old: u32) -> u32 {
        renumber(&self.device_rank, old as usize) as u32
    }

    fn first_use(&self, use_: &FirstUse) -> FirstUse {
        FirstUse {
            device: self.device(use_.device),
            ..use_.clone()
        }
    }

    /// An account's first use of each device, sorted by the renumbered device.
    fn first_uses(&self, account: &AccountState) -> Vec<FirstUse> {
        let mut uses: Vec<FirstUse> = account.devices.iter().map(|u| self.first_use(u)).collect();
        uses.sort_by_key(|u| u.device);
        uses
    }

    fn located(&self, login: &LocatedLogin) -> LocatedLogin {
        LocatedLogin {
            device: self.device_u32(login.device),
            ..login.clone()
        }
    }

    fn hidden(&self, login: &HiddenLogin) -> HiddenLogin {
        HiddenLogin {
            device: self.device_u32(login.device),
            ..login.clone()
        }
    }

    fn device_use(&self, use_: &DeviceUse) -> DeviceUse {
        DeviceUse {
            account: renumber(&self.account_rank, use_.account),
            ..use_.clone()
        }
    }

    fn found(&self, found: &Found) -> Found {
        match found {
            Found::ImpossibleTravel { from, to } => Found::ImpossibleTravel {
                from: self.located(from),
                to: self.located(to),
            },
            Found::NewCountry {
                login,
                earlier_logins,
                previous,
            } => Found::NewCountry {
                login: self.located(login),
                earlier_logins: *earlier_logins,
                previous: previous.clone(),
            },
            Found::PayoutAfterNewDevice { device, payout } => Found::PayoutAfterNewDevice {
                device: self.first_use(device),
                payout: payout.clone(),
            },
        }
    }

    /// A device's stored links, renumbered: each pair smaller account first, sorted by pair.
    fn links(&self, device: &DeviceState) -> Vec<Link> {
        let mut links: Vec<Link> = device
            .links()
            .iter()
            .map(|link| {
                let (a, b) = link.accounts;
                let (a, b) = (
                    renumber(&self.account_rank, a),
                    renumber(&self.account_rank, b),
                );
                Link {
                    accounts: (a.min(b), a.max(b)),
                    evidence: (
                        self.device_use(&link.evidence.0),
                        self.device_use(&link.evidence.1),
                    ),
                }
            })
            .collect();
        links.sort_unstable_by_key(|link| link.accounts);
        links
    }

    fn sole(&self, device: &DeviceState) -> Option<usize> {
        device.sole.map(|a| renumber(&self.account_rank, a))
    }

    fn accounts(&self) -> impl ExactSizeIterator<Item = &'a AccountState> + '_ {
        self.account_order.iter().map(|&i| &self.book.accounts[i])
    }

    fn devices(&self) -> impl ExactSizeIterator<Item = &'a DeviceState> + '_ {
        self.device_order.iter().map(|&i| &self.book.devices[i])
    }
}

impl PartialEq for AccountBook {
    /// Two books are equal when they hold the same events, whatever order they came in: when
    /// their canonical encodings are equal.
    fn eq(&self, other: &Self) -> bool {
        canonical_bytes(self) == canonical_bytes(other)
    }
}

fn canonical_bytes(book: &AccountBook) -> Vec<u8> {
    // Into a `Vec`, every field of the canonical form encodes.
    bincode::serde::encode_to_vec(book, bincode::config::legacy())
        .expect("the canonical form encodes into memory")
}

impl Serialize for AccountBook {
    /// The bytes of the canonical form (`Snapshot`), written from borrowed views (see the module docs).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let canonical = Canonical::new(self);
        let mut snapshot = serializer.serialize_struct("Snapshot", 3)?;
        snapshot.serialize_field("horizon", &self.horizon)?;
        snapshot.serialize_field(
            "accounts",
            &Seq(|| {
                canonical
                    .accounts()
                    .map(|account| AccountView(&canonical, account))
            }),
        )?;
        snapshot.serialize_field(
            "devices",
            &Seq(|| {
                canonical
                    .devices()
                    .map(|device| DeviceView(&canonical, device))
            }),
        )?;
        snapshot.end()
    }
}

/// Writes the bytes `Serialize for AccountBook` writes (bincode's legacy form: a sequence is
/// its length, then its items), with the accounts and the devices encoded on two threads
/// (`write_encoded_in_order`, in runs of `run_items`): what the state digest hashes, and what
/// a full rebuild ends with, with the other core idle.
pub(super) fn write_canonical<W: Write>(
    book: &AccountBook,
    run_items: usize,
    out: &mut W,
) -> io::Result<()> {
    let canonical = Canonical::new(book);
    encode_to(&book.horizon, out)?;
    let accounts = &canonical.account_order;
    encode_to(&(accounts.len() as u64), out)?;
    let account = |i: usize| AccountView(&canonical, &book.accounts[accounts[i]]);
    let encode_account = |i, buffer: &mut Vec<u8>| encode_into_memory(&account(i), buffer);
    write_encoded_in_order(accounts.len(), run_items, encode_account, out)?;
    let devices = &canonical.device_order;
    encode_to(&(devices.len() as u64), out)?;
    let device = |i: usize| DeviceView(&canonical, &book.devices[devices[i]]);
    let encode_device = |i, buffer: &mut Vec<u8>| encode_into_memory(&device(i), buffer);
    write_encoded_in_order(devices.len(), run_items, encode_device, out)
}

fn encode_to<T: Serialize, W: Write>(value: &T, out: &mut W) -> io::Result<()> {
    bincode::serde::encode_into_std_write(value, out, bincode::config::legacy())
        .map(drop)
        .map_err(io::Error::other)
}

/// Every field of the canonical form encodes, and into memory nothing fails.
fn encode_into_memory<T: Serialize>(value: &T, buffer: &mut Vec<u8>) {
    let encoded = encode_to(value, buffer);
    debug_assert!(encoded.is_ok(), "{encoded:?}");
}

/// A sequence written from an iterator made on demand (of known length: bincode needs it).
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: ExactSizeIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

/// An [`AccountState`] in the canonical form, field by field. Destructured whole, so that a
/// new field does not compile until it says how it is written.
struct AccountView<'c, 'a>(&'c Canonical<'a>, &'a AccountState);

impl Serialize for AccountView<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let AccountView(canonical, account) = *self;
        let AccountState {
            name,
            opened,
            devices: _,
            located,
            rare: _,
        } = account;
        let Rare {
            carried,
            hidden,
            payouts,
            dropped_located,
            found,
        } = account.rare();
        let mut state = serializer.serialize_struct("AccountState", 10)?;
        state.serialize_field("name", name)?;
        state.serialize_field("opened", opened)?;
        let first_login = account.first_login().map(|u| canonical.first_use(u));
        state.serialize_field("first_login", &first_login)?;
        state.serialize_field("devices", &canonical.first_uses(account))?;
        let located = || located.iter().map(|l| canonical.located(l));
        state.serialize_field("located", &Seq(located))?;
        state.serialize_field("carried", carried)?;
        let hidden = || hidden.iter().map(|l| canonical.hidden(l));
        state.serialize_field("hidden", &Seq(hidden))?;
        state.serialize_field("payouts", payouts)?;
        state.serialize_field("dropped_located", dropped_located)?;
        let found = || found.iter().map(|f| canonical.found(f));
        state.serialize_field("found", &Seq(found))?;
        state.end()
    }
}

/// A [`DeviceState`] in the canonical form, field by field (destructured whole, likewise).
struct DeviceView<'c, 'a>(&'c Canonical<'a>, &'a DeviceState);

impl Serialize for DeviceView<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let DeviceView(canonical, device) = *self;
        let DeviceState {
            name,
            sole: _,
            sole_first_at: _, // derived: copied from the sole account on load
            shared: _,
        } = device;
        let uses = device.uses();
        let mut state = serializer.serialize_struct("DeviceState", 4)?;
        state.serialize_field("name", name)?;
        state.serialize_field("sole", &canonical.sole(device))?;
        let uses = || uses.iter().map(|u| canonical.device_use(u));
        state.serialize_field("uses", &Seq(uses))?;
        state.serialize_field("links", &canonical.links(device))?;
        state.end()
    }
}

/// The new index of `old`; out of range only in a damaged snapshot, where it stays out of range.
fn renumber(rank: &[usize], old: usize) -> usize {
    rank.get(old).copied().unwrap_or(usize::MAX)
}

/// Indexes `0..count` sorted by `name`, in byte order (the order of the texts), a name given
/// twice (a damaged snapshot) by index. What is sorted is a list of `(order_key, index)`:
/// comparing two of them reads no record, where comparing names would read two records at
/// random (a million accounts do not fit in cache). The names are read only for keys that tie
/// and stand for names longer than the key holds.
fn sorted_order<'a>(count: usize, name: impl Fn(usize) -> &'a [u8]) -> Vec<usize> {
    let mut keyed: Vec<(u128, usize)> = (0..count)
        .map(|index| (order_key(name(index)), index))
        .collect();
    keyed.sort_unstable_by(|&(a_key, a), &(b_key, b)| {
        let names = || match a_key as u8 {
            ORDER_KEY_LONG => name(a).cmp(name(b)),
            _ => std::cmp::Ordering::Equal,
        };
        a_key.cmp(&b_key).then_with(names).then(a.cmp(&b))
    });
    keyed.into_iter().map(|(_, index)| index).collect()
}

/// The last byte of the order key of a name longer than `ORDER_KEY_BYTES`.
const ORDER_KEY_LONG: u8 = ORDER_KEY_BYTES as u8 + 1;

/// The bytes of a name an order key holds.
const ORDER_KEY_BYTES: usize = 15;

/// A number whose order is the byte order of names, but between two long names that share
/// their first `ORDER_KEY_BYTES` bytes (equal keys): those bytes, zero-padded, then the length
/// (`ORDER_KEY_LONG` for any longer). Where the padded bytes differ, the first difference
/// is the names' first (a zero of padding against a byte of the other name, which then cannot
/// be zero: the shorter name is a prefix, so first); where they are equal, the shorter name is
/// a prefix of the longer, so first, as its length says.
fn order_key(name: &[u8]) -> u128 {
    let mut key = [0u8; 16];
    let held = name.len().min(ORDER_KEY_BYTES);
    key[..held].copy_from_slice(&name[..held]);
    key[ORDER_KEY_BYTES] = if name.len() > ORDER_KEY_BYTES {
        ORDER_KEY_LONG
    } else {
        name.len() as u8
    };
    u128::from_be_bytes(key)
}

/// The inverse of an order: `rank[old index] = new index`.
fn ranks(order: &[usize], len: usize) -> Vec<usize> {
    let mut rank = vec![0; len];
    for (new, &old) in order.iter().enumerate() {
        rank[old] = new;
    }
    rank
}

impl From<Snapshot> for AccountBook {
    fn from(snapshot: Snapshot) -> Self {
        let mut accounts = snapshot.accounts;
        refresh_all_angles(&mut accounts);
        AccountBook::indexed(snapshot.horizon, accounts, snapshot.devices)
    }
}

/// Recomputes the cached angles of every account's located logins (not stored: derived).
fn refresh_all_angles(accounts: &mut Chunked<AccountState>) {
    accounts
        .iter_mut()
        .for_each(|account| refresh_angles(&mut account.located));
}

/// The canonical form in two parts, for a snapshot that decodes them at once on two threads
/// (beside the rest of the state on a third):
/// the head holds the devices and the first half of the accounts, the tail the other half.
/// Written from the same borrowed views as the whole form; read back with
/// [`AccountBook::from_parts`].
///
/// ```
/// # use riskledger_events::json::parse_line;
/// # use riskledger_projections::accounts::*;
/// # let mut book = AccountBook::new();
/// # for (n, account) in ["c-1", "f-1", "f-2"].iter().enumerate() {
/// #     let line = format!(r#"{{"id":"l{n}","type":"login","at":"2024-03-01T09:00:00Z","account":"{account}","device":"d-1","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}}"#);
/// #     book.apply(&parse_line(n as u64 + 1, &line).unwrap());
/// # }
/// let config = bincode::config::legacy();
/// let parts = book.parts();
/// let head = bincode::serde::encode_to_vec(parts.head(), config)?;
/// let tail = bincode::serde::encode_to_vec(parts.tail(), config)?;
/// let (head, _): (AccountsHead, usize) = bincode::serde::decode_from_slice(&head, config)?;
/// let (tail, _): (AccountsTail, usize) = bincode::serde::decode_from_slice(&tail, config)?;
/// assert_eq!(AccountBook::from_parts(head, tail), book);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Parts<'a> {
    canonical: Canonical<'a>,
    /// Accounts (in canonical order) in the head.
    head_accounts: usize,
}

/// The head of [`Parts`] as read back (angles already refreshed, on the decoding thread).
#[derive(Deserialize)]
#[serde(from = "HeadForm")]
pub struct AccountsHead {
    horizon: Option<Horizon>,
    devices: Chunked<DeviceState>,
    accounts: Chunked<AccountState>,
    /// The count of accounts in both parts, as the head states it.
    accounts_in_book: u64,
}

/// The tail of [`Parts`] as read back.
#[derive(Deserialize)]
#[serde(from = "TailForm")]
pub struct AccountsTail {
    accounts: Chunked<AccountState>,
}

/// The head's encoding: the fields the head view writes, in order. `accounts_in_book` (both
/// halves) is checked against the tail ([`AccountsHead::is_completed_by`]).
struct HeadForm {
    horizon: Option<Horizon>,
    devices: Chunked<DeviceState>,
    accounts: Chunked<AccountState>,
    accounts_in_book: u64,
}

impl<'de> Deserialize<'de> for HeadForm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const FIELDS: &[&str] = &["horizon", "devices", "accounts_in_book", "accounts"];
        deserializer.deserialize_struct("Part", FIELDS, HeadVisitor)
    }
}

struct HeadVisitor;

impl<'de> Visitor<'de> for HeadVisitor {
    type Value = HeadForm;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("the head of an account book")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeadForm, A::Error> {
        let missing = |field: usize| A::Error::invalid_length(field, &"4 fields");
        let horizon = seq.next_element()?.ok_or_else(|| missing(0))?;
        let devices = seq.next_element()?.ok_or_else(|| missing(1))?;
        let accounts_in_book: u64 = seq.next_element()?.ok_or_else(|| missing(2))?;
        let accounts = seq.next_element()?.ok_or_else(|| missing(3))?;
        Ok(HeadForm {
            horizon,
            devices,
            accounts,
            accounts_in_book,
        })
    }
}

#[derive(Deserialize)]
struct TailForm {
    accounts: Chunked<AccountState>,
}

impl From<HeadForm> for AccountsHead {
    fn from(
        HeadForm {
            horizon,
            devices,
            mut accounts,
            accounts_in_book,
        }: HeadForm,
    ) -> Self {
        refresh_all_angles(&mut accounts);
        AccountsHead {
            horizon,
            devices,
            accounts,
            accounts_in_book,
        }
    }
}

impl From<TailForm> for AccountsTail {
    fn from(TailForm { mut accounts }: TailForm) -> Self {
        refresh_all_angles(&mut accounts);
        AccountsTail { accounts }
    }
}

/// The accounts a snapshot's head holds of `accounts`: half, rounded down to whole chunks so
/// that joining the parts moves no account (`Chunked::append` takes the tail's chunks over as
/// they are); half exactly in a book of less than two chunks.
fn head_accounts(accounts: usize) -> usize {
    match accounts / 2 / CHUNK_ITEMS * CHUNK_ITEMS {
        0 => accounts / 2,
        whole_chunks => whole_chunks,
    }
}

impl AccountBook {
    /// The canonical form in two parts (see [`Parts`]).
    pub fn parts(&self) -> Parts<'_> {
        Parts {
            head_accounts: head_accounts(self.accounts.len()),
            canonical: Canonical::new(self),
        }
    }

    /// The book the two parts of [`AccountBook::parts`] describe. Check
    /// [`AccountsHead::is_completed_by`] first: parts that do not belong together (damage)
    /// make a book of what they hold, not an error.
    pub fn from_parts(head: AccountsHead, tail: AccountsTail) -> Self {
        let AccountsHead {
            horizon,
            devices,
            mut accounts,
            accounts_in_book: _,
        } = head;
        accounts.append(tail.accounts);
        AccountBook::indexed(horizon, accounts, devices)
    }

    /// A book of canonical accounts and devices, with its indexes built.
    fn indexed(
        horizon: Option<Horizon>,
        accounts: Chunked<AccountState>,
        devices: Chunked<DeviceState>,
    ) -> Self {
        let account_index = name_index(accounts.len(), |slot| {
            accounts[slot as usize].name.as_bytes()
        });
        let device_index = name_index(devices.len(), |slot| devices[slot as usize].name.as_bytes());
        let mut book = AccountBook {
            accounts,
            account_index,
            devices,
            device_index,
            horizon,
        };
        book.copy_first_uses_to_devices();
        book
    }
}

impl AccountsHead {
    /// Whether `tail` holds the rest of the accounts this head counts: parts written together
    /// do; a damaged or mismatched pair does not, and a snapshot loader then rebuilds.
    ///
    /// ```
    /// # use riskledger_events::json::parse_line;
    /// # use riskledger_projections::accounts::*;
    /// # let mut book = AccountBook::new();
    /// # for (n, account) in ["c-1", "f-1", "f-2"].iter().enumerate() {
    /// #     let line = format!(r#"{{"id":"l{n}","type":"login","at":"2024-03-01T09:00:00Z","account":"{account}","device":"d-1","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}}"#);
    /// #     book.apply(&parse_line(n as u64 + 1, &line).unwrap());
    /// # }
    /// let config = bincode::config::legacy();
    /// let parts = book.parts();
    /// let head = bincode::serde::encode_to_vec(parts.head(), config)?;
    /// let tail = bincode::serde::encode_to_vec(parts.tail(), config)?;
    /// let (head, _): (AccountsHead, usize) = bincode::serde::decode_from_slice(&head, config)?;
    /// let (tail, _): (AccountsTail, usize) = bincode::serde::decode_from_slice(&tail, config)?;
    /// assert!(head.is_completed_by(&tail));
    /// let (other, _): (AccountsTail, usize) = bincode::serde::decode_from_slice(&[0; 8], config)?;
    /// assert!(!head.is_completed_by(&other)); // an empty tail: one account short
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_completed_by(&self, tail: &AccountsTail) -> bool {
        let counted = (self.accounts.len() as u64).checked_add(tail.accounts.len() as u64);
        counted == Some(self.accounts_in_book)
    }
}

impl Parts<'_> {
    /// The devices, then the first half of the accounts.
    pub fn head(&self) -> impl Serialize + '_ {
        PartView {
            parts: self,
            head: true,
        }
    }

    /// The second half of the accounts.
    pub fn tail(&self) -> impl Serialize + '_ {
        PartView {
            parts: self,
            head: false,
        }
    }

    fn accounts(&self, head: bool) -> impl ExactSizeIterator<Item = AccountView<'_, '_>> + '_ {
        let order = &self.canonical.account_order;
        let (first, second) = order.split_at(self.head_accounts.min(order.len()));
        let half = if head { first } else { second };
        half.iter()
            .map(|&i| AccountView(&self.canonical, &self.canonical.book.accounts[i]))
    }
}

/// One part, written field by field as [`HeadForm`] or [`TailForm`] reads it.
struct PartView<'p, 'a> {
    parts: &'p Parts<'a>,
    head: bool,
}

impl Serialize for PartView<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (parts, head) = (self.parts, self.head);
        let canonical = &parts.canonical;
        let mut part = serializer.serialize_struct("Part", if head { 4 } else { 1 })?;
        if head {
            part.serialize_field("horizon", &canonical.book.horizon)?;
            let devices = || canonical.devices().map(|d| DeviceView(canonical, d));
            part.serialize_field("devices", &Seq(devices))?;
            let accounts_in_book = canonical.book.accounts.len() as u64;
            part.serialize_field("accounts_in_book", &accounts_in_book)?;
        }
        part.serialize_field("accounts", &Seq(|| parts.accounts(head)))?;
        part.end()
    }
}

impl AccountBook {
    /// Gives each device used by one account a copy of that account's first use of it (after
    /// loading a snapshot, which does not store the copies).
    fn copy_first_uses_to_devices(&mut self) {
        for device in 0..self.devices.len() {
            self.devices[device].sole_first_at = self.sole_first_at(device);
        }
    }
}

/// The two parts of `book`'s canonical form, written and read back as a snapshot does.
#[cfg(test)]
pub(super) fn parts_read_back(book: &AccountBook) -> (AccountsHead, AccountsTail) {
    let config = bincode::config::legacy();
    let parts = book.parts();
    let head = bincode::serde::encode_to_vec(parts.head(), config).unwrap();
    let tail = bincode::serde::encode_to_vec(parts.tail(), config).unwrap();
    let (head, _) = bincode::serde::decode_from_slice(&head, config).unwrap();
    let (tail, _) = bincode::serde::decode_from_slice(&tail, config).unwrap();
    (head, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use riskledger_events::json::parse_line;

    /// Names drawn so that keys tie: few distinct bytes (zero among them), lengths around
    /// the key's 15 bytes, long names sharing their first 15 bytes.
    fn names() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let name = prop_oneof![
            proptest::collection::vec(prop_oneof![Just(0u8), Just(b'a'), Just(0xff)], 0..20),
            proptest::collection::vec(Just(b'a'), 13..18),
            (0usize..4, proptest::collection::vec(0u8..3, 0..4)).prop_map(|(n, tail)| {
                let mut name = b"d-0123456789abcd".to_vec();
                name.truncate(14 + n);
                name.extend(tail);
                name
            }),
        ];
        proptest::collection::vec(name, 0..40)
    }

    proptest! {
        /// The keyed sort gives the order of sorting by the names themselves, then by index.
        #[test]
        fn sorted_order_is_the_byte_order_of_the_names(names in names()) {
            let mut expected: Vec<usize> = (0..names.len()).collect();
            expected.sort_by(|&a, &b| names[a].cmp(&names[b]).then(a.cmp(&b)));
            prop_assert_eq!(sorted_order(names.len(), |i| names[i].as_slice()), expected);
        }
    }

    /// The digest's writer, on two threads, writes the bytes the snapshot's `Serialize`
    /// writes, whatever the run length: one run, a run per item, runs that end mid-list.
    #[test]
    fn the_canonical_form_written_on_two_threads_is_the_serialized_one() {
        let history = include_str!("../../../../tests/data/state-digest-history.ndjson");
        let mut book = AccountBook::default();
        for (i, line) in history.lines().enumerate() {
            book.apply(&parse_line(i as u64 + 1, line).unwrap());
        }
        assert!(book.accounts.len() > 20 && book.devices.len() > 20);
        let serialized = canonical_bytes(&book);
        for run_items in [1, 2, 3, 7, book.accounts.len(), usize::MAX] {
            let mut written = Vec::new();
            write_canonical(&book, run_items, &mut written).unwrap();
            assert!(written == serialized, "runs of {run_items}");
        }
    }

    #[test]
    fn order_keys_hold_fifteen_bytes_then_the_length() {
        assert_eq!(order_key(b""), 0);
        assert_eq!(order_key(b"a"), (u128::from(b'a') << 120) | 1);
        assert_eq!(order_key(&[7; 15]) as u8, 15);
        assert_eq!(order_key(&[7; 16]), order_key(&[7; 40]));
        assert!(order_key(b"a") < order_key(b"a\0"));
        assert!(order_key(b"a\0") < order_key(b"b"));
        assert!(order_key(&[0xff; 15]) < order_key(&[0xff; 16]));
    }

    /// The views write what [`Snapshot`] reads back: a book decoded from them encodes to the
    /// same bytes, over a history with every kind of account fact and a shared device (so
    /// device uses are renumbered too). Field order, renumbering and sorting are pinned by the
    /// golden digest and by the arrival-order properties, which compare these bytes.
    #[test]
    fn the_canonical_form_reads_back_to_the_same_bytes() {
        let history = include_str!("../../../../tests/data/state-digest-history.ndjson");
        let mut book = AccountBook::default();
        let shared = [
            r#"{"id":"canon-1","type":"login","at":"2025-03-01T09:00:00Z","account":"canon-b","device":"canon-d","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#,
            r#"{"id":"canon-2","type":"login","at":"2025-03-02T09:00:00Z","account":"canon-a","device":"canon-d","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#,
        ];
        let lines: Vec<&str> = history.lines().chain(shared).collect();
        for (i, line) in lines.iter().enumerate().rev() {
            book.apply(&parse_line(i as u64 + 1, line).unwrap());
        }
        assert!(book.devices.iter().any(|d| !d.uses().is_empty()));
        let bytes = canonical_bytes(&book);
        assert!(bytes.len() > 10_000, "the history is not trivial");
        let (decoded, used): (AccountBook, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::legacy()).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(canonical_bytes(&decoded), bytes);
    }

    /// A head that counts more accounts than its parts hold is refused; its count reserves
    /// nothing (the lists are read in chunks as they come).
    #[test]
    fn a_forged_count_of_accounts_is_refused() {
        let config = bincode::config::legacy();
        // The head's fields in order: no horizon, no devices, a forged count, no accounts.
        let forged = (
            None::<Horizon>,
            Vec::<u8>::new(),
            u64::MAX,
            Vec::<u8>::new(),
        );
        let bytes = bincode::serde::encode_to_vec(forged, config).unwrap();
        let (head, _): (AccountsHead, usize) =
            bincode::serde::decode_from_slice(&bytes, config).unwrap();
        let empty = bincode::serde::encode_to_vec(Vec::<u8>::new(), config).unwrap();
        let (tail, _): (AccountsTail, usize) =
            bincode::serde::decode_from_slice(&empty, config).unwrap();
        assert!(!head.is_completed_by(&tail));
        let book = AccountBook::from_parts(head, tail);
        assert!(book.accounts.is_empty());
    }

    /// A book of more than two chunks of accounts is cut at whole chunks, and its parts join
    /// back to its bytes with the tail's chunks taken over; a smaller one is cut in half.
    #[test]
    fn a_large_book_is_cut_at_whole_chunks_and_joins_back() {
        assert_eq!(head_accounts(5), 2);
        assert_eq!(head_accounts(2 * CHUNK_ITEMS - 1), CHUNK_ITEMS - 1);
        assert_eq!(head_accounts(2 * CHUNK_ITEMS), CHUNK_ITEMS);
        assert_eq!(head_accounts(5 * CHUNK_ITEMS + 7), 2 * CHUNK_ITEMS);
        let accounts = 2 * CHUNK_ITEMS + 99;
        let mut book = AccountBook::default();
        for n in 0..accounts {
            // Every tenth device is shared with the account before, so that devices in the
            // head refer to accounts in the tail.
            let device = if n % 10 == 1 { n - 1 } else { n };
            let line = format!(
                r#"{{"id":"l{n}","type":"login","at":"2024-03-01T09:00:00Z","account":"a-{n:05}","device":"d-{device}","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}}"#
            );
            book.apply(&parse_line(n as u64 + 1, &line).unwrap());
        }
        let (head, tail) = parts_read_back(&book);
        assert_eq!(head.accounts.len(), CHUNK_ITEMS);
        assert!(head.is_completed_by(&tail));
        let mut joined = AccountBook::from_parts(head, tail);
        assert_eq!(canonical_bytes(&joined), canonical_bytes(&book));
        assert!(joined.account_named("a-08191").is_some());
        let chunk_lengths: Vec<usize> = joined
            .accounts
            .chunks_mut()
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(chunk_lengths, [CHUNK_ITEMS, CHUNK_ITEMS, 99]);
    }

    /// The two parts of a snapshot give back the book the whole form gives, down to what the
    /// bytes leave out: every cached angle (to the bit) and both name indexes. For no account,
    /// one, three, and the pinned history with a shared device (so the head's devices refer to
    /// accounts in both halves).
    #[test]
    fn the_parts_read_back_to_the_whole_book() {
        let history = include_str!("../../../../tests/data/state-digest-history.ndjson");
        let shared = r#"{"id":"canon-9","type":"login","at":"2025-03-01T09:00:00Z","account":"zz-last","device":"d-77","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#;
        // A place no compact form holds: eight decimals, the sign of zero, 0.1 km.
        let odd = r#"{"id":"canon-10","type":"login","at":"2025-03-02T09:00:00Z","account":"zz-last","device":"d-78","ip":"203.0.113.9","lat":14.60000001,"lon":-0.0,"country":"PH","accuracy_km":0.1}"#;
        let lines: Vec<&str> = history.lines().chain([shared, odd]).collect();
        let config = bincode::config::legacy();
        let mut cases = 0;
        for take in [0, 1, 3, lines.len()] {
            let mut book = AccountBook::default();
            for (i, line) in lines[lines.len() - take..].iter().enumerate() {
                book.apply(&parse_line(i as u64 + 1, line).unwrap());
            }
            let (whole, _): (AccountBook, usize) =
                bincode::serde::decode_from_slice(&canonical_bytes(&book), config).unwrap();
            let parts = book.parts();
            let head = bincode::serde::encode_to_vec(parts.head(), config).unwrap();
            let tail = bincode::serde::encode_to_vec(parts.tail(), config).unwrap();
            let (head, used): (AccountsHead, usize) =
                bincode::serde::decode_from_slice(&head, config).unwrap();
            assert_eq!(
                used,
                bincode::serde::encode_to_vec(parts.head(), config)
                    .unwrap()
                    .len()
            );
            let (tail, _): (AccountsTail, usize) =
                bincode::serde::decode_from_slice(&tail, config).unwrap();
            assert!(head.is_completed_by(&tail));
            assert_eq!(head.accounts.len(), head_accounts(book.len()));
            let joined = AccountBook::from_parts(head, tail);
            assert_eq!(
                canonical_bytes(&joined),
                canonical_bytes(&whole),
                "{take} lines"
            );
            assert_eq!(canonical_bytes(&joined), canonical_bytes(&book));
            assert_eq!(joined.accounts.len(), whole.accounts.len());
            for (a, b) in joined.accounts.iter().zip(whole.accounts.iter()) {
                let angles = |x: &AccountState| -> Vec<u32> {
                    x.located
                        .iter()
                        .map(|l| l.half_angle_to_previous.to_bits())
                        .collect()
                };
                assert_eq!(angles(a), angles(b), "{}", a.name);
                assert_eq!(joined.account_named(&a.name), whole.account_named(&a.name));
                cases += usize::from(a.located.len() > 1);
            }
            for device in whole.devices.iter() {
                let name = &device.name;
                let joined_slot = joined.device_named(name);
                assert_eq!(joined_slot, whole.device_named(name));
                let slot = joined_slot.unwrap();
                assert_eq!(
                    joined.devices[slot].sole_first_at,
                    whole.devices[slot].sole_first_at
                );
            }
        }
        assert!(
            cases > 0,
            "some account has two located logins, so an angle to compare"
        );
    }
}
