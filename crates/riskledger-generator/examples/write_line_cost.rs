//! How long `riskledger_events::json::write_line` alone takes for a typical login and payment:
//! the floor under the generator's speed.

use std::time::Instant;

use riskledger_events::json::{parse_line, write_line};

fn main() {
    let lines = [
        r#"{"id":"e123456","type":"login","at":"2025-03-01T09:30:12.345678Z","account":"f-0012345","device":"d-0123456789abcdef","ip":"203.0.113.9","lat":14.6012,"lon":120.9871,"country":"PH","accuracy_km":12.0,"network":"residential"}"#,
        r#"{"id":"e123457","type":"payment","at":"2025-03-01T09:30:12.345678Z","contract":"k-0123456789abcdef","amount_minor":400000,"currency":"USD"}"#,
    ];
    for line in lines {
        let event = parse_line(1, line).expect("valid");
        let mut out = Vec::with_capacity(1 << 20);
        let rounds = 1_000_000;
        let started = Instant::now();
        for _ in 0..rounds {
            out.clear();
            write_line(&mut out, &event, None).expect("write to a Vec");
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(rounds);
        println!("{}: {ns:.0} ns per line", event.body.type_name());
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(event.clone());
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(rounds);
        println!("{}: {ns:.0} ns per clone", event.body.type_name());
    }
}
