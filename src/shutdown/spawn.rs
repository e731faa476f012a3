//! The one spawn protocol of [`Shutdown::spawn`](super::Shutdown::spawn) and
//! [`TaskSet::spawn`](super::TaskSet::spawn).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::sync::lock;

/// Spawns a task and records it in its owner's state in one critical section, and yet runs no
/// user code under the owner's lock.
///
/// `spawn_and_record` takes the owner's lock, spawns the task it is given and records it (a
/// named task under its id with its abort handle, a `TaskSet` task in its `JoinMap`), then
/// releases the lock. One critical section, so that no drain, stop or abort runs between the
/// spawn and the record: it would miss a task it cannot see yet, and a task nobody can abort
/// outlives its grace period.
///
/// No user code under the lock, because a runtime that is shutting down drops the future
/// inside `spawn`: the user's destructors, and a named task's `Record` (which takes the lock),
/// would run there and deadlock on it. So `spawn` is given a [`StandIn`] that shares `future`
/// with this function: dropped inside `spawn`, it lets go of its share only, and `future` is
/// dropped here, once `spawn_and_record` has released the lock. A task that runs takes
/// `future` at its first poll.
pub(super) fn spawn_recorded<F, R>(future: F, spawn_and_record: impl FnOnce(StandIn<F>) -> R) -> R {
    let shared = Arc::new(Mutex::new(Some(future)));
    let recorded = spawn_and_record(StandIn {
        shared: Some(Arc::clone(&shared)),
        future: None,
    });
    // The last share if the task is already gone (or was never spawned): the future is
    // dropped now, after the lock.
    drop(shared);
    recorded
}

pin_project! {
    /// What [`spawn_recorded`] spawns in place of a future: the future itself from its first
    /// poll on.
    pub(super) struct StandIn<F> {
        shared: Option<Arc<Mutex<Option<F>>>>,
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Future for StandIn<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        if let Some(shared) = this.shared.take() {
            this.future.set(lock(&shared).take());
        }
        this.future
            .as_pin_mut()
            .expect("spawn_recorded shares the future before the spawn, and only the first poll takes it")
            .poll(cx)
    }
}
