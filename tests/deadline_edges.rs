//! `Deadline` at the edges: zero and huge durations, past and extreme instants, and Tokio's
//! millisecond rounding.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{Probe, advance_to, max_instant, ms, us};
use deadlines::Deadline;
use tokio::time::Instant;

const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);

#[tokio::test(start_paused = true)]
async fn zero_duration_fires_at_the_first_poll_without_time_passing() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(Duration::ZERO));
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start));
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn reset_to_zero_fires_at_the_next_poll() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(100)));
    assert!(d.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(d.get().reset(Duration::ZERO));
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(10)));
}

#[tokio::test(start_paused = true)]
async fn an_instant_in_the_past_fires_at_the_first_poll() {
    let start = Instant::now();
    advance_to(start, ms(500)).await;
    let past = start + ms(200);
    let mut d = Probe::new(Deadline::at(past));
    assert_eq!(d.get_ref().remaining(), Some(Duration::ZERO));
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(past));

    // The same through `reset_at`, on an armed deadline whose timer is far out.
    let mut d = Probe::new(Deadline::after(ms(1_000)));
    assert!(d.poll().is_pending());
    assert!(d.get().reset_at(past));
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(past));
}

#[tokio::test(start_paused = true)]
async fn duration_max_saturates_to_thirty_years_and_never_fires() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(Duration::MAX));
    assert_eq!(d.get_ref().deadline(), Some(start + THIRTY_YEARS));
    assert!(d.poll().is_pending());
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert!(d.poll().is_pending());
    assert_eq!(d.wakes(), 0);

    assert!(d.get().reset(Duration::MAX));
    let now = Instant::now();
    assert_eq!(d.get_ref().deadline(), Some(now + THIRTY_YEARS));
    assert_eq!(d.get_ref().remaining(), Some(THIRTY_YEARS));
    assert!(d.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn the_largest_instant_is_accepted_and_never_fires() {
    let start = Instant::now();
    let max = max_instant();

    let mut d = Probe::new(Deadline::at(max));
    assert_eq!(d.get_ref().deadline(), Some(max));
    assert!(d.poll().is_pending());

    let mut d = Probe::new(Deadline::after(ms(10)));
    assert!(d.poll().is_pending());
    assert!(d.get().reset_at(max));
    advance_to(start, ms(10)).await;
    assert_eq!(d.wakes(), 1, "the old timer fired early");
    assert!(d.poll().is_pending(), "and the deadline slept again");
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert!(d.poll().is_pending());
    assert_eq!(d.get_ref().deadline(), Some(max));
    assert!(d.get().stop());
}

#[tokio::test(start_paused = true)]
async fn a_sub_millisecond_deadline_fires_at_the_next_whole_millisecond() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(us(1_500)));
    assert!(d.poll().is_pending());

    advance_to(start, us(1_500)).await;
    assert!(d.poll().is_pending(), "the timer wheel rounds up to 2 ms");
    advance_to(start, us(1_999)).await;
    assert_eq!(d.wakes(), 0);
    assert!(d.poll().is_pending());
    advance_to(start, ms(2)).await;
    assert_eq!(d.wakes(), 1);
    assert_eq!(
        d.poll().map(|e| e.deadline()),
        Poll::Ready(start + us(1_500))
    );
}

#[tokio::test(start_paused = true)]
async fn a_deadline_pushed_later_within_a_millisecond_rounds_the_same_way() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(1)));
    assert!(d.poll().is_pending());
    assert!(d.get().reset(us(1_500))); // later: the timer keeps its 1 ms

    advance_to(start, ms(1)).await;
    assert_eq!(d.wakes(), 1, "the timer fired early");
    assert!(d.poll().is_pending(), "1.5 ms is not reached");
    advance_to(start, us(1_999)).await;
    assert!(d.poll().is_pending(), "nor is its millisecond");
    advance_to(start, ms(2)).await;
    assert_eq!(d.wakes(), 2);
    assert_eq!(
        d.poll().map(|e| e.deadline()),
        Poll::Ready(start + us(1_500))
    );
}

#[tokio::test(start_paused = true)]
async fn an_exact_millisecond_deadline_fires_on_that_millisecond() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(2)));
    assert!(d.poll().is_pending());
    advance_to(start, us(1_999)).await;
    assert!(d.poll().is_pending());
    advance_to(start, ms(2)).await;
    assert!(d.poll().is_ready());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_pushed_later_after_its_instant_passed_unobserved() {
    let start = Instant::now();
    let mut d = Probe::new(Deadline::after(ms(10)));
    assert!(d.poll().is_pending());
    assert!(d.get().reset(ms(20)));
    advance_to(start, ms(50)).await;
    // Both the timer's instant (10 ms) and the true one (20 ms) have passed: one poll delivers.
    assert_eq!(d.poll().map(|e| e.deadline()), Poll::Ready(start + ms(20)));
}
