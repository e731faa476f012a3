//! `listen_for_signals` with real signals sent to this test process: the first triggers, the
//! next forces, and listening twice does not count one signal twice.
//!
//! One test in its own binary: a signal sent to the process before its handler is registered
//! would kill it, so no other test may run beside it. No sleeps: each signal is sent from a
//! blocking task that waits until it is handled (bounded by a timeout on the real clock), and
//! the paused clock does not auto-advance while a blocking task runs, so every instant is
//! exact. The negatives are exact too, not "nothing happened for a while": they rest on the
//! runtime's count of live tasks, on the one-thread runtime polling one task at a time, each
//! to its next `Pending`, and on a year of paused time.
#![cfg(all(unix, feature = "shutdown"))]

use std::process::Command;
use std::time::Duration;

use deadlines::Shutdown;
use tokio::time::Instant;

/// Generous: a signal to oneself is handled within milliseconds.
const PATIENCE: Duration = Duration::from_secs(30);

const YEAR: Duration = Duration::from_secs(86_400 * 365);

fn send_to_self(signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), std::process::id().to_string()])
        .status()
        .expect("the kill binary runs");
    assert!(status.success());
}

/// Sends `signal` to this process and waits until `handled()`, in a blocking task: while it
/// runs, the paused clock stays where it is.
async fn send_and_wait(signal: &'static str, handled: impl Fn() -> bool + Send + 'static) {
    tokio::task::spawn_blocking(move || {
        send_to_self(signal);
        let give_up = std::time::Instant::now() + PATIENCE;
        while !handled() {
            assert!(
                std::time::Instant::now() < give_up,
                "SIG{signal} not handled"
            );
            std::thread::yield_now();
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_first_signal_triggers_the_next_forces_and_listening_twice_changes_nothing() {
    let live_tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let shutdown = Shutdown::new();
    let tasks = live_tasks();
    shutdown.listen_for_signals().unwrap();
    assert_eq!(live_tasks(), tasks + 1, "one listener task");
    shutdown.clone().listen_for_signals().unwrap();
    assert_eq!(
        live_tasks(),
        tasks + 1,
        "listening again starts no second listener"
    );
    assert!(!shutdown.is_triggered());

    let observed = shutdown.clone();
    send_and_wait("HUP", move || observed.is_triggered()).await;
    // The listener's poll that triggered the shutdown went on to look for a next signal, and
    // ran to its `Pending`, before this task was polled again; it is the only listener. So
    // had the one signal counted twice, the shutdown would be forced by now.
    assert!(!shutdown.is_forced(), "one signal counted once");
    assert_eq!(live_tasks(), tasks + 1, "the listener listens on");

    let deaf = shutdown.spawn("deaf", std::future::pending::<()>());
    let start = Instant::now();
    let mut drain = Box::pin(shutdown.drain(Duration::MAX));
    assert!(futures_util::poll!(&mut drain).is_pending());
    // A year passes: every timer due within it fires, and the drain's task runs (it is queued
    // before the listener can be woken for the signal below). A drain that stopped waiting on
    // its own, with a grace of `Duration::MAX` and a task that never ends, would report that
    // it was not forced, or the instant it stopped.
    tokio::time::advance(YEAR).await;
    assert!(!shutdown.is_forced());
    let observed = shutdown.clone();
    send_and_wait("QUIT", move || observed.is_forced()).await;
    let report = drain.await;
    assert!(report.forced, "SIGQUIT forced the drain");
    assert_eq!(report.elapsed, YEAR, "the drain waited until SIGQUIT");
    assert_eq!(Instant::now(), start + YEAR);
    assert_eq!(report.aborted, ["deaf"]);
    assert!(deaf.await.unwrap_err().is_cancelled());
    assert_eq!(
        live_tasks(),
        tasks,
        "the listener ended once it forced, and so did the drain and the deaf task"
    );
}
