//! Every public type of the shutdown feature is nameable from the crate root, `Debug`, and
//! `Send`/`Sync` as documented.
#![cfg(feature = "shutdown")]

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deadlines::{DrainReport, Shutdown, StopReport, TaskExit, TaskSet};
use futures_util::FutureExt;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::task_tracker::TrackedFuture;

fn is_send_sync<T: Send + Sync + 'static>() {}
fn is_debug<T: Debug>() {}
fn is_clone<T: Clone>() {}

// Each type named in a signature, the way a user stores it in a struct or returns it.
struct Service {
    shutdown: Shutdown,
    sessions: TaskSet<u64, Result<(), String>>,
    last_report: Option<DrainReport>,
}
fn drain_future(shutdown: &Shutdown) -> impl Future<Output = DrainReport> + Send + '_ {
    shutdown.drain(Duration::from_secs(1))
}
fn triggered(shutdown: &Shutdown) -> WaitForCancellationFutureOwned {
    shutdown.triggered()
}
fn token(shutdown: &Shutdown) -> CancellationToken {
    shutdown.token()
}
fn tracked<F: Future>(shutdown: &Shutdown, future: F) -> TrackedFuture<F> {
    shutdown.track(future)
}
fn exit_of(exit: TaskExit<Result<(), String>>) -> Option<String> {
    match exit {
        TaskExit::Finished(Err(error)) => Some(error),
        TaskExit::Finished(Ok(())) | TaskExit::Aborted => None,
        TaskExit::Panicked(message) => Some(message),
    }
}
fn stop_all_future<'a>(
    set: &'a TaskSet<u64, Result<(), String>>,
) -> impl Future<Output = StopReport<u64, Result<(), String>>> + Send + 'a {
    set.stop_all(Duration::from_secs(1))
}
fn stop_and_wait_future<'a>(
    set: &'a TaskSet<u64, Result<(), String>>,
    key: &'a u64,
) -> impl Future<Output = Option<TaskExit<Result<(), String>>>> + Send + 'a {
    set.stop_and_wait(key, Duration::from_secs(1))
}
fn join_next_future(
    set: &TaskSet<u64, Result<(), String>>,
) -> impl Future<Output = Option<(u64, TaskExit<Result<(), String>>)>> + Send + '_ {
    set.join_next()
}

#[test]
fn public_types_are_send_sync_and_debug() {
    is_send_sync::<Shutdown>();
    is_send_sync::<DrainReport>();
    is_send_sync::<TaskSet<String, Vec<u8>>>();
    is_send_sync::<TaskExit<Vec<u8>>>();
    is_send_sync::<StopReport<String, Vec<u8>>>();
    is_debug::<Shutdown>();
    is_debug::<DrainReport>();
    is_debug::<TaskExit<Vec<u8>>>();
    is_debug::<StopReport<String, Vec<u8>>>();
    is_clone::<Shutdown>();
    is_clone::<DrainReport>();
    is_clone::<TaskExit<u8>>();
    is_clone::<StopReport<u8, u8>>();
    // A set's Debug needs neither its keys nor its outputs to be Debug.
    struct Opaque;
    is_debug::<TaskSet<Opaque, Opaque>>();
    is_send_sync::<Service>();
}

#[tokio::test(start_paused = true)]
async fn the_futures_are_send_and_usable_through_their_named_types() {
    let service = Service {
        shutdown: Shutdown::default(),
        sessions: TaskSet::default(),
        last_report: None,
    };
    service.sessions.spawn(1, |token| async move {
        token.cancelled().await;
        Err("stopped".to_string())
    });
    service.sessions.spawn(2, |_| async { Ok(()) });
    assert_eq!(
        exit_of(join_next_future(&service.sessions).await.unwrap().1),
        None
    );
    let exit = stop_and_wait_future(&service.sessions, &1).await.unwrap();
    assert_eq!(exit_of(exit), Some("stopped".to_string()));
    assert!(stop_all_future(&service.sessions).await.exits.is_empty());

    let token = token(&service.shutdown);
    let tracked = tracked(&service.shutdown, async {});
    tokio::spawn(tracked);
    let waiter = tokio::spawn(triggered(&service.shutdown));
    let report = tokio::spawn({
        let shutdown = service.shutdown.clone();
        async move { drain_future(&shutdown).await }
    })
    .await
    .unwrap();
    waiter.await.unwrap();
    assert!(token.is_cancelled());
    let last = Service {
        last_report: Some(report),
        ..service
    };
    assert!(last.last_report.unwrap().is_clean());
}

#[tokio::test(start_paused = true)]
async fn debug_output_shows_the_state_not_the_internals() {
    let shutdown = Shutdown::new();
    shutdown.spawn("worker", shutdown.triggered());
    shutdown.on_cleanup(|| async {});
    assert_eq!(
        format!("{shutdown:?}"),
        "Shutdown { triggered: false, forced: false, running: 1, tracked: 1, hooks: 1 }"
    );
    let report = shutdown.drain(Duration::from_secs(1)).await;
    assert_eq!(
        format!("{report:?}"),
        "DrainReport { finished: [\"worker\"], panicked: [], aborted: [], abandoned: 0, \
         hooks_run: 1, hooks_panicked: 0, elapsed: 0ns, forced: false }"
    );

    let set: TaskSet<&str, ()> = TaskSet::new();
    set.spawn("a", |token| token.cancelled_owned());
    assert_eq!(
        format!("{set:?}"),
        "TaskSet { running: 1, keyed: 1, exits_waiting: 0 }"
    );
    let report = set.stop_all(Duration::from_secs(1)).await;
    assert_eq!(
        format!("{report:?}"),
        "StopReport { exits: [(\"a\", Finished(()))], elapsed: 0ns }"
    );
}

#[test]
fn shutdown_and_task_sets_are_made_outside_a_runtime_and_used_inside_one() {
    let shutdown = Shutdown::new();
    let set: TaskSet<u8, u8> = TaskSet::new();
    let parent = CancellationToken::new();
    let child: TaskSet<u8, u8> = TaskSet::with_parent(&parent);
    let jobs: TaskSet<&str, ()> = shutdown.task_set("jobs");
    assert!(!shutdown.is_triggered() && set.is_empty() && child.is_empty() && jobs.is_empty());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        set.spawn(1, |token| async move {
            token.cancelled().await;
            7
        });
        child.spawn(2, |token| async move {
            token.cancelled().await;
            8
        });
        jobs.spawn("job", |token| token.cancelled_owned());
        shutdown.spawn("named", shutdown.triggered());
        let grace = Duration::from_secs(1);
        assert_eq!(
            set.stop_and_wait(&1, grace).await,
            Some(TaskExit::Finished(7))
        );
        parent.cancel();
        assert_eq!(child.join_next().await, Some((2, TaskExit::Finished(8))));
        let report = shutdown.drain(grace).await;
        assert_eq!(report.finished, [r#"jobs["job"]"#, "named"]);
        assert!(report.is_clean());
    });
}

/// Uses the coordinator and the set (both take their locks) as it drops, as the future of a
/// task that holds them may.
struct UsesBoth(Shutdown, Arc<TaskSet<u8, ()>>, Arc<AtomicUsize>);

impl Drop for UsesBoth {
    fn drop(&mut self) {
        let _ = format!("{:?}", self.0);
        let _ = self.1.len();
        self.2.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn spawning_on_a_runtime_that_shut_down_drops_the_future_outside_every_lock() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    drop(runtime);
    let _on = handle.enter();
    let shutdown = Shutdown::new();
    let set = Arc::new(shutdown.task_set("jobs"));
    let dropped = Arc::new(AtomicUsize::new(0));

    // The runtime drops each future inside `spawn`: under our lock, that would deadlock.
    let uses_both = UsesBoth(shutdown.clone(), set.clone(), dropped.clone());
    let named = shutdown.spawn("named", async move {
        let _uses_both = uses_both;
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let uses_both = UsesBoth(shutdown.clone(), set.clone(), dropped.clone());
    set.spawn(1, move |_| async move {
        let _uses_both = uses_both;
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 2);

    assert!(named.now_or_never().unwrap().unwrap_err().is_cancelled());
    assert_eq!(
        set.join_next().now_or_never(),
        Some(Some((1, TaskExit::Aborted)))
    );
    assert!(set.is_empty());
}
