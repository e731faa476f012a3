//! Each numbered `Deadline` rule, pinned at the exact instant on a paused clock.

mod common;

use std::task::Poll;

use common::{Probe, advance_to, ms};
use deadlines::{Deadline, Expired};
use futures_core::future::FusedFuture;
use tokio::time::Instant;

// Rule 1: an armed deadline yields `Expired` exactly once, at its instant, then is disarmed.

#[tokio::test(start_paused = true)]
async fn fires_at_the_exact_millisecond_and_not_before() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());

    advance_to(start, ms(99)).await;
    assert_eq!(d.wakes(), 0);
    assert!(d.poll().is_pending());

    advance_to(start, ms(100)).await;
    assert_eq!(d.wakes(), 1);
    let expired = match d.poll() {
        Poll::Ready(expired) => expired,
        Poll::Pending => panic!("pending at its instant"),
    };
    assert_eq!(expired.deadline(), start + ms(100));
    assert!(!d.get_ref().is_armed());
    assert!(d.get_ref().is_terminated());
    assert_eq!(d.get_ref().deadline(), None);
}

#[tokio::test(start_paused = true)]
async fn polls_after_delivery_stay_pending_and_nothing_wakes() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(10)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(d.poll().is_ready());

    for _ in 0..3 {
        assert!(d.poll().is_pending());
    }
    advance_to(start, ms(3_600_000)).await;
    assert_eq!(
        d.wakes(),
        1,
        "the delivered expiry woke once, nothing since"
    );
    assert!(d.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn a_select_loop_does_not_spin_after_the_timeout() {
    let start = Instant::now();
    let deadline = Deadline::after(ms(100));
    let end = tokio::time::sleep(ms(1_000));
    tokio::pin!(deadline, end);

    let mut expiries = Vec::new();
    let mut iterations = 0;
    loop {
        iterations += 1;
        assert!(iterations < 100, "the loop spins");
        tokio::select! {
            biased;
            expired = &mut deadline => expiries.push(expired.deadline() - start),
            () = &mut end => break,
        }
    }
    assert_eq!(expiries, [ms(100)]);
    assert_eq!(iterations, 2, "one timeout, then the end");
    assert_eq!(Instant::now(), start + ms(1_000));
}

#[tokio::test(start_paused = true)]
async fn awaiting_resolves_with_the_instant_reached() {
    let start = Instant::now();
    let expired: Expired = Deadline::after(ms(42)).await;
    assert_eq!(expired.deadline(), start + ms(42));
    assert_eq!(Instant::now(), start + ms(42));
}

// Rule 2: reset arms anew; it returns whether an undelivered expiry was pending; the earlier
// arming is never observed afterwards.

#[tokio::test(start_paused = true)]
async fn reset_before_the_instant_moves_it_and_returns_true() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());

    advance_to(start, ms(60)).await;
    assert!(d.get().reset(ms(100)));
    assert_eq!(d.get_ref().deadline(), Some(start + ms(160)));

    advance_to(start, ms(159)).await;
    assert!(d.poll().is_pending(), "the first arming is gone");
    advance_to(start, ms(160)).await;
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(160)));
}

#[tokio::test(start_paused = true)]
async fn reset_after_an_unobserved_expiry_returns_true_and_the_old_expiry_is_never_seen() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());

    advance_to(start, ms(250)).await;
    assert_eq!(d.wakes(), 1, "the timer fired");
    assert!(d.get().reset(ms(100)), "an undelivered expiry was pending");
    assert!(d.poll().is_pending(), "the stale expiry is not delivered");

    advance_to(start, ms(349)).await;
    assert!(d.poll().is_pending());
    advance_to(start, ms(350)).await;
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(350)));
    assert!(d.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn reset_in_the_same_millisecond_as_the_expiry() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());

    advance_to(start, ms(100)).await;
    // The instant is reached but no poll observed it: the reset wins.
    assert!(d.get().reset(ms(100)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(200)).await;
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(200)));
}

#[tokio::test(start_paused = true)]
async fn reset_at_the_current_instant_delivers_the_new_arming_once() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(100)).await;

    assert!(d.get().reset_at(start + ms(100)));
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(100)));
    assert!(d.poll().is_pending(), "one arming, one expiry");
}

#[tokio::test(start_paused = true)]
async fn reset_after_delivery_returns_false_and_arms_again() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(10)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(d.poll().is_ready());

    assert!(!d.get().reset(ms(30)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(39)).await;
    assert!(d.poll().is_pending());
    advance_to(start, ms(40)).await;
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(40)));
}

#[tokio::test(start_paused = true)]
async fn reset_of_a_disarmed_deadline_returns_false_and_arms_it() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::disarmed());
    assert!(d.get_ref().is_terminated());
    assert!(d.poll().is_pending());
    assert!(!d.get().reset(ms(5)));
    assert!(!d.get_ref().is_terminated());
    assert!(d.poll().is_pending());
    advance_to(start, ms(5)).await;
    assert_eq!(d.wakes(), 1);
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(5)));
}

#[tokio::test(start_paused = true)]
async fn reset_to_an_earlier_instant_fires_there() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(d.get().reset(ms(20)));
    assert!(d.poll().is_pending());

    advance_to(start, ms(29)).await;
    assert_eq!(d.wakes(), 0);
    advance_to(start, ms(30)).await;
    assert_eq!(d.wakes(), 1);
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(30)));
    advance_to(start, ms(200)).await;
    assert_eq!(d.wakes(), 1, "the first instant left no timer behind");
}

#[tokio::test(start_paused = true)]
async fn reset_to_an_earlier_instant_wakes_there_without_another_poll() {
    // The owner of a deadline polled once (as `FuturesUnordered` does, which polls again only
    // what was woken) moves it earlier and waits: the timer must already point there.
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());
    assert!(d.get().reset(ms(20)));
    advance_to(start, ms(19)).await;
    assert_eq!(d.wakes(), 0);
    advance_to(start, ms(20)).await;
    assert_eq!(
        d.wakes(),
        1,
        "woken at the earlier instant, not at the first one"
    );
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(20)));
}

// Rule 3: stop disarms, returning true exactly when it prevented a delivery.

#[tokio::test(start_paused = true)]
async fn stop_before_the_instant_prevents_the_expiry() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(50)).await;
    assert!(d.get().stop());
    assert!(!d.get().stop(), "already stopped");
    assert!(d.get_ref().is_terminated());
    assert_eq!(d.get_ref().remaining(), None);

    advance_to(start, ms(100)).await;
    assert!(d.poll().is_pending());
    advance_to(start, ms(10_000)).await;
    assert!(d.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn stop_after_the_instant_passed_but_before_the_poll_returns_true() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(100)).await;
    assert_eq!(d.wakes(), 1, "the timer fired");

    assert!(d.get().stop(), "the expiry had not been delivered");
    for _ in 0..3 {
        assert!(d.poll().is_pending());
    }
    advance_to(start, ms(10_000)).await;
    assert!(d.poll().is_pending(), "nothing is ever delivered");
}

#[tokio::test(start_paused = true)]
async fn stop_after_delivery_returns_false() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(1)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(1)).await;
    assert!(d.poll().is_ready());
    assert!(!d.get().stop());
    assert!(!Deadline::disarmed().is_armed());
}

#[tokio::test(start_paused = true)]
async fn stop_then_reset_arms_a_fresh_window() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(100)).await;
    assert!(d.get().stop());
    assert!(!d.get().reset(ms(100)), "stopped: nothing was pending");
    assert!(d.poll().is_pending());
    advance_to(start, ms(200)).await;
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(200)));
}

// Rule 4: pushing the deadline later does not re-arm the timer each time.

#[tokio::test(start_paused = true)]
async fn heartbeat_resets_cause_at_most_one_wakeup_before_the_new_deadline() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());

    // Nine heartbeats, each pushing the deadline later; the last one sets it to 190 ms.
    for t in (10..=90).step_by(10) {
        advance_to(start, ms(t)).await;
        assert!(d.get().reset(ms(100)));
    }
    assert_eq!(d.wakes(), 0);

    // The timer still holds the first instant: it fires once, the poll sleeps again.
    advance_to(start, ms(100)).await;
    assert_eq!(d.wakes(), 1);
    assert!(d.poll().is_pending());

    advance_to(start, ms(189)).await;
    assert_eq!(d.wakes(), 1);
    advance_to(start, ms(190)).await;
    assert_eq!(d.wakes(), 2);
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(190)));
}

#[tokio::test(start_paused = true)]
async fn remaining_counts_down_to_zero() {
    let start = Instant::now();
    let d = Deadline::after(ms(100));
    assert_eq!(d.remaining(), Some(ms(100)));
    advance_to(start, ms(30)).await;
    assert_eq!(d.remaining(), Some(ms(70)));
    advance_to(start, ms(130)).await;
    assert_eq!(
        d.remaining(),
        Some(ms(0)),
        "passed but not observed: still armed"
    );
    assert!(d.is_armed());
}

#[tokio::test(start_paused = true)]
async fn the_expiry_says_how_late_it_was_observed() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(10)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(37)).await;
    match d.poll() {
        Poll::Ready(expired) => {
            assert_eq!(expired.deadline(), start + ms(10));
            assert_eq!(expired.overdue(), ms(27), "observed at 37 ms, due at 10 ms");
        }
        Poll::Pending => panic!("due"),
    }
    assert!(!d.get().reset(ms(5)), "delivered: nothing was pending");
    assert!(d.poll().is_pending());
    advance_to(start, ms(42)).await;
    assert_eq!(d.poll().map(|e| e.overdue()), Poll::Ready(ms(0)));
}
