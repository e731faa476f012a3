//! [`Keepalives`]: a keyed set of heartbeat deadlines on one timer.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use futures_core::stream::FusedStream;
use tokio::time::Instant;

use crate::clock::{instant_at, tick, ticks};
use crate::deadline::{Deadline, Expired};
use crate::state::{Decision, KeyState};
use crate::watchdog::Heartbeat;

/// A keyed set of heartbeat deadlines, driven by one Tokio timer and polled by one owner.
///
/// Each key expires `timeout` after its last beat, like a [`Watchdog`](crate::Watchdog) per
/// key, but the whole set costs one `Sleep`. Beating a key records a time and does nothing
/// else: no timer operation, no allocation, no wakeup. The owner polls the set
/// ([`poll_expired`](Self::poll_expired), or the [`Stream`] it is), which yields each expired
/// key once, with its [`Expired`].
///
/// Two ways to beat: [`beat(&key)`](Self::beat) from the owner, or the [`Heartbeat`] that
/// [`insert`](Self::insert) returns, from the session's own task or thread.
///
/// ```text
/// timeout 100 ms   insert(a)   insert(b)   beat(a)
///                  |           |           |
/// time (ms)        0----------30----------60-----------130---------160
/// yielded                                               b (30 + 100)  a (60 + 100)
/// ```
///
/// # How it works
///
/// A beat is one `fetch_max` on the key's atomic word, the same word and protocol a
/// `Watchdog` uses (see `docs/guarantees.md`). The set keeps a min-heap of the instants at
/// which keys must be checked, and one timer set to the earliest. When a key's check comes,
/// the owner judges its true deadline from its word: expired, it is yielded and removed;
/// beaten since, it is queued again at its new deadline (a lazy re-arm, as Netty's idle
/// handler does). So a session that beats often costs one heap operation per timeout
/// window, not one per beat.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use deadlines::Keepalives;
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let mut sessions = Keepalives::new(Duration::from_secs(10));
/// let alice = sessions.insert("alice");
/// sessions.insert("bob");
/// tokio::spawn(async move {
///     for _ in 0..3 {
///         tokio::time::sleep(Duration::from_secs(4)).await;
///         alice.beat(); // alice's own task keeps her session alive
///     }
/// });
///
/// let (key, expired) = sessions.next().await.unwrap();
/// assert_eq!((key, expired.deadline() - start), ("bob", Duration::from_secs(10)));
/// let (key, expired) = sessions.next().await.unwrap();
/// assert_eq!((key, expired.deadline() - start), ("alice", Duration::from_secs(22)));
/// assert!(sessions.is_empty());
/// # }
/// ```
///
/// # Cancel safety
///
/// [`poll_expired`](Self::poll_expired) and the stream's `next()` lose nothing when dropped
/// before completion: a key is removed only by the poll that yields it.
///
/// # Panics
///
/// [`new`](Self::new) panics outside a Tokio runtime with the time driver enabled, as
/// [`tokio::time::sleep`] does. No other method panics, whatever the key or duration: unknown
/// and removed keys give `false` or `None`, and durations saturate at about 30 years.
///
/// # Precision
///
/// A key is yielded at the first poll at or after its deadline. The set's timer counts whole
/// milliseconds, rounding up. Keys due at the same poll are yielded one per call, all without
/// waiting, in no particular order.
///
/// # Comparison to `DelayQueue`
///
/// `tokio_util::time::DelayQueue` with a map of its keys does the same job with a timer
/// operation per heartbeat (`reset`), needs `&mut` access for it (so heartbeats from other
/// tasks go through a channel), and can hold any value per entry. Use `Keepalives` when
/// entries are heartbeat deadlines beaten often, possibly from other tasks; use `DelayQueue`
/// when entries carry values, are rarely moved, or need an exact insertion-order tie-break.
pub struct Keepalives<K> {
    entries: HashMap<K, Arc<KeyState>>,
    queue: BinaryHeap<Queued<K>>,
    timeout: u64,
    origin: Instant,
    timer: Pin<Box<Deadline>>,
    // The owner's waker from its last pending poll, for `insert` to wake.
    waker: Option<Waker>,
}

/// A check due at `tick` for `key`: valid while it matches the key's `queued` tick.
struct Queued<K> {
    tick: u64,
    key: K,
}

impl<K> PartialEq for Queued<K> {
    fn eq(&self, other: &Self) -> bool {
        self.tick == other.tick
    }
}

impl<K> Eq for Queued<K> {}

impl<K> PartialOrd for Queued<K> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Queued<K> {
    // Reversed: `BinaryHeap` is a max-heap, and the earliest check must come out first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.tick.cmp(&self.tick)
    }
}

impl<K: Hash + Eq + Clone> Keepalives<K> {
    /// An empty set whose keys expire `timeout` after their last beat (unless inserted with
    /// [`insert_with_timeout`](Self::insert_with_timeout)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let sessions: Keepalives<u64> = Keepalives::new(Duration::from_secs(30));
    /// assert!(sessions.is_empty());
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with the time driver enabled.
    pub fn new(timeout: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            queue: BinaryHeap::new(),
            timeout: ticks(timeout),
            origin: Instant::now(),
            timer: Box::pin(Deadline::disarmed()),
            waker: None,
        }
    }

    /// Arms `key` with the set's timeout, from now, and returns a [`Heartbeat`] for it.
    ///
    /// A key already in the set is re-armed: its window restarts now, and its heartbeats
    /// (the returned one among them) keep working. A key that expired, was removed, or was
    /// stopped through a heartbeat starts afresh: the heartbeats of its earlier life keep
    /// returning `false`.
    ///
    /// The heartbeat's [`beat`](Heartbeat::beat), [`stop`](Heartbeat::stop) and
    /// [`remaining`](Heartbeat::remaining) act on this key; [`stop`](Heartbeat::stop) means
    /// the key is never yielded (the set drops it silently when its deadline comes). Its
    /// [`set_timeout`](Heartbeat::set_timeout) returns `false` and changes nothing: the set
    /// owns the key's timing (use [`insert_with_timeout`](Self::insert_with_timeout)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut sessions = Keepalives::new(Duration::from_secs(30));
    /// let heartbeat = sessions.insert(7);
    /// std::thread::spawn(move || heartbeat.beat()).join().unwrap();
    /// assert!(sessions.contains(&7));
    /// # }
    /// ```
    pub fn insert(&mut self, key: K) -> Heartbeat {
        self.arm(key, self.timeout)
    }

    /// Arms `key` like [`insert`](Self::insert), with its own `timeout` instead of the set's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut sessions = Keepalives::new(Duration::from_secs(30));
    /// sessions.insert("slow");
    /// sessions.insert_with_timeout("fast", Duration::from_secs(1));
    /// let (key, expired) = sessions.next().await.unwrap();
    /// assert_eq!((key, expired.deadline() - start), ("fast", Duration::from_secs(1)));
    /// # }
    /// ```
    pub fn insert_with_timeout(&mut self, key: K, timeout: Duration) -> Heartbeat {
        self.arm(key, ticks(timeout))
    }

    fn arm(&mut self, key: K, timeout: u64) -> Heartbeat {
        let now = tick(self.origin, Instant::now());
        let deadline = now.saturating_add(timeout);
        let state = match self.entries.get(&key) {
            // Live: re-arm in place, so its heartbeats keep working.
            Some(state) if state.word.last_beat().is_some() => {
                state.timeout.store(timeout, Ordering::Relaxed);
                state.word.rearm(now);
                // A later deadline waits for the queued check (lazy); an earlier one (a
                // shorter timeout) needs a check of its own, which makes the old one stale.
                if deadline < state.queued.load(Ordering::Relaxed) {
                    state.queued.store(deadline, Ordering::Relaxed);
                    self.queue.push(Queued {
                        tick: deadline,
                        key: key.clone(),
                    });
                }
                state.clone()
            }
            // New, or stopped but not yet dropped: a fresh life.
            _ => {
                let state = Arc::new(KeyState::new(now, timeout));
                self.queue.push(Queued {
                    tick: deadline,
                    key: key.clone(),
                });
                if let Some(old) = self.entries.insert(key, state.clone()) {
                    old.word.close();
                }
                state
            }
        };
        // The owner may be waiting on an empty set or on a later timer: let it look again.
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
        Heartbeat::for_key(state, self.origin)
    }

    /// Records a beat for `key`: its window restarts now. Returns `false` if the key is not
    /// in the set or was stopped through a heartbeat.
    ///
    /// A hash lookup, a clock read and one atomic read-modify-write: no timer operation, no
    /// allocation, no wakeup.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut sessions = Keepalives::new(Duration::from_secs(10));
    /// sessions.insert(1);
    /// tokio::time::advance(Duration::from_secs(4)).await;
    /// assert!(sessions.beat(&1));
    /// assert_eq!(sessions.deadline(&1), Some(start + Duration::from_secs(14)));
    /// assert!(!sessions.beat(&2), "unknown key");
    /// # }
    /// ```
    pub fn beat(&self, key: &K) -> bool {
        self.entries
            .get(key)
            .is_some_and(|state| state.word.beat(tick(self.origin, Instant::now())))
    }

    /// Removes `key`. Returns `true` if it was in the set. It is never yielded after this
    /// returns, and its heartbeats return `false`.
    ///
    /// Memory returns as keys leave: the set compacts its queue once it holds twice as many
    /// checks as keys, and shrinks its map once it is a quarter full.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut sessions = Keepalives::new(Duration::from_secs(10));
    /// let heartbeat = sessions.insert("carol");
    /// assert!(sessions.remove(&"carol"));
    /// assert!(!sessions.remove(&"carol"));
    /// assert!(!heartbeat.beat());
    /// # }
    /// ```
    pub fn remove(&mut self, key: &K) -> bool {
        let Some(state) = self.entries.remove(key) else {
            return false;
        };
        state.word.close();
        self.compact();
        true
    }

    /// The instant `key` expires at if it is not beaten first, or `None` if it is not in the
    /// set (or was stopped through a heartbeat).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut sessions = Keepalives::new(Duration::from_secs(10));
    /// sessions.insert('x');
    /// assert_eq!(sessions.deadline(&'x'), Some(Instant::now() + Duration::from_secs(10)));
    /// assert_eq!(sessions.deadline(&'y'), None);
    /// # }
    /// ```
    pub fn deadline(&self, key: &K) -> Option<Instant> {
        let deadline = self.entries.get(key)?.deadline()?;
        Some(instant_at(self.origin, deadline))
    }

    /// Whether `key` is in the set and live (not stopped through a heartbeat).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut sessions = Keepalives::new(Duration::from_secs(10));
    /// let heartbeat = sessions.insert(1);
    /// assert!(sessions.contains(&1));
    /// heartbeat.stop();
    /// assert!(!sessions.contains(&1));
    /// # }
    /// ```
    pub fn contains(&self, key: &K) -> bool {
        self.entries
            .get(key)
            .is_some_and(|state| state.word.last_beat().is_some())
    }

    /// How many keys the set holds: inserted and not yet yielded or removed. A key stopped
    /// through a heartbeat counts until its deadline, when the set drops it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut sessions = Keepalives::new(Duration::from_secs(10));
    /// sessions.insert(1);
    /// sessions.insert(1);
    /// sessions.insert(2);
    /// assert_eq!(sessions.len(), 2);
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set holds no key.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut sessions = Keepalives::new(Duration::from_secs(10));
    /// assert!(sessions.is_empty());
    /// sessions.insert(());
    /// assert!(!sessions.is_empty());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Polls for the next expired key: `Ready((key, expired))` once for each key whose
    /// deadline has passed, removing it from the set; `Pending` when none is due, with the
    /// task woken when one may be (the set's timer) or when a key is inserted. An empty set
    /// is `Pending`, never finished.
    ///
    /// Keys beaten since they were queued are queued again at their new deadline, here, and
    /// keys stopped through a heartbeat are dropped without being yielded.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut sessions = Keepalives::new(Duration::from_millis(50));
    /// sessions.insert("dave");
    /// let (key, expired) = poll_fn(|cx| sessions.poll_expired(cx)).await;
    /// assert_eq!(key, "dave");
    /// assert_eq!(expired.overdue(), Duration::ZERO);
    /// # }
    /// ```
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<(K, Expired)> {
        loop {
            let observed = Instant::now();
            if let Some(expired) = self.next_due(tick(self.origin, observed), observed) {
                return Poll::Ready(expired);
            }
            let Some(next) = self.queue.peek() else {
                self.register(cx.waker());
                return Poll::Pending;
            };
            self.timer
                .as_mut()
                .reset_at(instant_at(self.origin, next.tick));
            if self.timer.as_mut().poll(cx).is_pending() {
                self.register(cx.waker());
                return Poll::Pending;
            }
            // The timer reached the earliest check: look again.
        }
    }

    /// Pops due checks until one key turns out expired; re-queues beaten keys, drops stale
    /// checks and stopped keys.
    fn next_due(&mut self, now: u64, observed: Instant) -> Option<(K, Expired)> {
        while self.queue.peek().is_some_and(|next| next.tick <= now) {
            let Queued { tick: queued, key } = self.queue.pop()?;
            let Some(state) = self.entries.get(&key) else {
                continue; // removed or yielded since
            };
            if state.queued.load(Ordering::Relaxed) != queued {
                continue; // superseded by an earlier check
            }
            let timeout = state.timeout.load(Ordering::Relaxed);
            let check_again_at = match state.word.judge(timeout, now) {
                Decision::Expired(deadline) => {
                    self.entries.remove(&key);
                    let expired = Expired::new(instant_at(self.origin, deadline), observed);
                    return Some((key, expired));
                }
                // Beaten since it was queued: check again at its new deadline.
                Decision::Pending(deadline) => Some(deadline),
                // Stopped through a heartbeat: kept, never yielded, until its deadline.
                Decision::Stopped => {
                    Some(state.word.snapshot().0.saturating_add(timeout)).filter(|&d| d > now)
                }
                // Cannot be in the map: the set removes what it closes or expires.
                Decision::Idle => None,
            };
            match check_again_at {
                Some(deadline) => {
                    state.queued.store(deadline, Ordering::Relaxed);
                    self.queue.push(Queued {
                        tick: deadline,
                        key,
                    });
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
        self.compact();
        None
    }

    fn register(&mut self, waker: &Waker) {
        match &mut self.waker {
            Some(registered) if registered.will_wake(waker) => {}
            other => *other = Some(waker.clone()),
        }
    }

    /// Drops stale checks once they outnumber the keys, and returns memory a shrunken set no
    /// longer needs. Amortized O(1) per removal.
    fn compact(&mut self) {
        let live = self.entries.len();
        if self.queue.len() > 2 * live + 64 {
            let entries = &self.entries;
            self.queue.retain(|check| {
                entries
                    .get(&check.key)
                    .is_some_and(|state| state.queued.load(Ordering::Relaxed) == check.tick)
            });
            self.queue.shrink_to_fit();
        }
        if self.entries.capacity() > 4 * live + 64 {
            self.entries.shrink_to(2 * live);
        }
    }
}

// No field is structurally pinned: the set moves its keys freely, whatever `K` is.
impl<K> Unpin for Keepalives<K> {}

impl<K: Hash + Eq + Clone> Stream for Keepalives<K> {
    type Item = (K, Expired);

    /// Yields each expired key once; never ends (`Pending` while the set is empty).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_expired(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl<K: Hash + Eq + Clone> FusedStream for Keepalives<K> {
    /// Always `false`: the set never ends.
    fn is_terminated(&self) -> bool {
        false
    }
}

impl<K> Drop for Keepalives<K> {
    fn drop(&mut self) {
        // Heartbeats of a dropped set return `false`, as a dropped watchdog's do.
        for state in self.entries.values() {
            state.word.close();
        }
    }
}

impl<K> fmt::Debug for Keepalives<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keepalives")
            .field("len", &self.entries.len())
            .field("queued_checks", &self.queue.len())
            .field("timeout", &Duration::from_nanos(self.timeout))
            .field("next_check", &self.timer.deadline())
            .finish()
    }
}
