//! [`TaskSet`]: stoppable tasks by key, each with its own cancellation token.
//!
//! Also the piece [`Shutdown`](crate::Shutdown) shares with it: [`CatchUnwind`], which turns a
//! panic of a task into a value.

use std::any::Any;
use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::sync::{Notify, mpsc};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::deadline::Deadline;
use crate::sync::lock;

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
/// themselves.
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
/// 1. A finished task leaves the set by itself, at once: its entry is removed by the task as
///    it ends (O(1), no reaping pass), so [`contains`](Self::contains) and
///    [`len`](Self::len) are exact without any call to `join_next`.
/// 2. Spawning on a key that has a running task stops the old task first: its token is
///    cancelled and the key moves to the new task. The old task winds down alongside the new
///    one, and its exit arrives through `join_next` under the same key. To be sure the two
///    never overlap, `stop_and_wait` the key before spawning.
/// 3. No method panics on an unknown key: [`stop`](Self::stop) returns `false`,
///    [`stop_and_wait`](Self::stop_and_wait) returns `None`.
/// 4. A panic in a task is caught and reported as [`TaskExit::Panicked`]; it is never
///    propagated. An error is an output like any other: a task returning `Result<T, E>` ends
///    in `Finished(Err(e))`.
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
/// # Comparison to `JoinSet`, `JoinMap` and `CancellationToken`
///
/// A [`JoinSet`](tokio::task::JoinSet) plus a map from keys to [`CancellationToken`]s and
/// [`AbortHandle`]s is what this type amounts to. tokio-util's `JoinMap` (feature
/// `join-map`) keys a `JoinSet`, but stops a task only by aborting it, mid-write. This type
/// adds what those leave to the user: a token per task so it can wind down, a grace period
/// followed by an abort, keys that leave by themselves when their task ends, re-spawn that
/// stops the old task, panics caught into [`TaskExit::Panicked`], and each exit returned to
/// whoever stopped the task. Use a `JoinSet` or `JoinMap` when aborting is a fine way to
/// stop, and a bare `CancellationToken` per task when nothing needs the outputs.
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

/// How a task of a [`TaskSet`] ended.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{TaskExit, TaskSet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let set: TaskSet<&str, Result<u8, String>> = TaskSet::new();
/// set.spawn("ok", |_| async { Ok(7) });
/// set.spawn("err", |_| async { Err("disk full".to_string()) });
/// set.spawn("panics", |_| async { panic!("boom") });
/// set.spawn("deaf", |_| std::future::pending());
///
/// let grace = Duration::from_millis(100);
/// assert_eq!(set.stop_and_wait("deaf", grace).await, Some(TaskExit::Aborted));
/// let mut exits = Vec::new();
/// while let Some(exit) = set.join_next().await {
///     exits.push(exit);
/// }
/// exits.sort_by_key(|(key, _)| *key);
/// assert_eq!(
///     exits,
///     [
///         ("err", TaskExit::Finished(Err("disk full".to_string()))),
///         ("ok", TaskExit::Finished(Ok(7))),
///         ("panics", TaskExit::Panicked("boom".to_string())),
///     ]
/// );
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskExit<T> {
    /// The task ran to completion and returned this output (which may be an `Err`).
    Finished(T),
    /// The task panicked; this is the panic message (`"Box<dyn Any>"` when the payload was
    /// neither a `&str` nor a `String`). The panic was caught, not propagated.
    Panicked(String),
    /// The task was aborted: it outlived its grace period, or the set was dropped, before it
    /// ended. Its future was dropped.
    Aborted,
}

/// What [`TaskSet::stop_all`] returns: how each task it stopped ended, and how long that took.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{StopReport, TaskExit, TaskSet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let set = TaskSet::new();
/// set.spawn("polite", |token| async move { token.cancelled().await });
/// set.spawn("deaf", |_| std::future::pending());
///
/// let report: StopReport<&str, ()> = set.stop_all(Duration::from_millis(250)).await;
/// assert_eq!(report.exits, [("polite", TaskExit::Finished(())), ("deaf", TaskExit::Aborted)]);
/// assert_eq!(report.aborted(), [&"deaf"]);
/// assert_eq!(report.elapsed, Duration::from_millis(250));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StopReport<K, T> {
    /// Each stopped task's key and exit, in the order the tasks were spawned.
    pub exits: Vec<(K, TaskExit<T>)>,
    /// From the call of `stop_all` to the last exit: the grace period at most, unless an
    /// aborted task took time to be dropped.
    pub elapsed: Duration,
}

struct Shared<K, T> {
    state: Mutex<State<K, T>>,
    /// Notified (all waiters) when an exit is queued for `join_next` or a task leaves the
    /// set; `join_next` waits on it.
    changed: Notify,
}

struct State<K, T> {
    next_id: u64,
    /// Every task still running, by id (ids grow in spawn order), including tasks no longer
    /// under a key (replaced by a re-spawn, or being stopped by `stop_and_wait`/`stop_all`).
    tasks: HashMap<u64, Entry<K, T>>,
    /// The task running under each key. Invariant: every id here is in `tasks`.
    keys: HashMap<K, u64>,
    /// Exits nobody collected, for `join_next`.
    exits: VecDeque<(K, TaskExit<T>)>,
    keep_exits: bool,
}

struct Entry<K, T> {
    key: K,
    token: CancellationToken,
    /// `None` between the insertion of the entry and the return of `tokio::spawn`.
    abort: Option<AbortHandle>,
    /// Set when an abort was asked while `abort` was `None`: the spawner aborts the task.
    abort_requested: bool,
    /// Where the exit goes: the `stop_and_wait` or `stop_all` collecting it, else `join_next`.
    collector: Option<Collector<K, T>>,
}

type Collector<K, T> = mpsc::UnboundedSender<(u64, K, TaskExit<T>)>;

impl<K, T> TaskSet<K, T>
where
    K: Hash + Eq + Clone + Send + 'static,
    T: Send + 'static,
{
    /// An empty set. Each task spawned in it gets a fresh [`CancellationToken`].
    ///
    /// ```
    /// use deadlines::TaskSet;
    ///
    /// let set: TaskSet<String> = TaskSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    next_id: 0,
                    tasks: HashMap::new(),
                    keys: HashMap::new(),
                    exits: VecDeque::new(),
                    keep_exits: true,
                }),
                changed: Notify::new(),
            }),
            parent: None,
        }
    }

    /// An empty set whose tasks get child tokens of `parent`: cancelling `parent` (for
    /// example a [`Shutdown`](crate::Shutdown)'s [`token`](crate::Shutdown::token)) asks
    /// every task of the set to stop, including tasks spawned afterwards, which start with a
    /// cancelled token.
    ///
    /// A parent token only asks: `Shutdown::drain` neither waits for the set's tasks nor
    /// reports them, and tasks that stop by themselves leave their exits to
    /// [`join_next`](Self::join_next). To give a set a grace period and a report on shutdown,
    /// spawn a named `Shutdown` task that awaits [`triggered`](crate::Shutdown::triggered)
    /// and then calls [`stop_all`](Self::stop_all) (as `examples/tour.rs` does).
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
        let mut set = Self::new();
        set.parent = Some(parent.clone());
        set
    }

    /// Whether to keep the exits of tasks that ended by themselves for
    /// [`join_next`](Self::join_next) (the default, `true`). With `false` they are dropped as
    /// the tasks end, so a set whose exits nobody reads does not grow; `join_next` then only
    /// waits for the set to empty and returns `None`. Exits collected by
    /// [`stop_and_wait`](Self::stop_and_wait) and [`stop_all`](Self::stop_all) are returned
    /// either way.
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
            let mut state = lock(&self.shared.state);
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
        let runtime = tokio::runtime::Handle::current();
        let token = match &self.parent {
            Some(parent) => parent.child_token(),
            None => CancellationToken::new(),
        };
        // User code: called before the lock is taken.
        let future = task(token.clone());
        let (id, replaced) = {
            let mut state = lock(&self.shared.state);
            let id = state.next_id;
            state.next_id += 1;
            state.tasks.insert(
                id,
                Entry {
                    key: key.clone(),
                    token,
                    abort: None,
                    abort_requested: false,
                    collector: None,
                },
            );
            let replaced = state.keys.insert(key, id);
            let replaced = replaced
                .and_then(|old| state.tasks.get(&old))
                .map(|old| old.token.clone());
            (id, replaced)
        };
        if let Some(old) = &replaced {
            old.cancel();
        }
        let exit = ExitGuard {
            shared: Arc::downgrade(&self.shared),
            id,
            armed: true,
        };
        // Not under the lock: a runtime that is shutting down drops the future inside
        // `spawn`, and the guard then takes the lock to record the abort.
        let abort = runtime.spawn(supervise(future, exit)).abort_handle();
        let abort_now = {
            let mut state = lock(&self.shared.state);
            match state.tasks.get_mut(&id) {
                Some(entry) if entry.abort_requested => true,
                Some(entry) => {
                    entry.abort = Some(abort.clone());
                    false
                }
                None => false, // it has ended already
            }
        };
        if abort_now {
            abort.abort();
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
            let state = lock(&self.shared.state);
            state
                .keys
                .get(key)
                .and_then(|id| state.tasks.get(id))
                .map(|entry| entry.token.clone())
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
            let mut state = lock(&self.shared.state);
            let id = state.keys.remove(key)?;
            let entry = state.tasks.get_mut(&id)?;
            entry.collector = Some(collector);
            (id, entry.token.clone())
        };
        token.cancel();
        let mut collected = self.collect(&mut exits, &[id], grace).await;
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
            let mut state = lock(&self.shared.state);
            let State { tasks, keys, .. } = &mut *state;
            let mut ids = Vec::new();
            let mut tokens = Vec::new();
            for (&id, entry) in tasks.iter_mut().filter(|(_, e)| e.collector.is_none()) {
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
        let exits = self.collect(&mut exits, &ids, grace).await;
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
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            // Registered before the state is read: a change after the read wakes us.
            changed.as_mut().enable();
            {
                let mut state = lock(&self.shared.state);
                if let Some(exit) = state.exits.pop_front() {
                    return Some(exit);
                }
                if state.tasks.is_empty() {
                    return None;
                }
            }
            changed.await;
        }
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
        lock(&self.shared.state).keys.contains_key(key)
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
        lock(&self.shared.state).tasks.len()
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
        lock(&self.shared.state).tasks.is_empty()
    }

    /// Receives the exits of the tasks `ids`, which send them to `exits`; aborts those still
    /// running when `grace` ends. Returns the exits in spawn order.
    async fn collect(
        &self,
        exits: &mut mpsc::UnboundedReceiver<(u64, K, TaskExit<T>)>,
        ids: &[u64],
        grace: Duration,
    ) -> Vec<(u64, K, TaskExit<T>)> {
        let mut collected = Vec::with_capacity(ids.len());
        let deadline = Deadline::after(grace);
        tokio::pin!(deadline);
        let mut aborted = false;
        loop {
            tokio::select! {
                biased;
                // `None` once every collected task has sent its exit and dropped its sender.
                exit = exits.recv() => match exit {
                    Some(exit) => collected.push(exit),
                    None => break,
                },
                _ = &mut deadline, if !aborted => {
                    aborted = true;
                    self.abort(ids);
                }
            }
        }
        collected.sort_unstable_by_key(|(id, _, _)| *id);
        collected
    }

    /// Aborts the tasks `ids` that are still running.
    fn abort(&self, ids: &[u64]) {
        let handles: Vec<AbortHandle> = {
            let mut state = lock(&self.shared.state);
            let mut handles = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(entry) = state.tasks.get_mut(id) {
                    entry.abort_requested = true;
                    handles.extend(entry.abort.clone());
                }
            }
            handles
        };
        for handle in handles {
            handle.abort();
        }
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
        let handles: Vec<AbortHandle> = {
            let mut state = lock(&self.shared.state);
            state
                .tasks
                .values_mut()
                .filter_map(|entry| {
                    entry.abort_requested = true;
                    entry.abort.clone()
                })
                .collect()
        };
        for handle in handles {
            handle.abort();
        }
    }
}

impl<K, T> fmt::Debug for TaskSet<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("TaskSet")
            .field("running", &state.tasks.len())
            .field("keyed", &state.keys.len())
            .field("exits_waiting", &state.exits.len())
            .finish()
    }
}

impl<T> TaskExit<T> {
    /// The output, if the task finished.
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert_eq!(TaskExit::Finished(3).into_output(), Some(3));
    /// assert_eq!(TaskExit::<u8>::Aborted.into_output(), None);
    /// ```
    pub fn into_output(self) -> Option<T> {
        match self {
            Self::Finished(output) => Some(output),
            Self::Panicked(_) | Self::Aborted => None,
        }
    }

    /// Whether the task ran to completion (its output may still be an `Err`).
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert!(TaskExit::Finished(Err::<(), _>("bad input")).is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Finished(_))
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert!(TaskExit::<()>::Panicked("boom".into()).is_panicked());
    /// ```
    pub fn is_panicked(&self) -> bool {
        matches!(self, Self::Panicked(_))
    }

    /// Whether the task was aborted.
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert!(TaskExit::<()>::Aborted.is_aborted());
    /// ```
    pub fn is_aborted(&self) -> bool {
        matches!(self, Self::Aborted)
    }
}

impl<K, T> StopReport<K, T> {
    /// The keys of the tasks that finished, in spawn order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn("a", |token| token.cancelled_owned());
    /// let report = set.stop_all(Duration::from_secs(1)).await;
    /// assert_eq!(report.finished(), [&"a"]);
    /// # }
    /// ```
    pub fn finished(&self) -> Vec<&K> {
        self.keys_where(TaskExit::is_finished)
    }

    /// The keys of the tasks that panicked, in spawn order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn("a", |token| async move {
    ///     token.cancelled().await;
    ///     panic!("cannot stop cleanly");
    /// });
    /// let report = set.stop_all(Duration::from_secs(1)).await;
    /// assert_eq!(report.panicked(), [&"a"]);
    /// # }
    /// ```
    pub fn panicked(&self) -> Vec<&K> {
        self.keys_where(TaskExit::is_panicked)
    }

    /// The keys of the tasks that were aborted, in spawn order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn("a", |_| std::future::pending::<()>());
    /// let report = set.stop_all(Duration::ZERO).await;
    /// assert_eq!(report.aborted(), [&"a"]);
    /// # }
    /// ```
    pub fn aborted(&self) -> Vec<&K> {
        self.keys_where(TaskExit::is_aborted)
    }

    fn keys_where(&self, pick: impl Fn(&TaskExit<T>) -> bool) -> Vec<&K> {
        self.exits
            .iter()
            .filter(|(_, exit)| pick(exit))
            .map(|(key, _)| key)
            .collect()
    }
}

/// Delivers a task's exit when it ends, or `Aborted` if it is dropped before that.
struct ExitGuard<K: Hash + Eq, T> {
    shared: Weak<Shared<K, T>>,
    id: u64,
    armed: bool,
}

impl<K: Hash + Eq, T> ExitGuard<K, T> {
    fn deliver(mut self, exit: TaskExit<T>) {
        self.armed = false;
        deliver(&self.shared, self.id, exit);
    }
}

impl<K: Hash + Eq, T> Drop for ExitGuard<K, T> {
    fn drop(&mut self) {
        if self.armed {
            deliver(&self.shared, self.id, TaskExit::Aborted);
        }
    }
}

/// Removes the task from the set (and its key, if the key is still its own) and hands its
/// exit to its collector, or queues it for `join_next`.
fn deliver<K: Hash + Eq, T>(shared: &Weak<Shared<K, T>>, id: u64, exit: TaskExit<T>) {
    let Some(shared) = shared.upgrade() else {
        return; // the set was dropped
    };
    let discarded = {
        let mut state = lock(&shared.state);
        let Some(entry) = state.tasks.remove(&id) else {
            return;
        };
        if state.keys.get(&entry.key) == Some(&id) {
            state.keys.remove(&entry.key);
        }
        let uncollected = match entry.collector {
            Some(collector) => collector
                .send((id, entry.key, exit))
                .err()
                .map(|unsent| (unsent.0.1, unsent.0.2)),
            None => Some((entry.key, exit)),
        };
        match uncollected {
            Some(exit) if state.keep_exits => {
                state.exits.push_back(exit);
                None
            }
            other => other,
        }
    };
    // Keys and outputs are user types: dropped outside the lock.
    drop(discarded);
    shared.changed.notify_waiters();
}

/// The body of every task of a set: runs the user's future, catching a panic.
async fn supervise<F, K, T>(future: F, exit: ExitGuard<K, T>)
where
    F: Future<Output = T>,
    K: Hash + Eq,
{
    let outcome = match CatchUnwind::new(future).await {
        Ok(output) => TaskExit::Finished(output),
        Err(payload) => TaskExit::Panicked(panic_message(&*payload)),
    };
    exit.deliver(outcome);
}

pin_project! {
    /// Polls a future, turning a panic in its `poll` into `Err(payload)`.
    ///
    /// Must not be polled again after it returned `Ready`.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        // Unwind safety: after a panic the future is never polled again, only dropped, so no
        // broken invariant of it can be observed.
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The message of a panic payload, as the standard panic hook prints it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
