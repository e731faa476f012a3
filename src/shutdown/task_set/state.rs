//! The private data structure of a [`TaskSet`](super::TaskSet): its tasks in a tokio-util
//! [`JoinMap`], and what it keeps beside them.
//!
//! - The `JoinMap` is keyed by a spawn id, not by the user's key: `JoinMap::spawn` on a key it
//!   holds aborts the task there, while a re-spawn must let the old task wind down on its
//!   token. `entries` maps each id to its key, its token and where its exit goes; `keys` maps
//!   each key to the id running under it.
//! - Outputs, panics (`JoinError::is_panic`, `into_panic`) and aborts come back through the
//!   `JoinMap`. What it cannot do: wait for one key's exit while the other tasks run, or let
//!   several tasks wait at once. It hands an exit out only when asked, to whoever holds it
//!   mutably, in the order the tasks ended, and it keeps a single waker. So the set *reaps*
//!   under its lock before every read and every wait: it takes every exit Tokio has ready and
//!   routes it (to the `stop_and_wait` or `stop_all` collecting it, else to the queue of
//!   `join_next`). And it polls the `JoinMap` with a waker of its own, [`Changed`], which
//!   wakes every task waiting on the set; each then reaps and looks for its exit.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::task::coop::unconstrained;
use tokio_util::sync::CancellationToken;
use tokio_util::task::JoinMap;

use super::TaskExit;
use crate::deadline::Deadline;
use crate::shutdown::Shutdown;
use crate::shutdown::drain::{Ending, Member};
use crate::shutdown::spawn::spawn_recorded;
use crate::sync::lock;

pub(super) struct Shared<K, T> {
    state: Mutex<State<K, T>>,
    changed: Arc<Changed>,
    /// `changed` as a waker: the one the `JoinMap` is polled with.
    waker: Waker,
    /// The coordinator of a set made by `Shutdown::task_set`, and the set's name there.
    pub(super) owner: Option<(Shutdown, String)>,
}

/// What the `JoinMap` wakes when a task ends. It keeps a single waker, and many tasks may
/// wait on the set (`join_next`, each `stop_and_wait`, `stop_all`, a drain): this one wakes
/// them all, and each reaps and looks for its exit.
struct Changed(Notify);

impl Wake for Changed {
    fn wake(self: Arc<Self>) {
        self.0.notify_waiters();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify_waiters();
    }
}

pub(super) struct State<K, T> {
    next_id: u64,
    /// Every task not yet reaped, under its id (ids grow in spawn order).
    tasks: JoinMap<u64, T>,
    /// The same tasks' keys, tokens and collectors, including tasks no longer under a key
    /// (replaced by a re-spawn, or being stopped by `stop_and_wait`/`stop_all`).
    pub(super) entries: HashMap<u64, Entry<K, T>>,
    /// The task running under each key. Invariant: every id here is in `entries`.
    pub(super) keys: HashMap<K, u64>,
    /// Exits nobody collected, for `join_next`.
    pub(super) exits: VecDeque<(K, TaskExit<T>)>,
    pub(super) keep_exits: bool,
    /// In a set of a `Shutdown`: how its tasks ended since the trigger, for the report.
    noting: Noting<K>,
    /// The drain of its `Shutdown` has stopped waiting: new tasks are aborted before they run.
    aborting: bool,
}

enum Noting<K> {
    Before,
    Since(Vec<(u64, K, Ending)>),
    Reported,
}

pub(super) struct Entry<K, T> {
    pub(super) key: K,
    pub(super) token: CancellationToken,
    /// Where the exit goes: the `stop_and_wait` or `stop_all` collecting it, else `join_next`.
    pub(super) collector: Option<Collector<K, T>>,
}

pub(super) type Collector<K, T> = mpsc::UnboundedSender<(u64, K, TaskExit<T>)>;
pub(super) type Collected<K, T> = mpsc::UnboundedReceiver<(u64, K, TaskExit<T>)>;

/// The set's state, locked, with every exit Tokio had ready taken and routed. Dropping it
/// releases the lock first, then drops what the reap took out: user keys, outputs and panic
/// payloads, so their destructors run after the lock.
pub(super) struct Reaped<'a, K, T> {
    pub(super) state: MutexGuard<'a, State<K, T>>,
    leftovers: Leftovers<K, T>,
}

struct Leftovers<K, T> {
    exits: Vec<(K, TaskExit<T>)>,
    payloads: Vec<Box<dyn Any + Send>>,
}

impl<K, T> Shared<K, T> {
    pub(super) fn new(owner: Option<(Shutdown, String)>) -> Self {
        let changed = Arc::new(Changed(Notify::new()));
        let state = State {
            next_id: 0,
            tasks: JoinMap::new(),
            entries: HashMap::new(),
            keys: HashMap::new(),
            exits: VecDeque::new(),
            keep_exits: true,
            noting: Noting::Before,
            aborting: false,
        };
        Self {
            state: Mutex::new(state),
            waker: Waker::from(Arc::clone(&changed)),
            changed,
            owner,
        }
    }

    /// The state as it is, not reaped: for what needs no exactness (`Debug`) or cannot reap.
    pub(super) fn lock(&self) -> MutexGuard<'_, State<K, T>> {
        lock(&self.state)
    }

    /// Aborts every task, as the set drops: the `JoinMap` does it as it drops, as a `JoinSet`
    /// does. Taken out now, not when the state drops, as the drain of a `Shutdown` may hold the
    /// state a little longer: it then notes the tasks as aborted, without waiting for them.
    pub(super) fn abort_for_drop(&self) {
        let taken = {
            let mut state = lock(&self.state);
            let mut entries = std::mem::take(&mut state.entries);
            if let Noting::Since(noted) = &mut state.noting {
                let aborted = entries.drain().map(|(id, e)| (id, e.key, Ending::Aborted));
                noted.extend(aborted);
            }
            let keys = std::mem::take(&mut state.keys);
            (std::mem::take(&mut state.tasks), entries, keys)
        };
        // User keys and futures: dropped after the lock.
        drop(taken);
    }
}

impl<K: Hash + Eq + Clone, T: Send + 'static> Shared<K, T> {
    /// Locks the set and reaps: takes every exit Tokio has for it and routes each, so that
    /// what the caller reads is exact, and leaves the `JoinMap` holding `waker` for the next.
    ///
    /// Here is where `JoinMap` falls short: it removes a task only when its exit is joined, and
    /// joins in the order tasks ended, so neither "has the task under this key ended?" nor
    /// "give me this key's exit" can be asked of it. Taking every ready exit before each read,
    /// and routing each to whoever waits for it, answers both.
    pub(super) fn reaped(&self) -> Reaped<'_, K, T> {
        let mut reaped = Reaped {
            state: lock(&self.state),
            leftovers: Leftovers {
                exits: Vec::new(),
                payloads: Vec::new(),
            },
        };
        let mut cx = Context::from_waker(&self.waker);
        loop {
            // `JoinMap` has no `poll_join_next`; its `join_next` is cancel safe, so a future
            // polled once and dropped is one. Unconstrained: a read of the set must see every
            // exit Tokio has, and the coop budget would leave some for later.
            let next = pin!(unconstrained(reaped.state.tasks.join_next())).poll(&mut cx);
            let Poll::Ready(Some((id, result))) = next else {
                return reaped;
            };
            let exit = match result {
                Ok(output) => TaskExit::Finished(output),
                Err(error) if error.is_panic() => {
                    let payload = error.into_panic();
                    let message = panic_message(&*payload);
                    reaped.leftovers.payloads.push(payload);
                    TaskExit::Panicked(message)
                }
                Err(_) => TaskExit::Aborted,
            };
            reaped.state.route(id, exit, &mut reaped.leftovers);
        }
    }

    /// Waits until `found` finds what it looks for in the reaped state. The waiting primitive
    /// of `join_next`, `stop_and_wait`, `stop_all` and a drain: each checks after a reap, and
    /// any task that ends afterwards wakes them all.
    ///
    /// Not `JoinMap::join_next`: it needs `&mut`, so one waiter at a time, and that waiter
    /// would get whichever exit comes first, not the one it waits for. Waiting on `changed`,
    /// which the `JoinMap`'s one waker fans out, lets any number wait, each for its own.
    pub(super) async fn wait_for<R>(
        &self,
        mut found: impl FnMut(&mut Reaped<'_, K, T>) -> Option<R>,
    ) -> R {
        loop {
            let changed = self.changed.0.notified();
            let mut changed = pin!(changed);
            // Registered before the reap: a task ending after it wakes us. A task whose exit
            // another caller reaps woke us all the same, as it ended.
            changed.as_mut().enable();
            let result = found(&mut self.reaped());
            if let Some(result) = result {
                return result;
            }
            changed.await;
        }
    }

    /// Spawns `future` under `key` by the crate's one spawn protocol, and returns the token
    /// of the task it replaced under `key`, if any.
    pub(super) fn insert<F>(
        &self,
        runtime: &Handle,
        key: K,
        token: CancellationToken,
        future: F,
    ) -> Option<CancellationToken>
    where
        F: Future<Output = T> + Send + 'static,
    {
        spawn_recorded(future, |task| {
            // Reaping here too keeps a set that nobody reads from holding the exits of every
            // task it ever ran: the `JoinMap` keeps each until it is taken.
            let mut reaped = self.reaped();
            let id = match &self.owner {
                // The coordinator's ids, so that its report lists named tasks and the set's
                // tasks in one spawn order.
                Some((shutdown, _)) => shutdown.inner.next_id(),
                None => {
                    reaped.state.next_id += 1;
                    reaped.state.next_id - 1
                }
            };
            let state = &mut *reaped.state;
            let replaced = state.keys.insert(key.clone(), id);
            let replaced = replaced.and_then(|old| state.entries.get(&old));
            let replaced = replaced.map(|old| old.token.clone());
            let entry = Entry {
                key,
                token,
                collector: None,
            };
            state.entries.insert(id, entry);
            if state.aborting {
                // The drain is past waiting: as a named task spawned then is aborted before it
                // runs, this one is never spawned, and its future is dropped unpolled (after
                // the lock: the stand-in dropped here holds only a share of it).
                drop(task);
                state.route(id, TaskExit::Aborted, &mut reaped.leftovers);
            } else {
                state.tasks.spawn_on(id, task, runtime);
            }
            replaced
        })
    }

    /// Receives the exits of the tasks `ids`, which the reaps send to `exits`; aborts those
    /// still running when `grace` ends. Returns the exits in spawn order.
    pub(super) async fn collect(
        &self,
        exits: &mut Collected<K, T>,
        ids: &[u64],
        grace: Duration,
    ) -> Vec<(u64, K, TaskExit<T>)> {
        let mut collected = Vec::with_capacity(ids.len());
        {
            let all_in = self.wait_for(|_| {
                loop {
                    match exits.try_recv() {
                        Ok(exit) => collected.push(exit),
                        Err(TryRecvError::Empty) => return None,
                        // Every collected task has sent its exit and dropped its sender.
                        Err(TryRecvError::Disconnected) => return Some(()),
                    }
                }
            });
            let mut all_in = pin!(all_in);
            // Biased: the exits that came in time are taken before the grace is judged, and a
            // zero grace aborts before this task yields, so before any stopped task runs.
            tokio::select! {
                biased;
                () = &mut all_in => {}
                _ = Deadline::after(grace) => {
                    self.abort(ids);
                    all_in.await;
                }
            }
        }
        collected.sort_unstable_by_key(|(id, _, _)| *id);
        collected
    }

    fn abort(&self, ids: &[u64]) {
        let mut state = lock(&self.state);
        for id in ids {
            // A task that has ended, or was reaped already, is not aborted.
            state.tasks.abort(id);
        }
    }
}

impl<K: Hash + Eq + Clone, T> State<K, T> {
    /// Removes an ended task from the set (and its key, if the key is still its own), notes
    /// it for the report of its `Shutdown`, and hands its exit to its collector, or queues it
    /// for `join_next`.
    fn route(&mut self, id: u64, exit: TaskExit<T>, leftovers: &mut Leftovers<K, T>) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        if self.keys.get(&entry.key) == Some(&id) {
            self.keys.remove(&entry.key);
        }
        if let Noting::Since(noted) = &mut self.noting {
            noted.push((id, entry.key.clone(), ending(&exit)));
        }
        let uncollected = match entry.collector {
            Some(collector) => collector
                .send((id, entry.key, exit))
                .err()
                .map(|unsent| (unsent.0.1, unsent.0.2)),
            None => Some((entry.key, exit)),
        };
        match uncollected {
            Some(exit) if self.keep_exits => self.exits.push_back(exit),
            Some(exit) => leftovers.exits.push(exit),
            None => {}
        }
    }
}

impl<K, T> Member for Shared<K, T>
where
    K: fmt::Debug + Hash + Eq + Clone + Send + 'static,
    T: Send + 'static,
{
    fn claim(&self) -> Box<dyn Any + Send> {
        let mut reaped = self.reaped();
        if let Noting::Before = reaped.state.noting {
            reaped.state.noting = Noting::Since(Vec::new());
        }
        let Reaped { state, leftovers } = reaped;
        drop(state);
        Box::new(leftovers)
    }

    fn abort(&self) {
        let mut state = lock(&self.state);
        state.aborting = true;
        state.tasks.abort_all();
    }

    fn emptied(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.wait_for(|reaped| reaped.state.entries.is_empty().then_some(())))
    }

    fn report(&self) -> (Vec<(u64, String, Ending)>, usize) {
        let (noted, running) = {
            let mut reaped = self.reaped();
            let noted = match std::mem::replace(&mut reaped.state.noting, Noting::Reported) {
                Noting::Since(noted) => noted,
                Noting::Before | Noting::Reported => Vec::new(),
            };
            let running = reaped.state.entries.iter();
            let running: Vec<_> = running
                .map(|(&id, entry)| (id, entry.key.clone()))
                .collect();
            (noted, running)
        };
        let name = self.owner.as_ref().map_or("", |(_, name)| name);
        let still_running = running.len();
        let running = running
            .into_iter()
            .map(|(id, key)| (id, key, Ending::Aborted));
        let tasks = noted.into_iter().chain(running);
        let named = tasks.map(|(id, key, ending)| (id, format!("{name}[{key:?}]"), ending));
        (named.collect(), still_running)
    }
}

/// The ending a drain report names for an exit.
fn ending<T>(exit: &TaskExit<T>) -> Ending {
    match exit {
        TaskExit::Finished(_) => Ending::Finished,
        TaskExit::Panicked(_) => Ending::Panicked,
        TaskExit::Aborted => Ending::Aborted,
    }
}

/// The message of a panic payload, as the standard panic hook prints it.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
