//! The full rebuild behind [`crate::replay`]: the log is read on the calling thread while a
//! second thread folds what was read, so that reading and folding overlap.
//!
//! A rebuild spends its time in three stages: reading (open, read, decode; the store already
//! recomputes the hash chain on a thread of its own), folding every event into the books, and
//! compaction and the state digest, which need the finished books and so come last (each split
//! over two threads by the projections crate). Only the first two can overlap. The account fold is the longest stage (at a million accounts nearly every login is
//! a cache miss), so the fold thread runs [`Books::apply_all_but_pairs`] and the reading thread,
//! which has time to spare, folds the pairs (a tenth of the work) before it hands a batch on.
//!
//! Each fold sees every event the sequential fold would, in seq order, so the books, and the
//! digest, are the same: nothing depends on how the threads are scheduled.

use std::sync::mpsc::{sync_channel, Receiver};
use std::thread;

use riskledger_events::{Event, Timestamp};
use riskledger_projections::pairs::PairBook;
use riskledger_store::{records_verified, Backend, StoreError};

use crate::books::Books;

/// Events per batch handed to the fold thread: a store block's worth (blocks hold up to 1024
/// events): enough to make the hand-over cost nothing per event, few enough that the fold
/// thread starts on a batch soon after it was decoded.
const BATCH_EVENTS: usize = 1024;

/// Batches read ahead of the fold: enough to ride out the moments when three threads share two
/// cores and the reader is not scheduled (at 10M events, 16 rather than 4 took the rebuild from
/// 10.3 s to 9.4 s, medians of 6 runs alternating); few enough that memory stays bounded (16
/// batches are 16,384 decoded events), and when reading fails the fold thread has at most this
/// many queued batches (and the one in hand) left to finish.
const BATCHES_IN_FLIGHT: usize = 16;

/// The books of the events `replay` folds (up to `until_seq`, with `at <= as_of`) and the last
/// seq read; or the reader's first error, exactly as the store reports it.
pub(crate) fn rebuild<B: Backend>(
    backend: &B,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
) -> Result<(Books, u64), StoreError> {
    thread::scope(|scope| {
        let (batches, inbox) = sync_channel(BATCHES_IN_FLIGHT);
        let Ok(fold) = thread::Builder::new()
            .name("riskledger-fold".into())
            .spawn_scoped(scope, move || fold_batches(inbox))
        else {
            // No thread to be had (a process limit): fold here instead. Slower, the same
            // books; a resource limit must not read as a damaged log.
            return rebuild_on_this_thread(backend, until_seq, as_of);
        };
        let mut pairs = PairBook::default();
        let pairs_here = &mut pairs;
        // The sender moves into the closure (with a borrow of the pair fold), and the closure
        // into `read_batches`: however reading ends, the sender is dropped, the fold thread's
        // inbox closes and the join below cannot wait forever.
        let head_seq = read_batches(backend, until_seq, as_of, move |batch| {
            batch.iter().for_each(|event| pairs_here.apply(event));
            // A failed send means the fold thread is gone: it panicked, and the join re-raises.
            batches.send(batch).is_ok()
        });
        let books = fold
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok((books.with_pairs(pairs), head_seq?))
    })
}

/// The same rebuild on the calling thread alone.
fn rebuild_on_this_thread<B: Backend>(
    backend: &B,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
) -> Result<(Books, u64), StoreError> {
    let mut books = Books::new();
    let head_seq = read_batches(backend, until_seq, as_of, |batch| {
        batch.iter().for_each(|event| books.pairs.apply(event));
        books.apply_all_but_pairs(&batch);
        true
    })?;
    Ok((books, head_seq))
}

/// The fold thread: every event of every batch, in the order sent, all but the pair fold.
fn fold_batches(inbox: Receiver<Vec<Event>>) -> Books {
    let mut books = Books::new();
    for batch in inbox {
        books.apply_all_but_pairs(&batch);
    }
    books
}

/// Reads the verified records and hands the events to fold to `deliver` in batches, in seq
/// order, stopping early if it returns false; returns the last seq read. The seq and time cuts
/// are the reader's, so the folding side needs to know neither.
fn read_batches<B: Backend>(
    backend: &B,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
    mut deliver: impl FnMut(Vec<Event>) -> bool,
) -> Result<u64, StoreError> {
    let mut head_seq = 0;
    let mut batch = Vec::with_capacity(BATCH_EVENTS);
    for record in records_verified(backend) {
        let record = record?;
        if until_seq.is_some_and(|until| record.seq > until) {
            break;
        }
        head_seq = record.seq;
        if as_of.is_none_or(|t| record.event.at <= t) {
            batch.push(record.event);
        }
        if batch.len() == BATCH_EVENTS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_EVENTS));
            if !deliver(full) {
                return Ok(head_seq);
            }
        }
    }
    deliver(batch);
    Ok(head_seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppendOptions, Ledger, Policy};
    use riskledger_events::json::parse_line;
    use riskledger_store::{SledBackend, SledOptions};

    /// The fallback when no thread can be spawned gives the threaded rebuild's books: over a
    /// history longer than one batch, whole and cut at a seq and at a time.
    #[test]
    fn the_single_thread_fallback_gives_the_same_books() {
        let history = include_str!("../tests/data/state-digest-history.ndjson");
        let events: Vec<Event> = history
            .lines()
            .enumerate()
            .map(|(i, line)| parse_line(i as u64 + 1, line).unwrap())
            .collect();
        assert!(events.len() > BATCH_EVENTS);
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path()).unwrap();
        ledger.append(&events, &AppendOptions::default()).unwrap();
        ledger.close().unwrap();
        let backend = SledBackend::open(dir.path(), &SledOptions::default()).unwrap();
        let policy = Policy::default();
        for (until_seq, as_of) in [
            (None, None),
            (Some(1_100), None),
            (None, Some(events[800].at)),
        ] {
            let (threaded, threaded_head) = rebuild(&backend, until_seq, as_of).unwrap();
            let (alone, alone_head) = rebuild_on_this_thread(&backend, until_seq, as_of).unwrap();
            assert_eq!(threaded_head, alone_head);
            assert_eq!(threaded.events(), alone.events());
            assert_eq!(threaded.digest(&policy), alone.digest(&policy));
        }
    }
}
