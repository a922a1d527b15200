//! Rules that need the history so far: a payment names a contract that exists and pays in its
//! currency; a contract starts once and ends once; a flag is raised once and resolved once,
//! after it was raised. A pure fold: [`References`] is the state, [`Staged`] checks a batch
//! against it without changing it, and [`References::commit`] applies what was staged.
//!
//! Arrival order matters here (a payment must arrive after its contract), event time does not:
//! events may describe the past in any order, but may only name what the ledger already knows.

use rustc_hash::FxHashMap as HashMap;

use crate::model::{Body, Currency, Event, EventError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Contract {
    currency: Currency,
    ended: bool,
}

/// The facts other events refer to: contracts (with their currency) and flags.
#[derive(Clone, Debug, Default)]
pub struct References {
    contracts: HashMap<String, Contract>,
    /// Flag id → resolved?
    flags: HashMap<String, bool>,
}

/// A batch being checked against [`References`]: later events of the batch see earlier ones.
#[derive(Debug)]
pub struct Staged<'a> {
    base: &'a References,
    contracts: HashMap<String, Contract>,
    flags: HashMap<String, bool>,
}

/// What a checked batch adds, to be committed once the batch is durable.
#[derive(Debug, Default)]
pub struct Changes {
    contracts: HashMap<String, Contract>,
    flags: HashMap<String, bool>,
}

fn reference(field: &'static str, reason: String) -> EventError {
    EventError::Reference { field, reason }
}

impl References {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts checking a batch.
    pub fn stage(&self) -> Staged<'_> {
        Staged {
            base: self,
            contracts: HashMap::default(),
            flags: HashMap::default(),
        }
    }

    /// Applies a committed batch.
    pub fn commit(&mut self, changes: Changes) {
        self.contracts.extend(changes.contracts);
        self.flags.extend(changes.flags);
    }

    /// Replays one stored event (when a ledger is opened). Stored events were checked on the
    /// way in; this only records what they add.
    pub fn replay(&mut self, event: &Event) {
        let mut staged = self.stage();
        staged.record(event);
        let changes = staged.into_changes();
        self.commit(changes);
    }

    /// How many contracts and flags are known (for memory accounting and tests).
    pub fn len(&self) -> (usize, usize) {
        (self.contracts.len(), self.flags.len())
    }

    pub fn is_empty(&self) -> bool {
        self.contracts.is_empty() && self.flags.is_empty()
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
