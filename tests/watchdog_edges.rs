//! `Watchdog` and `Heartbeat` at the edges: zero and huge timeouts, dropped handles.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{Probe, advance_to, ms};
use deadlines::Watchdog;
use tokio::time::Instant;

const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);

#[tokio::test(start_paused = true)]
async fn a_zero_timeout_expires_at_the_first_poll() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(Duration::ZERO));
    let hb = w.get_ref().heartbeat();
    assert!(hb.beat(), "not yet decided");
    assert_eq!(hb.remaining(), Some(Duration::ZERO));
    match w.poll() {
        Poll::Ready(Ok(expired)) => assert_eq!(expired.deadline(), start),
        other => panic!("expected an expiry, got {other:?}"),
    }
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn a_zero_set_timeout_expires_at_the_next_poll() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(hb.beat());
    assert!(hb.set_timeout(Duration::ZERO));
    assert_eq!(w.wakes(), 1);
    match w.poll() {
        Poll::Ready(Ok(expired)) => assert_eq!(expired.deadline(), start + ms(10)),
        other => panic!("expected an expiry, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn duration_max_saturates_to_thirty_years() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(Duration::MAX));
    let hb = w.get_ref().heartbeat();
    assert_eq!(w.get_ref().deadline(), Some(start + THIRTY_YEARS));
    assert!(w.poll().is_pending());
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert!(w.poll().is_pending());
    assert_eq!(w.wakes(), 0);
    assert!(hb.beat());
    assert_eq!(hb.remaining(), Some(THIRTY_YEARS));

    assert!(hb.set_timeout(ms(5)));
    assert_eq!(w.wakes(), 1, "shortened from 30 years");
    assert!(w.poll().is_pending(), "5 ms after the last beat");
    let year = Duration::from_secs(86_400 * 365);
    advance_to(start, year + ms(5)).await;
    match w.poll() {
        Poll::Ready(Ok(expired)) => assert_eq!(expired.deadline(), start + year + ms(5)),
        other => panic!("expected an expiry, got {other:?}"),
    }

    w.get().rearm();
    assert!(
        !hb.set_timeout(Duration::MAX),
        "a heartbeat of the ended life"
    );
    assert!(w.get_ref().heartbeat().set_timeout(Duration::MAX));
    assert!(w.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn every_heartbeat_method_is_defined_after_the_watchdog_is_dropped() {
    let watchdog = Watchdog::new(ms(100));
    let hb = watchdog.heartbeat();
    let clone = hb.clone();
    drop(watchdog);
    assert!(!hb.beat());
    assert!(!hb.stop());
    assert!(!hb.set_timeout(ms(1)));
    assert_eq!(hb.remaining(), None);
    assert!(!clone.beat());
    assert!(format!("{hb:?}").contains("dropped"));
}

#[tokio::test(start_paused = true)]
async fn every_heartbeat_method_is_defined_after_an_outcome() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(10)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(w.poll().is_ready());
    assert!(!hb.beat());
    assert!(!hb.stop());
    assert!(!hb.set_timeout(ms(1)));
    assert_eq!(hb.remaining(), None);
    assert_eq!(w.get_ref().deadline(), None);
    assert!(format!("{hb:?}").contains("expired"));
}

#[tokio::test(start_paused = true)]
async fn remaining_counts_down_and_is_zero_once_due_but_unobserved() {
    let start = Instant::now();
    let w = Watchdog::new(ms(100));
    let hb = w.heartbeat();
    assert_eq!(hb.remaining(), Some(ms(100)));
    advance_to(start, ms(30)).await;
    assert_eq!(hb.remaining(), Some(ms(70)));
    advance_to(start, ms(500)).await;
    assert_eq!(hb.remaining(), Some(Duration::ZERO));
    assert!(format!("{hb:?}").contains("armed"));
}

#[tokio::test(start_paused = true)]
async fn a_beat_from_a_plain_thread_reads_the_real_clock() {
    // Rule 7: outside the runtime, `tokio::time::Instant::now()` is the real clock. Move the
    // paused clock a year ahead of it first, so the two clocks cannot give the same tick: a
    // beat that read the paused clock would land at `start + YEAR`, one that read the real
    // clock lands within the instants read from the real clock around the thread.
    const YEAR: Duration = Duration::from_secs(86_400 * 365);
    let start = Instant::now();
    let watchdog = Watchdog::new(ms(100));
    let hb = watchdog.heartbeat();
    tokio::time::advance(YEAR).await;
    assert_eq!(Instant::now(), start + YEAR);
    assert_eq!(
        watchdog.deadline(),
        Some(start + ms(100)),
        "not yet observed"
    );

    let real_before = Instant::from_std(std::time::Instant::now());
    let plain = hb.clone();
    assert!(std::thread::spawn(move || plain.beat()).join().unwrap());
    let real_after = Instant::from_std(std::time::Instant::now());
    let beat_at = watchdog.deadline().unwrap() - ms(100);
    assert!(
        real_before <= beat_at && beat_at <= real_after,
        "the plain thread's beat is at {:?} from the start, not on the real clock \
         (between {:?} and {:?}; the paused clock reads {YEAR:?})",
        beat_at - start,
        real_before - start,
        real_after - start,
    );

    // A beat from this runtime's task reads the paused clock, a year ahead: it moves the
    // deadline exactly there. A later plain-thread beat reads the real clock, a year behind,
    // and the last beat never moves back, even after the paused clock moved on a little.
    assert!(hb.beat());
    assert_eq!(watchdog.deadline(), Some(start + YEAR + ms(100)));
    tokio::time::advance(ms(1)).await;
    let plain = hb.clone();
    assert!(std::thread::spawn(move || plain.beat()).join().unwrap());
    assert_eq!(watchdog.deadline(), Some(start + YEAR + ms(100)));
}
