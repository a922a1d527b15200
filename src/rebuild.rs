//! The full rebuild behind [`crate::replay`]: the log is read on the calling thread while a
//! second thread folds what was read, so that reading and folding overlap.
//!
//! A rebuild spends its time in three stages of similar weight: reading (open, read, decode;
//! the store already recomputes the hash chain on a thread of its own), folding every event
//! into the books, and the state digest, which needs the finished books and so comes last.
//! Only the first two can overlap. The fold is one thread running [`Books::apply`]: the pair
//! fold is a tenth of the account fold, too little to be worth a thread of its own on a
//! two-core machine, and keeping the fold whole keeps one definition of it.
//!
//! The fold thread sees every event the sequential fold would, in seq order, so the books, and
//! the digest, are the same: nothing depends on how the threads are scheduled.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use riskledger_events::{Event, Timestamp};
use riskledger_store::{records_verified, Backend, BackendError, StoreError};

use crate::books::Books;

/// Events per batch handed to the fold thread: a store block's worth (blocks hold up to 1024
/// events): enough to make the hand-over cost nothing per event, few enough that the fold
/// thread starts on a batch soon after it was decoded.
const BATCH_EVENTS: usize = 1024;

/// Batches read ahead of the fold. The reader is never far ahead, so memory stays bounded, and
/// when reading fails the fold thread has at most this many batches left to finish.
const BATCHES_IN_FLIGHT: usize = 4;

/// The books of the events `replay` folds (up to `until_seq`, with `at <= as_of`) and the last
/// seq read; or the reader's first error, exactly as the store reports it.
pub(crate) fn rebuild<B: Backend>(
    backend: &B,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
) -> Result<(Books, u64), StoreError> {
    thread::scope(|scope| {
        let (batches, inbox) = sync_channel(BATCHES_IN_FLIGHT);
        let fold = thread::Builder::new()
            .name("riskledger-fold".into())
            .spawn_scoped(scope, move || fold_batches(inbox))
            .map_err(BackendError::Io)?;
        // `read_batches` owns the sender: whether it ends at the head, at `until_seq` or at an
        // error, the fold thread's inbox closes and the join below cannot wait forever.
        let head_seq = read_batches(backend, until_seq, as_of, batches);
        let books = fold
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok((books, head_seq?))
    })
}

/// The fold thread: every event of every batch, in the order sent.
fn fold_batches(inbox: Receiver<Vec<Event>>) -> Books {
    let mut books = Books::new();
    for batch in inbox {
        for event in &batch {
            books.apply(event);
        }
    }
    books
}

/// Reads the verified records and sends the events to fold in batches; returns the last seq
/// read. The seq and time cuts are the reader's, so the fold thread needs to know neither.
fn read_batches<B: Backend>(
    backend: &B,
    until_seq: Option<u64>,
    as_of: Option<Timestamp>,
    batches: SyncSender<Vec<Event>>,
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
            if batches.send(full).is_err() {
                // The fold thread is gone: it panicked, and joining it re-raises that.
                return Ok(head_seq);
            }
        }
    }
    // An error here means the same as above; the join reports it.
    let _ = batches.send(batch);
    Ok(head_seq)
}
