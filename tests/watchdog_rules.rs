//! Each numbered `Watchdog` rule, pinned at the exact instant on a paused clock.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::Poll;
use std::time::Duration;

use common::{Probe, advance_to, ms};
use deadlines::{Stopped, Watchdog};
use futures_core::future::FusedFuture;
use tokio::time::Instant;

fn expired_at<E>(poll: Poll<Result<deadlines::Expired, E>>) -> Option<Instant> {
    match poll {
        Poll::Ready(Ok(expired)) => Some(expired.deadline()),
        _ => None,
    }
}

// Rule 1: it expires when Tokio time reaches last beat + timeout, once per arming.

#[tokio::test(start_paused = true)]
async fn expires_at_creation_plus_timeout_to_the_millisecond() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    assert!(w.poll().is_pending());
    advance_to(start, ms(99)).await;
    assert_eq!(w.wakes(), 0);
    assert!(w.poll().is_pending());
    advance_to(start, ms(100)).await;
    assert_eq!(w.wakes(), 1);
    assert_eq!(expired_at(w.poll()), Some(start + ms(100)));
    assert!(w.get_ref().is_terminated());
}

#[tokio::test(start_paused = true)]
async fn expires_at_last_beat_plus_timeout() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(30)).await;
    assert!(hb.beat());
    advance_to(start, ms(80)).await;
    assert!(hb.beat());
    assert_eq!(w.get_ref().deadline(), Some(start + ms(180)));

    advance_to(start, ms(179)).await;
    assert!(w.poll().is_pending());
    advance_to(start, ms(180)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(180)));
}

#[tokio::test(start_paused = true)]
async fn resolves_once_per_arming_and_polls_after_stay_pending() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(10)));
    assert!(w.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(w.poll().is_ready());
    for _ in 0..3 {
        assert!(w.poll().is_pending());
    }
    advance_to(start, ms(10_000)).await;
    assert_eq!(w.wakes(), 1, "nothing wakes a delivered watchdog");
    assert!(w.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn a_select_loop_does_not_spin_after_the_expiry() {
    let start = Instant::now();
    let watchdog = Watchdog::new(ms(100));
    let end = tokio::time::sleep(ms(1_000));
    tokio::pin!(watchdog, end);
    let mut outcomes = Vec::new();
    let mut iterations = 0;
    loop {
        iterations += 1;
        assert!(iterations < 100, "the loop spins");
        tokio::select! {
            biased;
            outcome = &mut watchdog => outcomes.push(outcome.map(|e| e.deadline() - start)),
            () = &mut end => break,
        }
    }
    assert_eq!(outcomes, [Ok(ms(100))]);
    assert_eq!(iterations, 2);
}

// Rule 2: a beat returns whether it counted.

#[tokio::test(start_paused = true)]
async fn beats_return_false_after_expiry_stop_or_drop() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(10)));
    let hb = w.get_ref().heartbeat();
    assert!(hb.beat());
    advance_to(start, ms(10)).await;
    assert!(w.poll().is_ready());
    assert!(!hb.beat(), "expired");

    let w = Watchdog::new(ms(10));
    let hb = w.heartbeat();
    assert!(hb.stop());
    assert!(!hb.beat(), "stopped");

    let w = Watchdog::new(ms(10));
    let hb = w.heartbeat();
    drop(w);
    assert!(!hb.beat(), "dropped");
}

// Rule 3: exactly one outcome per arming.

#[tokio::test(start_paused = true)]
async fn stop_after_the_instant_but_before_the_poll_wins() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(100)).await;
    assert_eq!(
        w.wakes(),
        1,
        "the timer fired; the expiry is not yet decided"
    );
    assert!(hb.stop(), "the stop prevented the expiry");
    assert!(matches!(w.poll(), Poll::Ready(Err(Stopped { .. }))));
    assert!(!hb.stop());
    assert!(w.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn stop_after_the_expiry_was_delivered_returns_false() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(100)).await;
    assert!(expired_at(w.poll()).is_some());
    assert!(!hb.stop());
}

/// Rounds of the race below. Measured on a 2-core machine, 20 runs beside a build and 20 with
/// two more busy loops: each order won at least 71 rounds of every run (the test asks for 20,
/// a twentieth), and a run took 0.05 to 0.4 s, 1.9 s at most when loaded.
const RACE_ROUNDS: usize = 400;

#[tokio::test(start_paused = true)]
async fn stop_racing_the_expiry_on_another_thread_gives_exactly_one_outcome() {
    // A zero timeout is due at once: the first poll decides the expiry, unless a `stop` is in
    // first. That poll, here, races a `stop` on a plain thread, and no order is imposed. In
    // each round one side, once at the start, spins until the other gives the go; then one
    // of them waits some spins and both act. The sides take turns giving the go. Each giver
    // has a lead, the spins the waiter waits (negative: the giver waits), which grows after
    // a round the giver lost and shrinks after one it won. On two free cores the leads settle
    // where the two act within nanoseconds of each other, whatever the speed of the machine
    // and the build, and either wins; when the two share a core, the giver acts before the
    // waiter is scheduled, and each order wins the rounds of its own giver. Every round must
    // have exactly one outcome, and each order must have won many rounds.
    let (mut expired, mut stopped) = (0, 0);
    // The lead of each giver: the stop, and the poll.
    let mut leads = [0i32; 2];
    for round in 0..RACE_ROUNDS {
        let poll_gives = round % 2 == 1;
        let lead = leads[usize::from(poll_gives)];
        let giver_waits = lead.min(0).unsigned_abs();
        let waiter_waits = lead.max(0).unsigned_abs();
        let mut w = Probe::new(Watchdog::new(Duration::ZERO));
        let hb = w.get_ref().heartbeat();
        let start = Arc::new(AtomicU8::new(AWAY));
        let stopper = std::thread::spawn({
            let start = start.clone();
            move || {
                if poll_gives {
                    wait_for_go(&start);
                    spin(waiter_waits);
                } else {
                    give_go(&start);
                    spin(giver_waits);
                }
                hb.stop()
            }
        });
        if poll_gives {
            give_go(&start);
            spin(giver_waits);
        } else {
            wait_for_go(&start);
            spin(waiter_waits);
        }
        let outcome = w.poll();
        let prevented = stopper.join().unwrap();
        let poll_won = match outcome {
            Poll::Ready(Ok(_)) => {
                assert!(
                    !prevented,
                    "round {round}: expired, and the stop prevented it"
                );
                expired += 1;
                true
            }
            Poll::Ready(Err(Stopped { .. })) => {
                assert!(
                    prevented,
                    "round {round}: stopped, but no stop prevented the expiry"
                );
                stopped += 1;
                false
            }
            Poll::Pending => panic!("round {round}: a zero timeout is due at the first poll"),
        };
        leads[usize::from(poll_gives)] += if poll_won == poll_gives { -1 } else { 1 };
    }
    assert!(
        expired >= RACE_ROUNDS / 20 && stopped >= RACE_ROUNDS / 20,
        "one order nearly always won: {expired} expiries and {stopped} stops in {RACE_ROUNDS} \
         rounds (leads {leads:?})"
    );
}

/// The start of a race: the waiter is not there yet, is there, or has been given the go.
const AWAY: u8 = 0;
const READY: u8 = 1;
const GO: u8 = 2;

/// The waiter's side: arrives, then spins until the giver gives the go.
fn wait_for_go(start: &AtomicU8) {
    start.store(READY, Ordering::SeqCst);
    spin_until(|| start.load(Ordering::SeqCst) == GO);
}

/// The giver's side: spins until the waiter is there, then gives the go.
fn give_go(start: &AtomicU8) {
    spin_until(|| start.load(Ordering::SeqCst) == READY);
    start.store(GO, Ordering::SeqCst);
}

/// Spins until `done()`, yielding now and then in case the other side needs this core.
fn spin_until(done: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !done() {
        spins += 1;
        if spins.is_multiple_of(1_024) {
            std::thread::yield_now();
        }
        std::hint::spin_loop();
    }
}

/// Spins `n` times: a delay without a clock.
fn spin(n: u32) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

// Rule 4: stop and a shortening set_timeout wake the watchdog task; nothing else does.

#[tokio::test(start_paused = true)]
async fn stop_wakes_the_watchdog_task() {
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    assert!(hb.stop());
    assert_eq!(w.wakes(), 1);
    assert!(matches!(w.poll(), Poll::Ready(Err(_))));
}

#[tokio::test(start_paused = true)]
async fn a_shortened_timeout_wakes_the_task_and_a_lengthened_one_does_not() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());

    assert!(hb.set_timeout(ms(300)));
    assert_eq!(w.wakes(), 0, "lengthening wakes nobody");
    assert_eq!(w.get_ref().deadline(), Some(start + ms(300)));
    assert!(hb.set_timeout(ms(300)));
    assert_eq!(w.wakes(), 0, "the same timeout again wakes nobody");

    advance_to(start, ms(20)).await;
    assert!(hb.set_timeout(ms(50)));
    assert_eq!(w.wakes(), 1, "shortening wakes the task");
    assert!(w.poll().is_pending());
    advance_to(start, ms(49)).await;
    assert!(w.poll().is_pending());
    advance_to(start, ms(50)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(50)));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_shortened_below_the_time_since_the_last_beat_expires_at_the_next_poll() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(60)).await;
    assert!(hb.set_timeout(ms(40)));
    assert_eq!(w.wakes(), 1);
    assert_eq!(expired_at(w.poll()), Some(start + ms(40)));
}

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_beats_wake_the_watchdog_task_zero_times() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(1_000)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    // 10^5 beats spread over 900 ms, all inside the first window.
    for i in 0..100_000u64 {
        if i % 1_000 == 0 {
            advance_to(start, Duration::from_micros(i * 9)).await;
        }
        assert!(hb.beat());
    }
    assert_eq!(w.wakes(), 0);
    let last_beat = start + Duration::from_micros(99_000 * 9);
    assert_eq!(w.get_ref().deadline(), Some(last_beat + ms(1_000)));
}

// Rule 5: dropping every heartbeat does not stop the watchdog.

#[tokio::test(start_paused = true)]
async fn dropping_every_heartbeat_does_not_stop_it() {
    let start = Instant::now();
    let watchdog = Watchdog::new(ms(100));
    let heartbeats: Vec<_> = (0..3).map(|_| watchdog.heartbeat()).collect();
    advance_to(start, ms(40)).await;
    assert!(heartbeats[1].beat());
    drop(heartbeats);
    let expired = watchdog.await.expect("silence is starvation: it fires");
    assert_eq!(expired.deadline(), start + ms(140));
    assert_eq!(Instant::now(), start + ms(140));
}

// Rule 6: the expiry is decided when observed; a beat before that counts.

#[tokio::test(start_paused = true)]
async fn a_beat_in_the_same_millisecond_as_the_expiry_counts() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(100)).await;
    assert_eq!(w.wakes(), 1, "the timer fired");
    assert!(hb.beat(), "not yet decided: the beat counts");
    assert!(w.poll().is_pending(), "and restarts the window");
    advance_to(start, ms(199)).await;
    assert!(w.poll().is_pending());
    advance_to(start, ms(200)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(200)));
}

#[tokio::test(start_paused = true)]
async fn a_beat_long_after_the_instant_but_before_the_poll_counts() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(150)).await;
    assert!(hb.beat());
    assert!(w.poll().is_pending());
    advance_to(start, ms(250)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(250)));
}

// Rule 7 and cross-task use: beats from several tasks of the runtime.

#[tokio::test(start_paused = true)]
async fn beats_from_several_tasks_all_count() {
    let start = Instant::now();
    let watchdog = Watchdog::new(ms(100));
    let beaters: Vec<_> = [(30, 5), (70, 3), (45, 4)]
        .into_iter()
        .map(|(every, times)| {
            let hb = watchdog.heartbeat();
            tokio::spawn(async move {
                let mut beats = Vec::new();
                for _ in 0..times {
                    tokio::time::sleep(ms(every)).await;
                    beats.push((Instant::now() - start, hb.beat()));
                }
                beats
            })
        })
        .collect();
    // Last beats: 150 ms, 210 ms and 180 ms. The latest wins.
    let expired = watchdog.await.unwrap();
    assert_eq!(expired.deadline(), start + ms(310));
    assert_eq!(Instant::now(), start + ms(310));

    // Every beat, from every task, counted: each returned `true`, at its own instant.
    let mut beats = Vec::new();
    for beater in beaters {
        beats.push(beater.await.unwrap());
    }
    let counted = |every: u64, times: u64| {
        (1..=times)
            .map(|i| (ms(every * i), true))
            .collect::<Vec<_>>()
    };
    assert_eq!(beats, [counted(30, 5), counted(70, 3), counted(45, 4)]);
}

#[tokio::test(start_paused = true)]
async fn rearm_after_an_expiry_and_after_a_stop_opens_a_fresh_window() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(100)).await;
    assert!(expired_at(w.poll()).is_some());

    advance_to(start, ms(130)).await;
    w.get().rearm();
    assert!(!w.get_ref().is_terminated());
    assert!(w.poll().is_pending());
    assert_eq!(w.get_ref().deadline(), Some(start + ms(230)));
    advance_to(start, ms(230)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(230)));

    assert!(!hb.beat(), "a heartbeat of the first life stays ended");
    w.get().rearm();
    let second = w.get_ref().heartbeat();
    assert!(second.stop());
    assert!(matches!(w.poll(), Poll::Ready(Err(_))));
    w.get().rearm();
    assert!(!second.beat(), "a stopped life is never revived");
    assert!(!hb.beat());
    assert!(w.poll().is_pending());
    advance_to(start, ms(330)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(330)));
}

#[tokio::test(start_paused = true)]
async fn rearm_during_a_life_keeps_its_heartbeats_and_after_an_unobserved_stop_discards_it() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    let hb = w.get_ref().heartbeat();
    assert!(w.poll().is_pending());
    advance_to(start, ms(40)).await;
    w.get().rearm(); // during the life: a restart
    assert!(hb.beat(), "the life goes on with its heartbeats");
    assert_eq!(w.get_ref().deadline(), Some(start + ms(140)));

    // The window's instant passed unobserved: no outcome yet, so still a restart (rule 6).
    advance_to(start, ms(200)).await;
    w.get().rearm();
    assert!(hb.beat());
    assert_eq!(w.get_ref().deadline(), Some(start + ms(300)));

    // A stop not yet observed by a poll ends the life; the rearm discards its outcome.
    assert!(hb.stop());
    w.get().rearm();
    assert!(!hb.beat() && !hb.stop() && !hb.set_timeout(ms(1)));
    assert_eq!(hb.remaining(), None);
    assert!(
        w.poll().is_pending(),
        "no Err(Stopped) for a discarded outcome"
    );
    assert_eq!(
        w.get_ref().deadline(),
        Some(start + ms(300)),
        "the timeout carries over"
    );
    advance_to(start, ms(300)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(300)));
}

#[tokio::test(start_paused = true)]
async fn rearm_while_armed_restarts_the_window() {
    let start = Instant::now();
    let mut w = Probe::new(Watchdog::new(ms(100)));
    assert!(w.poll().is_pending());
    advance_to(start, ms(60)).await;
    w.get().rearm();
    assert!(w.poll().is_pending());
    advance_to(start, ms(159)).await;
    assert!(w.poll().is_pending());
    advance_to(start, ms(160)).await;
    assert_eq!(expired_at(w.poll()), Some(start + ms(160)));
}

#[tokio::test(start_paused = true)]
async fn a_stop_wakes_the_task_that_polled_last() {
    // The watchdog moves to another task (another waker) between polls: a stop must wake the
    // task that now waits on it, not the one that polled before.
    use std::future::Future;
    use std::task::Context;

    let (first, first_wakes) = common::counting_waker();
    let (second, second_wakes) = common::counting_waker();
    let mut watchdog = Box::pin(Watchdog::new(ms(100)));
    let hb = watchdog.heartbeat();
    let poll_with = |watchdog: &mut std::pin::Pin<Box<Watchdog>>, waker| {
        watchdog.as_mut().poll(&mut Context::from_waker(waker))
    };
    assert!(poll_with(&mut watchdog, &first).is_pending());
    assert!(poll_with(&mut watchdog, &second).is_pending());
    assert!(hb.stop());
    assert_eq!((first_wakes(), second_wakes()), (0, 1));
    assert!(matches!(
        poll_with(&mut watchdog, &second),
        Poll::Ready(Err(_))
    ));
}
