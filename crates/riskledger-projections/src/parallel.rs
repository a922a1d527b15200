//! Work on a large book split over two threads, with the result of one thread doing it all:
//! compacting a million accounts, encoding them for the state digest. The machines this runs
//! on have two cores, and a full rebuild ends with this work alone.
//!
//! Nothing here changes what is computed: each item is handled by the same function whichever
//! thread handles it, items do not share state, and what is written is written in item order.
//! When no thread can be had (a process limit), everything runs on the calling thread.

use std::io::{self, Write};
use std::sync::mpsc::sync_channel;
use std::thread;

/// Fewer items than this are handled on the calling thread alone: a thread costs tens of µs.
const ITEMS_WORTH_A_THREAD: usize = 4096;

/// Calls `f` on every item of `chunks`, the first half of the chunks on a second thread.
pub(crate) fn for_each_on_two_threads<T: Send>(
    mut chunks: Vec<&mut [T]>,
    f: impl Fn(&mut T) + Sync,
) {
    let each = |chunks: &mut [&mut [T]]| chunks.iter_mut().for_each(|c| c.iter_mut().for_each(&f));
    let chunks = chunks.as_mut_slice();
    let items: usize = chunks.iter().map(|chunk| chunk.len()).sum();
    if items < ITEMS_WORTH_A_THREAD || chunks.len() < 2 {
        each(chunks);
        return;
    }
    let (first, second) = chunks.split_at_mut(chunks.len() / 2);
    let each = &each;
    thread::scope(|scope| {
        // The first half is sent once the helper runs, so that it is still here if not.
        let (give, take) = sync_channel::<&mut [&mut [T]]>(1);
        let helper = thread::Builder::new()
            .name("riskledger-half".into())
            .spawn_scoped(scope, move || {
                if let Ok(first) = take.recv() {
                    each(first);
                }
            });
        match helper {
            Ok(helper) => {
                if let Err(returned) = give.send(first) {
                    each(returned.0); // the helper is gone: its join says why
                }
                each(second);
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
            Err(_) => {
                each(first);
                each(second);
            }
        }
    });
}

/// Items one thread encodes before it hands them on: at most about 3 MB for accounts (history B
/// of session 9: a 743 MB snapshot for 1,009,357 accounts, devices and the rest included).
pub(crate) const ITEMS_PER_RUN: usize = 4096;

/// Writes to `out` what `encode(i, buffer)` appends to a buffer for each `i` in `0..count`, in
/// that order. Runs of `run_items` items are encoded in turn by this thread and a second
/// one, and written by this one as soon as it is their turn. The second thread queues at
/// most two finished runs, so at most five runs' encodings are held at once (this thread's,
/// the one it writes, two queued, one being encoded: at most about 15 MB for accounts). A panic on
/// the second thread reaches the caller with its own message.
pub(crate) fn write_encoded_in_order<W: Write>(
    count: usize,
    run_items: usize,
    encode: impl Fn(usize, &mut Vec<u8>) + Sync,
    out: &mut W,
) -> io::Result<()> {
    let run_items = run_items.max(1);
    let runs = count.div_ceil(run_items);
    let encode_run = |run: usize, buffer: &mut Vec<u8>| {
        buffer.clear();
        let end = count.min((run + 1).saturating_mul(run_items));
        (run * run_items..end).for_each(|item| encode(item, buffer));
    };
    let mut buffer = Vec::new();
    if runs < 2 {
        encode_run(0, &mut buffer);
        return out.write_all(&buffer);
    }
    thread::scope(|scope| {
        let (odd_runs, inbox) = sync_channel::<Vec<u8>>(2);
        let encode_run = &encode_run;
        let helper = thread::Builder::new()
            .name("riskledger-encode".into())
            .spawn_scoped(scope, move || {
                for run in (1..runs).step_by(2) {
                    let mut buffer = Vec::new();
                    encode_run(run, &mut buffer);
                    if odd_runs.send(buffer).is_err() {
                        return; // the writer stopped: its error is the answer
                    }
                }
            });
        let mut inbox = helper.is_ok().then_some(inbox);
        let mut write_all = || {
            for run in 0..runs {
                match &mut inbox {
                    // The helper sends every odd run unless it panicked: its join says why.
                    Some(inbox) if run % 2 == 1 => {
                        let Ok(encoded) = inbox.recv() else { break };
                        out.write_all(&encoded)?;
                    }
                    _ => {
                        encode_run(run, &mut buffer);
                        out.write_all(&buffer)?;
                    }
                }
            }
            Ok(())
        };
        let written = write_all();
        // The helper's sends fail from here on (a writer's error ends it at its next run).
        drop(inbox);
        if let Ok(helper) = helper {
            helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        written
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_visited_once_on_either_side_of_the_threshold() {
        for len in [
            0,
            1,
            ITEMS_WORTH_A_THREAD - 1,
            ITEMS_WORTH_A_THREAD,
            3 * ITEMS_WORTH_A_THREAD + 1,
        ] {
            for chunk in [1, 1000, len.max(1)] {
                let items: Vec<u64> = (0..len as u64).collect();
                let mut chunks: Vec<Vec<u64>> = items.chunks(chunk).map(<[u64]>::to_vec).collect();
                for_each_on_two_threads(
                    chunks.iter_mut().map(Vec::as_mut_slice).collect(),
                    |item| *item = *item * 3 + 1,
                );
                let items: Vec<u64> = chunks.into_iter().flatten().collect();
                assert_eq!(items.len(), len);
                let visited_once = |(i, &item): (usize, &u64)| item == i as u64 * 3 + 1;
                assert!(
                    items.iter().enumerate().all(visited_once),
                    "{len} in chunks of {chunk}"
                );
            }
        }
    }

    #[test]
    fn encodings_are_written_in_item_order_whatever_the_run_length() {
        let encode = |item: usize, buffer: &mut Vec<u8>| {
            buffer.extend_from_slice(&(item as u32).to_le_bytes()[..1 + item % 4]);
        };
        for count in [0, 1, 2, 5, 64, 1000] {
            let mut expected = Vec::new();
            (0..count).for_each(|item| encode(item, &mut expected));
            for run_items in [0, 1, 2, 3, 7, 64, 5000] {
                let mut written = Vec::new();
                write_encoded_in_order(count, run_items, encode, &mut written).unwrap();
                assert_eq!(written, expected, "{count} items in runs of {run_items}");
            }
        }
    }

    /// A writer that fails stops the writing with its error, and the helper with it.
    #[test]
    fn a_failing_writer_stops_with_its_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let error =
            write_encoded_in_order(100, 3, |_, buffer| buffer.push(1), &mut Full).unwrap_err();
        assert_eq!(error.to_string(), "full");
    }

    /// A panic on the helper thread reaches the caller, whichever of the two splits it.
    #[test]
    fn a_panic_on_the_helper_reaches_the_caller() {
        // Item 4 is in run 1 (items 3 to 5), which the helper encodes.
        let encoded = std::panic::catch_unwind(|| {
            let encode = |item: usize, buffer: &mut Vec<u8>| {
                assert_ne!(item, 4, "the helper's item");
                buffer.push(1);
            };
            write_encoded_in_order(100, 3, encode, &mut Vec::new())
        });
        let payload = encoded.unwrap_err();
        let message = payload.downcast_ref::<String>().map(String::as_str);
        assert!(
            message.is_some_and(|m| m.contains("the helper's item")),
            "{message:?}"
        );
        // Chunk 0 is in the first half, which the helper handles.
        let mut chunks: Vec<Vec<u64>> = (0..4).map(|c| vec![c; ITEMS_WORTH_A_THREAD]).collect();
        let visited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for_each_on_two_threads(chunks.iter_mut().map(Vec::as_mut_slice).collect(), |item| {
                assert_ne!(*item, 0, "the helper's item")
            })
        }));
        assert!(visited.is_err());
    }
}
