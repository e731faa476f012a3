//! Every public type of the shutdown feature is nameable from the crate root, `Debug`, and
//! `Send`/`Sync` as documented.
#![cfg(feature = "shutdown")]

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use deadlines::{DrainReport, Shutdown, StopReport, TaskExit, TaskSet};
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
