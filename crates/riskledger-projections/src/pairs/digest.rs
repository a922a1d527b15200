//! A canonical digest of the fold state: the facts it keeps, written by name in sorted order,
//! so the same set of events gives the same bytes whatever order they arrived in (slot numbers,
//! hash-map order and the arena layout never reach the hasher).

use super::state::{Exemptions, PairBook, NONE};
use crate::DIGEST_BUFFER_BYTES;

/// Feeds typed, length-prefixed fields to a hasher, so that no two field sequences collide;
/// buffered ([`DIGEST_BUFFER_BYTES`]).
struct Feed<'h>(std::io::BufWriter<&'h mut blake3::Hasher>);

impl Feed<'_> {
    fn update(&mut self, bytes: &[u8]) {
        // Writing into a hasher cannot fail.
        let _ = std::io::Write::write_all(&mut self.0, bytes);
    }
    fn text(&mut self, text: &str) {
        self.update(&(text.len() as u64).to_le_bytes());
        self.update(text.as_bytes());
    }
    fn int(&mut self, value: i64) {
        self.update(&value.to_le_bytes());
    }
    fn uint(&mut self, value: u64) {
        self.update(&value.to_le_bytes());
    }
    fn bytes(&mut self, value: &[u8]) {
        self.update(value);
    }
    fn tag(&mut self, tag: u8) {
        self.update(&[tag]);
    }
    fn finish(mut self) {
        let _ = std::io::Write::flush(&mut self.0);
    }
}

impl PairBook {
    /// Feeds a canonical encoding of the state to `hasher`: identical for the same set of
    /// events whatever their arrival order. Compare digests to check that two books (a replay
    /// and a live one, say) hold the same facts.
    ///
    /// ```
    /// # use riskledger_events::{json::parse_line, Timestamp};
    /// # use riskledger_projections::{pairs::*, Level, Policy};
    /// # let book_of = |lines: &[&str]| {
    /// #     let mut book = PairBook::new();
    /// #     lines.iter().enumerate().for_each(|(n, l)| book.apply(&parse_line(n as u64 + 1, l).unwrap()));
    /// #     book
    /// # };
    /// # let at = |t: &str| Timestamp::parse_rfc3339(t).unwrap();
    /// # let policy = Policy::default().pairs;
    /// # let contract = r#"{"id":"e3","type":"contract_started","at":"2024-01-05T08:00:00Z","contract":"k-1","client":"c-1","freelancer":"f-1","currency":"USD","kind":"hourly","rate_minor":2500}"#;
    /// # let flag = r#"{"id":"e5","type":"flag_raised","at":"2024-02-03T08:00:00Z","flag":"fl-1","reporter":"f-1","subject":"c-1","counterparty":"f-1","reason":"off_platform_payment"}"#;
    /// let digest = |book: &PairBook| {
    ///     let mut hasher = blake3::Hasher::new();
    ///     book.digest_into(&mut hasher);
    ///     hasher.finalize()
    /// };
    /// assert_eq!(digest(&book_of(&[contract, flag])), digest(&book_of(&[flag, contract])));
    /// assert_ne!(digest(&book_of(&[contract, flag])), digest(&book_of(&[contract])));
    /// ```
    pub fn digest_into(&self, hasher: &mut blake3::Hasher) {
        let mut feed = Feed(std::io::BufWriter::with_capacity(
            DIGEST_BUFFER_BYTES,
            hasher,
        ));
        feed.text("riskledger pairs state v2");
        match self.horizon {
            None => feed.tag(0),
            Some(horizon) => {
                feed.tag(1);
                feed.int(horizon.boundary_at);
                feed.int(horizon.summed_after_at);
            }
        }
        self.digest_contracts(&mut feed);
        self.digest_flags(&mut feed);
        self.digest_exemptions(&mut feed);
        feed.finish();
    }

    fn account_or_none(&self, slot: u32) -> &str {
        if slot == NONE {
            ""
        } else {
            self.account_name(slot)
        }
    }

    fn digest_contracts(&self, feed: &mut Feed<'_>) {
        let mut order: Vec<(&str, usize)> = self
            .contracts
            .iter()
            .enumerate()
            .map(|(i, c)| (self.text.get(c.name), i))
            .collect();
        order.sort_unstable();
        feed.uint(order.len() as u64);
        for (name, slot) in order {
            let record = &self.contracts[slot];
            feed.text(name);
            match record.start() {
                None => feed.tag(0),
                Some(start) => {
                    let pair = &self.pairs[start.pair as usize];
                    feed.tag(1);
                    feed.int(start.at);
                    feed.text(self.paid.id_text(start.id).as_str());
                    feed.text(self.account_name(pair.client));
                    feed.text(self.account_name(pair.freelancer));
                    feed.bytes(&start.currency);
                    feed.tag(u8::from(start.hourly));
                    feed.uint(start.rate_minor);
                }
            }
            match record.end() {
                None => feed.tag(0),
                Some(end) => {
                    feed.tag(1);
                    feed.int(end.at);
                    feed.text(self.paid.id_text(end.id).as_str());
                }
            }
            feed.uint(u64::from(record.dropped_payments));
            feed.uint(record.payments.len() as u64);
            for payment in &record.payments {
                let (amount_minor, currency) =
                    self.paid.amount(payment.amount, record.pay_currency);
                feed.int(payment.at);
                feed.text(self.paid.id_text(payment.id).as_str());
                feed.uint(amount_minor);
                feed.bytes(&currency);
            }
        }
    }

    fn digest_flags(&self, feed: &mut Feed<'_>) {
        let mut order: Vec<(&str, usize)> = self
            .flags
            .iter()
            .enumerate()
            .map(|(i, f)| (self.text.get(f.name), i))
            .collect();
        order.sort_unstable();
        feed.uint(order.len() as u64);
        for (name, slot) in order {
            let record = &self.flags[slot];
            feed.text(name);
            match record.raised {
                None => feed.tag(0),
                Some(raise) => {
                    feed.tag(1);
                    feed.int(raise.at);
                    feed.text(self.text.get(raise.id));
                    feed.tag(u8::from(raise.reporter == NONE));
                    feed.text(self.account_or_none(raise.reporter));
                    feed.text(self.account_name(raise.subject));
                    feed.tag(u8::from(raise.counterparty == NONE));
                    feed.text(self.account_or_none(raise.counterparty));
                    feed.text(raise.reason.as_str());
                }
            }
            match record.resolved {
                None => feed.tag(0),
                Some(resolution) => {
                    feed.tag(1);
                    feed.int(resolution.at);
                    feed.text(self.text.get(resolution.id));
                    feed.tag(u8::from(resolution.confirmed));
                }
            }
        }
    }

    fn digest_exemptions(&self, feed: &mut Feed<'_>) {
        let mut order: Vec<(&str, &str, &Exemptions)> = self
            .exemptions
            .iter()
            .map(|(&slot, exemptions)| {
                let pair = &self.pairs[slot as usize];
                (
                    self.account_name(pair.client),
                    self.account_name(pair.freelancer),
                    exemptions,
                )
            })
            .collect();
        order.sort_unstable_by_key(|&(client, freelancer, _)| (client, freelancer));
        feed.uint(order.len() as u64);
        for (client, freelancer, exemptions) in order {
            feed.text(client);
            feed.text(freelancer);
            match &exemptions.prior {
                None => feed.tag(0),
                Some(prior) => {
                    feed.tag(1);
                    feed.int(prior.at);
                    feed.text(self.text.get(prior.id));
                    feed.int(i64::from(prior.since_days));
                }
            }
            match &exemptions.fee_paid {
                None => feed.tag(0),
                Some(fee) => {
                    feed.tag(1);
                    feed.int(fee.at);
                    feed.text(self.text.get(fee.id));
                    feed.uint(fee.amount_minor);
                    feed.bytes(&fee.currency);
                }
            }
        }
    }
}
