//! Each rule of `Shutdown::drain`, pinned at the exact instant on a paused clock.
#![cfg(feature = "shutdown")]

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Probe, advance_to, let_tasks_run, ms, without_hanging};
use deadlines::{DrainReport, Shutdown, TaskExit, TaskSet};
use tokio::time::{Instant, sleep};

/// A task that winds down for `wind_down` once the shutdown is triggered.
fn polite(shutdown: &Shutdown, wind_down: Duration) -> impl Future<Output = ()> + Send + 'static {
    let triggered = shutdown.triggered();
    async move {
        triggered.await;
        sleep(wind_down).await;
    }
}

/// Set when the value is dropped: shows that an aborted task's future was dropped.
#[derive(Clone, Default)]
struct Dropped(Arc<AtomicBool>);

impl Dropped {
    fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }
    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A task that ignores the trigger; `dropped` is set when it is aborted.
fn deaf(dropped: &Dropped) -> impl Future<Output = ()> + Send + 'static {
    let guard = dropped.guard();
    async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    }
}

fn counting_hook(shutdown: &Shutdown) -> Arc<AtomicUsize> {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    assert!(shutdown.on_cleanup(move || async move {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    runs
}

// Everything finishes in time: the drain ends with the last task, and names them in spawn order.

#[tokio::test(start_paused = true)]
async fn drain_ends_when_the_last_task_ends_and_names_tasks_in_spawn_order() {
    let shutdown = Shutdown::new();
    shutdown.spawn("a", polite(&shutdown, ms(30)));
    shutdown.spawn("b", polite(&shutdown, ms(120)));
    shutdown.spawn("c", polite(&shutdown, ms(80)));
    let hook = counting_hook(&shutdown);

    let start = Instant::now();
    let report = without_hanging(shutdown.drain(ms(500))).await;
    assert_eq!(Instant::now(), start + ms(120));
    assert_eq!(
        report.finished,
        ["a", "b", "c"],
        "spawn order, not end order"
    );
    assert!(report.aborted.is_empty() && report.panicked.is_empty());
    assert_eq!(report.elapsed, ms(120));
    assert_eq!((report.hooks_run, report.hooks_panicked), (1, 0));
    assert!(!report.forced);
    assert!(report.is_clean());
    assert_eq!(hook.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn drain_with_nothing_to_wait_for_ends_at_once() {
    let shutdown = Shutdown::new();
    let hook = counting_hook(&shutdown);
    let start = Instant::now();
    let report = without_hanging(shutdown.drain(ms(500))).await;
    assert_eq!(Instant::now(), start);
    assert_eq!(report.elapsed, Duration::ZERO);
    assert!(report.finished.is_empty() && report.is_clean());
    assert_eq!(hook.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn drain_triggers_the_shutdown() {
    let shutdown = Shutdown::new();
    let token = shutdown.token();
    assert!(!shutdown.is_triggered());
    let mut drain = Probe::new(shutdown.drain(ms(100)));
    assert!(
        drain.poll().is_pending(),
        "the drain runs in a task of its own"
    );
    assert!(
        shutdown.is_triggered() && token.is_cancelled(),
        "at the first poll"
    );
    assert!(!shutdown.trigger(), "the drain was the trigger");
    without_hanging(drain.get()).await;
}

// Stragglers are aborted, named and dropped at exactly the grace instant.

#[tokio::test(start_paused = true)]
async fn stragglers_are_aborted_and_named_at_exactly_the_grace_instant() {
    let shutdown = Shutdown::new();
    let (deaf_dropped, late_dropped) = (Dropped::default(), Dropped::default());
    shutdown.spawn("in-time", polite(&shutdown, ms(100)));
    shutdown.spawn("deaf", deaf(&deaf_dropped));
    shutdown.spawn("one-ms-short", polite(&shutdown, ms(499)));
    shutdown.spawn("one-ms-late", {
        let polite = polite(&shutdown, ms(501));
        let guard = late_dropped.guard();
        async move {
            let _guard = guard;
            polite.await;
        }
    });
    let hook = counting_hook(&shutdown);

    let start = Instant::now();
    let mut drain = Probe::new(shutdown.drain(ms(500)));
    assert!(drain.poll().is_pending());
    let_tasks_run().await;
    advance_to(start, ms(499)).await;
    let_tasks_run().await;
    assert!(drain.poll().is_pending());
    assert!(!deaf_dropped.get() && !late_dropped.get());
    assert_eq!(
        hook.load(Ordering::SeqCst),
        0,
        "no cleanup before the abort"
    );

    advance_to(start, ms(500)).await;
    let report = without_hanging(drain.get()).await;
    assert_eq!(
        Instant::now(),
        start + ms(500),
        "nothing waited past the grace"
    );
    assert_eq!(report.elapsed, ms(500));
    assert_eq!(report.finished, ["in-time", "one-ms-short"]);
    assert_eq!(report.aborted, ["deaf", "one-ms-late"]);
    assert!(!report.forced);
    assert!(deaf_dropped.get() && late_dropped.get());
    assert_eq!(hook.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn hooks_run_after_the_aborted_tasks_are_dropped_in_order() {
    let shutdown = Shutdown::new();
    let dropped = Dropped::default();
    shutdown.spawn("deaf", deaf(&dropped));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    for name in ["first", "second", "third"] {
        let (order, dropped) = (order.clone(), dropped.clone());
        shutdown.on_cleanup(move || async move {
            assert!(dropped.get(), "the aborted task was dropped before cleanup");
            sleep(ms(10)).await;
            order.lock().unwrap().push(name);
        });
    }
    let start = Instant::now();
    let report = without_hanging(shutdown.drain(ms(100))).await;
    assert_eq!(*order.lock().unwrap(), ["first", "second", "third"]);
    assert_eq!(report.hooks_run, 3);
    assert_eq!(
        report.elapsed,
        ms(130),
        "hooks run one at a time, after the grace"
    );
    assert_eq!(Instant::now(), start + ms(130));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_hook_is_counted_and_the_next_one_still_runs() {
    let shutdown = Shutdown::new();
    shutdown.on_cleanup(|| async { panic!("cleanup bug") });
    let after = counting_hook(&shutdown);
    let report = without_hanging(shutdown.drain(ms(100))).await;
    assert_eq!((report.hooks_run, report.hooks_panicked), (2, 1));
    assert_eq!(after.load(Ordering::SeqCst), 1);
    assert!(!report.is_clean());
}

#[tokio::test(start_paused = true)]
async fn a_hook_registered_after_the_hooks_ran_is_refused_and_not_run() {
    let shutdown = Shutdown::new();
    without_hanging(shutdown.drain(Duration::ZERO)).await;
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    assert!(!shutdown.on_cleanup(move || async move { flag.store(true, Ordering::SeqCst) }));
    assert_eq!(
        without_hanging(shutdown.drain(Duration::ZERO))
            .await
            .hooks_run,
        0
    );
    assert!(!ran.load(Ordering::SeqCst));
}

// Cleanup runs exactly once, however many tasks call drain.

#[tokio::test(start_paused = true)]
async fn cleanup_runs_exactly_once_under_concurrent_drains() {
    let shutdown = Shutdown::new();
    let hook = counting_hook(&shutdown);
    shutdown.spawn("deaf", deaf(&Dropped::default()));
    shutdown.spawn("polite", polite(&shutdown, ms(50)));

    let start = Instant::now();
    // The first call's grace is the one used.
    let mut first = Probe::new(shutdown.drain(ms(300)));
    assert!(first.poll().is_pending());
    let mut drains = tokio::task::JoinSet::new();
    for n in 0..20u64 {
        let shutdown = shutdown.clone();
        drains.spawn(async move {
            sleep(ms(n * 10)).await;
            without_hanging(shutdown.drain(ms(n))).await
        });
    }
    let report = without_hanging(first.get()).await;
    assert_eq!(Instant::now(), start + ms(300));
    assert_eq!(report.elapsed, ms(300));
    while let Some(other) = drains.join_next().await {
        assert_eq!(other.unwrap(), report);
    }
    assert_eq!(hook.load(Ordering::SeqCst), 1);
    assert_eq!(report.hooks_run, 1);
    assert_eq!(report.finished, ["polite"]);
    assert_eq!(report.aborted, ["deaf"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cleanup_runs_exactly_once_when_drains_race_on_threads() {
    for _ in 0..20 {
        let shutdown = Shutdown::new();
        let hook = counting_hook(&shutdown);
        for n in 0..8 {
            shutdown.spawn(format!("worker {n}"), shutdown.triggered());
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let mut drains = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (shutdown, barrier) = (shutdown.clone(), barrier.clone());
            drains.spawn(async move {
                barrier.wait().await;
                without_hanging(shutdown.drain(Duration::MAX)).await
            });
        }
        let reports: Vec<DrainReport> = drains.join_all().await;
        assert!(reports.iter().all(|report| *report == reports[0]));
        assert_eq!(hook.load(Ordering::SeqCst), 1);
        assert_eq!(reports[0].finished.len(), 8);
        assert!(reports[0].finished.windows(2).all(|w| {
            let n = |s: &str| s["worker ".len()..].parse::<u32>().unwrap();
            n(&w[0]) < n(&w[1])
        }));
    }
}

// Forcing.

#[tokio::test(start_paused = true)]
async fn force_cuts_the_wait_short_aborts_everything_and_still_cleans_up() {
    let shutdown = Shutdown::new();
    let dropped = Dropped::default();
    shutdown.spawn("quick", polite(&shutdown, ms(100)));
    shutdown.spawn("slow", polite(&shutdown, ms(1_000)));
    shutdown.spawn("deaf", deaf(&dropped));
    let hook = counting_hook(&shutdown);

    let start = Instant::now();
    let mut drain = Probe::new(shutdown.drain(ms(5_000)));
    assert!(drain.poll().is_pending());
    let_tasks_run().await;
    advance_to(start, ms(200)).await;
    assert!(drain.poll().is_pending());
    assert!(shutdown.force());
    assert!(!shutdown.force(), "forced once");
    let report = without_hanging(drain.get()).await;
    assert_eq!(Instant::now(), start + ms(200));
    assert_eq!(report.elapsed, ms(200));
    assert!(report.forced && shutdown.is_forced());
    assert_eq!(report.finished, ["quick"]);
    assert_eq!(report.aborted, ["slow", "deaf"]);
    assert_eq!(
        hook.load(Ordering::SeqCst),
        1,
        "forcing does not skip cleanup"
    );
    tokio::task::yield_now().await;
    assert!(dropped.get(), "the abort went out");
}

#[tokio::test(start_paused = true)]
async fn force_before_the_drain_makes_it_abort_without_waiting() {
    let shutdown = Shutdown::new();
    shutdown.spawn("slow", polite(&shutdown, ms(1_000)));
    shutdown.force();
    assert!(shutdown.is_triggered());
    let start = Instant::now();
    let report = without_hanging(shutdown.drain(ms(5_000))).await;
    assert_eq!(Instant::now(), start);
    assert!(report.forced);
    assert_eq!(report.aborted, ["slow"]);
}

#[tokio::test(start_paused = true)]
async fn force_after_everything_finished_is_not_reported_as_forced() {
    let shutdown = Shutdown::new();
    shutdown.spawn("quick", polite(&shutdown, ms(10)));
    let report = without_hanging(shutdown.drain(ms(100))).await;
    shutdown.force();
    assert!(!report.forced);
    assert_eq!(
        without_hanging(shutdown.drain(ms(100))).await,
        report,
        "the report does not change"
    );
}

// Tasks spawned after the trigger.

#[tokio::test(start_paused = true)]
async fn a_task_spawned_after_the_trigger_starts_triggered_and_is_waited_for() {
    let shutdown = Shutdown::new();
    shutdown.trigger();
    let saw_trigger_at_start = Arc::new(AtomicBool::new(false));
    let flag = saw_trigger_at_start.clone();
    let token = shutdown.token();
    shutdown.spawn("after-trigger", async move {
        flag.store(token.is_cancelled(), Ordering::SeqCst);
        sleep(ms(100)).await;
    });
    // And one spawned by another task while the drain waits.
    let spawner = shutdown.clone();
    tokio::spawn(async move {
        sleep(ms(30)).await;
        spawner.spawn("during-drain", polite(&spawner, ms(100)));
    });

    let start = Instant::now();
    let report = without_hanging(shutdown.drain(ms(500))).await;
    assert!(saw_trigger_at_start.load(Ordering::SeqCst));
    assert_eq!(report.finished, ["after-trigger", "during-drain"]);
    assert_eq!(report.elapsed, ms(130));
    assert_eq!(Instant::now(), start + ms(130));
}

#[tokio::test(start_paused = true)]
async fn a_task_spawned_during_the_grace_is_aborted_at_the_same_grace_instant() {
    let shutdown = Shutdown::new();
    shutdown.spawn("keeps-the-drain-waiting", polite(&shutdown, ms(450)));
    let spawner = shutdown.clone();
    tokio::spawn(async move {
        sleep(ms(400)).await;
        spawner.spawn("late-and-slow", polite(&spawner, ms(1_000)));
    });
    let start = Instant::now();
    let report = without_hanging(shutdown.drain(ms(500))).await;
    assert_eq!(report.finished, ["keeps-the-drain-waiting"]);
    assert_eq!(report.aborted, ["late-and-slow"]);
    assert_eq!(Instant::now(), start + ms(500));
}

#[tokio::test(start_paused = true)]
async fn the_drain_ends_when_the_work_is_done_and_a_task_spawned_later_is_aborted() {
    let shutdown = Shutdown::new();
    shutdown.spawn("quick", polite(&shutdown, ms(50)));
    let spawner = shutdown.clone();
    let late = tokio::spawn(async move {
        sleep(ms(100)).await;
        let handle = spawner.spawn("after-the-work", polite(&spawner, ms(10)));
        // Bounded, so that a task that is never aborted fails the test instead of hanging it.
        tokio::time::timeout(Duration::from_secs(3600), handle).await
    });
    let report = without_hanging(shutdown.drain(ms(500))).await;
    assert_eq!(
        report.elapsed,
        ms(50),
        "the drain does not wait for what may come"
    );
    assert!(
        late.await
            .unwrap()
            .expect("aborted, not left pending")
            .unwrap_err()
            .is_cancelled()
    );
    assert_eq!(
        without_hanging(shutdown.drain(ms(500))).await.finished,
        ["quick"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_spawned_after_the_drain_is_aborted_before_it_runs() {
    let shutdown = Shutdown::new();
    let report = without_hanging(shutdown.drain(ms(100))).await;
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let handle = shutdown.spawn(
        "too-late",
        async move { flag.store(true, Ordering::SeqCst) },
    );
    let ended = tokio::time::timeout(Duration::from_secs(3600), handle).await;
    let error = ended.expect("aborted, not left pending").unwrap_err();
    assert!(error.is_cancelled());
    assert!(!ran.load(Ordering::SeqCst), "its future was never polled");
    assert_eq!(
        without_hanging(shutdown.drain(ms(100))).await,
        report,
        "and it is not in the report"
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_that_ended_before_the_trigger_is_not_in_the_report() {
    let shutdown = Shutdown::new();
    shutdown.spawn("early", sleep(ms(10)));
    shutdown.spawn("running", polite(&shutdown, ms(10)));
    sleep(ms(50)).await;
    let report = without_hanging(shutdown.drain(ms(100))).await;
    assert_eq!(report.finished, ["running"]);
}

// Panics.

#[tokio::test(start_paused = true)]
async fn a_panicking_task_is_reported_as_panicked_not_propagated() {
    let shutdown = Shutdown::new();
    let triggered = shutdown.triggered();
    let buggy = shutdown.spawn("buggy", async move {
        triggered.await;
        panic!("flush failed");
    });
    shutdown.spawn("fine", polite(&shutdown, ms(20)));
    let report = without_hanging(shutdown.drain(ms(100))).await;
    assert_eq!(report.panicked, ["buggy"]);
    assert_eq!(report.finished, ["fine"]);
    assert_eq!(report.elapsed, ms(20));
    let error = buggy.await.unwrap_err();
    assert!(error.is_panic(), "the task's own handle sees the panic");
}

// Tracked futures.

#[tokio::test(start_paused = true)]
async fn tracked_futures_are_waited_for_and_counted_when_abandoned() {
    let shutdown = Shutdown::new();
    tokio::spawn(shutdown.track(sleep(ms(200))));
    let stuck = shutdown.track(std::future::pending::<()>());
    let start = Instant::now();
    let mut drain = Probe::new(shutdown.drain(ms(300)));
    assert!(drain.poll().is_pending());
    advance_to(start, ms(200)).await;
    assert!(drain.poll().is_pending(), "still waiting for the stuck one");
    advance_to(start, ms(300)).await;
    let report = without_hanging(drain.get()).await;
    assert_eq!(report.abandoned, 1);
    assert_eq!(report.elapsed, ms(300));
    assert!(report.aborted.is_empty(), "a tracked future is not a task");
    drop(stuck);
}

// Cancel safety and durations.

#[tokio::test(start_paused = true)]
async fn dropping_a_drain_future_does_not_stop_the_drain() {
    let shutdown = Shutdown::new();
    let dropped = Dropped::default();
    shutdown.spawn("deaf", deaf(&dropped));
    let hook = counting_hook(&shutdown);
    let start = Instant::now();
    let gave_up = tokio::time::timeout(ms(10), shutdown.drain(ms(100))).await;
    assert!(gave_up.is_err());
    advance_to(start, ms(100)).await;
    tokio::task::yield_now().await;
    assert!(dropped.get(), "aborted at the grace instant all the same");
    let report = without_hanging(shutdown.drain(Duration::ZERO)).await;
    assert_eq!(report.elapsed, ms(100));
    assert_eq!(report.aborted, ["deaf"]);
    assert_eq!(hook.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_grace_of_duration_max_waits_for_the_work_and_does_not_panic() {
    let shutdown = Shutdown::new();
    let three_hours = Duration::from_secs(3 * 3600);
    shutdown.spawn("long", polite(&shutdown, three_hours));
    let report = without_hanging(shutdown.drain(Duration::MAX)).await;
    assert_eq!(report.elapsed, three_hours);
    assert_eq!(report.finished, ["long"]);

    let shutdown = Shutdown::new();
    shutdown.spawn("deaf", deaf(&Dropped::default()));
    let forcer = shutdown.clone();
    tokio::spawn(async move {
        sleep(Duration::from_secs(86_400)).await;
        forcer.force();
    });
    let report = without_hanging(shutdown.drain(Duration::MAX)).await;
    assert!(report.forced);
    assert_eq!(report.elapsed, Duration::from_secs(86_400));
}

#[tokio::test(start_paused = true)]
async fn a_zero_grace_aborts_at_once() {
    let shutdown = Shutdown::new();
    shutdown.spawn("needs-1ms", polite(&shutdown, ms(1)));
    let start = Instant::now();
    let report = without_hanging(shutdown.drain(Duration::ZERO)).await;
    assert_eq!(Instant::now(), start);
    assert_eq!(report.aborted, ["needs-1ms"]);
}

// A TaskSet of the Shutdown: stopped by the drain with the same grace, named in its report.

#[tokio::test(start_paused = true)]
async fn a_set_of_the_shutdown_is_stopped_with_the_same_grace_and_named_in_the_report() {
    let shutdown = Shutdown::new();
    let jobs: TaskSet<&str, u32> = shutdown.task_set("jobs");
    let dropped = Dropped::default();
    shutdown.spawn("named", polite(&shutdown, ms(10)));
    jobs.spawn("ends-on-cancel", |token| async move {
        token.cancelled().await;
        sleep(ms(20)).await;
        1
    });
    let guard = dropped.guard();
    jobs.spawn("ignores-cancel", move |_| async move {
        let _guard = guard;
        std::future::pending().await
    });
    jobs.spawn("panics", |token| async move {
        token.cancelled().await;
        panic!("flush failed")
    });

    let grace = ms(500);
    let start = Instant::now();
    let mut drain = Probe::new(shutdown.drain(grace));
    assert!(drain.poll().is_pending());
    let_tasks_run().await;
    advance_to(start, grace - ms(1)).await;
    let_tasks_run().await;
    assert!(
        drain.poll().is_pending(),
        "waiting for the task that ignores its token"
    );
    assert!(!dropped.get(), "not aborted 1 ms before the grace ends");
    assert!(jobs.contains("ignores-cancel") && jobs.len() == 1);

    advance_to(start, grace).await;
    let report = without_hanging(drain.get()).await;
    assert_eq!(
        Instant::now() - start,
        grace,
        "aborted at exactly the grace instant"
    );
    assert!(dropped.get(), "and dropped before the drain returned");
    assert_eq!(report.finished, ["named", r#"jobs["ends-on-cancel"]"#]);
    assert_eq!(report.panicked, [r#"jobs["panics"]"#]);
    assert_eq!(report.aborted, [r#"jobs["ignores-cancel"]"#]);
    assert_eq!((report.elapsed, report.abandoned), (grace, 0));
    assert!(jobs.is_empty());

    // The report only names the tasks: the set still hands out every exit.
    let mut exits = Vec::new();
    while let Some(exit) = without_hanging(jobs.join_next()).await {
        exits.push(exit);
    }
    exits.sort_unstable_by_key(|(key, _)| *key);
    assert_eq!(
        exits,
        [
            ("ends-on-cancel", TaskExit::Finished(1)),
            ("ignores-cancel", TaskExit::Aborted),
            ("panics", TaskExit::Panicked("flush failed".to_string())),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_set_task_that_ended_before_the_trigger_is_not_reported_nor_one_spawned_too_late() {
    let shutdown = Shutdown::new();
    let jobs: TaskSet<u8, ()> = shutdown.task_set("jobs");
    jobs.spawn(1, |_| sleep(ms(10)));
    jobs.spawn(2, |token| token.cancelled_owned());
    sleep(ms(50)).await;
    let report = without_hanging(shutdown.drain(ms(100))).await;
    assert_eq!(
        report.finished,
        ["jobs[2]"],
        "jobs[1] ended before the trigger"
    );
    assert!(report.is_clean());

    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    jobs.spawn(
        3,
        move |_| async move { flag.store(true, Ordering::SeqCst) },
    );
    let mut exits = Vec::new();
    while let Some(exit) = without_hanging(jobs.join_next()).await {
        exits.push(exit);
    }
    assert_eq!(
        exits,
        [
            (1, TaskExit::Finished(())),
            (2, TaskExit::Finished(())),
            (3, TaskExit::Aborted)
        ]
    );
    let_tasks_run().await;
    assert!(
        !ran.load(Ordering::SeqCst),
        "spawned after the drain: never polled"
    );
    assert_eq!(
        without_hanging(shutdown.drain(ms(100))).await,
        report,
        "and not in the report"
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_spawned_in_a_set_during_the_grace_is_waited_for() {
    let shutdown = Shutdown::new();
    let jobs: TaskSet<&str, ()> = shutdown.task_set("jobs");
    shutdown.spawn("keeps-the-drain-waiting", polite(&shutdown, ms(100)));
    let late = tokio::spawn(async move {
        sleep(ms(30)).await;
        jobs.spawn("late", |token| async move {
            assert!(token.is_cancelled(), "starts with its token cancelled");
            sleep(ms(100)).await;
        });
        jobs
    });
    let start = Instant::now();
    let report = without_hanging(shutdown.drain(ms(500))).await;
    assert_eq!(
        report.finished,
        ["keeps-the-drain-waiting", r#"jobs["late"]"#]
    );
    assert_eq!(Instant::now() - start, ms(130));
    assert!(late.await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn forcing_the_drain_aborts_a_set_at_once_and_names_its_tasks() {
    let shutdown = Shutdown::new();
    let jobs: TaskSet<&str, ()> = shutdown.task_set("jobs");
    let dropped = Dropped::default();
    let guard = dropped.guard();
    jobs.spawn("slow", move |token| async move {
        let _guard = guard;
        token.cancelled().await;
        sleep(ms(1_000)).await;
    });
    let forcer = shutdown.clone();
    tokio::spawn(async move {
        sleep(ms(200)).await;
        forcer.force();
    });
    let report = without_hanging(shutdown.drain(ms(5_000))).await;
    assert!(report.forced);
    assert_eq!(report.elapsed, ms(200));
    assert_eq!(report.aborted, [r#"jobs["slow"]"#]);
    let_tasks_run().await;
    assert!(dropped.get() && jobs.is_empty());
}

/// A runtime that nobody drives: a task spawned on it is aborted by the drain but dropped only
/// once the test lets that runtime run, so the test sees what the drain does in between.
fn idle_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Lets an idle runtime run its tasks (on a thread of its own: a runtime cannot be driven
/// from inside another), then drops it there.
fn run_idle(runtime: tokio::runtime::Runtime) {
    std::thread::spawn(move || runtime.block_on(let_tasks_run()))
        .join()
        .unwrap();
}

/// Drains with a zero grace a coordinator whose one task (spawned by `spawn_task` on an idle
/// runtime) ignores the trigger, and checks that the hook runs only once it was dropped.
async fn cleanup_waits_for_the_drop_of(
    shutdown: Shutdown,
    spawn_task: impl FnOnce(DropGuard),
) -> DrainReport {
    let dropped = Dropped::default();
    let idle = idle_runtime();
    {
        let _on = idle.enter();
        spawn_task(dropped.guard());
    }
    let hook_saw = Arc::new(std::sync::Mutex::new(None));
    let seen = (hook_saw.clone(), dropped.clone());
    shutdown.on_cleanup(move || async move {
        *seen.0.lock().unwrap() = Some(seen.1.get());
    });

    let mut drain = Probe::new(shutdown.drain(Duration::ZERO));
    assert!(drain.poll().is_pending());
    let_tasks_run().await;
    assert!(drain.poll().is_pending(), "aborted, not dropped yet");
    assert_eq!(*hook_saw.lock().unwrap(), None, "so no cleanup yet");
    run_idle(idle);
    let report = without_hanging(drain.get()).await;
    assert_eq!(
        *hook_saw.lock().unwrap(),
        Some(true),
        "cleanup after the drop"
    );
    report
}

#[tokio::test(start_paused = true)]
async fn cleanup_waits_until_an_aborted_named_task_is_dropped() {
    let shutdown = Shutdown::new();
    let spawner = shutdown.clone();
    let report = cleanup_waits_for_the_drop_of(shutdown, move |guard| {
        spawner.spawn("named", async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
    })
    .await;
    assert_eq!(report.aborted, ["named"]);
}

#[tokio::test(start_paused = true)]
async fn cleanup_waits_until_an_aborted_task_of_a_set_is_dropped() {
    let shutdown = Shutdown::new();
    let jobs: TaskSet<&str, ()> = shutdown.task_set("jobs");
    let report = cleanup_waits_for_the_drop_of(shutdown, |guard| {
        jobs.spawn("job", move |_| async move {
            let _guard = guard;
            std::future::pending().await
        });
    })
    .await;
    assert_eq!(report.aborted, [r#"jobs["job"]"#]);
}

#[tokio::test(start_paused = true)]
async fn a_set_made_after_the_drain_aborts_its_tasks_before_they_run() {
    let shutdown = Shutdown::new();
    let report = without_hanging(shutdown.drain(ms(100))).await;
    let late: TaskSet<u8, ()> = shutdown.task_set("late");
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    late.spawn(1, move |token| async move {
        flag.store(token.is_cancelled(), Ordering::SeqCst);
    });
    assert_eq!(
        without_hanging(late.join_next()).await,
        Some((1, TaskExit::Aborted))
    );
    let_tasks_run().await;
    assert!(!ran.load(Ordering::SeqCst), "never polled");
    assert_eq!(without_hanging(shutdown.drain(ms(100))).await, report);
}
