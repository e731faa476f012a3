//! [`Shutdown`]: stop cleanly on a signal, with a grace period, and say what did not stop.
//!
//! The drain phases and the comparison to tokio-util's `CancellationToken` and `TaskTracker`
//! are documented on [`Shutdown`] itself, where rustdoc shows them (this module is private and
//! its types are re-exported from the crate root).

mod drain;
mod signals;
mod spawn;
mod task_set;

pub use drain::DrainReport;
pub use task_set::{StopReport, TaskExit, TaskSet};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::runtime::Handle;
use tokio::sync::{Notify, watch};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TrackedFuture;

use crate::sync::lock;
use drain::{Ending, Hook, Member, Record, run_named};
use spawn::spawn_recorded;

/// A graceful-shutdown coordinator: a trigger, the tasks to wait for, a grace period, cleanup
/// that runs exactly once, and a report that names what finished and what was aborted.
///
/// `Shutdown` is cheap to clone (one `Arc`); every clone is the same coordinator. The
/// shutdown is *triggered* by [`trigger`](Self::trigger), by a signal once
/// [`listen_for_signals`](Self::listen_for_signals) runs, or by the first
/// [`drain`](Self::drain). Tasks learn of it through [`token`](Self::token) or
/// [`triggered`](Self::triggered), and should then wind down. Tasks to wait for are spawned
/// with a name by [`spawn`](Self::spawn) (they can be aborted, and are named in the report),
/// or by key in a [`TaskSet`] made by [`task_set`](Self::task_set) (the same, named
/// `set[key]`), or wrapped with [`track`](Self::track) (waited for, but they cannot be
/// aborted).
/// Cleanup is registered with [`on_cleanup`](Self::on_cleanup). Dropping every clone
/// neither triggers nor aborts anything (as with a `TaskTracker`): tasks keep running.
///
/// [`drain(grace)`](Self::drain) runs the shutdown, once, however many tasks call it:
///
/// ```text
/// drain(grace = 500 ms) called at 0; "db-sync" needs 120 ms to wind down, "exporter" ignores the trigger
///
/// time (ms)    0                   120                                  500
///              |--------------------|------------------------------------|
/// 1 trigger    token cancelled: triggered() completes, tasks start winding down
/// 2 wait       tracked work ends ...db-sync finished ...................... grace is over
/// 3 abort                                                                 exporter aborted, and dropped
/// 4 cleanup                                                               hooks run once, in order
/// 5 report                                                                DrainReport { finished: ["db-sync"],
///                                                                           aborted: ["exporter"], elapsed: 500 ms }
/// ```
///
/// When all tracked work ends before the grace period does, phases 3 to 5 follow at once
/// (at 120 ms above, with nothing to abort). A second signal, or [`force`](Self::force),
/// cuts the wait short:
///
/// ```text
/// drain(grace = 500 ms) called at 0; force() (or a second signal) at 200
///
/// time (ms)    0                         200                            500
///              |--------------------------|
/// 1 trigger    token cancelled
/// 2 wait       ...........................force: stop waiting
/// 3 abort                                 everything still running is aborted, not waited for
/// 4 cleanup                               hooks run once: forcing does not skip cleanup
/// 5 report                                DrainReport { forced: true, elapsed: 200 ms, .. }
/// ```
///
/// Rules, each pinned by a test in `tests/shutdown_*.rs`:
///
/// 1. The first `drain` starts the drain, in a task of its own; every `drain` call (the
///    first, later ones, concurrent ones from many tasks) waits for that one drain and
///    returns a clone of its report. The grace period of the first call is the one used.
/// 2. Cleanup hooks run exactly once, after the abort phase, in the order registered, one
///    at a time. A hook registered after they ran is refused (`on_cleanup` returns `false`).
///    A hook that panics is counted in [`DrainReport::hooks_panicked`]; the next still runs.
/// 3. Stragglers are aborted at exactly the end of the grace period, and the drain waits for
///    their futures to be dropped before it runs the hooks (unless forced), so cleanup never
///    races with an aborted task's destructors.
/// 4. A task spawned after the trigger is tracked like any other: it starts with a cancelled
///    token, and a drain still waiting waits for it within the same grace period. A drain
///    stops waiting as soon as the tracked work is done, and a task spawned once the drain
///    has stopped waiting is aborted at once, before its future is ever polled.
/// 5. The report names tasks running at the trigger or spawned after it, in spawn order; a
///    task that ended before the trigger is not in it (its name is freed when it ends, so a
///    long-running service does not accumulate names).
/// 6. A panic in a named task is reported in [`DrainReport::panicked`]; it is not propagated,
///    beyond the task's own `JoinHandle`.
/// 7. The tasks of a set made by [`task_set`](Self::task_set) follow rules 3 to 6 as named
///    tasks do, and their exits still reach the set's own callers.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use deadlines::Shutdown;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let shutdown = Shutdown::new();
/// // In a service: `shutdown.listen_for_signals()?;`
///
/// let token = shutdown.token();
/// shutdown.spawn("db-sync", async move {
///     token.cancelled().await;
///     tokio::time::sleep(Duration::from_millis(120)).await; // the final write
/// });
/// shutdown.spawn("exporter", async {
///     std::future::pending::<()>().await; // ignores the trigger
/// });
/// let offline = Arc::new(AtomicUsize::new(0));
/// let marked = offline.clone();
/// shutdown.on_cleanup(move || async move {
///     marked.fetch_add(1, Ordering::SeqCst); // mark every connected user offline
/// });
///
/// let report = shutdown.drain(Duration::from_millis(500)).await;
/// assert_eq!(report.finished, ["db-sync"]);
/// assert_eq!(report.aborted, ["exporter"]);
/// assert_eq!(report.elapsed, Duration::from_millis(500));
/// assert!(!report.forced);
/// assert_eq!(offline.load(Ordering::SeqCst), 1);
///
/// // Draining again, from anywhere, returns the same report and runs nothing twice.
/// assert_eq!(shutdown.drain(Duration::ZERO).await, report);
/// assert_eq!(offline.load(Ordering::SeqCst), 1);
/// # }
/// ```
///
/// # Comparison to tokio-util
///
/// `Shutdown` is built from a [`CancellationToken`] (the trigger) and a [`TaskTracker`] (the
/// work to wait for), which is how [Tokio's shutdown guide] says to do it. It adds what every
/// service otherwise writes around them:
///
/// - a grace period: [`TaskTracker::wait`] waits for ever, and a tracker can neither abort
///   its tasks nor name them; `drain` waits at most `grace`, then aborts what is left;
/// - a report naming what finished, panicked and was aborted, and how long it took;
/// - signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT, and a second signal that forces;
/// - cleanup hooks run exactly once, however many tasks call `drain`.
///
/// Use `CancellationToken` and `TaskTracker` directly when there is nothing to abort or name
/// (every task is sure to stop promptly), when tasks are not `Send` or run on a `LocalSet`
/// (`TaskTracker::spawn_local`), or when shutdown is a tree of subsystems, each with its own
/// token and tracker; [`token`](Self::token) gives a child token to hang such a tree under a
/// `Shutdown`. To also stop one task among many, by key, make a [`TaskSet`] with
/// [`task_set`](Self::task_set).
///
/// # Cancel safety
///
/// Dropping a `drain` future does not stop the drain: it runs in a task of its own, and a
/// later `drain` returns its report.
///
/// # Panics
///
/// [`spawn`](Self::spawn), [`drain`](Self::drain) and
/// [`listen_for_signals`](Self::listen_for_signals) panic outside a Tokio runtime, as
/// [`tokio::spawn`] does; `drain` also needs the time driver. No `Duration` panics: a grace
/// period too large to add to the current instant saturates to about 30 years (effectively
/// never; `Duration::MAX` waits for the tracked work however long it takes).
///
/// # Precision
///
/// The grace period ends at the first poll at or after its instant, on Tokio's millisecond
/// timer. A task that ends in the very millisecond the grace period ends races with the abort:
/// it is reported as finished or as aborted, depending on which the runtime polls first.
///
/// [Tokio's shutdown guide]: https://tokio.rs/tokio/topics/shutdown
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

struct Inner {
    /// Elect the one `trigger` and the one `force` call that return `true`.
    triggered: AtomicBool,
    forced: AtomicBool,
    /// Set by the first `listen_for_signals`: one listener per coordinator.
    listening: AtomicBool,
    /// Cancelled by the trigger: what tasks watch.
    trigger: CancellationToken,
    /// Cancelled by `force`: what the drain watches while it waits.
    force: CancellationToken,
    /// Counts named tasks (until they end), the tasks of its sets and `track`ed futures (until
    /// dropped).
    tracker: TaskTracker,
    /// Ids of named tasks and of the tasks of its sets: they grow in spawn order, the order of
    /// the report.
    ids: AtomicU64,
    state: Mutex<State>,
    /// Notified (all waiters) when the last named task ends.
    idle: Notify,
}

struct State {
    /// Named tasks not yet ended, by id (ids grow in spawn order).
    running: HashMap<u64, Running>,
    /// Named tasks that ended after the trigger, for the report.
    ended: Vec<(u64, String, Ending)>,
    /// The drain has begun aborting: new tasks are aborted as they are spawned.
    aborting: bool,
    /// The report is built: endings are no longer recorded.
    reported: bool,
    hooks: VecDeque<Hook>,
    /// The hooks have run: `on_cleanup` refuses new ones.
    hooks_done: bool,
    /// The drain, once started: its report is `Some` when it is done.
    drain: Option<watch::Receiver<Option<DrainReport>>>,
    /// The sets made by `task_set`; a set the user dropped is pruned at the next one.
    members: Vec<Weak<dyn Member>>,
    /// The trigger has told the sets to note how their tasks end.
    claimed: bool,
}

struct Running {
    name: String,
    abort: AbortHandle,
}

impl Shutdown {
    /// A coordinator that is not triggered, tracks nothing and has no cleanup hooks.
    ///
    /// ```
    /// use deadlines::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// assert!(!shutdown.is_triggered());
    /// ```
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                triggered: AtomicBool::new(false),
                forced: AtomicBool::new(false),
                listening: AtomicBool::new(false),
                trigger: CancellationToken::new(),
                force: CancellationToken::new(),
                tracker: TaskTracker::new(),
                ids: AtomicU64::new(0),
                state: Mutex::new(State {
                    running: HashMap::new(),
                    ended: Vec::new(),
                    aborting: false,
                    reported: false,
                    hooks: VecDeque::new(),
                    hooks_done: false,
                    drain: None,
                    members: Vec::new(),
                    claimed: false,
                }),
                idle: Notify::new(),
            }),
        }
    }

    /// Triggers the shutdown: every [`token`](Self::token) is cancelled and every
    /// [`triggered`](Self::triggered) future completes. Returns `true` for the call that
    /// triggered it, `false` if it was already triggered. It does not wait, abort or run
    /// cleanup: that is [`drain`](Self::drain)'s work.
    ///
    /// ```
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let token = shutdown.token();
    /// assert!(shutdown.trigger());
    /// assert!(!shutdown.trigger(), "already triggered");
    /// assert!(token.is_cancelled());
    /// shutdown.triggered().await; // completes at once
    /// # }
    /// ```
    pub fn trigger(&self) -> bool {
        // Relaxed: the swap only elects the one caller that returns `true` (read-modify-writes
        // of one atomic are totally ordered whatever the ordering); the token's own locking
        // publishes the trigger to the tasks that wait on it.
        let first = !self.inner.triggered.swap(true, Ordering::Relaxed);
        // Before the token is cancelled: the tasks of the sets end because of it, and their
        // sets must note those endings (and not the ones before) for the report.
        self.inner.claim_members();
        self.inner.trigger.cancel();
        first
    }

    /// Triggers the shutdown if it was not, and forces it: a running or later
    /// [`drain`](Self::drain) stops waiting and aborts every task still running at once, then
    /// runs the cleanup hooks. Returns `true` for the call that forced it. A second signal
    /// calls this once [`listen_for_signals`](Self::listen_for_signals) runs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// shutdown.spawn("stuck", std::future::pending::<()>());
    /// let impatient = shutdown.clone();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_secs(3)).await;
    ///     assert!(impatient.force());
    /// });
    ///
    /// let start = Instant::now();
    /// let report = shutdown.drain(Duration::from_secs(30)).await;
    /// assert!(report.forced);
    /// assert_eq!(report.aborted, ["stuck"]);
    /// assert_eq!(start.elapsed(), Duration::from_secs(3));
    /// # }
    /// ```
    pub fn force(&self) -> bool {
        // Relaxed: as in `trigger`, the swap only elects a caller.
        let first = !self.inner.forced.swap(true, Ordering::Relaxed);
        self.trigger();
        self.inner.force.cancel();
        first
    }

    /// Whether the shutdown was triggered.
    ///
    /// ```
    /// use deadlines::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.clone().trigger();
    /// assert!(shutdown.is_triggered(), "clones share one state");
    /// ```
    pub fn is_triggered(&self) -> bool {
        self.inner.trigger.is_cancelled()
    }

    /// Whether the shutdown was forced.
    ///
    /// ```
    /// use deadlines::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.force();
    /// assert!(shutdown.is_forced() && shutdown.is_triggered());
    /// ```
    pub fn is_forced(&self) -> bool {
        self.inner.force.is_cancelled()
    }

    /// A token cancelled when the shutdown is triggered, for a task to watch.
    ///
    /// It is a child token: cancelling it (or a clone of it) does not trigger the shutdown,
    /// so it can be handed to code that cancels its own token when it is done. Derive more
    /// children from it for a tree of subsystems. (For keyed tasks that the drain should wait
    /// for and name, [`task_set`](Self::task_set) makes a set whose tokens are children too.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let token = shutdown.token();
    /// let worker = shutdown.spawn("worker", async move {
    ///     let mut rounds = 0;
    ///     while token.run_until_cancelled(tokio::time::sleep(Duration::from_secs(1))).await.is_some() {
    ///         rounds += 1;
    ///     }
    ///     rounds
    /// });
    /// tokio::time::sleep(Duration::from_millis(3500)).await;
    /// shutdown.trigger();
    /// assert_eq!(worker.await.unwrap(), 3);
    /// # }
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.inner.trigger.child_token()
    }

    /// A future that completes when the shutdown is triggered (at once if it was). It owns
    /// what it needs, so it can be moved into a task or held across `select!` iterations.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let triggered = shutdown.triggered();
    /// tokio::pin!(triggered);
    /// let mut ticks = 0;
    /// let mut tick = tokio::time::interval(Duration::from_millis(100));
    /// shutdown.spawn("timer", {
    ///     let shutdown = shutdown.clone();
    ///     async move {
    ///         tokio::time::sleep(Duration::from_millis(450)).await;
    ///         shutdown.trigger();
    ///     }
    /// });
    /// loop {
    ///     tokio::select! {
    ///         _ = tick.tick() => ticks += 1,
    ///         () = &mut triggered => break,
    ///     }
    /// }
    /// assert_eq!(ticks, 5); // 0, 100, 200, 300, 400 ms
    /// # }
    /// ```
    pub fn triggered(&self) -> WaitForCancellationFutureOwned {
        self.inner.trigger.clone().cancelled_owned()
    }

    /// Spawns a named task on the current runtime and tracks it: [`drain`](Self::drain)
    /// waits for it, aborts it if it outlives the grace period, and names it in its report.
    ///
    /// The task should watch [`token`](Self::token) or [`triggered`](Self::triggered) and
    /// wind down when the shutdown is triggered. Names need not be unique. The returned
    /// handle works as [`tokio::spawn`]'s: awaiting it gives the output, or a `JoinError` if
    /// the task panicked or was aborted. A task spawned after the trigger starts with the
    /// shutdown triggered and is waited for within the same grace period; one spawned once
    /// the drain is aborting is aborted before it runs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let triggered = shutdown.triggered();
    /// let handle = shutdown.spawn("event-recorder", async move {
    ///     triggered.await;
    ///     tokio::time::sleep(Duration::from_millis(40)).await; // write the last events
    ///     "42 events recorded"
    /// });
    /// let report = shutdown.drain(Duration::from_secs(1)).await;
    /// assert_eq!(report.finished, ["event-recorder"]);
    /// assert_eq!(report.elapsed, Duration::from_millis(40));
    /// assert_eq!(handle.await.unwrap(), "42 events recorded");
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as [`tokio::spawn`] does; then nothing is tracked.
    #[track_caller]
    pub fn spawn<F>(&self, name: impl Into<String>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = Handle::current();
        let name = name.into();
        let id = self.inner.next_id();
        let record = Record::new(&self.inner, id, self.inner.tracker.token());
        spawn_recorded(run_named(future, record), |task| {
            let mut state = lock(&self.inner.state);
            let handle = runtime.spawn(task);
            if state.aborting {
                // The drain's abort pass is over and cannot see this task: it is aborted here
                // (and `run_named` never polls its future).
                handle.abort();
            }
            let abort = handle.abort_handle();
            state.running.insert(id, Running { name, abort });
            handle
        })
    }

    /// Tracks a future that is not spawned here (one run on a `LocalSet`, or spawned by other
    /// code): [`drain`](Self::drain) waits for it, within the grace period, until it
    /// completes or is dropped. It cannot be aborted or named; if it is still pending when
    /// the drain stops waiting, it is counted in [`DrainReport::abandoned`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let upload = shutdown.track(tokio::time::sleep(Duration::from_millis(300)));
    /// tokio::spawn(upload);
    /// let report = shutdown.drain(Duration::from_secs(1)).await;
    /// assert_eq!(report.elapsed, Duration::from_millis(300), "the drain waited for it");
    /// assert_eq!(report.abandoned, 0);
    /// # }
    /// ```
    pub fn track<F: Future>(&self, future: F) -> TrackedFuture<F> {
        self.inner.tracker.track_future(future)
    }

    /// A [`TaskSet`] that belongs to this coordinator: [`drain`](Self::drain) stops it with the
    /// same grace period and names its tasks in its report, beside the named tasks.
    ///
    /// - Each task's token is a child of the trigger: triggering asks every task of the set to
    ///   stop, and a task spawned afterwards starts with its token cancelled.
    /// - The drain waits for the set's tasks as for named ones: within the grace period, then
    ///   aborts those still running (at once if forced) and, unless forced, waits for them to be
    ///   dropped before the cleanup hooks run. Once it has stopped waiting, a task spawned in the
    ///   set is aborted before it starts: its future is dropped, never polled.
    /// - In the report a task is named `name[key]`, with the key's `Debug` (`sessions[42]`,
    ///   `jobs["reindex"]`): listed under finished, panicked or aborted, in spawn order among
    ///   the named tasks, if it was running at the trigger or spawned after it.
    /// - Otherwise it is an ordinary set: `stop`, `stop_and_wait`, `stop_all` and `join_next`
    ///   still return every exit, outputs included; the report only names the tasks.
    ///
    /// A method of the coordinator rather than `TaskSet::attach(&shutdown)`: everything a drain
    /// handles is registered here (`spawn`, `track`, `on_cleanup`), and, as
    /// [`CancellationToken::child_token`] does, the parent hands out the child. A set born
    /// attached has child tokens and is tracked from its first task, and cannot be attached
    /// twice, or to two coordinators, or after some of its tasks got tokens of their own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Shutdown, TaskSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let sessions: TaskSet<u64> = shutdown.task_set("sessions");
    /// for session in [7, 8] {
    ///     sessions.spawn(session, |token| async move { token.cancelled().await });
    /// }
    /// sessions.spawn(9, |_| std::future::pending()); // ignores its token
    /// shutdown.spawn("listener", shutdown.triggered());
    ///
    /// let report = shutdown.drain(Duration::from_secs(5)).await;
    /// assert_eq!(report.finished, ["sessions[7]", "sessions[8]", "listener"]);
    /// assert_eq!(report.aborted, ["sessions[9]"]);
    /// assert_eq!(report.elapsed, Duration::from_secs(5));
    /// assert!(sessions.is_empty());
    /// # }
    /// ```
    pub fn task_set<K, T>(&self, name: impl Into<String>) -> TaskSet<K, T>
    where
        K: fmt::Debug + Hash + Eq + Clone + Send + 'static,
        T: Send + 'static,
    {
        let (set, member) = TaskSet::owned_by(self, name.into());
        self.inner.attach(member);
        set
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (running, hooks) = {
            let state = lock(&self.inner.state);
            (state.running.len(), state.hooks.len())
        };
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .field("forced", &self.is_forced())
            .field("running", &running)
            .field("tracked", &self.inner.tracker.len())
            .field("hooks", &hooks)
            .finish()
    }
}
