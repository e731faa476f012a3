//! `Watchdog::guard`: a timeout that other tasks extend (tokio issue 5368).

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{Probe, advance_to, ms};
use deadlines::Watchdog;
use futures_core::future::FusedFuture;
use tokio::time::{Instant, sleep};

#[tokio::test(start_paused = true)]
async fn the_future_finishing_first_wins() {
    let start = Instant::now();
    let out = Watchdog::new(ms(100))
        .guard(async {
            sleep(ms(99)).await;
            "done"
        })
        .await;
    assert_eq!(out, Ok("done"));
    assert_eq!(Instant::now(), start + ms(99));
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_expiring_first_drops_the_future_at_the_exact_instant() {
    let start = Instant::now();
    let out = Watchdog::new(ms(100)).guard(sleep(ms(101))).await;
    assert_eq!(out.unwrap_err().deadline(), start + ms(100));
    assert_eq!(Instant::now(), start + ms(100));
}

#[tokio::test(start_paused = true)]
async fn heartbeats_from_another_task_extend_the_timeout() {
    let start = Instant::now();
    let watchdog = Watchdog::new(ms(100));
    let hb = watchdog.heartbeat();
    tokio::spawn(async move {
        for _ in 0..5 {
            sleep(ms(80)).await;
            hb.beat();
        }
    });
    // Without the beats this would time out at 100 ms; the last beat is at 400 ms.
    let out = watchdog.guard(sleep(ms(450))).await;
    assert_eq!(out, Ok(()));
    assert_eq!(Instant::now(), start + ms(450));

    let watchdog = Watchdog::new(ms(100));
    let hb = watchdog.heartbeat();
    let beats = tokio::spawn(async move {
        for _ in 0..3 {
            sleep(ms(80)).await;
            hb.beat();
        }
    });
    let out = watchdog.guard(std::future::pending::<()>()).await;
    assert_eq!(out.unwrap_err().deadline(), start + ms(450 + 240 + 100));
    beats.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_stop_disables_the_timeout_and_the_future_runs_to_its_end() {
    let start = Instant::now();
    let watchdog = Watchdog::new(ms(100));
    let hb = watchdog.heartbeat();
    let mut g = Probe::new(watchdog.guard(sleep(ms(500))));
    assert!(g.poll().is_pending());
    advance_to(start, ms(50)).await;
    assert!(hb.stop());
    assert!(g.poll().is_pending());
    advance_to(start, ms(499)).await;
    assert!(g.poll().is_pending(), "no timeout any more");
    advance_to(start, ms(500)).await;
    assert_eq!(g.poll(), Poll::Ready(Ok(())));
}

#[tokio::test(start_paused = true)]
async fn polling_after_completion_returns_pending_and_polls_nothing() {
    let start = Instant::now();
    let mut g = Probe::new(Watchdog::new(ms(10)).guard(std::future::pending::<()>()));
    assert!(g.poll().is_pending());
    advance_to(start, ms(10)).await;
    assert!(matches!(g.poll(), Poll::Ready(Err(_))));
    assert!(g.get_ref().is_terminated());
    assert!(g.poll().is_pending());

    let mut g = Probe::new(Watchdog::new(ms(10)).guard(async { 5 }));
    assert_eq!(g.poll(), Poll::Ready(Ok(5)));
    assert!(
        g.poll().is_pending(),
        "the finished future is not polled again"
    );
}

#[tokio::test(start_paused = true)]
async fn a_future_that_exhausts_the_coop_budget_cannot_starve_the_timeout() {
    let start = Instant::now();
    // Always runnable: it spends the whole budget on every poll, then yields.
    let busy = async {
        loop {
            tokio::task::consume_budget().await;
        }
    };
    let task = tokio::spawn(Watchdog::new(ms(100)).guard(busy));
    // Let it run (and arm its timer) before the instant.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!task.is_finished());
    // A busy runtime never idles, so the paused clock moves only by hand.
    tokio::time::advance(ms(100)).await;
    for _ in 0..1_000 {
        if task.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(task.is_finished(), "the timeout starved");
    let expired = task.await.unwrap().unwrap_err();
    assert_eq!(expired.deadline(), start + ms(100));
}

#[tokio::test(start_paused = true)]
async fn accessors_reach_the_future() {
    let watchdog = Watchdog::new(Duration::from_secs(1));
    let g = watchdog.guard(std::future::ready(3));
    assert_eq!(g.get_ref().clone().await, 3);
    assert!(format!("{g:?}").starts_with("Guarded { watchdog: Watchdog"));
}
