//! Property tests of the parsers and the decoder: round trips, and no panic on any input.
//! proptest prints the seed of any failure; `PROPTEST_CASES` scales the run.

use proptest::prelude::*;
use riskledger_events::json::{parse_line, to_line};
use riskledger_events::*;

fn id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_:.-]{1,64}"
}

fn country() -> impl Strategy<Value = Country> {
    "[A-Z]{2}".prop_map(|s| Country::parse(&s).unwrap())
}

fn currency() -> impl Strategy<Value = Currency> {
    "[A-Z]{3}".prop_map(|s| Currency::parse(&s).unwrap())
}

fn amount() -> impl Strategy<Value = u64> {
    1u64..=limits::MAX_AMOUNT_MINOR
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (id(), prop::sample::select(Role::ALL), country()).prop_map(|(account, role, country)| {
            Body::AccountOpened {
                account,
                role,
                country,
            }
        }),
        (
            id(),
            id(),
            id(),
            currency(),
            prop::sample::select(ContractKind::ALL),
            prop::option::of(amount())
        )
            .prop_filter("client != freelancer", |(_, c, f, ..)| c != f)
            .prop_map(
                |(contract, client, freelancer, currency, kind, rate_minor)| {
                    Body::ContractStarted {
                        contract,
                        client,
                        freelancer,
                        currency,
                        kind,
                        rate_minor,
                    }
                }
            ),
        (id(), prop::sample::select(ContractOutcome::ALL))
            .prop_map(|(contract, outcome)| Body::ContractEnded { contract, outcome }),
        (id(), amount(), currency()).prop_map(|(contract, amount_minor, currency)| Body::Payment {
            contract,
            amount_minor,
            currency
        }),
        (
            id(),
            prop::option::of(id()),
            id(),
            prop::option::of(id()),
            prop::sample::select(FlagReason::ALL),
            prop::option::of("\\PC{0,200}")
        )
            .prop_map(|(flag, reporter, subject, counterparty, reason, note)| {
                Body::FlagRaised {
                    flag,
                    reporter: reporter.map_or(Reporter::System, |r| {
                        if r == "system" {
                            Reporter::System
                        } else {
                            Reporter::Account(r)
                        }
                    }),
                    subject,
                    counterparty,
                    reason,
                    note,
                }
            }),
        (id(), prop::sample::select(FlagOutcome::ALL))
            .prop_map(|(flag, outcome)| Body::FlagResolved { flag, outcome }),
        (id(), id(), -700_000i32..2_900_000).prop_map(|(client, freelancer, days)| {
            Body::PriorRelationshipProven {
                client,
                freelancer,
                since: Date(days),
            }
        }),
        (id(), id(), amount(), currency()).prop_map(
            |(client, freelancer, amount_minor, currency)| Body::ConversionFeePaid {
                client,
                freelancer,
                amount_minor,
                currency
            }
        ),
        (
            id(),
            id(),
            any::<[u8; 4]>(),
            -90.0f64..=90.0,
            -180.0f64..=180.0,
            country(),
            0.0f64..=limits::MAX_ACCURACY_KM,
            prop::option::of(prop::sample::select(Network::ALL))
        )
            .prop_map(
                |(account, device, ip, lat, lon, country, accuracy_km, network)| Body::Login {
                    account,
                    device,
                    ip: Ip::V4(ip),
                    lat,
                    lon,
                    country,
                    accuracy_km,
                    network
                }
            ),
        (id(), id(), country()).prop_map(|(account, method, country)| Body::PayoutMethodChanged {
            account,
            method,
            country
        }),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    // Years 0001..=9999, whole microseconds: everything RFC 3339 can say.
    (
        id(),
        -62_135_596_800_000_000i64..=253_402_300_799_999_999,
        body(),
    )
        .prop_map(|(id, at, body)| Event {
            id,
            at: Timestamp(at),
            body,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn stored_bytes_round_trip(event in event()) {
        let bytes = codec::encode_to_vec(&event).unwrap();
        prop_assert_eq!(codec::decode(&bytes).unwrap(), event.clone());
        prop_assert_eq!(codec::peek_id(&bytes), Some(event.id.as_bytes()));
        prop_assert_eq!(codec::peek_type_index(&bytes), Some(event.body.type_index() as u32));
    }

    #[test]
    fn ndjson_round_trips(event in event()) {
        let line = to_line(&event);
        prop_assert_eq!(parse_line(1, &line).unwrap(), event);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = codec::decode(&bytes);
        let _ = codec::peek_id(&bytes);
        let _ = codec::peek_type_index(&bytes);
    }

    #[test]
    fn decode_never_panics_on_damaged_records(event in event(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = codec::encode_to_vec(&event).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        // Whatever still decodes is canonical: re-encoding gives the very same bytes, so a hash
        // never depends on a second spelling of one event.
        if let Ok(decoded) = codec::decode(&bytes) {
            prop_assert_eq!(codec::encode_to_vec(&decoded).unwrap(), bytes.clone());
        }
        bytes.truncate(i);
        prop_assert!(codec::decode(&bytes).is_err());
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(line in "\\PC{0,300}") {
        let _ = parse_line(1, &line);
    }

    #[test]
    fn parse_never_panics_on_damaged_lines(event in event(), at in any::<prop::sample::Index>(), junk in "[\\PC\"{}:,\\[\\]0-9-]{0,4}") {
        let line = to_line(&event);
        let cut = at.index(line.len() + 1);
        let cut = (0..=cut).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
        let damaged = format!("{}{}{}", &line[..cut], junk, &line[cut..]);
        // Whatever ingest accepts survives export and re-ingest unchanged.
        if let Ok(parsed) = parse_line(1, &damaged) {
            prop_assert_eq!(parse_line(1, &to_line(&parsed)).unwrap(), parsed);
        }
    }
}
