//! A [`Watchdog`] supervising a worker on a real OS thread, on the real clock. The worker
//! beats its [`Heartbeat`] after each step of work, then hangs; the watchdog fires once, and
//! the supervisor reports how overdue it was and how long the worker had been silent. It then
//! restarts the worker: tells the hung thread to quit (its late beat is refused), joins it,
//! re-arms the same watchdog and hands a fresh heartbeat to a new worker, which beats a few
//! times and shuts down cleanly with `stop`, so the watchdog resolves `Err(Stopped)`.
//!
//! Run: `cargo run --example watchdog` (ends by itself in about a second).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use deadlines::{Heartbeat, Watchdog};
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_millis(200);
/// One step of "work": blocking the thread is the point, this is not async code.
const STEP: Duration = Duration::from_millis(50);
/// The first worker's healthy steps before it hangs.
const STEPS_BEFORE_HANG: u32 = 6;
/// The second worker's steps before it finishes.
const STEPS_TO_FINISH: u32 = 4;
/// How long a hung worker waits to be told to quit before giving up by itself, so that the
/// example ends even if the supervisor never gets there.
const HANG_AT_MOST: Duration = Duration::from_secs(3);

/// What a worker thread did, returned by `join`.
#[derive(Debug, Default)]
struct Report {
    /// Beats that returned `true`.
    counted: u32,
    /// Beats that returned `false`: the watchdog had already given up on this worker.
    refused: u32,
    /// What `stop` returned, if the worker finished cleanly.
    stopped: Option<bool>,
}

#[tokio::main]
async fn main() {
    let start = Instant::now();
    // Copy + Send: every thread logs against the same start. Outside the runtime,
    // `tokio::time::Instant::now()` reads the real clock, which is the one the runtime uses.
    let log = move |who: &str, what: &str| {
        println!("{:>5} ms  {who:<10} {what}", start.elapsed().as_millis());
    };

    let watchdog = Watchdog::new(TIMEOUT);
    tokio::pin!(watchdog);
    log(
        "supervisor",
        &format!("watchdog armed, timeout {TIMEOUT:?}"),
    );

    // Run 1: a worker that hangs. It records each counted beat here; the time is read just
    // before the beat, so the watchdog's own record of the beat is no earlier than this.
    let last_beat = Arc::new(Mutex::new(start));
    let (quit, quit_rx) = mpsc::channel();
    let first = {
        let heartbeat = watchdog.heartbeat();
        let last_beat = last_beat.clone();
        thread::spawn(move || hanging_worker(heartbeat, quit_rx, &last_beat, log))
    };

    let mut expiries = 0;
    let (observed, expired) = match watchdog.as_mut().await {
        Ok(expired) => (Instant::now(), expired),
        Err(stopped) => panic!("nobody stops the first run: {stopped}"),
    };
    expiries += 1;
    let hung_since = *last_beat.lock().unwrap();
    let overdue = observed - expired.deadline();
    let silent = observed - hung_since;
    log(
        "supervisor",
        &format!(
            "EXPIRED: deadline was +{} ms, observed {:.1} ms after it; last beat +{} ms, {} ms ago",
            (expired.deadline() - start).as_millis(),
            ms(overdue),
            (hung_since - start).as_millis(),
            silent.as_millis(),
        ),
    );

    // Restart: retire the hung worker first. Its handle belongs to the life that just ended,
    // so after the re-arm it can no longer beat for the new run (its beats return `false`);
    // the worker itself would still hold its thread.
    log("supervisor", "restarting: telling worker 1 to quit");
    quit.send(()).expect("worker 1 is waiting on this channel");
    let first = first.join().expect("worker 1 does not panic");
    log("supervisor", &format!("worker 1 joined: {first:?}"));

    watchdog.as_mut().rearm();
    log("supervisor", "watchdog re-armed; starting worker 2");
    let second = {
        let heartbeat = watchdog.heartbeat();
        thread::spawn(move || finishing_worker(heartbeat, log))
    };

    let outcome = watchdog.as_mut().await;
    match outcome {
        Ok(expired) => {
            expiries += 1;
            log(
                "supervisor",
                &format!(
                    "EXPIRED again at +{} ms (unexpected)",
                    (expired.deadline() - start).as_millis()
                ),
            );
        }
        Err(stopped) => log("supervisor", &format!("{stopped}: clean shutdown")),
    }
    let second = second.join().expect("worker 2 does not panic");
    log("supervisor", &format!("worker 2 joined: {second:?}"));

    println!();
    println!(
        "expiries {expiries}; worker 1: {} beats counted, {} refused, silent {} ms when the \
         expiry was observed ({} ms overdue); worker 2: {} beats counted, stop -> {:?}",
        first.counted,
        first.refused,
        silent.as_millis(),
        ms(overdue).round(),
        second.counted,
        second.stopped,
    );

    assert_eq!(expiries, 1, "exactly one expiry, in the first run");
    assert!(
        expired.deadline() >= hung_since + TIMEOUT,
        "the deadline is at least the timeout after the hung worker's last beat"
    );
    assert!(
        silent >= TIMEOUT,
        "the expiry was observed at least the timeout after the last beat"
    );
    assert!(observed >= expired.deadline(), "never observed early");
    assert_eq!(
        first.counted, STEPS_BEFORE_HANG,
        "worker 1's healthy beats all counted"
    );
    assert_eq!(
        first.refused, 1,
        "worker 1's beat after the expiry was refused"
    );
    assert_eq!(
        second.counted, STEPS_TO_FINISH,
        "worker 2's beats all counted"
    );
    assert_eq!(
        second.stopped,
        Some(true),
        "worker 2's stop prevented an expiry"
    );
    assert!(outcome.is_err(), "the second run ended in Stopped");
    println!(
        "the watchdog fired once, on the hung worker, and the restarted one shut down cleanly"
    );
}

/// Works and beats, then hangs until told to quit; on waking it tries to beat again.
fn hanging_worker(
    heartbeat: Heartbeat,
    quit: Receiver<()>,
    last_beat: &Mutex<Instant>,
    log: impl Fn(&str, &str),
) -> Report {
    let mut report = Report::default();
    for step in 1..=STEPS_BEFORE_HANG {
        thread::sleep(STEP);
        let now = Instant::now();
        if heartbeat.beat() {
            report.counted += 1;
            *last_beat.lock().unwrap() = now;
            log("worker 1", &format!("step {step} done, beat"));
        } else {
            report.refused += 1;
            log("worker 1", &format!("step {step} done, beat REFUSED"));
        }
    }
    let left = heartbeat.remaining().map_or(0.0, ms);
    log(
        "worker 1",
        &format!("hangs (stops beating); the watchdog fires in {left:.0} ms"),
    );
    match quit.recv_timeout(HANG_AT_MOST) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => log("worker 1", "told to quit"),
        Err(RecvTimeoutError::Timeout) => log("worker 1", "gave up waiting to be told"),
    }
    // Too late: the watchdog has expired and is not re-armed until this thread is joined.
    let counted = heartbeat.beat();
    if counted {
        report.counted += 1;
    } else {
        report.refused += 1;
    }
    log(
        "worker 1",
        &format!(
            "wakes and beats: {counted}; remaining: {:?}; exits",
            heartbeat.remaining()
        ),
    );
    report
}

/// Works and beats a few times, then finishes cleanly by stopping the watchdog.
fn finishing_worker(heartbeat: Heartbeat, log: impl Fn(&str, &str)) -> Report {
    let mut report = Report::default();
    for step in 1..=STEPS_TO_FINISH {
        thread::sleep(STEP);
        if heartbeat.beat() {
            report.counted += 1;
            log("worker 2", &format!("step {step} done, beat"));
        } else {
            report.refused += 1;
            log("worker 2", &format!("step {step} done, beat REFUSED"));
        }
    }
    let stopped = heartbeat.stop();
    report.stopped = Some(stopped);
    log("worker 2", &format!("finished, stop: {stopped}"));
    report
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
