//! A commit that fails in storage: the append reports it, the log refuses further appends
//! until it is reopened, and the reopened log is whatever the store holds, verified.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use riskledger_events::json::parse_line;
use riskledger_events::Event;
use riskledger_store::*;

/// The sled backend, with a switch that makes the next commit store its blocks and then fail,
/// as a flush that hits a full disk would.
struct Flaky {
    inner: SledBackend,
    fail_next: Arc<AtomicBool>,
}

impl Backend for Flaky {
    type Bytes = SledBytes;

    fn commit(&mut self, blocks: &[(u64, Vec<u8>)], head: &Head) -> Result<(), BackendError> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            self.inner.commit(blocks, head)?;
            return Err(BackendError::Io(std::io::Error::other(
                "injected: the disk is full",
            )));
        }
        self.inner.commit(blocks, head)
    }
    fn block_at_or_before(&self, seq: u64) -> Result<Option<StoredBlock<SledBytes>>, BackendError> {
        self.inner.block_at_or_before(seq)
    }
    fn blocks_from(
        &self,
        first_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<StoredBlock<SledBytes>, BackendError>> + Send + '_> {
        self.inner.blocks_from(first_seq)
    }
    fn last_block(&self) -> Result<Option<StoredBlock<SledBytes>>, BackendError> {
        self.inner.last_block()
    }
    fn acknowledged_head(&self) -> Result<Option<Head>, BackendError> {
        self.inner.acknowledged_head()
    }
}

fn login(n: u64) -> Event {
    parse_line(1, &format!(r#"{{"id":"l{n}","type":"login","at":"2024-02-03T09:00:00Z","account":"a","device":"d","ip":"10.0.0.1","lat":1,"lon":2,"country":"PH"}}"#)).unwrap()
}

#[test]
fn after_a_failed_commit_the_log_must_be_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let fail_next = Arc::new(AtomicBool::new(false));
    let open = |fail_next: &Arc<AtomicBool>| {
        let inner = SledBackend::open(dir.path(), &SledOptions::default()).unwrap();
        Log::open(Flaky {
            inner,
            fail_next: Arc::clone(fail_next),
        })
        .unwrap()
    };
    let mut log = open(&fail_next);
    log.append(&[login(1), login(2)], &AppendOptions::default())
        .unwrap();
    fail_next.store(true, Ordering::SeqCst);
    let failed = log
        .append(&[login(3), login(4)], &AppendOptions::default())
        .unwrap_err();
    assert!(
        matches!(failed, AppendError::Storage(BackendError::Io(_))),
        "{failed}"
    );
    assert_eq!(
        log.head().seq,
        2,
        "an unacknowledged batch does not move the head in memory"
    );
    let refused = log
        .append(&[login(5)], &AppendOptions::default())
        .unwrap_err();
    assert!(matches!(refused, AppendError::NeedsReopen), "{refused}");
    drop(log);

    // The failed batch reached the store before the failure: reopening finds it, verified,
    // and retrying it is idempotent.
    let mut log = open(&fail_next);
    assert_eq!(log.head().seq, 4);
    assert!(log.verify().ok());
    let retry = log
        .append(&[login(3), login(4), login(5)], &AppendOptions::default())
        .unwrap();
    assert_eq!(
        retry.outcomes,
        vec![
            Outcome::Duplicate(3),
            Outcome::Duplicate(4),
            Outcome::Appended(5)
        ]
    );
}
