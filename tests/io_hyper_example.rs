//! Runs `examples/hyper_idle.rs` (a real hyper server on 127.0.0.1 whose connections are
//! `IdleIo`s, three real clients, the real clock) and checks each connection's fate from
//! what it prints.
#![cfg(feature = "io")]

mod common;

use std::time::Duration;

/// The example's thresholds and stream, as `examples/hyper_idle.rs` sets them (the test
/// checks its first line says so).
const READ: Duration = Duration::from_millis(300);
const ALL: Duration = Duration::from_millis(800);
const DATA_LINES: usize = 10;
/// How late after its threshold a connection may be closed: a loaded 2-core machine
/// schedules the server's task and the client's late, but not by half a second.
const SLACK: Duration = Duration::from_millis(500);

#[test]
fn each_connection_meets_its_fate_at_its_threshold() {
    let (stdout, elapsed) = common::run_example("hyper_idle");
    let lines: Vec<&str> = stdout.lines().collect();
    let find = |prefix: &str| -> &str {
        lines
            .iter()
            .find_map(|line| strip_clock(line).strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in\n{stdout}"))
    };

    let setup = find("server listening on ");
    assert!(
        setup.ends_with(&format!(
            ": read idle {READ:?}, all idle {ALL:?}, both time out"
        )),
        "the example's thresholds changed: update this test\n{stdout}"
    );

    // keepalive: its idle connection is closed by the server, read idle, at the threshold,
    // measured by the client from before it sent its request (the server's last read).
    let closed = millis(find("keepalive: the server closed the idle connection "));
    assert_near_threshold("keepalive", closed, &stdout);
    let fate = find("server: keepalive connection ended after ");
    assert!(
        fate.contains(&format!("timed out, read idle for {READ:?}")),
        "keepalive: {fate}\n{stdout}"
    );

    // sse: every data line arrived, the body ended cleanly, though the stream lasted longer
    // than both thresholds; the keep-alive comments filled its silence.
    let body = find("sse: body complete after ");
    let took = millis(body);
    let counts = body.split_once(" ms: ").expect("counts").1;
    assert!(
        counts.starts_with(&format!("{DATA_LINES} data lines, ")),
        "sse: {body}\n{stdout}"
    );
    let comments: usize = counts
        .split(", ")
        .nth(1)
        .and_then(|c| c.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a comment count");
    assert!(
        comments >= 1,
        "sse: no keep-alive comment: {body}\n{stdout}"
    );
    assert!(
        took > READ + ALL,
        "sse: the stream should outlast both thresholds: {body}\n{stdout}"
    );
    assert!(!stdout.contains("sse: body cut"), "{stdout}");
    let fate = find("server: sse connection ended after ");
    assert!(fate.ends_with(": closed cleanly"), "sse: {fate}\n{stdout}");

    // slowloris: its half-sent request head is dropped, read idle, at the threshold.
    let closed = millis(find("slowloris: the server closed the connection "));
    assert_near_threshold("slowloris", closed, &stdout);
    let fate = find("server: slowloris connection ended after ");
    assert!(
        fate.contains(&format!("timed out, read idle for {READ:?}")),
        "slowloris: {fate}\n{stdout}"
    );

    let summary = find("summary: ");
    for part in [
        "(timed out read idle); sse".to_owned(),
        format!("sse received {DATA_LINES} of {DATA_LINES} data lines (closed cleanly)"),
        "partial head (timed out read idle)".to_owned(),
    ] {
        assert!(summary.contains(&part), "{part:?} not in {summary}");
    }
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

/// A line without its `   123 ms  ` clock.
fn strip_clock(line: &str) -> &str {
    line.trim_start()
        .split_once(" ms  ")
        .filter(|(clock, _)| clock.chars().all(|c| c.is_ascii_digit()))
        .map_or(line, |(_, rest)| rest)
}

/// The `N` of a text that starts `N ms`.
fn millis(text: &str) -> Duration {
    let n = text.split(' ').next().and_then(|n| n.parse().ok());
    Duration::from_millis(n.unwrap_or_else(|| panic!("no milliseconds at the start of {text:?}")))
}

fn assert_near_threshold(name: &str, closed: Duration, stdout: &str) {
    assert!(
        closed >= READ && closed <= READ + SLACK,
        "{name}: closed after {closed:?}, not within [{READ:?}, {:?}]\n{stdout}",
        READ + SLACK
    );
}
