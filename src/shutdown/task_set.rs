//! [`TaskSet`]: stoppable tasks by key, each with its own cancellation token, held in
//! tokio-util's [`JoinMap`](tokio_util::task::JoinMap) (how, and what `JoinMap` cannot do, is
//! written in `task_set/state.rs`).

mod exit;
mod state;

pub use exit::{StopReport, TaskExit};

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Shutdown;
use super::drain::Member;
use state::{Shared, State};

/// A set of tasks spawned by key, each with its own [`CancellationToken`], that can be
/// stopped one at a time or all together, with a grace period, and tell how they ended.
///
/// It is the supervisor of a dynamic set of background loops: one per session, per
/// subscription, per device. [`spawn`](Self::spawn) hands each task a fresh token (a child of
/// the set's parent token, if it has one); [`stop`](Self::stop) cancels the token of one task
/// and returns at once; [`stop_and_wait`](Self::stop_and_wait) cancels it, waits up to a grace
/// period for the task to wind down, aborts it if it did not, and returns how it ended as a
/// [`TaskExit`]; [`stop_all`](Self::stop_all) does that for every task at once and returns a
/// [`StopReport`]. [`join_next`](Self::join_next) yields the exits of tasks that ended by
/// themselves. A set made by [`Shutdown::task_set`] also belongs to that coordinator: its
/// drain stops the set with its own grace period and names the set's tasks in its report.
///
/// ```text
/// stop_and_wait(&key, 100 ms): a task that needs 30 ms to wind down, and one that ignores its token
///
/// time (ms)        0                30                                  100
///                  |-----------------|-----------------------------------|
/// token            cancelled
/// polite task      winds down .......Finished(output)
///   returns                          Some(Finished(output)), at 30
/// deaf task        keeps running ............................................ aborted
///   returns                                                              Some(Aborted), at 100
/// ```
///
/// Rules:
///
/// 1. A finished task leaves the set by itself: every method first takes the exits Tokio has
///    ready, so [`contains`](Self::contains) and [`len`](Self::len) are exact as soon as the
///    task has ended, without any call to `join_next`.
/// 2. Spawning on a key that has a running task stops the old task first: its token is
///    cancelled and the key moves to the new task. The old task winds down alongside the new
///    one, and its exit arrives through `join_next` under the same key. To be sure the two
///    never overlap, `stop_and_wait` the key before spawning.
/// 3. No method panics on an unknown key: [`stop`](Self::stop) returns `false`,
///    [`stop_and_wait`](Self::stop_and_wait) returns `None`.
/// 4. A panic in a task comes back, through its `JoinError`, as [`TaskExit::Panicked`]; it is
///    never propagated. An error is an output like any other: a task returning
///    `Result<T, E>` ends in `Finished(Err(e))`.
/// 5. Each exit is delivered once: to the `stop_and_wait` or `stop_all` that stopped the task,
///    or else to `join_next`. Exits of tasks that ended by themselves wait in the set until
///    `join_next` takes them, as in a `JoinSet`; a set whose exits nobody reads should be built
///    with [`keep_exits(false)`](Self::keep_exits), so that they do not pile up.
/// 6. Dropping the set aborts every task still in it, as dropping a `JoinSet` does. End it
///    with `stop_all` to give the tasks their grace period.
///
/// All methods take `&self`: share the set with `Arc` to stop tasks from other tasks.
///
/// # Examples
///
/// A loop per session, stopped by key when the session ends:
///
/// ```
/// use std::time::Duration;
/// use deadlines::{TaskExit, TaskSet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let sessions: TaskSet<u32, usize> = TaskSet::new();
/// for session in [1, 2, 3] {
///     sessions.spawn(session, |token| async move {
///         let mut pings = 0;
///         let mut tick = tokio::time::interval(Duration::from_secs(1));
///         loop {
///             tokio::select! {
///                 _ = tick.tick() => pings += 1,
///                 () = token.cancelled() => return pings,
///             }
///         }
///     });
/// }
///
/// tokio::time::sleep(Duration::from_millis(2500)).await;
/// let exit = sessions.stop_and_wait(&2, Duration::from_secs(1)).await;
/// assert_eq!(exit.and_then(TaskExit::into_output), Some(3)); // ticks at 0, 1 and 2 s
/// assert!(!sessions.contains(&2));
/// assert_eq!(sessions.len(), 2);
///
/// let report = sessions.stop_all(Duration::from_secs(1)).await;
/// assert_eq!(report.finished(), [&1, &3]);
/// # }
/// ```
///
/// # Comparison to `JoinMap` and `CancellationToken`
///
/// The tasks are held in a tokio-util [`JoinMap`](tokio_util::task::JoinMap), which keys a `JoinSet` but stops a task
/// only by aborting it, mid-write, needs `&mut` to spawn or join, and returns exits in the
/// order tasks end. This type adds what it leaves to the user: a token per task so it can wind
/// down, a grace period followed by an abort, re-spawn that stops the old task instead of
/// aborting it, keys that leave as their task ends, `&self` methods for many tasks at once,
/// and each exit returned to whoever stopped the task. Use a `JoinMap` when aborting is a fine
/// way to stop, and a bare `CancellationToken` per task when nothing needs the outputs.
///
/// # Cancel safety
///
/// Dropping a [`stop_and_wait`](Self::stop_and_wait) or [`stop_all`](Self::stop_all) future
/// before it completes leaves the tasks asked to stop, but not aborted; their exits then go
/// to [`join_next`](Self::join_next). `join_next` itself is cancel safe: an exit is taken
/// only by a poll that returns it.
///
/// # Panics
///
/// [`spawn`](Self::spawn) panics outside a Tokio runtime, as [`tokio::spawn`] does. The
/// methods that wait panic outside a runtime with the time driver enabled. No key and no
/// `Duration` panics: a grace period too large to add to the current instant saturates to
/// about 30 years (effectively never).
///
/// # Precision
///
/// A grace period ends at the first poll at or after its instant, on Tokio's millisecond
/// timer. A task that ends in the very millisecond its grace period ends races with the
/// abort: it is reported either way, depending on which the runtime polls first.
pub struct TaskSet<K, T = ()> {
    shared: Arc<Shared<K, T>>,
    parent: Option<CancellationToken>,
}
impl<K, T> TaskSet<K, T>
where
    K: Hash + Eq + Clone + Send + 'static,
    T: Send + 'static,
{
    /// An empty set. Each task spawned in it gets a fresh [`CancellationToken`]. It needs no
    /// runtime until the first [`spawn`](Self::spawn).
    ///
    /// ```
    /// use deadlines::TaskSet;
    ///
    /// let set: TaskSet<String> = TaskSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with(None, None)
    }

    /// An empty set whose tasks get child tokens of `parent`: cancelling `parent` asks every
    /// task of the set to stop, including tasks spawned afterwards, which start with a
    /// cancelled token.
    ///
    /// A parent token only asks: nothing waits for the set's tasks or reports them, and their
    /// exits go to [`join_next`](Self::join_next). For a set that a [`Shutdown`] stops with its
    /// grace period and names in its report, make it with [`Shutdown::task_set`] instead.
    ///
    /// ```
    /// use deadlines::TaskSet;
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let parent = CancellationToken::new();
    /// let set = TaskSet::with_parent(&parent);
    /// set.spawn("worker", |token| async move { token.cancelled().await });
    /// parent.cancel();
    /// let (key, exit) = set.join_next().await.unwrap();
    /// assert_eq!((key, exit.is_finished()), ("worker", true));
    /// # }
    /// ```
    pub fn with_parent(parent: &CancellationToken) -> Self {
        Self::with(Some(parent.clone()), None)
    }

    fn with(parent: Option<CancellationToken>, owner: Option<(Shutdown, String)>) -> Self {
        Self {
            shared: Arc::new(Shared::new(owner)),
            parent,
        }
    }

    /// Whether to keep the exits of tasks that ended by themselves for
    /// [`join_next`](Self::join_next) (the default, `true`). With `false` they are dropped as
    /// the set takes them from Tokio (at its next call, a `spawn` included), so a set whose
    /// exits nobody reads does not grow beyond its running tasks and those that ended since
    /// its last call; `join_next` then only waits for the set to empty and returns `None`.
    /// Exits collected by [`stop_and_wait`](Self::stop_and_wait) and
    /// [`stop_all`](Self::stop_all) are returned either way.
    ///
    /// ```
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new().keep_exits(false);
    /// set.spawn("one-shot", |_| async {});
    /// assert_eq!(set.join_next().await, None, "the exit was dropped");
    /// assert!(set.is_empty());
    /// # }
    /// ```
    pub fn keep_exits(self, keep: bool) -> Self {
        let dropped = {
            let mut state = self.shared.lock();
            state.keep_exits = keep;
            if keep {
                VecDeque::new()
            } else {
                std::mem::take(&mut state.exits)
            }
        };
        drop(dropped); // outputs are user types: drop them outside the lock
        self
    }

    /// Spawns a task under `key`: `task` is called at once with the task's own
    /// [`CancellationToken`], and the future it returns runs as a Tokio task. Returns `true`
    /// if a task was already running under `key`: that task was asked to stop (its token is
    /// cancelled), and its exit will come through [`join_next`](Self::join_next).
    ///
    /// The task should watch its token (`token.cancelled()` in a `select!`, or
    /// [`run_until_cancelled`](CancellationToken::run_until_cancelled)) and wind down when it
    /// is cancelled; a task that does not is aborted when a grace period runs out.
    ///
    /// ```
    /// use deadlines::{TaskExit, TaskSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// assert!(!set.spawn("feed", |token| async move { token.cancelled().await; "v1" }));
    /// assert!(set.spawn("feed", |token| async move { token.cancelled().await; "v2" }));
    /// assert_eq!(set.len(), 2, "the old task is still winding down");
    ///
    /// // The replaced task was stopped; its exit comes under the same key.
    /// assert_eq!(set.join_next().await, Some(("feed", TaskExit::Finished("v1"))));
    /// assert!(set.contains("feed"));
    /// assert!(set.stop("feed"));
    /// assert_eq!(set.join_next().await, Some(("feed", TaskExit::Finished("v2"))));
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as [`tokio::spawn`] does; then nothing is added to the set.
    #[track_caller]
    pub fn spawn<F, Fut>(&self, key: K, task: F) -> bool
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let runtime = Handle::current();
        let token = match &self.parent {
            Some(parent) => parent.child_token(),
            None => CancellationToken::new(),
        };
        // User code: called before the lock is taken.
        let future = task(token.clone());
        let replaced = match &self.shared.owner {
            // Tracked by its coordinator, whose drain then waits for it as for a named task.
            Some((shutdown, _)) => self
                .shared
                .insert(&runtime, key, token, shutdown.track(future)),
            None => self.shared.insert(&runtime, key, token, future),
        };
        if let Some(old) = &replaced {
            old.cancel();
        }
        replaced.is_some()
    }

    /// Asks the task under `key` to stop, by cancelling its token, and returns at once:
    /// `true` if a task was running under `key`, `false` if none was (an unknown key, or a
    /// task that has ended). The task keeps its key until it ends; its exit comes through
    /// [`join_next`](Self::join_next).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{TaskExit, TaskSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn(7, |token| async move {
    ///     token.cancelled().await;
    ///     tokio::time::sleep(Duration::from_millis(20)).await; // flush
    ///     "flushed"
    /// });
    /// assert!(set.stop(&7));
    /// assert!(!set.stop(&8), "no task under 8");
    /// assert!(set.contains(&7), "still winding down");
    /// assert_eq!(set.join_next().await, Some((7, TaskExit::Finished("flushed"))));
    /// assert!(!set.stop(&7), "it has ended");
    /// # }
    /// ```
    pub fn stop<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let token = {
            let reaped = self.shared.reaped();
            let id = reaped.state.keys.get(key);
            let entry = id.and_then(|id| reaped.state.entries.get(id));
            entry.map(|entry| entry.token.clone())
        };
        token.map(|token| token.cancel()).is_some()
    }

    /// Stops the task under `key` and waits for it: cancels its token, waits up to `grace`
    /// for it to end, aborts it if it has not, and returns how it ended. `None` if no task was
    /// running under `key`.
    ///
    /// The task leaves its key at once, so the key is free for a new [`spawn`](Self::spawn)
    /// while this waits, and the exit is returned here only, never by
    /// [`join_next`](Self::join_next). It returns as soon as the task ends: at the latest at
    /// `grace`, plus the time an aborted task takes to be dropped (the next time its worker
    /// is free; a task that blocks its thread delays that).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{TaskExit, TaskSet};
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set: TaskSet<&str, Result<u32, String>> = TaskSet::new();
    /// set.spawn("import", |token| async move {
    ///     token.cancelled().await;
    ///     Err("interrupted at row 42".to_string())
    /// });
    /// set.spawn("stuck", |_| std::future::pending());
    ///
    /// let start = Instant::now();
    /// let grace = Duration::from_secs(1);
    /// let exit = set.stop_and_wait("import", grace).await;
    /// assert_eq!(exit, Some(TaskExit::Finished(Err("interrupted at row 42".to_string()))));
    /// assert_eq!(start.elapsed(), Duration::ZERO);
    ///
    /// assert_eq!(set.stop_and_wait("stuck", grace).await, Some(TaskExit::Aborted));
    /// assert_eq!(start.elapsed(), grace);
    /// assert_eq!(set.stop_and_wait("stuck", grace).await, None);
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes leaves the task asked to stop but not
    /// aborted, no longer under its key; its exit then goes to `join_next`.
    pub async fn stop_and_wait<Q>(&self, key: &Q, grace: Duration) -> Option<TaskExit<T>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (collector, mut exits) = mpsc::unbounded_channel();
        let (id, token) = {
            let mut reaped = self.shared.reaped();
            let id = reaped.state.keys.remove(key)?;
            let entry = reaped.state.entries.get_mut(&id)?;
            entry.collector = Some(collector);
            (id, entry.token.clone())
        };
        token.cancel();
        let mut collected = self.shared.collect(&mut exits, &[id], grace).await;
        collected.pop().map(|(_, _, exit)| exit)
    }

    /// Stops every task in the set and waits for them: cancels all their tokens, waits up to
    /// `grace` for them to end, aborts those still running, and returns how each ended, in
    /// spawn order.
    ///
    /// Every task running at the call is stopped (tasks no longer under a key included),
    /// except those a [`stop_and_wait`](Self::stop_and_wait) is already collecting. Tasks
    /// spawned while it waits are not part of it. The set stays usable afterwards.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{TaskExit, TaskSet};
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// for (name, wind_down_ms) in [("quick", 10), ("slow", 5_000), ("medium", 200)] {
    ///     set.spawn(name, move |token| async move {
    ///         token.cancelled().await;
    ///         tokio::time::sleep(Duration::from_millis(wind_down_ms)).await;
    ///     });
    /// }
    /// let start = Instant::now();
    /// let report = set.stop_all(Duration::from_secs(1)).await;
    /// assert_eq!(report.finished(), [&"quick", &"medium"]);
    /// assert_eq!(report.aborted(), [&"slow"]);
    /// assert_eq!(report.elapsed, Duration::from_secs(1));
    /// assert_eq!(start.elapsed(), Duration::from_secs(1));
    /// assert!(set.is_empty());
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes leaves the tasks asked to stop but not
    /// aborted; their exits then go to `join_next`.
    pub async fn stop_all(&self, grace: Duration) -> StopReport<K, T> {
        let start = Instant::now();
        let (collector, mut exits) = mpsc::unbounded_channel();
        let (ids, tokens) = {
            let mut reaped = self.shared.reaped();
            let State { entries, keys, .. } = &mut *reaped.state;
            let mut ids = Vec::new();
            let mut tokens = Vec::new();
            for (&id, entry) in entries.iter_mut().filter(|(_, e)| e.collector.is_none()) {
                entry.collector = Some(collector.clone());
                ids.push(id);
                tokens.push(entry.token.clone());
                if keys.get(&entry.key) == Some(&id) {
                    keys.remove(&entry.key);
                }
            }
            (ids, tokens)
        };
        // The channel closes once every collected task has sent its exit.
        drop(collector);
        for token in tokens {
            token.cancel();
        }
        let exits = self.shared.collect(&mut exits, &ids, grace).await;
        StopReport {
            exits: exits
                .into_iter()
                .map(|(_, key, exit)| (key, exit))
                .collect(),
            elapsed: start.elapsed(),
        }
    }

    /// Waits for the next task to end by itself (or to be stopped by [`stop`](Self::stop) or
    /// replaced by a re-spawn) and returns its key and exit. Returns `None` when the set is
    /// empty and no exit is waiting.
    ///
    /// Exits are returned in the order the tasks ended. Exits collected by
    /// [`stop_and_wait`](Self::stop_and_wait) or [`stop_all`](Self::stop_all) are not
    /// returned here.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{TaskExit, TaskSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// for (key, ms) in [("b", 20), ("a", 10)] {
    ///     set.spawn(key, move |_| tokio::time::sleep(Duration::from_millis(ms)));
    /// }
    /// assert_eq!(set.join_next().await, Some(("a", TaskExit::Finished(()))));
    /// assert_eq!(set.join_next().await, Some(("b", TaskExit::Finished(()))));
    /// assert_eq!(set.join_next().await, None);
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an exit is taken only by a poll that returns it, so `join_next` can be a
    /// branch of a `select!` loop.
    pub async fn join_next(&self) -> Option<(K, TaskExit<T>)> {
        self.shared
            .wait_for(|reaped| match reaped.state.exits.pop_front() {
                Some(exit) => Some(Some(exit)),
                None => reaped.state.entries.is_empty().then_some(None),
            })
            .await
    }

    /// Whether a task is running under `key`.
    ///
    /// ```
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn("done-soon", |_| async {});
    /// assert!(set.contains("done-soon"));
    /// tokio::task::yield_now().await; // the task runs and ends
    /// assert!(!set.contains("done-soon"), "it left the set by itself");
    /// # }
    /// ```
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shared.reaped().state.keys.contains_key(key)
    }

    /// How many tasks are running: those under a key, plus those still winding down after a
    /// re-spawn replaced them or while a `stop_and_wait` waits for them.
    ///
    /// ```
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn(1, |token| token.cancelled_owned());
    /// set.spawn(2, |token| token.cancelled_owned());
    /// assert_eq!(set.len(), 2);
    /// set.stop(&1);
    /// set.join_next().await;
    /// assert_eq!(set.len(), 1);
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.shared.reaped().state.entries.len()
    }

    /// Whether no task is running (exits may still wait for [`join_next`](Self::join_next)).
    ///
    /// ```
    /// use deadlines::TaskSet;
    ///
    /// let set: TaskSet<u64> = TaskSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.shared.reaped().state.entries.is_empty()
    }

    /// A set of `shutdown`, named `name` in its report, and the side of it the drain sees.
    pub(super) fn owned_by(shutdown: &Shutdown, name: String) -> (Self, Arc<dyn Member>)
    where
        K: fmt::Debug,
    {
        let trigger = shutdown.inner.trigger.clone();
        let set = Self::with(Some(trigger), Some((shutdown.clone(), name)));
        let member: Arc<dyn Member> = set.shared.clone();
        (set, member)
    }
}

impl<K, T> Default for TaskSet<K, T>
where
    K: Hash + Eq + Clone + Send + 'static,
    T: Send + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<K, T> Drop for TaskSet<K, T> {
    fn drop(&mut self) {
        self.shared.abort_for_drop();
    }
}

impl<K, T> fmt::Debug for TaskSet<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not reaped (that needs `K: Hash + Eq`): a task that ended since the set's last call
        // still counts as running.
        let (running, keyed, exits_waiting) = {
            let state = self.shared.lock();
            (state.entries.len(), state.keys.len(), state.exits.len())
        };
        f.debug_struct("TaskSet")
            .field("running", &running)
            .field("keyed", &keyed)
            .field("exits_waiting", &exits_waiting)
            .finish()
    }
}
