//! Every primitive at and past the end of its clock's range, on a paused clock advanced by
//! decades: "never" stays never, and no poll loops on a deadline it cannot reach.
//!
//! A watchdog's life and a `Keepalives` set count time in nanoseconds from their start for
//! 2^61 - 1 ns (about 73 years). A deadline at the end of that range fires; one past it is
//! never reached. Before the fix, a deadline past the range hung the poll once Tokio's timer
//! fired: each test runs under [`bounded`], so a hang fails the test instead of hanging it.

mod common;

use std::future::Future;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::task::Poll;
use std::time::Duration;

use common::{Probe, StreamProbe, fed, max_instant, ms};
use deadlines::stream::StreamDeadlineExt;
use deadlines::{Deadline, Keepalives, Watchdog};
use tokio::time::Instant;

const YEAR: Duration = Duration::from_secs(86_400 * 365);
const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
/// The range of a watchdog's or a set's clock: 2^61 - 1 ns.
const RANGE: Duration = Duration::from_nanos((1 << 61) - 1);

/// Runs `test` on a paused current-thread runtime on a thread of its own, and fails if it has
/// not finished within 30 s of real time (it takes milliseconds): a hang fails the test. The
/// hung thread is left behind; the test binary ends when its tests have.
fn bounded<F, Fut>(test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = common::paused_runtime();
        runtime.block_on(test());
        done.send(()).unwrap();
    });
    match finished.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => {}
        Err(RecvTimeoutError::Timeout) => panic!("hung: the test did not finish within 30 s"),
        Err(RecvTimeoutError::Disconnected) => panic!("the test panicked (see above)"),
    }
}

async fn advance(by: Duration) {
    tokio::time::advance(by).await;
}

#[test]
fn a_watchdog_whose_deadline_passes_the_range_never_expires_and_does_not_hang() {
    bounded(|| async {
        let start = Instant::now();
        let mut w = Probe::new(Watchdog::new(Duration::MAX)); // 30 years
        let hb = w.get_ref().heartbeat();
        advance(50 * YEAR).await;
        assert!(
            hb.beat(),
            "the deadline is now 80 years out, past the range"
        );
        assert!(w.poll().is_pending());
        assert_eq!(
            hb.remaining(),
            Some(THIRTY_YEARS),
            "never reads as 30 years from now"
        );
        advance(40 * YEAR).await;
        assert!(
            w.poll().is_pending(),
            "past the instant the deadline would have been"
        );
        advance(1000 * YEAR).await;
        assert!(w.poll().is_pending());
        assert_eq!(w.wakes(), 0, "no timer is set for a deadline never reached");
        assert_eq!(w.get_ref().deadline(), Some(Instant::now() + THIRTY_YEARS));

        // A shorter timeout brings the deadline back in range: 5 ms after the beat, long past.
        assert!(hb.set_timeout(ms(5)));
        assert_eq!(w.wakes(), 1);
        match w.poll() {
            Poll::Ready(Ok(expired)) => assert_eq!(expired.deadline(), start + 50 * YEAR + ms(5)),
            other => panic!("expected the expiry at once, got {other:?}"),
        }
    });
}

/// Awaited, a watchdog whose deadline is never must wait, so that the paused runtime idles
/// and its clock moves on to the timeout around it. Before the fix its poll fired its timer
/// into a decision that could not be made, over and over (until Tokio's cooperative budget
/// made it yield and wake itself), so the runtime never idled and this test hung.
#[test]
fn awaiting_a_watchdog_past_the_range_waits_instead_of_spinning() {
    bounded(|| async {
        let watchdog = Watchdog::new(Duration::MAX);
        let hb = watchdog.heartbeat();
        advance(50 * YEAR).await;
        assert!(hb.beat());
        advance(40 * YEAR).await;
        let outcome = tokio::time::timeout(YEAR, watchdog).await;
        assert!(outcome.is_err(), "resolved: {outcome:?}");
    });
}

/// A watchdog whose deadline leaves the range while its timer is still set (a shortened
/// timeout wakes it, and the deadline it computes is past the range) lets go of that timer:
/// it is not woken again at the instant the timer held.
#[test]
fn a_watchdog_past_the_range_keeps_no_timer_that_would_wake_it() {
    bounded(|| async {
        let start = Instant::now();
        let mut watchdog = Probe::new(Watchdog::new(THIRTY_YEARS));
        let hb = watchdog.get_ref().heartbeat();
        advance(29 * YEAR).await;
        assert!(hb.beat()); // deadline at 59 years
        advance(YEAR).await; // the first timer, at 30 years, fires early
        assert!(watchdog.poll().is_pending());
        advance(20 * YEAR).await;
        assert!(hb.beat()); // at 50 years: deadline 80 years, past the range
        assert!(hb.set_timeout(29 * YEAR), "shorter: wakes the watchdog");
        let woken = watchdog.wakes();
        assert!(
            watchdog.poll().is_pending(),
            "79 years is past the range too"
        );
        advance(10 * YEAR).await; // past 59 years, where the timer was
        assert_eq!(
            watchdog.wakes(),
            woken,
            "woken by a timer it no longer needs"
        );
        assert!(watchdog.poll().is_pending());
        assert!(Instant::now() - start > 59 * YEAR);
    });
}

/// The same for a `Keepalives` set holding a key whose deadline is never.
#[test]
fn awaiting_a_set_past_the_range_waits_instead_of_spinning() {
    use futures_util::StreamExt;
    bounded(|| async {
        let mut set = Keepalives::new(Duration::MAX);
        advance(50 * YEAR).await;
        set.insert(1);
        advance(40 * YEAR).await;
        let outcome = tokio::time::timeout(YEAR, set.next()).await;
        assert!(outcome.is_err(), "yielded: {outcome:?}");
    });
}

#[test]
fn a_watchdog_deadline_at_the_end_of_the_range_fires_and_one_past_it_never_does() {
    bounded(|| async {
        let start = Instant::now();
        let mut w = Probe::new(Watchdog::new(Duration::from_secs(1)));
        let hb = w.get_ref().heartbeat();
        advance(RANGE - Duration::from_secs(1)).await;
        assert!(hb.beat());
        assert!(w.poll().is_pending());
        assert_eq!(w.get_ref().deadline(), Some(start + RANGE));
        advance(Duration::from_secs(1)).await;
        match w.poll() {
            Poll::Ready(Ok(expired)) => assert_eq!(expired.deadline(), start + RANGE),
            other => panic!("expected the expiry at the end of the range, got {other:?}"),
        }

        // A new life counts from its own start: a fresh range.
        w.get().rearm();
        let hb = w.get_ref().heartbeat();
        let life = Instant::now();
        assert!(w.poll().is_pending());
        advance(Duration::from_secs(1)).await;
        match w.poll() {
            Poll::Ready(Ok(expired)) => assert_eq!(expired.deadline(), life + ms(1_000)),
            other => panic!("expected an expiry a second into the new life, got {other:?}"),
        }
        assert!(!hb.beat());

        // Past the range, beats count at its end, and the deadline after them is never.
        let mut w = Probe::new(Watchdog::new(Duration::from_secs(1)));
        let hb = w.get_ref().heartbeat();
        advance(RANGE + YEAR).await;
        assert!(hb.beat());
        assert!(w.poll().is_pending());
        advance(100 * YEAR).await;
        assert!(w.poll().is_pending());
        assert!(hb.stop());
        assert!(matches!(w.poll(), Poll::Ready(Err(_))));
    });
}

#[test]
fn a_key_whose_deadline_passes_the_range_is_never_yielded_and_does_not_hang() {
    bounded(|| async {
        let mut set = Keepalives::new(ms(10));
        advance(50 * YEAR).await;
        let far = set.insert_with_timeout("far", Duration::MAX);
        set.insert("near");
        let at = Instant::now();
        let (waker, wakes) = common::counting_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(set.poll_expired(&mut cx).is_pending());
        advance(ms(10)).await;
        match set.poll_expired(&mut cx) {
            Poll::Ready((key, expired)) => {
                assert_eq!((key, expired.deadline()), ("near", at + ms(10)));
            }
            Poll::Pending => panic!("near is due"),
        }
        assert!(set.poll_expired(&mut cx).is_pending());
        let woken = wakes();
        advance(40 * YEAR).await;
        assert!(set.poll_expired(&mut cx).is_pending(), "far is never due");
        advance(1000 * YEAR).await;
        assert!(set.poll_expired(&mut cx).is_pending());
        assert_eq!(wakes(), woken, "nothing is queued for a key never due");
        assert_eq!(set.deadline(&"far"), Some(Instant::now() + THIRTY_YEARS));
        assert_eq!(far.remaining(), Some(THIRTY_YEARS));
        assert!(far.beat());
        assert!(set.remove(&"far"));
        assert!(!far.beat());
    });
}

#[test]
fn a_key_deadline_at_the_end_of_the_range_is_yielded_and_one_past_it_never_is() {
    bounded(|| async {
        let start = Instant::now();
        let mut set = Keepalives::new(Duration::from_secs(1));
        set.insert("edge");
        advance(RANGE - Duration::from_secs(1)).await;
        assert!(set.beat(&"edge"));
        assert_eq!(set.deadline(&"edge"), Some(start + RANGE));
        advance(Duration::from_secs(1)).await;
        let (waker, _) = common::counting_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        match set.poll_expired(&mut cx) {
            Poll::Ready((key, expired)) => {
                assert_eq!((key, expired.deadline()), ("edge", start + RANGE))
            }
            Poll::Pending => panic!("the end of the range is reached"),
        }

        // Past the range a beat counts at its end, and the deadline after it is never.
        set.insert("past");
        advance(YEAR).await;
        assert!(set.beat(&"past"));
        advance(100 * YEAR).await;
        assert!(set.poll_expired(&mut cx).is_pending());
        assert!(set.contains(&"past"));
        assert_eq!(set.len(), 1);
    });
}

#[test]
fn a_deadline_decades_out_fires_once_and_the_largest_instant_never_does() {
    bounded(|| async {
        let start = Instant::now();
        let mut d = Probe::new(Deadline::after(Duration::MAX));
        assert!(d.poll().is_pending());
        advance(80 * YEAR).await;
        assert_eq!(
            d.poll().map(|e| e.deadline()),
            Poll::Ready(start + THIRTY_YEARS),
            "Duration::MAX is 30 years, as in Tokio"
        );
        assert!(d.poll().is_pending(), "and fires once");
        assert!(!d.get().reset(Duration::MAX));
        advance(29 * YEAR).await;
        assert!(d.poll().is_pending());

        let mut d = Probe::new(Deadline::at(max_instant()));
        assert!(d.poll().is_pending());
        for _ in 0..5 {
            advance(100 * YEAR).await;
            assert!(
                d.poll().is_pending(),
                "the largest instant is never reached"
            );
        }
        assert_eq!(d.get_ref().deadline(), Some(max_instant()));
    });
}

#[test]
fn the_stream_adapters_decades_out_do_not_hang() {
    bounded(|| async {
        advance(80 * YEAR).await;

        let (feed, source) = fed();
        let mut d = StreamProbe::new(source.debounce(Duration::MAX).max_wait(Duration::MAX));
        feed.push(1);
        assert_eq!(d.poll(), Poll::Pending);
        advance(29 * YEAR).await;
        assert_eq!(d.poll(), Poll::Pending);
        advance(2 * YEAR).await;
        assert_eq!(
            d.poll(),
            Poll::Ready(Some(1)),
            "settled after its 30-year window"
        );
        feed.end();
        assert_eq!(d.poll(), Poll::Ready(None));

        let (feed, source) = fed();
        let mut b = StreamProbe::new(source.debounce_batch(Duration::MAX));
        feed.push(2);
        feed.push(3);
        assert_eq!(b.poll(), Poll::Pending);
        advance(1000 * YEAR).await;
        assert_eq!(b.poll(), Poll::Ready(Some(vec![2, 3])));

        let (_feed, source) = fed::<u8>();
        let mut t = StreamProbe::new(source.idle_timeout(Duration::MAX));
        assert_eq!(t.poll(), Poll::Pending);
        advance(29 * YEAR).await;
        assert_eq!(t.poll(), Poll::Pending);
        advance(2 * YEAR).await;
        assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
        advance(1000 * YEAR).await;
        assert_eq!(t.poll(), Poll::Pending, "one error per silent stretch");

        let (_feed, source) = fed::<char>();
        let mut k = StreamProbe::new(source.keepalive(Duration::MAX, || 'p'));
        assert_eq!(k.poll(), Poll::Pending);
        advance(31 * YEAR).await;
        assert_eq!(
            k.poll(),
            Poll::Ready(Some(deadlines::stream::KeepaliveItem::Injected('p')))
        );
        assert_eq!(k.poll(), Poll::Pending);
    });
}
