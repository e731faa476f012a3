//! Runs `examples/sessions.rs` (a real TCP server on 127.0.0.1) and checks its report.

mod common;

use std::time::Duration;

#[test]
fn the_sessions_example_expires_the_silent_client_and_removes_the_others() {
    let (stdout, elapsed) = common::run_example("sessions");
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
