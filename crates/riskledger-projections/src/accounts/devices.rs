//! Shared devices as of `T`: which accounts each device links, and the clusters those links
//! form (union-find).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::state::{until, DeviceState, DeviceUse};

/// Two accounts that signed in on one device within the window of each other. The evidence is
/// the link's first moment (the first login, in event order, with a login of the other account
/// within the window before it) and the earliest login of the other account within that
/// window: it does not change as `T` moves on, nor with logins after `T`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Link {
    /// The two accounts, lower index first.
    pub accounts: (usize, usize),
    /// The two logins, earlier first.
    pub evidence: (DeviceUse, DeviceUse),
}

/// Every link a device makes as of `at`, in one sweep over its logins in event order: each
/// login links its account to every other account whose latest login is at most `window`
/// earlier. Cost: the logins of the device times the accounts active on it within a window.
///
/// A compacted device (`docs/retention.md`) adds the links it stored, whose first moments are
/// before `stored_before_at`; of the sweep over the uses it kept, only links with a first
/// moment from then on count (the sweep cannot see further back than the uses it kept).
pub(crate) fn device_links(
    device: &DeviceState,
    at: i64,
    window_micros: i64,
    stored_before_at: i64,
) -> Vec<Link> {
    let uses = until(device.uses(), at);
    if device.links().is_empty() && !links_anything(uses, window_micros) {
        return Vec::new();
    }
    let mut links: Vec<Link> = device
        .links()
        .iter()
        .filter(|link| link.evidence.1.at <= at)
        .cloned()
        .collect();
    links.extend(new_links(device, uses, window_micros, stored_before_at));
    if !device.links().is_empty() {
        links.sort_unstable_by_key(|link| link.accounts);
    }
    links
}

/// The links of a sweep over `uses` that the device has not stored: first moments at or
/// after `stored_before_at`, pairs it holds no link for.
pub(crate) fn new_links<'a>(
    device: &'a DeviceState,
    uses: &[DeviceUse],
    window_micros: i64,
    stored_before_at: i64,
) -> impl Iterator<Item = Link> + 'a {
    sweep_links(uses, window_micros)
        .into_iter()
        .filter(move |link| link.evidence.1.at >= stored_before_at)
        .filter(|link| !device.links().iter().any(|s| s.accounts == link.accounts))
}

fn sweep_links(uses: &[DeviceUse], window_micros: i64) -> Vec<Link> {
    let mut latest_by_account: BTreeMap<usize, &DeviceUse> = BTreeMap::new();
    let mut links: BTreeMap<(usize, usize), Link> = BTreeMap::new();
    for (position, current) in uses.iter().enumerate() {
        let oldest_in_window = current.at.saturating_sub(window_micros);
        latest_by_account.retain(|_, latest| latest.at >= oldest_in_window);
        for (&other, &latest) in &latest_by_account {
            if other == current.account {
                continue;
            }
            let pair = (other.min(current.account), other.max(current.account));
            links.entry(pair).or_insert_with(|| Link {
                accounts: pair,
                evidence: (
                    earliest_in_window(&uses[..position], other, oldest_in_window)
                        .unwrap_or(latest)
                        .clone(),
                    current.clone(),
                ),
            });
        }
        latest_by_account.insert(current.account, current);
    }
    links.into_values().collect()
}

/// Whether the sweep of [`device_links`] would find any link, without its maps: a link exists
/// exactly when two neighbouring uses belong to different accounts and lie within the window.
/// (If the sweep links `current` to another account, take that account's latest use before
/// it: the use right after that one is not that account's, since it was the latest, so the two
/// are neighbours of different accounts, and no further apart than the linked pair, as times
/// are sorted and `saturating_sub` is monotone. Conversely, neighbours of different accounts
/// within the window are linked by the sweep at the later one.) Nearly every device is used
/// by one account, or by several months apart, and is settled here.
fn links_anything(uses: &[DeviceUse], window_micros: i64) -> bool {
    uses.windows(2).any(|pair| {
        pair[0].account != pair[1].account && pair[0].at >= pair[1].at.saturating_sub(window_micros)
    })
}

/// The earliest login of `account` at or after `oldest` in `uses` (sorted). The evidence pairs
/// the link's first login with this one, not with the latest login of the other account before
/// it: the latest of a day can be a login that the index drops once a later login of that
/// day arrives (after `T`), while the earliest login of each day at or before `T` is kept
/// whatever comes later, so the evidence at `T` is the same as in a book that only saw the
/// events up to `T`.
fn earliest_in_window(uses: &[DeviceUse], account: usize, oldest: i64) -> Option<&DeviceUse> {
    let start = uses.partition_point(|u| u.at < oldest);
    uses[start..].iter().find(|u| u.account == account)
}

/// Clusters of accounts joined by links: union-find with path halving and union by size.
#[derive(Clone, Debug)]
pub(crate) struct Clusters {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl Clusters {
    pub fn new(accounts: usize) -> Self {
        Clusters {
            parent: (0..accounts).collect(),
            size: vec![1; accounts],
        }
    }

    pub fn root(&mut self, mut account: usize) -> usize {
        if account >= self.parent.len() {
            return account;
        }
        while self.parent[account] != account {
            self.parent[account] = self.parent[self.parent[account]];
            account = self.parent[account];
        }
        account
    }

    pub fn join(&mut self, a: usize, b: usize) {
        if a >= self.parent.len() || b >= self.parent.len() {
            return;
        }
        let (root_a, root_b) = (self.root(a), self.root(b));
        if root_a == root_b {
            return;
        }
        let (big, small) = if self.size[root_a] >= self.size[root_b] {
            (root_a, root_b)
        } else {
            (root_b, root_a)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
    }

    /// Every cluster with two or more accounts, each sorted, keyed by its root.
    pub fn members(&mut self) -> BTreeMap<usize, Vec<usize>> {
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for account in 0..self.parent.len() {
            let root = self.root(account);
            if self.size[root] >= 2 {
                members.entry(root).or_default().push(account);
            }
        }
        members
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::EventId;
    use super::*;

    fn use_(at: i64, id: &str, account: usize) -> DeviceUse {
        DeviceUse {
            at,
            id: super::super::state::EventId::new(id),
            account,
        }
    }

    #[test]
    fn window_is_inclusive_and_links_record_their_first_moment() {
        let mut device = DeviceState::new("d", 0);
        device.sole = None;
        device.shared_mut().uses = vec![
            use_(0, "a1", 0),
            use_(10, "b1", 1),
            use_(11, "b2", 1),
            use_(21, "c1", 2),
        ];
        let links = device_links(&device, 100, 10, i64::MIN);
        let pairs: Vec<_> = links.iter().map(|l| l.accounts).collect();
        assert_eq!(pairs, vec![(0, 1), (1, 2)]);
        assert_eq!(&*links[0].evidence.0.id, "a1");
        assert_eq!(&*links[0].evidence.1.id, "b1");
        assert!(device_links(&device, 100, 9, i64::MIN)
            .iter()
            .all(|l| l.accounts != (0, 1)));
        assert!(device_links(&device, 9, 10, i64::MIN).is_empty());
    }

    /// The shortcut ([`links_anything`]) never changes what the sweep finds, on a device built
    /// by `record_use` (compaction included) from logins in any order, with times and windows
    /// at the edges of `i64` and any cut `T`. Fixed seed, printed.
    #[test]
    fn the_shortcut_agrees_with_the_sweep() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed, TestRunner};
        const SEED: u64 = 0x5eed_0004_de71_ce00;
        println!("proptest seed {SEED:#x}");
        let time = || {
            prop_oneof![
                4 => 0i64..40,
                1 => i64::MIN..i64::MIN + 40,
                1 => i64::MAX - 40..=i64::MAX,
            ]
        };
        let logins = proptest::collection::vec((time(), 0usize..3), 0..12);
        let window = prop_oneof![
            4 => 0i64..12,
            1 => Just(i64::MAX),
            1 => Just(i64::MIN),
            1 => -5i64..0,
        ];
        let cut = prop_oneof![3 => time(), 1 => any::<i64>()];
        let config = Config {
            cases: 8_192,
            rng_seed: RngSeed::Fixed(SEED),
            ..Config::default()
        };
        TestRunner::new(config)
            .run(&(logins, window, cut), |(logins, window, at)| {
                let mut device = DeviceState::new("d", 0);
                device.sole = None;
                for (n, &(at, account)) in logins.iter().enumerate() {
                    device.record_use(at, &EventId::new(&format!("e{n}")), account);
                }
                let uses = until(device.uses(), at);
                let swept = sweep_links(uses, window);
                prop_assert_eq!(links_anything(uses, window), !swept.is_empty());
                prop_assert_eq!(device_links(&device, at, window, i64::MIN), swept);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn union_find_joins_transitively() {
        let mut clusters = Clusters::new(5);
        clusters.join(0, 1);
        clusters.join(3, 1);
        clusters.join(7, 1);
        let members = clusters.members();
        assert_eq!(
            members.into_values().collect::<Vec<_>>(),
            vec![vec![0, 1, 3]]
        );
    }
}
