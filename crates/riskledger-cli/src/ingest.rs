//! `riskledger ingest`: NDJSON in, durable appends out.
//!
//! A reader thread reads and parses lines in chunks while the main thread appends the previous
//! chunk, so parsing and hashing/flushing use both cores. Memory stays bounded: at most
//! `CHUNKS_IN_FLIGHT` chunks of `CHUNK_LINES` lines exist at once, whatever the input size.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use riskledger::events::json::{parse_line, LineError};
use riskledger::events::limits::MAX_LINE_BYTES;
use riskledger::events::EventError;
use riskledger::store::SledLog;
use riskledger::{AppendOptions, Event, OnInvalid, Receipt};
use serde::Serialize;

use crate::{print_json, BadInput, EXIT_BAD_INPUT};

/// Lines per append: one group commit (one flush) each.
const CHUNK_LINES: usize = 4096;
const CHUNKS_IN_FLIGHT: usize = 4;
/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 8 * 1024 * 1024;

/// A parsed line: its number and the event, or why it is not one.
type Parsed = Result<(u64, Event), LineError>;

struct Chunk {
    lines: Vec<Parsed>,
    bytes: u64,
}

#[derive(Serialize)]
struct RejectedLine {
    line: u64,
    id: Option<String>,
    error: String,
}

#[derive(Serialize)]
struct Summary {
    appended: u64,
    duplicates: u64,
    rejected: Vec<RejectedLine>,
    head_seq: u64,
    head_hash: String,
}

/// How to ingest.
pub struct Options {
    pub skip_invalid: bool,
    pub print_acks: bool,
    pub json: bool,
}

/// An ingest that appended at least this many events writes a store checkpoint at the end.
const CHECKPOINT_AFTER_APPENDED: u64 = 65_536;

pub fn run(data: &Path, file: &Path, options: &Options) -> anyhow::Result<ExitCode> {
    let (input, size): (Box<dyn Read + Send>, Option<u64>) = if file == Path::new("-") {
        (Box::new(std::io::stdin()), None)
    } else {
        let handle = File::open(file)
            .map_err(|err| BadInput(format!("cannot read {}: {err}", file.display())))?;
        let size = handle.metadata().ok().map(|m| m.len());
        (Box::new(handle), size)
    };
    let mut ledger = riskledger::open_log_or_create(data)
        .with_context(|| format!("opening the ledger at {}", data.display()))?;
    let progress = progress_bar(size);
    let (sender, chunks) = sync_channel::<std::io::Result<Chunk>>(CHUNKS_IN_FLIGHT);
    let reader = thread::spawn(move || read_chunks(input, |chunk| sender.send(chunk).is_ok()));
    let outcome = append_chunks(&mut ledger, chunks, options, &progress);
    progress.finish_and_clear();
    // Dropping the receiver (inside append_chunks) stops the reader at its next send. After a
    // strict stop, do not wait for it: reading stdin, it may block until more input comes.
    let stopped_early = matches!(&outcome, Ok((_, Some(_))) | Err(_));
    if !stopped_early {
        let _ = reader.join();
    }
    let (summary, stopped_at) = outcome?;
    if summary.appended >= CHECKPOINT_AFTER_APPENDED {
        // Derived state: with it the next open reads only the blocks after it; a failure
        // only means a slower next open.
        if let Err(err) = ledger.checkpoint() {
            eprintln!("riskledger: warning: {err}");
        }
    }
    report(&summary, file, options.json)?;
    Ok(match stopped_at {
        Some(line) => {
            eprintln!(
                "riskledger: stopped at line {line}; every line before it is stored (use --skip-invalid to go on past bad lines)"
            );
            ExitCode::from(EXIT_BAD_INPUT)
        }
        None => ExitCode::SUCCESS,
    })
}

fn progress_bar(size: Option<u64>) -> ProgressBar {
    match size {
        Some(bytes) if bytes >= PROGRESS_MIN_BYTES => {
            let bar = ProgressBar::new(bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("a valid template"),
            );
            bar
        }
        Some(_) => ProgressBar::hidden(),
        None => ProgressBar::new_spinner(),
    }
}

/// Reads, splits and parses lines, handing out chunks until `emit` says stop or input ends.
fn read_chunks(input: Box<dyn Read + Send>, mut emit: impl FnMut(std::io::Result<Chunk>) -> bool) {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut buf = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    loop {
        let mut chunk = Chunk {
            lines: Vec::with_capacity(CHUNK_LINES),
            bytes: 0,
        };
        while chunk.lines.len() < CHUNK_LINES {
            buf.clear();
            let read = match read_bounded_line(&mut reader, &mut buf) {
                Ok(read) => read,
                Err(err) => {
                    emit(Err(err));
                    return;
                }
            };
            if read == 0 {
                break;
            }
            line_no += 1;
            chunk.bytes += read as u64;
            if let Some(parsed) = parse_raw_line(line_no, &buf, read) {
                chunk.lines.push(parsed);
            }
        }
        let last = chunk.lines.len() < CHUNK_LINES;
        if !emit(Ok(chunk)) || last {
            return;
        }
    }
}

/// Reads one line into `buf` (without its newline) but keeps at most `MAX_LINE_BYTES + 1` bytes
/// of it: a longer line is consumed to its end and left over-long in `buf`, so that parsing
/// names it, without ever holding more than the limit. Returns the bytes consumed.
fn read_bounded_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(consumed);
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        let content = &available[..take - usize::from(done)];
        buf.extend_from_slice(&content[..content.len().min(room)]);
        reader.consume(take);
        consumed += take;
        if done {
            return Ok(consumed);
        }
    }
}

/// Parses one raw line (`consumed` bytes long in the input, newline included); blank lines
/// are skipped (`None`).
fn parse_raw_line(line_no: u64, raw: &[u8], consumed: usize) -> Option<Parsed> {
    if raw.len() > MAX_LINE_BYTES {
        // `raw` holds only the first MAX_LINE_BYTES + 1 bytes: report the real length, before
        // any UTF-8 check (the cut may split a character).
        let error = EventError::Json(format!(
            "the line is about {} bytes long; the limit is {MAX_LINE_BYTES}",
            consumed.saturating_sub(1)
        ));
        return Some(Err(LineError {
            line: line_no,
            id: None,
            error,
        }));
    }
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(match std::str::from_utf8(raw) {
        Ok(text) => parse_line(line_no, text).map(|event| (line_no, event)),
        Err(err) => Err(LineError {
            line: line_no,
            id: None,
            error: EventError::Json(format!("not UTF-8: {err}")),
        }),
    })
}

/// Appends chunk after chunk. Returns the summary and, in strict mode, the line it stopped at.
fn append_chunks(
    ledger: &mut SledLog,
    chunks: Receiver<std::io::Result<Chunk>>,
    options: &Options,
    progress: &ProgressBar,
) -> anyhow::Result<(Summary, Option<u64>)> {
    let skip_invalid = options.skip_invalid;
    let mut summary = Summary {
        appended: 0,
        duplicates: 0,
        rejected: Vec::new(),
        head_seq: ledger.head().seq,
        head_hash: ledger.head().hash_hex(),
    };
    let on_invalid = if skip_invalid {
        OnInvalid::Skip
    } else {
        OnInvalid::KeepPrefix
    };
    let append_options = AppendOptions {
        on_invalid,
        ..AppendOptions::default()
    };
    let mut events = Vec::with_capacity(CHUNK_LINES);
    let mut lines = Vec::with_capacity(CHUNK_LINES);
    for chunk in chunks {
        let chunk = chunk.context("reading the input")?;
        events.clear();
        lines.clear();
        let mut parse_failure = None;
        let chunk_rejections_start = summary.rejected.len();
        for parsed in chunk.lines {
            match parsed {
                Ok((line, event)) => {
                    lines.push(line);
                    events.push(event);
                }
                Err(err) if skip_invalid => summary.rejected.push(rejected_line(err)),
                Err(err) => {
                    parse_failure = Some(err);
                    break;
                }
            }
        }
        let receipt = ledger.append(&events, &append_options)?;
        if options.print_acks {
            eprintln!("acked {}", receipt.head.seq);
        }
        account(&mut summary, &receipt, &lines);
        // Parse errors and append rejections of this chunk interleave by line; earlier chunks
        // hold only earlier lines, so sorting this chunk's part keeps the whole report ordered.
        summary.rejected[chunk_rejections_start..].sort_by_key(|r| r.line);
        progress.inc(chunk.bytes);
        let rejected_by_append = !skip_invalid && !receipt.rejected.is_empty();
        if rejected_by_append {
            let line = lines[receipt.rejected[0].index];
            return Ok((summary, Some(line)));
        }
        if let Some(err) = parse_failure {
            let line = err.line;
            summary.rejected.push(rejected_line(err));
            return Ok((summary, Some(line)));
        }
    }
    Ok((summary, None))
}

fn rejected_line(err: LineError) -> RejectedLine {
    RejectedLine {
        line: err.line,
        id: err.id,
        error: err.error.to_string(),
    }
}

fn account(summary: &mut Summary, receipt: &Receipt, lines: &[u64]) {
    summary.appended += receipt.appended;
    summary.duplicates += receipt.duplicates;
    summary.head_seq = receipt.head.seq;
    summary.head_hash = receipt.head.hash_hex();
    summary
        .rejected
        .extend(receipt.rejected.iter().map(|r| RejectedLine {
            line: lines[r.index],
            id: Some(r.id.clone()),
            error: r.reason.to_string(),
        }));
}

fn report(summary: &Summary, file: &Path, json: bool) -> anyhow::Result<()> {
    for rejected in &summary.rejected {
        let id = rejected
            .id
            .as_deref()
            .map(|id| format!(" (id {id:?})"))
            .unwrap_or_default();
        eprintln!("rejected: line {}{id}: {}", rejected.line, rejected.error);
    }
    if json {
        return print_json(summary);
    }
    let name = if file == Path::new("-") {
        PathBuf::from("stdin")
    } else {
        file.to_owned()
    };
    println!(
        "{}: appended {}, duplicates {}, rejected {}; head seq {} hash {}",
        name.display(),
        summary.appended,
        summary.duplicates,
        summary.rejected.len(),
        summary.head_seq,
        summary.head_hash
    );
    Ok(())
}
