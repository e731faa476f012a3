//! Runs `examples/tour.rs` (a real TCP server on 127.0.0.1, scripted clients, the real clock)
//! and checks that every path of its story shows in its summary. The example must have been
//! built (`cargo test` builds examples; with a target filter, run
//! `cargo build --example tour` first).
#![cfg(feature = "shutdown")]

mod common;

use std::time::Duration;

/// The summary lines, one per path; `#` stands for a number.
const SUMMARY: [&str; 8] = [
    "summary: keepalives expired silent",
    "summary: bursty left cleanly",
    "summary: healthy left cleanly",
    "summary: watchdog fired 1 time, worker restarted",
    "summary: debounce applied 1 config batch of 6 changes",
    "summary: keepalive sent # lines to idle",
    "summary: task_set stopped indexer: Finished(\"checkpoint saved at document #\")",
    "summary: shutdown drained: finished [server, config, metrics-supervisor, \
     background[\"reporter\"], metrics-flusher], aborted [slow-exporter], cleanup ran 1 time",
];

#[test]
fn the_tour_takes_every_path_and_ends_by_itself() {
    let (stdout, elapsed) = common::run_example("tour");

    let summary: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("summary:"))
        .collect();
    assert_eq!(summary.len(), SUMMARY.len(), "{stdout}");
    for pattern in SUMMARY {
        let found: Vec<&&str> = summary
            .iter()
            .filter(|line| numbers(pattern, line).is_some())
            .collect();
        assert_eq!(found.len(), 1, "{pattern:?} in\n{stdout}");
    }
    let sent = summary
        .iter()
        .find_map(|line| numbers("summary: keepalive sent # lines to idle", line))
        .expect("the keepalive line");
    assert!(sent[0] >= 1, "idle was sent keep-alive lines\n{stdout}");

    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

/// The numbers `line` has where `pattern` has `#` (one or more digits), if it matches.
fn numbers(pattern: &str, line: &str) -> Option<Vec<u64>> {
    let mut found = Vec::new();
    let mut rest = line;
    let mut parts = pattern.split('#');
    rest = rest.strip_prefix(parts.next()?)?;
    for literal in parts {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        found.push(rest[..digits].parse().ok()?);
        rest = rest[digits..].strip_prefix(literal)?;
    }
    rest.is_empty().then_some(found)
}
