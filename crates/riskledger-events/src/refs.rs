//! Rules that need the history so far: a payment names a contract that exists and pays in its
//! currency; a contract starts once and ends once; a flag is raised once and resolved once,
//! after it was raised. A pure fold: [`References`] is the state, [`Staged`] checks a batch
//! against it without changing it, and [`References::commit`] applies what was staged.
//!
//! Arrival order matters here (a payment must arrive after its contract), event time does not:
//! events may describe the past in any order, but may only name what the ledger already knows.

use rustc_hash::FxHashMap as HashMap;

use crate::limits::MAX_ID_BYTES;
use crate::model::{Body, Currency, Event, EventError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Contract {
    currency: Currency,
    ended: bool,
}

/// The facts other events refer to: contracts (with their currency) and flags.
///
/// ```
/// use riskledger_events::refs::References;
///
/// # use riskledger_events::json::parse_line;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// let mut refs = References::new();
/// assert!(refs.stage().check(&paid).is_err(), "no contract k-1 yet");
/// refs.replay(&started);
/// assert!(refs.stage().check(&paid).is_ok());
/// ```
#[derive(Clone, Debug, Default)]
pub struct References {
    contracts: HashMap<String, Contract>,
    /// Flag id → resolved?
    flags: HashMap<String, bool>,
}

/// A batch being checked against [`References`]: later events of the batch see earlier ones.
/// Made by [`References::stage`]; turned into [`Changes`] once the batch is checked.
///
/// ```
/// use riskledger_events::refs::References;
///
/// # use riskledger_events::json::parse_line;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// let refs = References::new();
/// let mut staged = refs.stage();
/// staged.check(&started)?;
/// staged.check(&paid)?; // sees the contract started earlier in the batch
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Staged<'a> {
    base: &'a References,
    contracts: HashMap<String, Contract>,
    flags: HashMap<String, bool>,
}

/// What a checked batch adds, to be committed once the batch is durable. Dropping it instead
/// leaves the [`References`] as they were (a batch that failed to store).
///
/// ```
/// use riskledger_events::refs::References;
///
/// # use riskledger_events::json::parse_line;
/// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
/// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
/// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
/// let mut refs = References::new();
/// let mut staged = refs.stage();
/// staged.check(&started)?;
/// let changes = staged.into_changes();
/// assert_eq!(refs.len(), (0, 0), "nothing applied before the commit");
/// refs.commit(changes);
/// assert_eq!(refs.len(), (1, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Changes {
    contracts: HashMap<String, Contract>,
    flags: HashMap<String, bool>,
}

fn reference(field: &'static str, reason: String) -> EventError {
    EventError::Reference { field, reason }
}

impl References {
    /// No contracts, no flags: the state before the first event.
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// let refs = References::new();
    /// assert!(refs.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts checking a batch.
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let refs = References::new();
    /// let mut staged = refs.stage();
    /// staged.check(&started)?;
    /// assert!(staged.check(&started).is_err(), "a contract starts once");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stage(&self) -> Staged<'_> {
        Staged {
            base: self,
            contracts: HashMap::default(),
            flags: HashMap::default(),
        }
    }

    /// Applies a committed batch (call it once the batch is durable).
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let mut refs = References::new();
    /// let mut staged = refs.stage();
    /// staged.check(&started)?;
    /// let changes = staged.into_changes();
    /// refs.commit(changes);
    /// assert!(refs.stage().check(&paid).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit(&mut self, changes: Changes) {
        self.contracts.extend(changes.contracts);
        self.flags.extend(changes.flags);
    }

    /// Replays one stored event (when a ledger is opened). Stored events were checked on the
    /// way in; this only records what they add.
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let mut refs = References::new();
    /// refs.replay(&started);
    /// refs.replay(&paid); // a payment adds no fact
    /// assert_eq!(refs.len(), (1, 0));
    /// ```
    pub fn replay(&mut self, event: &Event) {
        let mut staged = self.stage();
        staged.record(event);
        let changes = staged.into_changes();
        self.commit(changes);
    }

    /// How many contracts and flags are known (for memory accounting and tests).
    ///
    /// ```
    /// use riskledger_events::{json::parse_line, refs::References};
    ///
    /// let mut refs = References::new();
    /// refs.replay(&parse_line(1, r#"{"id":"r","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c-1","reason":"other"}"#)?);
    /// assert_eq!(refs.len(), (0, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> (usize, usize) {
        (self.contracts.len(), self.flags.len())
    }

    /// Whether no contract and no flag is known.
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let mut refs = References::new();
    /// assert!(refs.is_empty());
    /// refs.replay(&started);
    /// assert!(!refs.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.contracts.is_empty() && self.flags.is_empty()
    }

    /// Appends the state in its flat form, the one the store checkpoint holds
    /// (`docs/format.md`): contracts, then flags, each sorted by id, so that the same state
    /// always gives the same bytes.
    ///
    /// ```text
    /// contracts u64 LE | per contract: id length u8 | id | currency [3] | ended u8 (0/1)
    /// flags     u64 LE | per flag:     id length u8 | id | resolved u8 (0/1)
    /// ```
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let mut refs = References::new();
    /// refs.replay(&started);
    /// let mut flat = Vec::new();
    /// refs.encode_flat(&mut flat);
    /// assert_eq!(flat.len(), 8 + (1 + 3 + 3 + 1) + 8); // one contract "k-1", no flag
    /// assert_eq!(&flat[8..16], b"\x03k-1USD\x00");
    /// ```
    pub fn encode_flat(&self, out: &mut Vec<u8>) {
        let mut contracts: Vec<_> = self.contracts.iter().collect();
        contracts.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out.extend_from_slice(&(contracts.len() as u64).to_le_bytes());
        for (id, contract) in contracts {
            put_id(out, id);
            out.extend_from_slice(&contract.currency.0);
            out.push(u8::from(contract.ended));
        }
        let mut flags: Vec<_> = self.flags.iter().collect();
        flags.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out.extend_from_slice(&(flags.len() as u64).to_le_bytes());
        for (id, resolved) in flags {
            put_id(out, id);
            out.push(u8::from(*resolved));
        }
    }

    /// Reads the flat form written by [`References::encode_flat`], all of `bytes`. Refuses
    /// anything [`References::encode_flat`] cannot have written (ids out of bounds or out of
    /// order, bad currencies or booleans, short or trailing bytes).
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let mut refs = References::new();
    /// refs.replay(&started);
    /// let mut flat = Vec::new();
    /// refs.encode_flat(&mut flat);
    /// let back = References::decode_flat(&flat)?;
    /// assert!(back.stage().check(&paid).is_ok());
    /// assert!(References::decode_flat(&flat[..flat.len() - 1]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode_flat(bytes: &[u8]) -> Result<Self, FlatError> {
        let mut input = Flat { bytes, at: 0 };
        let mut refs = References::default();
        let contracts = input.count(1 + 1 + 3 + 1)?;
        refs.contracts.reserve(contracts);
        let mut last: Option<&str> = None;
        for _ in 0..contracts {
            let id = input.id(&mut last)?;
            let currency = input.take(3)?;
            let currency = std::str::from_utf8(currency)
                .ok()
                .and_then(Currency::parse)
                .ok_or(FlatError(
                    "a contract's currency is not three capital letters",
                ))?;
            let ended = input.flag()?;
            refs.contracts
                .insert(id.to_owned(), Contract { currency, ended });
        }
        let flags = input.count(1 + 1 + 1)?;
        refs.flags.reserve(flags);
        let mut last: Option<&str> = None;
        for _ in 0..flags {
            let id = input.id(&mut last)?;
            let resolved = input.flag()?;
            refs.flags.insert(id.to_owned(), resolved);
        }
        if input.at != bytes.len() {
            return Err(FlatError("trailing bytes"));
        }
        Ok(refs)
    }
}

/// Why bytes are not the flat form of [`References`]: they are damaged, or not what
/// [`References::encode_flat`] wrote. The message says what is wrong. Rebuild the references
/// from the events instead (the store does so with its checkpoint).
///
/// ```
/// use riskledger_events::refs::References;
///
/// let err = References::decode_flat(&[1, 2, 3]).unwrap_err();
/// assert_eq!(err.to_string(), "references: cut short");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("references: {0}")]
pub struct FlatError(&'static str);

fn put_id(out: &mut Vec<u8>, id: &str) {
    // Ids are validated to 1..=MAX_ID_BYTES (64) bytes before they are ever stored.
    let len = u8::try_from(id.len()).expect("ids are at most 64 bytes");
    out.push(len);
    out.extend_from_slice(id.as_bytes());
}

/// A cursor over flat bytes.
struct Flat<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Flat<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], FlatError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(FlatError("cut short"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// A count of entries of at least `min_bytes` each, bounded by the bytes left.
    fn count(&mut self, min_bytes: usize) -> Result<usize, FlatError> {
        let count = u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"));
        let left = (self.bytes.len() - self.at) as u64;
        if count > left / min_bytes as u64 {
            return Err(FlatError("a count exceeds the bytes that follow"));
        }
        Ok(count as usize)
    }

    /// An id, which must sort after `last`.
    fn id(&mut self, last: &mut Option<&'a str>) -> Result<&'a str, FlatError> {
        let len = usize::from(self.take(1)?[0]);
        if !(1..=MAX_ID_BYTES).contains(&len) {
            return Err(FlatError("an id length is out of bounds"));
        }
        let id =
            std::str::from_utf8(self.take(len)?).map_err(|_| FlatError("an id is not UTF-8"))?;
        if last.is_some_and(|last| last >= id) {
            return Err(FlatError("ids are not strictly increasing"));
        }
        *last = Some(id);
        Ok(id)
    }

    fn flag(&mut self) -> Result<bool, FlatError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(FlatError("a boolean is neither 0 nor 1")),
        }
    }
}

impl Staged<'_> {
    fn contract(&self, id: &str) -> Option<Contract> {
        self.contracts
            .get(id)
            .or_else(|| self.base.contracts.get(id))
            .copied()
    }

    fn flag(&self, id: &str) -> Option<bool> {
        self.flags
            .get(id)
            .or_else(|| self.base.flags.get(id))
            .copied()
    }

    /// Checks `event` against everything known so far, including earlier events of this
    /// batch, and stages it when it passes. A rejected event stages nothing.
    ///
    /// ```
    /// use riskledger_events::{refs::References, EventError};
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let refs = References::new();
    /// let mut staged = refs.stage();
    /// let err = staged.check(&paid).unwrap_err();
    /// assert!(matches!(err, EventError::Reference { field: "contract", .. }));
    /// assert_eq!(err.to_string(), r#"field `contract`: contract "k-1" does not exist"#);
    /// ```
    pub fn check(&mut self, event: &Event) -> Result<(), EventError> {
        match &event.body {
            Body::ContractStarted { contract, .. } if self.contract(contract).is_some() => {
                return Err(reference(
                    "contract",
                    format!("contract {contract:?} already started"),
                ));
            }
            Body::ContractEnded { contract, .. } => match self.contract(contract) {
                None => return Err(unknown_contract(contract)),
                Some(c) if c.ended => {
                    return Err(reference(
                        "contract",
                        format!("contract {contract:?} already ended"),
                    ));
                }
                Some(_) => {}
            },
            Body::Payment {
                contract, currency, ..
            } => match self.contract(contract) {
                None => return Err(unknown_contract(contract)),
                Some(c) if c.currency != *currency => {
                    return Err(reference(
                        "currency",
                        format!(
                            "{currency} is not the currency of contract {contract:?} ({})",
                            c.currency
                        ),
                    ));
                }
                Some(_) => {}
            },
            Body::FlagRaised { flag, .. } if self.flag(flag).is_some() => {
                return Err(reference("flag", format!("flag {flag:?} already raised")));
            }
            Body::FlagResolved { flag, .. } => match self.flag(flag) {
                None => return Err(reference("flag", format!("flag {flag:?} was never raised"))),
                Some(true) => {
                    return Err(reference("flag", format!("flag {flag:?} already resolved")));
                }
                Some(false) => {}
            },
            _ => {}
        }
        self.record(event);
        Ok(())
    }

    fn record(&mut self, event: &Event) {
        match &event.body {
            Body::ContractStarted {
                contract, currency, ..
            } => {
                self.contracts.insert(
                    contract.clone(),
                    Contract {
                        currency: *currency,
                        ended: false,
                    },
                );
            }
            Body::ContractEnded { contract, .. } => {
                if let Some(mut c) = self.contract(contract) {
                    c.ended = true;
                    self.contracts.insert(contract.clone(), c);
                }
            }
            Body::FlagRaised { flag, .. } => {
                self.flags.insert(flag.clone(), false);
            }
            Body::FlagResolved { flag, .. } => {
                self.flags.insert(flag.clone(), true);
            }
            _ => {}
        }
    }

    /// Ends the check of a batch: what it adds, for [`References::commit`].
    ///
    /// ```
    /// use riskledger_events::refs::References;
    ///
    /// # use riskledger_events::json::parse_line;
    /// # let line = |n: u64, l: &str| parse_line(n, l).unwrap();
    /// # let started = line(1, r#"{"id":"k","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"fixed"}"#);
    /// # let paid = line(2, r#"{"id":"p","type":"payment","at":"2024-02-01T08:00:00Z","contract":"k-1","amount_minor":400000,"currency":"USD"}"#);
    /// let mut refs = References::new();
    /// let mut staged = refs.stage();
    /// staged.check(&started)?;
    /// refs.commit(staged.into_changes());
    /// assert_eq!(refs.len(), (1, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_changes(self) -> Changes {
        Changes {
            contracts: self.contracts,
            flags: self.flags,
        }
    }
}

fn unknown_contract(contract: &str) -> EventError {
    reference("contract", format!("contract {contract:?} does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_line;

    fn state() -> References {
        let mut refs = References::new();
        for line in [
            r#"{"id":"k2","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-2","client":"c","freelancer":"f","currency":"EUR","kind":"fixed"}"#,
            r#"{"id":"k1","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c","freelancer":"f","currency":"USD","kind":"fixed"}"#,
            r#"{"id":"e1","type":"contract_ended","at":"2024-01-06T08:00:00Z","contract":"k-2","outcome":"completed"}"#,
            r#"{"id":"r1","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"system","subject":"c","counterparty":"f","reason":"off_platform_payment"}"#,
            r#"{"id":"s1","type":"flag_resolved","at":"2024-02-04T08:00:00Z","flag":"fl-1","outcome":"confirmed"}"#,
            r#"{"id":"r2","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-2","reporter":"system","subject":"c","counterparty":"f","reason":"off_platform_payment"}"#,
        ] {
            refs.replay(&parse_line(1, line).unwrap());
        }
        refs
    }

    #[test]
    fn the_flat_form_is_sorted_and_reads_back_to_the_same_answers() {
        let refs = state();
        let mut flat = Vec::new();
        refs.encode_flat(&mut flat);
        let mut expected = 2u64.to_le_bytes().to_vec();
        expected.extend_from_slice(b"\x03k-1USD\x00\x03k-2EUR\x01");
        expected.extend_from_slice(&2u64.to_le_bytes());
        expected.extend_from_slice(b"\x04fl-1\x01\x04fl-2\x00");
        assert_eq!(flat, expected);
        let back = References::decode_flat(&flat).unwrap();
        assert_eq!(back.contracts, refs.contracts);
        assert_eq!(back.flags, refs.flags);
        let mut again = Vec::new();
        back.encode_flat(&mut again);
        assert_eq!(again, flat);
    }

    #[test]
    fn anything_encode_flat_cannot_write_is_refused() {
        let mut flat = Vec::new();
        state().encode_flat(&mut flat);
        let change = |at: usize, value: u8| {
            let mut bytes = flat.clone();
            bytes[at] = value;
            References::decode_flat(&bytes)
        };
        // Offsets: count [0..8], "k-1" at 8 (length) 9..12, USD 12..15, ended 15, "k-2" at 16.
        assert!(change(19, b'2').is_ok(), "the unchanged byte reads back");
        assert!(
            change(19, b'1').is_err(),
            "k-1 twice: not strictly increasing"
        );
        assert!(change(12, b'u').is_err(), "a lower-case currency");
        assert!(change(15, 2).is_err(), "a boolean of 2");
        assert!(change(8, 0).is_err(), "an empty id");
        assert!(change(0, 200).is_err(), "a count beyond the bytes");
        assert!(References::decode_flat(&flat[..flat.len() - 1]).is_err());
        let mut longer = flat.clone();
        longer.push(0);
        assert!(References::decode_flat(&longer).is_err());
        assert!(References::decode_flat(&[]).is_err());
    }
}
