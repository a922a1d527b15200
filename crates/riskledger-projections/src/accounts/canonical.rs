//! The canonical form of an [`AccountBook`]: accounts and devices sorted by id, with every index
//! that refers to them renumbered to match. It is what snapshots store and what the digest
//! hashes, so the same set of events gives the same bytes whatever order they arrived in.
//!
//! Two ways to get it, one set of per-item rules ([`Canonical`]'s methods):
//! - [`AccountBook::snapshot`] builds it as an owned [`Snapshot`] (equality, tests);
//! - `Serialize for AccountBook` writes the same bytes from borrowed views, one item at a time
//!   (a login is copied on the stack to renumber its device), without a copy of the book. A snapshot of a million accounts would otherwise hold the
//!   book three times over (serde's `into` clones it, then the canonical form copies it), and a
//!   full rebuild would spend much of its time copying the state it is about to hash.

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::device_index::{DeviceEntry, DeviceIndex};
use super::state::{
    refresh_angles, AccountState, DeviceState, DeviceUse, FirstUse, HiddenLogin, LocatedLogin,
};
use super::AccountBook;

/// The canonical form, owned. Its field order and types are the encoding: the borrowed views
/// below write exactly these fields, in this order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Snapshot {
    accounts: Vec<AccountState>,
    devices: Vec<DeviceState>,
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
        let account_order = sorted_order(&book.accounts, |a| &a.name);
        let device_order = sorted_order(&book.devices, |d| &d.name);
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

    fn sole(&self, device: &DeviceState) -> Option<usize> {
        device.sole.map(|a| renumber(&self.account_rank, a))
    }

    fn accounts(&self) -> impl ExactSizeIterator<Item = &'a AccountState> + '_ {
        self.account_order.iter().map(|&i| &self.book.accounts[i])
    }

    fn devices(&self) -> impl ExactSizeIterator<Item = &'a DeviceState> + '_ {
        self.device_order.iter().map(|&i| &self.book.devices[i])
    }

    fn owned(&self) -> Snapshot {
        // Destructured whole, here and in the views: a new field does not compile until both
        // say how it is written.
        let accounts = self
            .accounts()
            .map(|account| {
                let AccountState {
                    name,
                    opened,
                    first_login,
                    devices: _,
                    located,
                    hidden,
                    payouts,
                } = account;
                AccountState {
                    name: name.clone(),
                    opened: opened.clone(),
                    first_login: first_login.as_ref().map(|u| self.first_use(u)),
                    devices: self.first_uses(account),
                    located: located.iter().map(|l| self.located(l)).collect(),
                    hidden: hidden.iter().map(|l| self.hidden(l)).collect(),
                    payouts: payouts.clone(),
                }
            })
            .collect();
        let devices = self
            .devices()
            .map(|device| {
                let DeviceState {
                    name,
                    sole: _,
                    uses,
                } = device;
                DeviceState {
                    name: name.clone(),
                    sole: self.sole(device),
                    uses: uses.iter().map(|u| self.device_use(u)).collect(),
                }
            })
            .collect();
        Snapshot { accounts, devices }
    }
}

impl AccountBook {
    /// The canonical form, owned.
    pub(super) fn snapshot(&self) -> Snapshot {
        Canonical::new(self).owned()
    }
}

impl Serialize for AccountBook {
    /// The bytes of [`Snapshot`], written from borrowed views (see the module docs).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let canonical = Canonical::new(self);
        let mut snapshot = serializer.serialize_struct("Snapshot", 2)?;
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

/// An [`AccountState`] as [`Canonical::owned`] would make it, field by field.
struct AccountView<'c, 'a>(&'c Canonical<'a>, &'a AccountState);

impl Serialize for AccountView<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let AccountView(canonical, account) = *self;
        let AccountState {
            name,
            opened,
            first_login,
            devices: _,
            located,
            hidden,
            payouts,
        } = account;
        let mut state = serializer.serialize_struct("AccountState", 7)?;
        state.serialize_field("name", name)?;
        state.serialize_field("opened", opened)?;
        let first_login = first_login.as_ref().map(|u| canonical.first_use(u));
        state.serialize_field("first_login", &first_login)?;
        state.serialize_field("devices", &canonical.first_uses(account))?;
        let located = || located.iter().map(|l| canonical.located(l));
        state.serialize_field("located", &Seq(located))?;
        let hidden = || hidden.iter().map(|l| canonical.hidden(l));
        state.serialize_field("hidden", &Seq(hidden))?;
        state.serialize_field("payouts", payouts)?;
        state.end()
    }
}

/// A [`DeviceState`] as [`Canonical::owned`] would make it, field by field.
struct DeviceView<'c, 'a>(&'c Canonical<'a>, &'a DeviceState);

impl Serialize for DeviceView<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let DeviceView(canonical, device) = *self;
        let DeviceState {
            name,
            sole: _,
            uses,
        } = device;
        let mut state = serializer.serialize_struct("DeviceState", 3)?;
        state.serialize_field("name", name)?;
        state.serialize_field("sole", &canonical.sole(device))?;
        let uses = || uses.iter().map(|u| canonical.device_use(u));
        state.serialize_field("uses", &Seq(uses))?;
        state.end()
    }
}

/// The new index of `old`; out of range only in a damaged snapshot, where it stays out of range.
fn renumber(rank: &[usize], old: usize) -> usize {
    rank.get(old).copied().unwrap_or(usize::MAX)
}

/// Indexes of `items` sorted by name.
fn sorted_order<T>(items: &[T], name: impl Fn(&T) -> &Box<str>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_unstable_by(|&a, &b| name(&items[a]).cmp(name(&items[b])));
    order
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
        let account_index = snapshot
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.clone(), i))
            .collect();
        let mut accounts = snapshot.accounts;
        accounts
            .iter_mut()
            .for_each(|account| refresh_angles(&mut account.located));
        let mut book = AccountBook {
            accounts,
            account_index,
            devices: snapshot.devices,
            device_index: DeviceIndex::default(),
        };
        book.index_devices();
        book
    }
}

impl AccountBook {
    /// Builds the device index from the devices and accounts (after loading a snapshot).
    fn index_devices(&mut self) {
        let entries: Vec<DeviceEntry> = (0..self.devices.len())
            .map(|device| self.device_entry(device))
            .collect();
        for (device, entry) in self.devices.iter().zip(entries) {
            self.device_index.insert(&device.name, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskledger_events::json::parse_line;

    /// The borrowed views write the bytes of the owned canonical form, over a history with
    /// every kind of account fact (and shared devices, so device uses are renumbered too).
    #[test]
    fn the_views_encode_exactly_the_owned_snapshot() {
        let history = include_str!("../../../../tests/data/state-digest-history.ndjson");
        let mut book = AccountBook::default();
        // Two accounts on one device, so that device uses are kept and renumbered too.
        let shared = [
            r#"{"id":"canon-1","type":"login","at":"2025-03-01T09:00:00Z","account":"canon-b","device":"canon-d","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#,
            r#"{"id":"canon-2","type":"login","at":"2025-03-02T09:00:00Z","account":"canon-a","device":"canon-d","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#,
        ];
        let lines: Vec<&str> = history.lines().chain(shared).collect();
        for (i, line) in lines.iter().enumerate().rev() {
            book.apply(&parse_line(i as u64 + 1, line).unwrap());
        }
        let config = bincode::config::legacy();
        let owned = bincode::serde::encode_to_vec(book.snapshot(), config).unwrap();
        let viewed = bincode::serde::encode_to_vec(&book, config).unwrap();
        assert!(owned.len() > 10_000, "the history is not trivial");
        assert_eq!(viewed, owned);
        assert!(book.devices.iter().any(|d| !d.uses.is_empty()));
        let (decoded, _): (AccountBook, usize) =
            bincode::serde::decode_from_slice(&viewed, config).unwrap();
        assert!(decoded == book);
    }
}
