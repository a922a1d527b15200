//! The NDJSON interchange format of `spec/events.md`, both ways.
//!
//! Input is read into `Wire`, a flat view of every field any type may carry, then turned into
//! a validated [`Event`]. Export writes the same view back, so `parse(export(e)) == e`.
//! Unknown fields are rejected (a typo in an optional field must not vanish silently), except
//! the three that `export` adds (`seq`, `hash`, `recorded_at`), which input ignores: the ledger
//! assigns its own.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::limits::MAX_LINE_BYTES;
use crate::model::*;

/// Default `accuracy_km` of a login when the producer gives none (`spec/events.md`).
///
/// ```
/// use riskledger_events::{json::{parse_line, DEFAULT_ACCURACY_KM}, Body};
///
/// let line = r#"{"id":"e6","type":"login","at":"2024-02-03T09:00:00Z","account":"f-1","device":"d-77","ip":"203.0.113.9","lat":14.6,"lon":120.98,"country":"PH"}"#;
/// let Body::Login { accuracy_km, .. } = parse_line(1, line)?.body else { unreachable!() };
/// assert_eq!(accuracy_km, DEFAULT_ACCURACY_KM);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_ACCURACY_KM: f64 = 50.0;

/// A rejected input line: its number (1-based), its `id` where one could be read, and why.
/// Report it to the producer (the message names the line, the id and the field) and fix the
/// line; retrying it unchanged fails the same way.
///
/// ```
/// use riskledger_events::json::parse_line;
///
/// let err = parse_line(7, r#"{"id":"a1","type":"payment""#).unwrap_err();
/// assert_eq!((err.line, err.id.as_deref()), (7, Some("a1")));
/// assert_eq!(err.to_string(), r#"line 7 (id "a1"): invalid JSON: EOF while parsing an object"#);
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("line {line}{}: {error}", .id.as_deref().map(|id| format!(" (id {id:?})")).unwrap_or_default())]
pub struct LineError {
    /// The line's number, as given to [`parse_line`].
    pub line: u64,
    /// The line's `id`, when one could be read (even from a line that is not valid JSON).
    pub id: Option<String>,
    /// What is wrong, naming the field.
    pub error: EventError,
}

/// Every field of every event type, flat, as it appears on the wire.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    hash: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    recorded_at: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "type")]
    event_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    at: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    account: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    role: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    contract: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    client: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    freelancer: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    kind: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate_minor: Option<i64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    outcome: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount_minor: Option<i64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    currency: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    flag: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    reporter: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    subject: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    counterparty: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    reason: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    note: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    since: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    device: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    ip: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    country: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    accuracy_km: Option<f64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    network: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    method: Option<Cow<'a, str>>,
}

/// The fields each type may carry besides the envelope (`id`, `type`, `at`).
fn allowed_fields(event_type: &str) -> &'static [&'static str] {
    match event_type {
        "account_opened" => &["account", "role", "country"],
        "contract_started" => &[
            "contract",
            "client",
            "freelancer",
            "currency",
            "kind",
            "rate_minor",
        ],
        "contract_ended" => &["contract", "outcome"],
        "payment" => &["contract", "amount_minor", "currency"],
        "flag_raised" => &[
            "flag",
            "reporter",
            "subject",
            "counterparty",
            "reason",
            "note",
        ],
        "flag_resolved" => &["flag", "outcome"],
        "prior_relationship_proven" => &["client", "freelancer", "since"],
        "conversion_fee_paid" => &["client", "freelancer", "amount_minor", "currency"],
        "login" => &[
            "account",
            "device",
            "ip",
            "lat",
            "lon",
            "country",
            "accuracy_km",
            "network",
        ],
        "payout_method_changed" => &["account", "method", "country"],
        _ => &[],
    }
}

impl Wire<'_> {
    /// The body fields that are present, by name.
    fn present_fields(&self) -> impl Iterator<Item = &'static str> {
        [
            ("account", self.account.is_some()),
            ("role", self.role.is_some()),
            ("contract", self.contract.is_some()),
            ("client", self.client.is_some()),
            ("freelancer", self.freelancer.is_some()),
            ("kind", self.kind.is_some()),
            ("rate_minor", self.rate_minor.is_some()),
            ("outcome", self.outcome.is_some()),
            ("amount_minor", self.amount_minor.is_some()),
            ("currency", self.currency.is_some()),
            ("flag", self.flag.is_some()),
            ("reporter", self.reporter.is_some()),
            ("subject", self.subject.is_some()),
            ("counterparty", self.counterparty.is_some()),
            ("reason", self.reason.is_some()),
            ("note", self.note.is_some()),
            ("since", self.since.is_some()),
            ("device", self.device.is_some()),
            ("ip", self.ip.is_some()),
            ("lat", self.lat.is_some()),
            ("lon", self.lon.is_some()),
            ("country", self.country.is_some()),
            ("accuracy_km", self.accuracy_km.is_some()),
            ("network", self.network.is_some()),
            ("method", self.method.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
    }
}

fn required<T>(field: &'static str, value: Option<T>) -> Result<T, EventError> {
    value.ok_or(EventError::Missing(field))
}

fn text(field: &'static str, value: &Option<Cow<'_, str>>) -> Result<String, EventError> {
    required(field, value.as_deref()).map(str::to_owned)
}

fn optional_text(value: &Option<Cow<'_, str>>) -> Option<String> {
    value.as_deref().map(str::to_owned)
}

fn word<T>(
    field: &'static str,
    value: &Option<Cow<'_, str>>,
    parse: fn(&str) -> Option<T>,
    names: &str,
) -> Result<T, EventError> {
    let raw = required(field, value.as_deref())?;
    parse(raw).ok_or_else(|| EventError::invalid(field, format!("{raw:?} is not one of {names}")))
}

fn country(field: &'static str, value: &Option<Cow<'_, str>>) -> Result<Country, EventError> {
    word(
        field,
        value,
        Country::parse,
        "the ISO 3166-1 alpha-2 codes (two upper-case letters)",
    )
}

fn currency(field: &'static str, value: &Option<Cow<'_, str>>) -> Result<Currency, EventError> {
    word(
        field,
        value,
        Currency::parse,
        "the ISO 4217 codes (three upper-case letters)",
    )
}

fn amount(field: &'static str, value: Option<i64>) -> Result<u64, EventError> {
    let value = required(field, value)?;
    u64::try_from(value).map_err(|_| EventError::invalid(field, "must be greater than 0"))
}

fn optional_amount(field: &'static str, value: Option<i64>) -> Result<Option<u64>, EventError> {
    value.map(|v| amount(field, Some(v))).transpose()
}

fn degrees(field: &'static str, value: Option<f64>) -> Result<f64, EventError> {
    required(field, value)
}

impl<'a> Wire<'a> {
    fn into_event(self) -> Result<Event, EventError> {
        let id = text("id", &self.id)?;
        let event_type = required("type", self.event_type.as_deref())?;
        let type_index = EVENT_TYPES
            .iter()
            .position(|t| *t == event_type)
            .ok_or_else(|| EventError::UnknownType(event_type.to_owned()))?;
        let at = Timestamp::parse_rfc3339(required("at", self.at.as_deref())?)
            .map_err(|reason| EventError::invalid("at", reason))?;
        let allowed = allowed_fields(event_type);
        if let Some(field) = self.present_fields().find(|f| !allowed.contains(f)) {
            return Err(EventError::Unexpected {
                field: field.to_owned(),
                event_type: EVENT_TYPES[type_index],
            });
        }
        let body = self.body(type_index)?;
        let event = Event { id, at, body };
        event.validate()?;
        Ok(event)
    }

    fn body(&self, type_index: usize) -> Result<Body, EventError> {
        let w = self;
        Ok(match type_index {
            0 => Body::AccountOpened {
                account: text("account", &w.account)?,
                role: word("role", &w.role, Role::parse, Role::NAMES)?,
                country: country("country", &w.country)?,
            },
            1 => Body::ContractStarted {
                contract: text("contract", &w.contract)?,
                client: text("client", &w.client)?,
                freelancer: text("freelancer", &w.freelancer)?,
                currency: currency("currency", &w.currency)?,
                kind: word("kind", &w.kind, ContractKind::parse, ContractKind::NAMES)?,
                rate_minor: optional_amount("rate_minor", w.rate_minor)?,
            },
            2 => Body::ContractEnded {
                contract: text("contract", &w.contract)?,
                outcome: word(
                    "outcome",
                    &w.outcome,
                    ContractOutcome::parse,
                    ContractOutcome::NAMES,
                )?,
            },
            3 => Body::Payment {
                contract: text("contract", &w.contract)?,
                amount_minor: amount("amount_minor", w.amount_minor)?,
                currency: currency("currency", &w.currency)?,
            },
            4 => Body::FlagRaised {
                flag: text("flag", &w.flag)?,
                reporter: match required("reporter", w.reporter.as_deref())? {
                    Reporter::SYSTEM => Reporter::System,
                    account => Reporter::Account(account.to_owned()),
                },
                subject: text("subject", &w.subject)?,
                counterparty: optional_text(&w.counterparty),
                reason: word("reason", &w.reason, FlagReason::parse, FlagReason::NAMES)?,
                note: optional_text(&w.note),
            },
            5 => Body::FlagResolved {
                flag: text("flag", &w.flag)?,
                outcome: word(
                    "outcome",
                    &w.outcome,
                    FlagOutcome::parse,
                    FlagOutcome::NAMES,
                )?,
            },
            6 => Body::PriorRelationshipProven {
                client: text("client", &w.client)?,
                freelancer: text("freelancer", &w.freelancer)?,
                since: Date::parse(required("since", w.since.as_deref())?)
                    .map_err(|reason| EventError::invalid("since", reason))?,
            },
            7 => Body::ConversionFeePaid {
                client: text("client", &w.client)?,
                freelancer: text("freelancer", &w.freelancer)?,
                amount_minor: amount("amount_minor", w.amount_minor)?,
                currency: currency("currency", &w.currency)?,
            },
            8 => Body::Login {
                account: text("account", &w.account)?,
                device: text("device", &w.device)?,
                ip: Ip::parse(required("ip", w.ip.as_deref())?)
                    .ok_or_else(|| EventError::invalid("ip", "not an IPv4 or IPv6 address"))?,
                lat: degrees("lat", w.lat)?,
                lon: degrees("lon", w.lon)?,
                country: country("country", &w.country)?,
                accuracy_km: w.accuracy_km.unwrap_or(DEFAULT_ACCURACY_KM),
                network: w
                    .network
                    .as_ref()
                    .map(|_| word("network", &w.network, Network::parse, Network::NAMES))
                    .transpose()?,
            },
            9 => Body::PayoutMethodChanged {
                account: text("account", &w.account)?,
                method: text("method", &w.method)?,
                country: country("country", &w.country)?,
            },
            _ => unreachable!("type_index comes from EVENT_TYPES"),
        })
    }
}

/// Reads the `id` of a line that failed to parse, for the error message, if it has one. A line
/// too broken for JSON (cut short, say) still gets a textual look for `"id":"..."`.
fn salvage_id(line: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<String>,
    }
    if let Ok(parsed) = serde_json::from_str::<IdOnly>(line) {
        return parsed.id;
    }
    let after_key = &line[line.find("\"id\"")? + 4..];
    let value = after_key
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let end = value.find('"')?;
    let id = &value[..end];
    (!id.contains('\\') && id.len() <= crate::limits::MAX_ID_BYTES).then(|| id.to_owned())
}

/// Parses one NDJSON line (`line_no` is 1-based, for the error) into a validated event.
/// Only the stateless rules are checked; references are checked on append ([`crate::refs`]).
///
/// ```
/// use riskledger_events::{json::parse_line, Timestamp};
///
/// let line = r#"{"id":"e1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#;
/// let event = parse_line(1, line)?;
/// assert_eq!((event.id.as_str(), event.at), ("e1", Timestamp::parse_rfc3339("2024-01-02T10:00:00Z")?));
/// let typo = line.replace("\"role\"", "\"rôle\"");
/// assert!(parse_line(2, &typo).unwrap_err().to_string().contains("unknown field `rôle`"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_line(line_no: u64, line: &str) -> Result<Event, LineError> {
    let fail = |error, id| LineError {
        line: line_no,
        id,
        error,
    };
    if line.len() > MAX_LINE_BYTES {
        return Err(fail(
            EventError::Json(format!(
                "the line is {} bytes long; the limit is {MAX_LINE_BYTES}",
                line.len()
            )),
            None,
        ));
    }
    if !line.trim_start().starts_with('{') {
        let error = EventError::Json("not a JSON object: each line must be one `{...}`".into());
        return Err(fail(error, None));
    }
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let parsed = serde_path_to_error::deserialize(&mut deserializer);
    let wire: Wire<'_> = match parsed {
        Ok(wire) => match deserializer.end() {
            Ok(()) => wire,
            Err(err) => {
                let error = EventError::Json(format!("invalid JSON: {}", strip_position(&err)));
                return Err(fail(error, salvage_id(line)));
            }
        },
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let error = if path == "." || path.is_empty() || inner.is_syntax() || inner.is_eof() {
                EventError::Json(format!("invalid JSON: {}", strip_position(&inner)))
            } else {
                EventError::WrongType {
                    field: path,
                    message: strip_position(&inner),
                }
            };
            return Err(fail(error, salvage_id(line)));
        }
    };
    let id = wire.id.as_deref().map(str::to_owned);
    wire.into_event().map_err(|error| fail(error, id))
}

/// serde_json appends "at line 1 column N" to its messages; on one NDJSON line the field name
/// says more.
fn strip_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message,
    }
}

/// What `export` adds to each line: where the event sits in the ledger. Input ignores these
/// fields (the ledger assigns its own).
///
/// ```
/// use riskledger_events::{json::{parse_line, write_line, Placement}, Timestamp};
///
/// # let event = parse_line(1, r#"{"id":"g1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#)?;
/// let hash = "5cdbe3441a857315416b626220a0a20990b33a2d896ecbdfeb918e0a5e52b90e";
/// let placement = Placement { seq: 1, hash, recorded_at: Timestamp(1_800_000_000_000_000) };
/// let mut out = Vec::new();
/// write_line(&mut out, &event, Some(placement))?;
/// assert_eq!(parse_line(1, std::str::from_utf8(&out)?)?, event);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Placement<'a> {
    /// The event's seq in the log.
    pub seq: u64,
    /// The event's chain hash, in hex.
    pub hash: &'a str,
    /// When the ledger appended it.
    pub recorded_at: Timestamp,
}

/// Writes one event as an NDJSON line (without the newline), in the canonical field order.
/// With a placement, the line also carries `seq`, `hash` and `recorded_at`.
///
/// ```
/// use riskledger_events::{json::{parse_line, write_line, Placement}, Timestamp};
///
/// let line = r#"{"id":"e3","type":"contract_ended","at":"2024-06-01T00:00:00Z","contract":"k-1","outcome":"completed"}"#;
/// let event = parse_line(1, line)?;
/// let mut out = Vec::new();
/// write_line(&mut out, &event, Some(Placement { seq: 42, hash: "ab", recorded_at: Timestamp(0) }))?;
/// let text = String::from_utf8(out)?;
/// assert!(text.starts_with(r#"{"seq":42,"hash":"ab","recorded_at":"1970-01-01T00:00:00Z","id":"e3""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_line(
    out: &mut impl std::io::Write,
    event: &Event,
    placement: Option<Placement<'_>>,
) -> std::io::Result<()> {
    let at = event.at.to_rfc3339();
    let recorded_at = placement.map(|p| p.recorded_at.to_rfc3339());
    let since;
    let ip;
    let mut w = Wire {
        seq: placement.map(|p| p.seq),
        hash: placement.map(|p| Cow::Borrowed(p.hash)),
        recorded_at: recorded_at.as_deref().map(Cow::Borrowed),
        id: b(&event.id),
        event_type: b(event.body.type_name()),
        at: b(&at),
        ..Wire::default()
    };
    match &event.body {
        Body::AccountOpened {
            account,
            role,
            country,
        } => {
            w.account = b(account);
            w.role = b(role.as_str());
            w.country = b(country.as_str());
        }
        Body::ContractStarted {
            contract,
            client,
            freelancer,
            currency,
            kind,
            rate_minor,
        } => {
            w.contract = b(contract);
            w.client = b(client);
            w.freelancer = b(freelancer);
            w.currency = b(currency.as_str());
            w.kind = b(kind.as_str());
            w.rate_minor = rate_minor.map(|r| r as i64);
        }
        Body::ContractEnded { contract, outcome } => {
            w.contract = b(contract);
            w.outcome = b(outcome.as_str());
        }
        Body::Payment {
            contract,
            amount_minor,
            currency,
        } => {
            w.contract = b(contract);
            w.amount_minor = Some(*amount_minor as i64);
            w.currency = b(currency.as_str());
        }
        Body::FlagRaised {
            flag,
            reporter,
            subject,
            counterparty,
            reason,
            note,
        } => {
            w.flag = b(flag);
            w.reporter = b(reporter.as_str());
            w.subject = b(subject);
            w.counterparty = counterparty.as_deref().map(Cow::Borrowed);
            w.reason = b(reason.as_str());
            w.note = note.as_deref().map(Cow::Borrowed);
        }
        Body::FlagResolved { flag, outcome } => {
            w.flag = b(flag);
            w.outcome = b(outcome.as_str());
        }
        Body::PriorRelationshipProven {
            client,
            freelancer,
            since: date,
        } => {
            since = date.to_string();
            w.client = b(client);
            w.freelancer = b(freelancer);
            w.since = b(&since);
        }
        Body::ConversionFeePaid {
            client,
            freelancer,
            amount_minor,
            currency,
        } => {
            w.client = b(client);
            w.freelancer = b(freelancer);
            w.amount_minor = Some(*amount_minor as i64);
            w.currency = b(currency.as_str());
        }
        Body::Login {
            account,
            device,
            ip: addr,
            lat,
            lon,
            country,
            accuracy_km,
            network,
        } => {
            ip = addr.to_string();
            w.account = b(account);
            w.device = b(device);
            w.ip = b(&ip);
            w.lat = Some(*lat);
            w.lon = Some(*lon);
            w.country = b(country.as_str());
            w.accuracy_km = Some(*accuracy_km);
            w.network = network.map(|n| Cow::Borrowed(n.as_str()));
        }
        Body::PayoutMethodChanged {
            account,
            method,
            country,
        } => {
            w.account = b(account);
            w.method = b(method);
            w.country = b(country.as_str());
        }
    }
    serde_json::to_writer(out, &w).map_err(std::io::Error::from)
}

fn b(s: &str) -> Option<Cow<'_, str>> {
    Some(Cow::Borrowed(s))
}

/// The canonical NDJSON line of an event, without placement: parsing it gives the same
/// event back.
///
/// ```
/// use riskledger_events::json::{parse_line, to_line};
///
/// let line = r#"{"country":"US","role":"client","account":"c-1","at":"2024-01-02T11:00:00+01:00","type":"account_opened","id":"e1"}"#;
/// let event = parse_line(1, line)?;
/// let canonical = to_line(&event);
/// assert_eq!(canonical, r#"{"id":"e1","type":"account_opened","at":"2024-01-02T10:00:00Z","account":"c-1","role":"client","country":"US"}"#);
/// assert_eq!(parse_line(1, &canonical)?, event);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_line(event: &Event) -> String {
    let mut out = Vec::with_capacity(256);
    write_line(&mut out, event, None).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}
