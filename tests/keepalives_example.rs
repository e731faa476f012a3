//! Runs `examples/sessions.rs` (a real TCP server on 127.0.0.1) and checks its report.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_sessions_example_expires_the_silent_client_and_removes_the_others() {
    let started = Instant::now();
    let output = Command::new(common::example_path("sessions"))
        .output()
        .expect("the example runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "session fast: 20 pings, closed by client",
        "session quitter: 2 pings, closed by client",
        "session silent: 3 pings, expired",
        "session steady: 5 pings, closed by client",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in\n{stdout}"
        );
    }
    assert_eq!(stdout.matches(": expired (deadline").count(), 1, "{stdout}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}
