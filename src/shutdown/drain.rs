//! The drain of a [`Shutdown`]: its phases, the record each named task keeps of how it
//! ended, and the [`DrainReport`] they add up to.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::{Inner, Shutdown, State};
use crate::clock::saturating_after;
use crate::deadline::Deadline;
use crate::sync::lock;

/// What a [`Shutdown::drain`] did: which named tasks finished, panicked or were aborted, how
/// many cleanup hooks ran, how long it took and whether it was forced.
///
/// Task names are listed in spawn order (not the order they ended); a name given to several
/// tasks appears once per task. The tasks of a set made by [`Shutdown::task_set`] are listed
/// among them, each named `set[key]`.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{DrainReport, Shutdown};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let shutdown = Shutdown::new();
/// shutdown.spawn("flush", shutdown.triggered());
/// shutdown.spawn("stuck", std::future::pending::<()>());
/// shutdown.spawn("buggy", async { panic!("bug") });
/// let tracked = shutdown.track(std::future::pending::<()>());
///
/// let report: DrainReport = shutdown.drain(Duration::from_secs(2)).await;
/// assert_eq!(report.finished, ["flush"]);
/// assert_eq!(report.panicked, ["buggy"]);
/// assert_eq!(report.aborted, ["stuck"]);
/// assert_eq!(report.abandoned, 1, "the tracked future never completed");
/// assert_eq!(report.elapsed, Duration::from_secs(2));
/// assert!(!report.is_clean());
/// # drop(tracked);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Named tasks (and tasks of the coordinator's sets) that ran to completion.
    pub finished: Vec<String>,
    /// Named tasks (and tasks of the coordinator's sets) that panicked.
    pub panicked: Vec<String>,
    /// Named tasks (and tasks of the coordinator's sets) still running when the grace period
    /// ended (or the drain was forced), which the drain aborted.
    pub aborted: Vec<String>,
    /// Futures wrapped by [`Shutdown::track`] still pending when the drain stopped waiting.
    /// A future cannot be aborted from outside: its owner decides when to drop it. Exact
    /// unless the drain was forced (then named tasks not yet dropped may be counted too).
    pub abandoned: usize,
    /// Cleanup hooks that ran (including those that panicked).
    pub hooks_run: usize,
    /// Cleanup hooks that panicked.
    pub hooks_panicked: usize,
    /// From the first `drain` call to the end of the last hook.
    pub elapsed: Duration,
    /// Whether [`Shutdown::force`] (or a second signal) cut the drain short, while named or
    /// tracked work was still running.
    pub forced: bool,
}

/// A cleanup hook, as `on_cleanup` stores it.
pub(super) type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    Finished,
    Panicked,
    Aborted,
}

impl Shutdown {
    /// Registers a cleanup hook: `hook()` is called, and the future it returns awaited, once
    /// the drain has aborted the stragglers. Hooks run exactly once, in the order registered,
    /// one at a time, however many times `drain` is called. Returns `false`, dropping the
    /// hook, if the hooks have already run.
    ///
    /// A hook is a closure returning a future, so it may await (a database write); for
    /// synchronous cleanup, return `async {}` after doing it, or do it in the `async` block.
    /// Hooks are not bounded by the grace period and run even when the drain is forced: bound
    /// a hook that may hang with [`tokio::time::timeout`].
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// for step in ["mark users offline", "close the pool"] {
    ///     let log = log.clone();
    ///     shutdown.on_cleanup(move || async move {
    ///         tokio::time::sleep(Duration::from_millis(10)).await;
    ///         log.lock().unwrap().push(step);
    ///     });
    /// }
    /// let (a, b) = tokio::join!(shutdown.drain(Duration::ZERO), shutdown.drain(Duration::ZERO));
    /// assert_eq!(a, b);
    /// assert_eq!(a.hooks_run, 2);
    /// assert_eq!(*log.lock().unwrap(), ["mark users offline", "close the pool"]);
    /// assert!(!shutdown.on_cleanup(|| async {}), "too late");
    /// # }
    /// ```
    pub fn on_cleanup<F, Fut>(&self, hook: F) -> bool
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Hook = Box::new(move || Box::pin(hook()));
        let mut state = lock(&self.inner.state);
        if state.hooks_done {
            drop(state);
            drop(hook); // user captures: dropped outside the lock
            return false;
        }
        state.hooks.push_back(hook);
        true
    }

    /// Drains: triggers the shutdown, waits up to `grace` for the tracked work, aborts the
    /// named tasks still running, runs the cleanup hooks, and returns the report.
    ///
    /// The first call starts the drain, in a task of its own; every call waits for that drain
    /// and returns a clone of its report, so any number of tasks may call it and the hooks
    /// still run once. The `grace` of later calls is ignored. [`force`](Self::force) (or a
    /// second signal) cuts the wait short. The phases are drawn on [`Shutdown`].
    ///
    /// Do not await `drain` inside a task spawned by this `Shutdown`: the drain waits for
    /// that task too, so it would wait for itself until the grace period ends and it is
    /// aborted. Await it from `main`, or from an untracked task.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// shutdown.spawn("cache-warmer", async { std::future::pending::<()>().await });
    /// let start = Instant::now();
    /// let report = shutdown.drain(Duration::from_millis(750)).await;
    /// assert_eq!(report.aborted, ["cache-warmer"]);
    /// assert_eq!(Instant::now(), start + Duration::from_millis(750));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the drain; a later call returns its report.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with the time driver enabled.
    pub async fn drain(&self, grace: Duration) -> DrainReport {
        let mut report = self.start_drain(grace);
        if let Ok(report) = report.wait_for(Option::is_some).await
            && let Some(report) = report.as_ref()
        {
            return report.clone();
        }
        // Unreachable: the drain's guard sends a report even when its task is dropped.
        self.inner.report(Duration::ZERO, self.is_forced(), (0, 0))
    }

    /// Starts the drain unless it is started, and returns where its report will appear.
    fn start_drain(&self, grace: Duration) -> watch::Receiver<Option<DrainReport>> {
        let runtime = Handle::current();
        let sender = {
            let mut state = lock(&self.inner.state);
            if let Some(report) = &state.drain {
                return report.clone();
            }
            let (sender, report) = watch::channel(None);
            state.drain = Some(report);
            sender
        };
        let report = sender.subscribe();
        let start = Instant::now();
        self.trigger();
        self.inner.tracker.close();
        let drain = Drain {
            inner: Arc::clone(&self.inner),
            report: Some(sender),
            start,
            forced: false,
            hooks: (0, 0),
            members: Vec::new(),
        };
        runtime.spawn(drain.run(saturating_after(start, grace)));
        report
    }
}

impl DrainReport {
    /// Whether everything stopped on its own: nothing aborted, abandoned or panicked (task or
    /// hook), and not forced.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// shutdown.spawn("polite", shutdown.triggered());
    /// assert!(shutdown.drain(Duration::from_secs(1)).await.is_clean());
    /// # }
    /// ```
    pub fn is_clean(&self) -> bool {
        self.panicked.is_empty()
            && self.aborted.is_empty()
            && self.abandoned == 0
            && self.hooks_panicked == 0
            && !self.forced
    }
}

/// A [`TaskSet`](super::TaskSet) made by [`Shutdown::task_set`], as the drain sees it: its key
/// and output types erased.
pub(super) trait Member: Send + Sync {
    /// At the trigger, before the tasks' tokens are cancelled: takes the exits of the tasks
    /// that ended before (they are not in the report), then notes how every task ends, for the
    /// report. Returns what it took out, to be dropped after the caller's lock.
    fn claim(&self) -> Box<dyn Any + Send>;
    /// Once the drain stops waiting: aborts every task, and every task spawned from now on.
    fn abort(&self);
    /// Resolves once no task of the set is running.
    fn emptied(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// The set's part of the report: the tasks it noted, and those still running as aborted,
    /// with how many were still running; stops noting.
    fn report(&self) -> (Vec<(u64, String, Ending)>, usize);
}

impl Inner {
    /// The id of a new named task or task of a set: ids grow in spawn order, the report's.
    pub(super) fn next_id(&self) -> u64 {
        // Relaxed: ids need only be unique and grow; the locks order the rest.
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a set made by `task_set`, in the state the drain has reached.
    pub(super) fn attach(&self, member: Arc<dyn Member>) {
        let mut state = lock(&self.state);
        state.members.retain(|member| member.strong_count() > 0);
        state.members.push(Arc::downgrade(&member));
        // A new set holds no task: nothing to take out, nothing user-defined to drop or name.
        if state.reported {
            // Nothing it notes would ever be reported: it is told the report is made.
            drop(member.report());
        } else if state.claimed {
            drop(member.claim());
        }
        if state.aborting {
            member.abort();
        }
    }

    /// Tells every set to note how its tasks end; once, and before any trigger call returns
    /// (all of them wait for the lock), so before the token is cancelled.
    pub(super) fn claim_members(&self) {
        let (members, taken) = {
            let mut state = lock(&self.state);
            if state.claimed {
                return;
            }
            state.claimed = true;
            let members = Self::members(&state);
            let taken: Vec<_> = members.iter().map(|member| member.claim()).collect();
            (members, taken)
        };
        // User keys and outputs, and maybe a set dropped meanwhile: dropped after the lock.
        drop(taken);
        drop(members);
    }

    fn members(state: &State) -> Vec<Arc<dyn Member>> {
        state.members.iter().filter_map(Weak::upgrade).collect()
    }

    /// Builds the report from what the tasks recorded and the sets noted; tasks still running
    /// count as aborted. Stops the recording of endings.
    fn report(&self, elapsed: Duration, forced: bool, hooks: (usize, usize)) -> DrainReport {
        let (mut tasks, mut still_running, members) = {
            let mut state = lock(&self.state);
            state.reported = true;
            let mut tasks = std::mem::take(&mut state.ended);
            tasks.extend(
                state
                    .running
                    .iter()
                    .map(|(&id, task)| (id, task.name.clone(), Ending::Aborted)),
            );
            (tasks, state.running.len(), Self::members(&state))
        };
        // Not under the lock: a set names its tasks with their keys' `Debug`, user code.
        for member in &members {
            let (noted, running) = member.report();
            tasks.extend(noted);
            still_running += running;
        }
        drop(members);
        tasks.sort_unstable_by_key(|(id, _, _)| *id);
        let names = |ending| {
            tasks
                .iter()
                .filter(|(_, _, e)| *e == ending)
                .map(|(_, name, _)| name.clone())
                .collect()
        };
        DrainReport {
            finished: names(Ending::Finished),
            panicked: names(Ending::Panicked),
            aborted: names(Ending::Aborted),
            abandoned: self.tracker.len().saturating_sub(still_running),
            hooks_run: hooks.0,
            hooks_panicked: hooks.1,
            elapsed,
            forced,
        }
    }

    /// Starts the abort phase: returns the abort handles of the named tasks still running, and
    /// the sets.
    fn begin_abort(&self) -> (Vec<AbortHandle>, Vec<Arc<dyn Member>>) {
        let mut state = lock(&self.state);
        state.aborting = true;
        let tasks = state.running.values().map(|task| task.abort.clone());
        (tasks.collect(), Self::members(&state))
    }

    /// Waits until no named task is running.
    async fn all_ended(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            // Registered before the check: the last task ending after it wakes us.
            idle.as_mut().enable();
            if lock(&self.state).running.is_empty() {
                return;
            }
            idle.await;
        }
    }
}

/// The one drain of a `Shutdown`, run as a task of its own. If that task is dropped before
/// the end (its runtime shuts down), the guard still publishes a report of what it knows.
struct Drain {
    inner: Arc<Inner>,
    report: Option<watch::Sender<Option<DrainReport>>>,
    start: Instant,
    forced: bool,
    /// Hooks run, hooks panicked.
    hooks: (usize, usize),
    /// The sets, held from the abort on: one the user drops meanwhile is still reported.
    members: Vec<Arc<dyn Member>>,
}

impl Drain {
    async fn run(mut self, deadline: Instant) {
        let inner = Arc::clone(&self.inner);

        // Phase 2: wait for the tracked work (the sets' tasks are tracked too), the grace
        // period or a force.
        let grace = Deadline::at(deadline);
        self.forced = tokio::select! {
            biased;
            () = inner.tracker.wait() => false,
            () = inner.force.cancelled() => true,
            _ = grace => false,
        };

        // Phase 3: abort the stragglers, and unless forced wait until they are dropped.
        let (tasks, members) = inner.begin_abort();
        for task in tasks {
            task.abort();
        }
        for member in &members {
            member.abort();
        }
        self.members = members;
        if !self.forced {
            let ended = async {
                inner.all_ended().await;
                for member in &self.members {
                    member.emptied().await;
                }
            };
            tokio::select! {
                biased;
                () = ended => {}
                () = inner.force.cancelled() => self.forced = true,
            }
        }

        // Phase 4: the cleanup hooks, once each, in order.
        loop {
            let hook = {
                let mut state = lock(&inner.state);
                let Some(hook) = state.hooks.pop_front() else {
                    state.hooks_done = true;
                    break;
                };
                hook
            };
            self.hooks.0 += 1;
            // A task of its own, so that a panic comes back as a `JoinError` (as a task's
            // does) and the next hook still runs.
            let ran = tokio::spawn(async move { hook().await }).await;
            if ran.is_err_and(|error| error.is_panic()) {
                self.hooks.1 += 1;
            }
        }
        // Phase 5: the report, published by the guard.
        self.publish();
    }

    fn publish(&mut self) {
        if let Some(sender) = self.report.take() {
            let elapsed = Instant::now().saturating_duration_since(self.start);
            let report = self.inner.report(elapsed, self.forced, self.hooks);
            sender.send_replace(Some(report));
        }
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        self.publish();
    }
}

/// Records how a named task ended: finished by `end`; panicked or aborted when dropped first.
pub(super) struct Record {
    inner: Arc<Inner>,
    id: u64,
    /// Keeps the tracker from completing its `wait` while the task runs.
    tracked: Option<TaskTrackerToken>,
    armed: bool,
}

impl Record {
    pub(super) fn new(inner: &Arc<Inner>, id: u64, tracked: TaskTrackerToken) -> Self {
        Self {
            inner: Arc::clone(inner),
            id,
            tracked: Some(tracked),
            armed: true,
        }
    }

    fn end(&mut self, ending: Ending) {
        self.armed = false;
        // Released before the entry is removed: once `running` is empty, the tracker counts
        // only `track`ed futures and the sets' tasks, which is what `abandoned` subtracts.
        drop(self.tracked.take());
        let idle = {
            let mut state = lock(&self.inner.state);
            let Some(task) = state.running.remove(&self.id) else {
                return;
            };
            if self.inner.trigger.is_cancelled() && !state.reported {
                state.ended.push((self.id, task.name, ending));
            }
            state.running.is_empty()
        };
        if idle {
            self.inner.idle.notify_waiters();
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if self.armed {
            // Tokio drops a task's future that panics during the unwind, inside its panic
            // guard (then hands the panic to the task's `JoinHandle`), and an aborted one with
            // no unwind in progress: so the unwind tells the two apart, with no catch of ours.
            // The other way would be to own the `JoinHandle`, which `spawn` returns to the
            // user. Pinned by `a_panicking_task_is_reported_as_panicked_not_propagated`.
            let ending = if std::thread::panicking() {
                Ending::Panicked
            } else {
                Ending::Aborted
            };
            self.end(ending);
        }
    }
}

/// The body of a named task: runs the user's future, recording how it ended.
pub(super) async fn run_named<F: Future>(future: F, mut record: Record) -> F::Output {
    let aborting = lock(&record.inner.state).aborting;
    if aborting {
        // Spawned while the drain aborts: the abort is on its way; never run the future.
        std::future::pending::<()>().await;
    }
    let output = future.await;
    record.end(Ending::Finished);
    output
}
