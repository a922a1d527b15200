//! The device index: device names to slots, with what a login needs to know about the device
//! held in the same hash-map bucket.
//!
//! Nearly every login is by the one account that has ever used its device, on a device it
//! used before. The entry says so on its own, so such a login reads neither the device's
//! record nor the account's list of devices: two cache misses fewer per login, in a fold
//! whose cost at scale is cache misses.

use super::names::NameIndex;

/// `sole` of an entry whose device has no sole account the fast path may trust: shared, or
/// an account slot that does not fit in `u32`.
const NO_SOLE: u32 = u32::MAX;

/// A device's slot, and while a single account has used it, that account and the time of its
/// first login on the device (a copy of the account's `FirstUse` for the device). 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeviceEntry {
    /// Index into [`super::AccountBook`]'s devices (below `u32::MAX`, as everywhere).
    slot: u32,
    sole: u32,
    sole_first_at: i64,
}

impl DeviceEntry {
    /// `sole`: the only account that used the device and when it first did, if so.
    pub fn new(slot: usize, sole: Option<(usize, i64)>) -> Self {
        let (sole, sole_first_at) = sole
            .and_then(|(account, first_at)| Some((u32::try_from(account).ok()?, first_at)))
            .filter(|&(account, _)| account != NO_SOLE)
            .unwrap_or((NO_SOLE, i64::MAX));
        DeviceEntry {
            slot: slot as u32,
            sole,
            sole_first_at,
        }
    }

    pub fn slot(self) -> usize {
        self.slot as usize
    }

    /// Whether a login of `account` at `at` on this device leaves the device and the
    /// account's first use of it as they are: the account alone has used the device, and
    /// first did strictly before `at` (a login at the same microsecond could come first by
    /// its id, so it takes the full path).
    #[inline]
    pub fn is_used_before_by(self, account: usize, at: i64) -> bool {
        self.sole != NO_SOLE && self.sole as usize == account && at > self.sole_first_at
    }
}

/// Device names to [`DeviceEntry`]s.
#[derive(Clone, Debug, Default)]
pub(crate) struct DeviceIndex(NameIndex<DeviceEntry>);

impl DeviceIndex {
    /// The device's slot (what the tests look devices up by).
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<usize> {
        self.0.get(name).map(DeviceEntry::slot)
    }

    #[inline]
    pub fn entry(&self, name: &str) -> Option<DeviceEntry> {
        self.0.get(name)
    }

    /// Adds the device, or replaces its entry.
    pub fn insert(&mut self, name: &str, entry: DeviceEntry) {
        self.0.insert(name, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sole_account_after_its_first_login_takes_the_fast_path() {
        let entry = DeviceEntry::new(7, Some((3, 100)));
        assert_eq!(entry.slot(), 7);
        assert!(entry.is_used_before_by(3, 101));
        assert!(!entry.is_used_before_by(3, 100));
        assert!(!entry.is_used_before_by(3, 99));
        assert!(!entry.is_used_before_by(4, 101));
        let shared = DeviceEntry::new(7, None);
        assert!(!shared.is_used_before_by(3, 101));
        assert!(!shared.is_used_before_by(NO_SOLE as usize, i64::MAX));
        let huge = DeviceEntry::new(7, Some((usize::MAX, 0)));
        assert!(!huge.is_used_before_by(usize::MAX, 1));
        assert_eq!(std::mem::size_of::<DeviceEntry>(), 16);
    }
}
