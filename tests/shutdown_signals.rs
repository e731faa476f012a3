//! `listen_for_signals` with real signals sent to this test process: the first triggers, the
//! next forces, and listening twice does not count one signal twice.
//!
//! One test in its own binary: a signal sent to the process before its handler is registered
//! would kill it, so no other test may run beside it. No sleeps: each wait ends as soon as the
//! signal is handled, bounded by a timeout on the real clock.
#![cfg(all(unix, feature = "shutdown"))]

use std::process::Command;
use std::time::Duration;

use deadlines::Shutdown;

/// Generous: a signal to oneself is handled within milliseconds.
const PATIENCE: Duration = Duration::from_secs(30);

fn send_to_self(signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), std::process::id().to_string()])
        .status()
        .expect("the kill binary runs");
    assert!(status.success());
}

#[tokio::test]
async fn the_first_signal_triggers_the_next_forces_and_listening_twice_changes_nothing() {
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals().unwrap();
    shutdown.clone().listen_for_signals().unwrap();
    assert!(!shutdown.is_triggered());

    send_to_self("HUP");
    tokio::time::timeout(PATIENCE, shutdown.triggered())
        .await
        .expect("SIGHUP triggers the shutdown");
    // Give a second listener, if there were one, every chance to see the same signal.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(!shutdown.is_forced(), "one signal counted once");

    shutdown.spawn("deaf", std::future::pending::<()>());
    let drain = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { shutdown.drain(Duration::MAX).await }
    });
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(!drain.is_finished(), "the drain waits for the deaf task");
    send_to_self("QUIT");
    let report = tokio::time::timeout(PATIENCE, drain)
        .await
        .expect("SIGQUIT forces the drain")
        .unwrap();
    assert!(report.forced && shutdown.is_forced());
    assert_eq!(report.aborted, ["deaf"]);
}
