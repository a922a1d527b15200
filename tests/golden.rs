//! Golden byte vectors: the stored encoding and the chain hashes of one event of every type.
//! If one of these fails, the stored format changed: every existing ledger would stop
//! verifying. Do not update the vectors; add a new format version instead (`docs/format.md`).

use riskledger::events::json::parse_line;
use riskledger::events::{codec, ChainHasher, GENESIS_HASH};

const EVERY_TYPE: &str = include_str!("data/every-type.ndjson");

/// (stored bytes as hex, chain hash as hex), in the order of `every-type.ndjson`.
const GOLDEN: [(&str, &str); 10] = include!("data/golden-vectors.rs.in");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn stored_bytes_and_chain_hashes_never_change() {
    let chain = ChainHasher::new();
    let mut prev = GENESIS_HASH;
    let mut actual = Vec::new();
    for (i, line) in EVERY_TYPE.lines().enumerate() {
        let event = parse_line(i as u64 + 1, line).unwrap();
        let stored = codec::encode_to_vec(&event).unwrap();
        let hash = chain.link(i as u64 + 1, &prev, &stored);
        prev = hash;
        actual.push((hex(&stored), hex(&hash)));
    }
    if std::env::var_os("RISKLEDGER_PRINT_GOLDEN").is_some() {
        println!("[");
        for (stored, hash) in &actual {
            println!("    (\n        \"{stored}\",\n        \"{hash}\",\n    ),");
        }
        println!("]");
    }
    assert_eq!(actual.len(), GOLDEN.len());
    for (i, ((stored, hash), (golden_stored, golden_hash))) in actual.iter().zip(GOLDEN).enumerate()
    {
        assert_eq!(
            stored,
            golden_stored,
            "stored bytes of line {} changed",
            i + 1
        );
        assert_eq!(hash, golden_hash, "chain hash of line {} changed", i + 1);
    }
}

#[test]
fn golden_bytes_decode_to_the_same_events() {
    for (i, (line, (stored, _))) in EVERY_TYPE.lines().zip(GOLDEN).enumerate() {
        let bytes: Vec<u8> = (0..stored.len())
            .step_by(2)
            .map(|j| u8::from_str_radix(&stored[j..j + 2], 16).unwrap())
            .collect();
        let decoded = codec::decode(&bytes).unwrap();
        assert_eq!(
            decoded,
            parse_line(i as u64 + 1, line).unwrap(),
            "line {}",
            i + 1
        );
    }
}

/// The first vector, spelled out field by field, so that `docs/format.md` can point at it.
#[test]
fn account_opened_layout_is_as_documented() {
    let event = parse_line(1, EVERY_TYPE.lines().next().unwrap()).unwrap();
    let stored = codec::encode_to_vec(&event).unwrap();
    let mut expected = vec![1u8]; // format version
    expected.extend_from_slice(&2u64.to_le_bytes()); // id length
    expected.extend_from_slice(b"g1");
    expected.extend_from_slice(&1_704_189_600_000_000i64.to_le_bytes()); // at, µs
    expected.extend_from_slice(&0u32.to_le_bytes()); // Body::AccountOpened
    expected.extend_from_slice(&3u64.to_le_bytes()); // account length
    expected.extend_from_slice(b"c-1");
    expected.extend_from_slice(&0u32.to_le_bytes()); // Role::Client
    expected.extend_from_slice(b"US"); // country, 2 bytes
    assert_eq!(hex(&stored), hex(&expected));
}

/// The block layout (`docs/format.md`): the ten events above as one block, appended at a fixed
/// time. BLAKE3 of the block's bytes is pinned; parsing it back gives the same entries.
#[test]
fn block_bytes_never_change() {
    use riskledger::store::block::{Block, BlockBuilder};
    let chain = ChainHasher::new();
    let mut builder = BlockBuilder::new(
        1,
        riskledger::Timestamp(1_800_000_000_000_000),
        GENESIS_HASH,
    );
    for (i, line) in EVERY_TYPE.lines().enumerate() {
        let event = parse_line(i as u64 + 1, line).unwrap();
        let start = builder.begin_entry();
        codec::encode(&event, builder.buffer()).unwrap();
        let (seq, hash) = builder.seal_entry(start, &chain);
        assert_eq!(seq, i as u64 + 1);
        assert_eq!(
            hex(&hash),
            GOLDEN[i].1,
            "the block chains exactly as the golden hashes"
        );
    }
    let (first_seq, bytes) = builder.finish();
    assert_eq!(first_seq, 1);
    let digest = blake3::hash(&bytes).to_hex().to_string();
    if std::env::var_os("RISKLEDGER_PRINT_GOLDEN").is_some() {
        println!("block digest {digest}");
    }
    assert_eq!(digest, GOLDEN_BLOCK_DIGEST);
    let block = Block::parse(&bytes).unwrap();
    assert_eq!(block.entries().len(), 10);
    assert_eq!(block.recorded_at.as_micros(), 1_800_000_000_000_000);
}

const GOLDEN_BLOCK_DIGEST: &str =
    "718be19cbaf0efad590e6cdda5d314376a1cc441b1033fabe085bbcea9f58b4f";

/// A fixed history: 40 accounts of the generator (`riskledger generate --accounts 40 --seed 3
/// --months 6`), then one event of every type (`every-type.ndjson`), as NDJSON.
const STATE_HISTORY: &str = include_str!("data/state-digest-history.ndjson");

/// Its state digest under the default policy. It changes only when what the projections keep
/// changes on purpose (then `STATE_VERSION` and the digest's context change with it): the same
/// events must give the same digest on any machine, in any build.
const GOLDEN_STATE_DIGEST: &str =
    "9e3b0b28c54ffe7acc45db93b2e067538eef31a4d9ab088eb3938a502bfe9a05";

#[test]
fn the_state_digest_of_a_fixed_history_never_changes() {
    let events: Vec<_> = STATE_HISTORY
        .lines()
        .enumerate()
        .map(|(i, line)| parse_line(i as u64 + 1, line).unwrap())
        .collect();
    let digest_of = |events: &mut dyn Iterator<Item = &riskledger::Event>| {
        let mut books = riskledger::Books::new();
        events.for_each(|event| books.apply(event));
        // As a ledger keeps them: compacted (`docs/retention.md`).
        books.compact(&riskledger::Policy::default());
        books.digest(&riskledger::Policy::default())
    };
    let forward = digest_of(&mut events.iter());
    if std::env::var_os("RISKLEDGER_PRINT_GOLDEN").is_some() {
        println!("state digest {forward}");
    }
    assert_eq!(forward, GOLDEN_STATE_DIGEST);
    assert_eq!(
        digest_of(&mut events.iter().rev()),
        GOLDEN_STATE_DIGEST,
        "arrival order"
    );
}
