//! A realistic synthetic marketplace history for riskledger: NDJSON events (`spec/events.md`)
//! plus labels of the misbehaviour hidden in it and of the decoys that look like misbehaviour
//! but are not (`spec/policy.md` says what each should score).
//!
//! ```no_run
//! let config = riskledger_generator::Config::new(2_000, 42);
//! let mut events = std::io::BufWriter::new(std::io::stdout());
//! let mut labels = Vec::new();
//! let summary = riskledger_generator::generate(&config, &mut events, Some(&mut labels)).unwrap();
//! eprintln!("{} events", summary.events);
//! ```
//!
//! The same configuration gives the same bytes on every machine: the randomness is a
//! SplitMix64 written here, positions are rounded to 1e-4 degree, and nothing is iterated in
//! hash order. See `docs/generator.md` for the model.

mod build;
mod emit;
pub mod geo;
pub mod labels;
mod plan;
mod rng;
mod time;

use std::io::Write;

use riskledger_events::{Date, Timestamp};

pub use labels::{AccountKind, Expected, Level, PairKind, PairStatus};

use labels::{AccountEntry, Counts, LabelsDocument, PairEntry};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of accounts (clients, freelancers, agencies).
    pub accounts: u64,
    pub seed: u64,
    /// First day of the history (UTC midnight).
    pub start: Date,
    /// Length of the history in calendar months, 6 to 24 (so that every pair that met
    /// during it is still in its 24-month window at the end).
    pub months: u32,
    /// Share of logins that arrive late (up to three days after they happened), per mille.
    pub late_login_per_mille: u32,
    /// Labelled cases per 100,000 accounts, by kind (in the order of `PairKind::ALL`).
    pub pair_rates_per_100k: [u32; PairKind::COUNT],
    /// Labelled cases per 100,000 accounts, by kind (in the order of `AccountKind::ALL`).
    pub account_rates_per_100k: [u32; AccountKind::COUNT],
    /// Length of the arrival-time windows that are buffered and sorted, in days. Larger
    /// windows hold more events in memory at once; the output is the same.
    pub window_days: u32,
    /// Threads that serialise lines (1: the calling thread only). The output is the same
    /// whatever the number.
    pub threads: usize,
}

impl Config {
    /// The defaults: a year of history from 2025-01-01, 2% of logins late, and each labelled
    /// kind at its default rate.
    pub fn new(accounts: u64, seed: u64) -> Self {
        Config {
            accounts,
            seed,
            start: Date(crate::time::days_from_civil(2025, 1, 1) as i32),
            months: 12,
            late_login_per_mille: 20,
            pair_rates_per_100k: PairKind::DEFAULT_RATES_PER_100K,
            account_rates_per_100k: AccountKind::DEFAULT_RATES_PER_100K,
            window_days: 7,
            threads: 1,
        }
    }

    /// Number of labelled cases of a pair kind (each case is one pair).
    pub fn pair_cases(&self, kind: PairKind) -> u64 {
        self.accounts * u64::from(self.pair_rates_per_100k[kind.index()]) / 100_000
    }

    /// Number of labelled cases of an account kind (a case may involve several accounts).
    pub fn account_cases(&self, kind: AccountKind) -> u64 {
        self.accounts * u64::from(self.account_rates_per_100k[kind.index()]) / 100_000
    }

    /// Sets every rate (pairs and accounts) to the same value: handy for tests that want many
    /// cases of every kind in a small history.
    pub fn with_all_rates_per_100k(mut self, rate: u32) -> Self {
        self.pair_rates_per_100k = [rate; PairKind::COUNT];
        self.account_rates_per_100k = [rate; AccountKind::COUNT];
        self
    }

    /// Start and end of the history, in microseconds. The end is exclusive for everything but
    /// the one closing login, which happens exactly at the end (so `T` is the end).
    pub fn history_bounds(&self) -> (i64, i64) {
        let start = i64::from(self.start.0) * time::DAY;
        (start, time::add_months(start, i64::from(self.months)))
    }

    fn validate(&self) -> Result<(), GenerateError> {
        if !(6..=24).contains(&self.months) {
            return Err(GenerateError::Config(format!(
                "months must be 6 to 24, not {}",
                self.months
            )));
        }
        if self.accounts > u64::from(u32::MAX) / 2 {
            return Err(GenerateError::Config(format!(
                "at most {} accounts",
                u32::MAX / 2
            )));
        }
        if self.late_login_per_mille > 1000 {
            return Err(GenerateError::Config(
                "late_login_per_mille is at most 1000".into(),
            ));
        }
        if self.window_days == 0 {
            return Err(GenerateError::Config(
                "window_days must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// What was generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub events: u64,
    pub bytes: u64,
    pub accounts: u64,
    pub pairs: u64,
    /// Logins that arrived after events that happened later than they did.
    pub late_logins: u64,
    pub labelled_pairs: u64,
    pub labelled_accounts: u64,
    pub history_start: Timestamp,
    /// `T`: the latest event time (the end of the history).
    pub evaluated_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("generator configuration: {0}")]
    Config(String),
    #[error("writing the output: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the labels: {0}")]
    Labels(#[from] serde_json::Error),
}

/// Writes the history as NDJSON to `events` (one `riskledger_events::json::write_line` line per
/// event, in arrival order) and, when asked, the labels document to `labels`.
pub fn generate(
    config: &Config,
    events: &mut dyn Write,
    labels: Option<&mut dyn Write>,
) -> Result<Summary, GenerateError> {
    config.validate()?;
    let atlas = geo::Atlas::embedded();
    let population = build::build(config, &atlas)?;
    let names = emit::Names::new(config.seed, &population);
    let mut summary = write_events(config, &atlas, &population, &names, events)?;
    summary.labelled_pairs = population.pair_labels.len() as u64;
    summary.labelled_accounts = population.account_labels.len() as u64;
    if let Some(out) = labels {
        let document = labels_document(config, &population, &names);
        serde_json::to_writer_pretty(&mut *out, &document)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(summary)
}

fn write_events(
    config: &Config,
    atlas: &geo::Atlas,
    population: &build::Population,
    names: &emit::Names,
    out: &mut dyn Write,
) -> Result<Summary, GenerateError> {
    let window = i64::from(config.window_days) * time::DAY;
    let last_arrival = population.end + plan::MAX_LATE;
    let mut records = Vec::new();
    let mut order: Vec<(i64, i64, u32, u32)> = Vec::new();
    let mut summary = Summary {
        events: 0,
        bytes: 0,
        accounts: population.accounts.len() as u64,
        pairs: population.pairs.len() as u64,
        late_logins: 0,
        labelled_pairs: 0,
        labelled_accounts: 0,
        history_start: Timestamp(population.start),
        evaluated_at: Timestamp(population.end),
    };
    let mut latest_written = i64::MIN;
    // The first window holds everything that happened before the history (old accounts and
    // contracts, back-filled), then fixed windows up to the last late arrival.
    let mut from = i64::MIN;
    let mut until = population.start;
    while from <= last_arrival {
        records.clear();
        emit::collect_window(
            population,
            atlas,
            config.late_login_per_mille,
            from,
            until,
            &mut records,
        );
        // Sort small keys rather than the records: (arrival, event time, unit, position),
        // unique, so an unstable sort gives one order.
        order.clear();
        order.extend(
            records
                .iter()
                .enumerate()
                .map(|(i, r)| (r.arrival, r.at, r.unit, i as u32)),
        );
        order.sort_unstable();
        for &(_, at, _, i) in &order {
            let at = emit::event_time(at);
            if at < latest_written
                && matches!(records[i as usize].body, emit::RecBody::Login { .. })
            {
                summary.late_logins += 1;
            }
            latest_written = latest_written.max(at);
        }
        for block in order.chunks(BLOCK_RECORDS) {
            let first_id = summary.events + 1;
            let parts =
                serialize_block(population, names, &records, block, first_id, config.threads)?;
            summary.events += block.len() as u64;
            for part in parts {
                summary.bytes += part.len() as u64;
                out.write_all(&part)?;
            }
        }
        from = until;
        until = until.saturating_add(window);
    }
    out.flush()?;
    Ok(summary)
}

/// Records serialised at a time (split between the threads).
const BLOCK_RECORDS: usize = 1 << 16;

/// The NDJSON lines of `block` (ids from `first_id` on), in order, in one or more parts. With
/// several threads each serialises a contiguous slice: the bytes are the same either way.
fn serialize_block(
    population: &build::Population,
    names: &emit::Names,
    records: &[emit::Rec],
    block: &[(i64, i64, u32, u32)],
    first_id: u64,
    threads: usize,
) -> Result<Vec<Vec<u8>>, GenerateError> {
    let serialize = |slice: &[(i64, i64, u32, u32)], first_id: u64| -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(slice.len() * 240);
        for (offset, &(_, _, _, i)) in slice.iter().enumerate() {
            let id = emit::decimal_id("e", first_id + offset as u64, 1);
            let event = emit::to_event(population, names, id, &records[i as usize]);
            riskledger_events::json::write_line(&mut bytes, &event, None)?;
            bytes.push(b'\n');
        }
        Ok(bytes)
    };
    if threads <= 1 || block.len() < 1024 {
        return Ok(vec![serialize(block, first_id)?]);
    }
    let per_thread = block.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = block
            .chunks(per_thread)
            .enumerate()
            .map(|(n, slice)| {
                let first = first_id + (n * per_thread) as u64;
                scope.spawn(move || serialize(slice, first))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .expect("a serialising thread panicked")
                    .map_err(GenerateError::from)
            })
            .collect()
    })
}

fn labels_document(
    config: &Config,
    population: &build::Population,
    names: &emit::Names,
) -> LabelsDocument {
    let account_id = |index: u32| names.account(index);
    let mut counts = Counts::default();
    for &kind in PairKind::ALL {
        counts
            .pair_cases
            .insert(kind.as_str(), config.pair_cases(kind));
    }
    for &kind in AccountKind::ALL {
        counts
            .account_cases
            .insert(kind.as_str(), config.account_cases(kind));
        let labelled = population
            .account_labels
            .iter()
            .filter(|l| l.kind == kind)
            .count() as u64;
        counts.account_labels.insert(kind.as_str(), labelled);
    }
    let mut pairs: Vec<PairEntry> = population
        .pair_labels
        .iter()
        .map(|label| {
            let (level, max_level) = labels::split_expected(label.kind.expected());
            PairEntry {
                client: account_id(label.client),
                freelancer: account_id(label.freelancer),
                kind: label.kind.as_str(),
                decoy: label.kind.is_decoy(),
                case: label.case,
                status: label.kind.status(),
                level,
                max_level,
            }
        })
        .collect();
    pairs.sort_by(|a, b| (&a.client, &a.freelancer).cmp(&(&b.client, &b.freelancer)));
    let mut accounts: Vec<AccountEntry> = population
        .account_labels
        .iter()
        .map(|label| {
            let (level, max_level) = labels::split_expected(label.kind.expected());
            AccountEntry {
                account: account_id(label.account),
                kind: label.kind.as_str(),
                decoy: label.kind.is_decoy(),
                case: label.case,
                level,
                max_level,
            }
        })
        .collect();
    accounts.sort_by(|a, b| a.account.cmp(&b.account));
    LabelsDocument {
        format: "riskledger-generator labels v1",
        seed: config.seed,
        generated_accounts: config.accounts,
        history_start: Timestamp(population.start).to_rfc3339(),
        history_end: Timestamp(population.end).to_rfc3339(),
        evaluated_at: Timestamp(population.end).to_rfc3339(),
        policy: "spec/policy.md defaults (Policy::default())",
        unlabelled_level: Level::None,
        counts,
        pairs,
        accounts,
    }
}
