//! Each rule of `TaskSet`, pinned at the exact instant on a paused clock.
#![cfg(feature = "shutdown")]

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Probe, advance_to, let_tasks_run, ms, without_hanging};
use deadlines::{TaskExit, TaskSet};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

/// Winds down for `wind_down` once stopped, then returns `output`.
fn polite<T: Send + 'static>(
    wind_down: Duration,
    output: T,
) -> impl FnOnce(CancellationToken) -> std::pin::Pin<Box<dyn Future<Output = T> + Send>> {
    move |token| {
        Box::pin(async move {
            token.cancelled().await;
            sleep(wind_down).await;
            output
        })
    }
}

/// Set when the value is dropped: shows that an aborted task's future was dropped.
#[derive(Clone, Default)]
struct Dropped(Arc<AtomicBool>);

impl Dropped {
    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct DropGuard(Arc<AtomicBool>);

/// A task that ignores its token; `dropped` is set when it is aborted.
fn deaf<T: Send + 'static>(dropped: &Dropped) -> impl Future<Output = T> + Send + 'static {
    let guard = DropGuard(dropped.0.clone());
    async move {
        let _guard = guard;
        std::future::pending::<T>().await
    }
}

// Stop by key.

#[tokio::test(start_paused = true)]
async fn stop_cancels_the_token_of_that_task_only() {
    let set = TaskSet::new();
    let tokens: Vec<CancellationToken> = (0..3)
        .map(|n| {
            let (tx, rx) = std::sync::mpsc::channel();
            set.spawn(n, move |token| {
                tx.send(token.clone()).unwrap();
                token.cancelled_owned()
            });
            rx.recv().unwrap()
        })
        .collect();
    assert!(set.stop(&1));
    assert_eq!(
        tokens.iter().map(|t| t.is_cancelled()).collect::<Vec<_>>(),
        [false, true, false]
    );
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some((1, TaskExit::Finished(())))
    );
    assert_eq!(set.len(), 2);
    assert!(set.contains(&0) && !set.contains(&1) && set.contains(&2));
}

#[tokio::test(start_paused = true)]
async fn no_method_panics_on_an_unknown_key() {
    let set: TaskSet<String, u8> = TaskSet::new();
    assert!(!set.stop("nobody"));
    assert_eq!(
        without_hanging(set.stop_and_wait("nobody", ms(100))).await,
        None
    );
    assert!(!set.contains("nobody"));
    assert_eq!(without_hanging(set.join_next()).await, None);
    assert!(
        without_hanging(set.stop_all(ms(100)))
            .await
            .exits
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn stop_keeps_the_key_until_the_task_ends() {
    let set = TaskSet::new();
    set.spawn("k", polite(ms(40), 1));
    let start = Instant::now();
    assert!(set.stop("k"));
    assert!(set.stop("k"), "still running: asked again");
    assert!(set.contains("k"));
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("k", TaskExit::Finished(1)))
    );
    assert_eq!(Instant::now(), start + ms(40));
    assert!(!set.contains("k"));
    assert!(!set.stop("k"));
}

// Stop and wait: the output, the error, the panic, or aborted.

#[tokio::test(start_paused = true)]
async fn stop_and_wait_returns_the_output_when_the_task_ends() {
    let set = TaskSet::new();
    set.spawn("a", polite(ms(30), "done"));
    set.spawn("b", polite(ms(30), "untouched"));
    let start = Instant::now();
    let exit = without_hanging(set.stop_and_wait("a", ms(100))).await;
    assert_eq!(exit, Some(TaskExit::Finished("done")));
    assert_eq!(Instant::now(), start + ms(30), "returns as the task ends");
    assert!(!set.contains("a") && set.contains("b"));
}

#[tokio::test(start_paused = true)]
async fn stop_and_wait_returns_the_error_as_the_output() {
    let set: TaskSet<u8, Result<u32, String>> = TaskSet::new();
    set.spawn(1, |token| async move {
        token.cancelled().await;
        Err("interrupted".to_string())
    });
    assert_eq!(
        without_hanging(set.stop_and_wait(&1, ms(100))).await,
        Some(TaskExit::Finished(Err("interrupted".to_string())))
    );
}

#[tokio::test(start_paused = true)]
async fn stop_and_wait_returns_a_panic_without_propagating_it() {
    let set: TaskSet<u8, u32> = TaskSet::new();
    set.spawn(1, |token| async move {
        token.cancelled().await;
        sleep(ms(5)).await;
        panic!("cleanup failed: {}", 42);
    });
    set.spawn(2, |token| async move {
        token.cancelled().await;
        7
    });
    let start = Instant::now();
    assert_eq!(
        without_hanging(set.stop_and_wait(&1, ms(100))).await,
        Some(TaskExit::Panicked("cleanup failed: 42".to_string()))
    );
    assert_eq!(Instant::now(), start + ms(5));
    assert_eq!(
        without_hanging(set.stop_and_wait(&2, ms(100))).await,
        Some(TaskExit::Finished(7))
    );
}

#[tokio::test(start_paused = true)]
async fn stop_and_wait_aborts_at_exactly_the_grace_instant() {
    let set: TaskSet<&str, ()> = TaskSet::new();
    let dropped = Dropped::default();
    set.spawn("deaf", |_| deaf(&dropped));
    let start = Instant::now();
    let mut stop = Probe::new(set.stop_and_wait("deaf", ms(500)));
    assert!(stop.poll().is_pending());
    assert!(!set.contains("deaf"), "the key is freed at once");
    advance_to(start, ms(499)).await;
    assert!(stop.poll().is_pending());
    assert!(!dropped.get());
    advance_to(start, ms(500)).await;
    assert_eq!(without_hanging(stop.get()).await, Some(TaskExit::Aborted));
    assert_eq!(Instant::now(), start + ms(500));
    assert!(
        dropped.get(),
        "the aborted task was dropped before it returned"
    );
    assert!(set.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_task_ending_one_millisecond_before_the_grace_is_not_aborted() {
    let set = TaskSet::new();
    set.spawn("close-call", polite(ms(499), "made it"));
    let start = Instant::now();
    assert_eq!(
        without_hanging(set.stop_and_wait("close-call", ms(500))).await,
        Some(TaskExit::Finished("made it"))
    );
    assert_eq!(Instant::now(), start + ms(499));

    set.spawn("too-slow", polite(ms(501), "late"));
    let start = Instant::now();
    assert_eq!(
        without_hanging(set.stop_and_wait("too-slow", ms(500))).await,
        Some(TaskExit::Aborted)
    );
    assert_eq!(Instant::now(), start + ms(500));
}

#[tokio::test(start_paused = true)]
async fn stop_and_wait_of_a_task_that_already_ended_returns_none() {
    let set = TaskSet::new();
    set.spawn("quick", |_| async { 5 });
    sleep(ms(1)).await;
    assert_eq!(
        without_hanging(set.stop_and_wait("quick", ms(100))).await,
        None
    );
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("quick", TaskExit::Finished(5))),
        "its exit waits for join_next"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_a_stop_and_wait_future_sends_the_exit_to_join_next() {
    let set = TaskSet::new();
    set.spawn("slow", polite(ms(300), "finished anyway"));
    let start = Instant::now();
    let gave_up = tokio::time::timeout(ms(10), set.stop_and_wait("slow", ms(1_000))).await;
    assert!(gave_up.is_err());
    assert!(!set.contains("slow"));
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("slow", TaskExit::Finished("finished anyway")))
    );
    assert_eq!(
        Instant::now(),
        start + ms(300),
        "asked to stop, never aborted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_grace_of_duration_max_does_not_panic() {
    let set = TaskSet::new();
    let day = Duration::from_secs(86_400);
    set.spawn("long", polite(day, ()));
    let start = Instant::now();
    assert_eq!(
        without_hanging(set.stop_and_wait("long", Duration::MAX)).await,
        Some(TaskExit::Finished(()))
    );
    assert_eq!(Instant::now(), start + day);
    set.spawn("long", polite(day, ()));
    let report = without_hanging(set.stop_all(Duration::MAX)).await;
    assert_eq!(report.elapsed, day);
}

#[tokio::test(start_paused = true)]
async fn a_zero_grace_aborts_at_once_what_has_not_ended() {
    let set = TaskSet::new();
    set.spawn("ended", |_| async {});
    set.spawn("would-end-when-polled", |token| async move {
        token.cancelled().await
    });
    set.spawn("one-ms", polite(ms(1), ()));
    let_tasks_run().await;
    let report = without_hanging(set.stop_all(Duration::ZERO)).await;
    assert_eq!(
        report.exits,
        [
            ("would-end-when-polled", TaskExit::Aborted),
            ("one-ms", TaskExit::Aborted)
        ],
        "no task is polled between the stop and the abort"
    );
    assert_eq!(report.elapsed, Duration::ZERO);
}

// Finished tasks leave the set by themselves.

#[tokio::test(start_paused = true)]
async fn finished_tasks_leave_the_set_by_themselves() {
    let set = TaskSet::new();
    for (key, after) in [("c", 30), ("a", 10), ("b", 20)] {
        set.spawn(key, move |_| async move {
            sleep(ms(after)).await;
            after
        });
    }
    let start = Instant::now();
    assert_eq!(set.len(), 3);
    let_tasks_run().await;
    advance_to(start, ms(10)).await;
    let_tasks_run().await;
    assert!(!set.contains("a"), "no join_next needed");
    assert_eq!(set.len(), 2);
    advance_to(start, ms(30)).await;
    let_tasks_run().await;
    assert!(set.is_empty());
    // The exits wait for join_next, in the order the tasks ended.
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("a", TaskExit::Finished(10)))
    );
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("b", TaskExit::Finished(20)))
    );
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("c", TaskExit::Finished(30)))
    );
    assert_eq!(without_hanging(set.join_next()).await, None);
}

#[tokio::test(start_paused = true)]
async fn join_next_waits_for_the_next_exit_and_wakes_at_its_instant() {
    let set = TaskSet::new();
    set.spawn("x", |_| sleep(ms(70)));
    let start = Instant::now();
    let mut next = Probe::new(set.join_next());
    assert!(next.poll().is_pending());
    let_tasks_run().await;
    advance_to(start, ms(69)).await;
    let_tasks_run().await;
    assert!(next.poll().is_pending());
    assert_eq!(next.wakes(), 0);
    advance_to(start, ms(70)).await;
    let_tasks_run().await;
    assert_eq!(next.wakes(), 1, "the task's exit wakes join_next");
    assert_eq!(
        next.poll(),
        std::task::Poll::Ready(Some(("x", TaskExit::Finished(()))))
    );
}

#[tokio::test(start_paused = true)]
async fn keep_exits_false_drops_the_exits_of_tasks_that_ended_by_themselves() {
    let set = TaskSet::new().keep_exits(false);
    set.spawn("by-itself", |_| async { 1 });
    set.spawn("stopped", polite(ms(5), 2));
    sleep(ms(1)).await;
    assert_eq!(set.len(), 1, "by-itself ended and left");
    assert_eq!(
        without_hanging(set.stop_and_wait("stopped", ms(10))).await,
        Some(TaskExit::Finished(2)),
        "collected exits are still returned"
    );
    assert_eq!(without_hanging(set.join_next()).await, None);
}

// Re-spawning a key.

#[tokio::test(start_paused = true)]
async fn respawning_a_key_stops_the_old_task_first() {
    let set = TaskSet::new();
    let (tx, rx) = std::sync::mpsc::channel();
    assert!(!set.spawn("feed", |token| {
        tx.send(token.clone()).unwrap();
        polite(ms(50), "v1")(token)
    }));
    let old_token = rx.recv().unwrap();
    sleep(ms(100)).await;

    let start = Instant::now();
    assert!(
        set.spawn("feed", polite(ms(20), "v2")),
        "it replaced a task"
    );
    assert!(old_token.is_cancelled(), "the old task was asked to stop");
    assert_eq!(set.len(), 2, "the old task winds down alongside");
    assert!(set.contains("feed"));

    // The old task's exit comes through join_next, under the same key.
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("feed", TaskExit::Finished("v1")))
    );
    assert_eq!(Instant::now(), start + ms(50));
    assert_eq!(set.len(), 1);
    assert!(set.contains("feed"), "the key belongs to the new task");
    // The key stops the new task, not the old one.
    assert_eq!(
        without_hanging(set.stop_and_wait("feed", ms(100))).await,
        Some(TaskExit::Finished("v2"))
    );
    assert!(set.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_replaced_task_is_aborted_when_stop_all_runs_out_of_grace() {
    let set = TaskSet::new();
    let dropped = Dropped::default();
    set.spawn("k", |_| deaf(&dropped));
    set.spawn("k", polite(ms(10), ()));
    let report = without_hanging(set.stop_all(ms(100))).await;
    assert_eq!(
        report.exits,
        [("k", TaskExit::Aborted), ("k", TaskExit::Finished(()))]
    );
    assert!(dropped.get());
}

// Stop all.

#[tokio::test(start_paused = true)]
async fn stop_all_reports_every_exit_in_spawn_order_at_the_grace_instant() {
    let set: TaskSet<&str, Result<u32, String>> = TaskSet::new();
    let dropped = Dropped::default();
    set.spawn("slow-ok", |token| async move {
        token.cancelled().await;
        sleep(ms(300)).await;
        Ok(3)
    });
    set.spawn("deaf", |_| deaf(&dropped));
    set.spawn("err", |token| async move {
        token.cancelled().await;
        Err("rolled back".to_string())
    });
    set.spawn("panics", |token| async move {
        token.cancelled().await;
        panic!("oops")
    });
    set.spawn("ended-before", |_| async { Ok(0) });
    sleep(ms(1)).await;

    let start = Instant::now();
    let mut stop_all = Probe::new(set.stop_all(ms(500)));
    assert!(stop_all.poll().is_pending());
    assert!(!set.contains("slow-ok"), "keys are freed at once");
    let_tasks_run().await;
    advance_to(start, ms(499)).await;
    assert!(stop_all.poll().is_pending());
    assert!(!dropped.get());
    advance_to(start, ms(500)).await;
    let report = without_hanging(stop_all.get()).await;
    assert_eq!(Instant::now(), start + ms(500));
    assert_eq!(report.elapsed, ms(500));
    assert_eq!(
        report.exits,
        [
            ("slow-ok", TaskExit::Finished(Ok(3))),
            ("deaf", TaskExit::Aborted),
            ("err", TaskExit::Finished(Err("rolled back".to_string()))),
            ("panics", TaskExit::Panicked("oops".to_string())),
        ]
    );
    assert_eq!(report.finished(), [&"slow-ok", &"err"]);
    assert_eq!(report.panicked(), [&"panics"]);
    assert_eq!(report.aborted(), [&"deaf"]);
    assert!(dropped.get());
    assert!(set.is_empty());
    // The task that ended by itself before stop_all is left for join_next.
    assert_eq!(
        without_hanging(set.join_next()).await,
        Some(("ended-before", TaskExit::Finished(Ok(0))))
    );
}

#[tokio::test(start_paused = true)]
async fn stop_all_returns_as_soon_as_every_task_ended() {
    let set = TaskSet::new();
    for (key, wind_down) in [(1, 40), (2, 10), (3, 25)] {
        set.spawn(key, polite(ms(wind_down), key));
    }
    let start = Instant::now();
    let report = without_hanging(set.stop_all(ms(1_000))).await;
    assert_eq!(report.elapsed, ms(40));
    assert_eq!(Instant::now(), start + ms(40));
    assert_eq!(report.finished(), [&1, &2, &3]);
}

#[tokio::test(start_paused = true)]
async fn the_set_is_usable_after_stop_all() {
    let set = TaskSet::new();
    set.spawn("a", polite(ms(1), 1));
    without_hanging(set.stop_all(ms(10))).await;
    assert!(!set.spawn("a", polite(ms(1), 2)), "the key was free");
    assert_eq!(
        without_hanging(set.stop_and_wait("a", ms(10))).await,
        Some(TaskExit::Finished(2))
    );
}

#[tokio::test(start_paused = true)]
async fn stop_all_leaves_a_task_that_stop_and_wait_is_collecting_to_it() {
    let set = TaskSet::new();
    set.spawn("mine", polite(ms(50), "for stop_and_wait"));
    set.spawn("theirs", polite(ms(50), "for stop_all"));
    let (one, all) = tokio::join!(
        without_hanging(set.stop_and_wait("mine", ms(100))),
        without_hanging(set.stop_all(ms(100)))
    );
    assert_eq!(one, Some(TaskExit::Finished("for stop_and_wait")));
    assert_eq!(all.exits, [("theirs", TaskExit::Finished("for stop_all"))]);
}

// Parent tokens, dropping the set, and threads.

#[tokio::test(start_paused = true)]
async fn a_parent_token_stops_every_task_and_later_ones_start_stopped() {
    let parent = CancellationToken::new();
    let set = TaskSet::with_parent(&parent);
    set.spawn(1, polite(ms(10), ()));
    parent.cancel();
    set.spawn(2, |token| async move {
        assert!(token.is_cancelled());
    });
    let mut exits = vec![
        without_hanging(set.join_next()).await.unwrap(),
        without_hanging(set.join_next()).await.unwrap(),
    ];
    exits.sort_unstable_by_key(|(key, _)| *key);
    assert_eq!(
        exits,
        [(1, TaskExit::Finished(())), (2, TaskExit::Finished(()))],
        "both stopped; the second started stopped (its assert did not panic)"
    );
}

#[tokio::test(start_paused = true)]
async fn stopping_a_task_does_not_cancel_the_parent() {
    let parent = CancellationToken::new();
    let set = TaskSet::with_parent(&parent);
    set.spawn(1, polite(ms(1), ()));
    without_hanging(set.stop_and_wait(&1, ms(10))).await;
    assert!(!parent.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_set_aborts_its_tasks() {
    let dropped = Dropped::default();
    let set: TaskSet<u8, ()> = TaskSet::new();
    set.spawn(1, |_| deaf(&dropped));
    sleep(ms(1)).await;
    drop(set);
    sleep(ms(1)).await;
    assert!(dropped.get());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_ending_on_many_threads_all_leave_the_set() {
    let set = Arc::new(TaskSet::new());
    let spawners: Vec<_> = (0..4)
        .map(|thread| {
            let set = set.clone();
            tokio::spawn(async move {
                for n in 0..250 {
                    set.spawn((thread, n), move |token| async move {
                        tokio::task::yield_now().await;
                        if n % 3 == 0 {
                            token.cancelled().await;
                        }
                        n
                    });
                    if n % 3 == 0 {
                        set.stop(&(thread, n));
                    }
                }
            })
        })
        .collect();
    for spawner in spawners {
        spawner.await.unwrap();
    }
    let mut exits = 0;
    while let Some((_, exit)) = without_hanging(set.join_next()).await {
        assert!(exit.is_finished());
        exits += 1;
    }
    assert_eq!(exits, 1_000);
    assert!(set.is_empty());
}

#[tokio::test(start_paused = true)]
async fn many_tasks_wait_on_one_set_each_for_its_own_exit() {
    let set = Arc::new(TaskSet::new());
    for (key, wind_down) in [("a", 30), ("b", 10), ("c", 20)] {
        set.spawn(key, polite(ms(wind_down), key));
    }
    set.spawn("by-itself", |_| async {
        sleep(ms(15)).await;
        "by-itself"
    });
    let start = Instant::now();
    let stops = ["a", "b", "c"].map(|key| {
        let set = set.clone();
        tokio::spawn(async move {
            let exit = set.stop_and_wait(key, ms(100)).await;
            (exit, Instant::now() - start)
        })
    });
    let joined = {
        let set = set.clone();
        tokio::spawn(async move { (set.join_next().await, Instant::now() - start) })
    };
    for (stop, (key, at)) in stops.into_iter().zip([("a", 30), ("b", 10), ("c", 20)]) {
        let stopped = without_hanging(stop).await.unwrap();
        assert_eq!(stopped, (Some(TaskExit::Finished(key)), ms(at)), "{key}");
    }
    assert_eq!(
        without_hanging(joined).await.unwrap(),
        (Some(("by-itself", TaskExit::Finished("by-itself"))), ms(15))
    );
    assert!(set.is_empty());
}
