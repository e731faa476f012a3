//! [`Keepalives`]: a keyed set of heartbeat deadlines on one timer.
//!
//! The public type lives here; the data structure it drives lives beside it, each part in a
//! file of its own: `slots` (pages of keys beside the core's segments of words, which
//! `src/segment.rs` shares with the keys' heartbeats, and what is free), `index` (key to slot)
//! and `checks` (the timing wheel of checks and its timer, which knows nothing of the key
//! type).

mod checks;
mod index;
mod slots;

use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_core::stream::FusedStream;
use tokio::time::Instant;

use self::checks::{Checks, Verdict, judge};
use self::index::Index;
use self::slots::Slots;
use crate::clock::{instant_at, tick, ticks};
use crate::expired::Expired;
use crate::heartbeat::Heartbeat;
use crate::segment::KeyRef;
use crate::state::deadline_of;

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
/// `Watchdog` uses (see `docs/guarantees.md`). The words live in dense segments shared with
/// the heartbeats, the key is stored once, beside its slot, and the hash index holds 4-byte
/// slot numbers.
///
/// Keys wait for their checks in a hierarchical timing wheel of whole milliseconds (7 levels
/// of 64 buckets, as in Tokio's own timer), whose lists run through the slots, so the wheel
/// adds no memory per key; a small heap holds the few checks that must come inside a
/// millisecond. One timer is set to the earliest check. When a key's check comes, the owner
/// judges its true deadline from its word: expired, it is yielded and removed; beaten since,
/// it waits again, in the bucket of its new deadline (a lazy re-arm, as Netty's idle handler
/// does). So a session that beats often costs a few list operations per timeout window, not
/// one per beat.
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
/// [`insert`](Self::insert) panics near 2^32 keys (slot numbers are 32-bit), as a `Vec` does
/// past its capacity, and polling outside a Tokio runtime with the time driver enabled panics,
/// as polling a [`tokio::time::sleep`] would. No other method panics, whatever the key or
/// duration: unknown and removed keys give `false` or `None`, and durations saturate at about
/// 30 years.
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
///
/// # Hashing
///
/// `S` hashes the keys into the set's index, as in [`HashMap`](std::collections::HashMap):
/// by default std's [`RandomState`] (SipHash-1-3, randomly keyed), which resists keys chosen
/// to collide (HashDoS), say client-chosen session ids or peer addresses. Where no adversary
/// picks the keys, a faster hasher makes every operation that looks a key up cheaper (see
/// [`with_hasher`](Self::with_hasher)).
pub struct Keepalives<K, S = RandomState> {
    /// Key to slot.
    index: Index<S>,
    /// The keys, their shared words, and which slots are free.
    slots: Slots<K>,
    /// When each key is looked at next, and the one timer.
    checks: Checks,
    /// The number of keys at or below which a removal looks for memory to return.
    shrink_at: usize,
    /// Tick 0 of every key's word.
    origin: Instant,
}

impl<K: Hash + Eq> Keepalives<K> {
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
    /// Needs no runtime: the set's Tokio timer is made at its first poll, so a set can be built
    /// in a constructor before the runtime starts.
    pub fn new(timeout: Duration) -> Self {
        Self::with_hasher(timeout, RandomState::new())
    }
}

impl<K: Hash + Eq, S: BuildHasher> Keepalives<K, S> {
    /// An empty set like [`new`](Keepalives::new) whose index hashes keys with `hasher`.
    ///
    /// Choose a hasher as for a `HashMap`: keep the default where keys may be chosen to
    /// collide (see [Hashing](Keepalives#hashing)); for keys the program picks itself, such as
    /// connection counters, a fast one such as `foldhash` makes every lookup cheaper:
    /// inserts at 10^6 keys took 0.61x to 0.75x of the default's in three runs
    /// (`docs/performance.md`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let hasher = foldhash::fast::RandomState::default();
    /// let mut connections = Keepalives::with_hasher(Duration::from_secs(30), hasher);
    /// connections.insert(1_u64);
    /// assert!(connections.beat(&1));
    /// # }
    /// ```
    ///
    /// Needs no runtime, as [`new`](Keepalives::new).
    pub fn with_hasher(timeout: Duration, hasher: S) -> Self {
        let origin = Instant::now();
        Self {
            index: Index::new(hasher),
            slots: Slots::new(ticks(timeout), origin),
            checks: Checks::new(),
            shrink_at: 0,
            origin,
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
    ///
    /// # Panics
    ///
    /// Near 2^32 keys in the set (slot numbers are 32-bit), as a `Vec` does past its capacity.
    pub fn insert(&mut self, key: K) -> Heartbeat {
        self.arm(key, None)
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
    ///
    /// # Panics
    ///
    /// Near 2^32 keys in the set (slot numbers are 32-bit), as a `Vec` does past its capacity.
    pub fn insert_with_timeout(&mut self, key: K, timeout: Duration) -> Heartbeat {
        self.arm(key, Some(ticks(timeout)))
    }

    /// Arms `key` with its own `timeout`, or the set's (`None`).
    fn arm(&mut self, key: K, timeout: Option<u64>) -> Heartbeat {
        let now = tick(self.origin, Instant::now());
        let hash = self.index.hash(&key);
        let handle = match self.index.slot(hash, &key, &self.slots) {
            // In the set, and its life goes on: re-armed in place, so its heartbeats keep
            // working. The check and the re-arm are one atomic step (`Segment::rearm`).
            Some(slot) if self.rearm(slot, now, timeout) => self.slots.handle(slot),
            // Its life ended (stopped through a heartbeat, not yet dropped): a fresh life in a
            // fresh slot, so the heartbeats of the old one stay stopped.
            Some(old) => {
                let (slot, handle) = self.fresh(key, now, timeout);
                self.index.replace(hash, old, slot);
                self.slots.release(old);
                handle
            }
            None => {
                self.index.reserve(&self.slots);
                let (slot, handle) = self.fresh(key, now, timeout);
                self.index.insert(hash, slot, &self.slots);
                self.shrink_at = self.shrink_at.max(self.index.len() / 2);
                handle
            }
        };
        // The owner may be waiting on an empty set or on a later timer: let it look again.
        self.checks.wake();
        Heartbeat::for_key(handle)
    }

    /// Re-arms the key in `slot` from `now`, with its own `timeout` or the set's, if its life
    /// goes on. Returns `false`, changing nothing, if a heartbeat stopped it.
    fn rearm(&mut self, slot: u32, now: u64, timeout: Option<u64>) -> bool {
        let Some((segment, offset)) = self.slots.segment(slot) else {
            return false;
        };
        let before = segment.timeout(offset);
        if !segment.rearm(offset, now, timeout) {
            return false;
        }
        // A later deadline waits for the key's check (lazy); an earlier one (a shorter
        // timeout) may need a check of its own.
        let after = segment.timeout(offset);
        if after < before {
            self.checks
                .schedule(&mut self.slots, slot, deadline_of(now, after), now);
        }
        true
    }

    /// Puts `key` in a free slot, armed from `now`, and schedules its check. Returns the slot
    /// and the key's first heartbeat reference.
    fn fresh(&mut self, key: K, now: u64, timeout: Option<u64>) -> (u32, KeyRef<Instant>) {
        let (slot, handle) = self.slots.fill(key, now, timeout);
        let timeout = timeout.unwrap_or(self.slots.timeout());
        self.checks
            .schedule(&mut self.slots, slot, deadline_of(now, timeout), now);
        (slot, handle)
    }

    /// Takes `slot`'s key out of the set and releases the slot; its index entry stays,
    /// stale (see `index.rs`). Returns the key.
    fn unindex(&mut self, slot: u32) -> Option<K> {
        let key = self.slots.release(slot)?;
        self.index.forget();
        Some(key)
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
        let hash = self.index.hash(key);
        self.index
            .find(hash, key, &self.slots)
            .is_some_and(|found| {
                // A stopped key's word stays terminal until the owner re-arms it, which needs
                // `&mut self`: refusing here is the same as the beat's own refusal.
                found.last_beat.is_some()
                    && found
                        .segment
                        .word(found.offset)
                        .beat(tick(self.origin, Instant::now()))
            })
    }

    /// Removes `key`. Returns `true` if it was in the set. It is never yielded after this
    /// returns, and its heartbeats return `false`.
    ///
    /// Memory returns as keys leave: the set lets go of removed keys' slots still waiting in
    /// the wheel once they outnumber the keys (plus 64), and each time the number of keys
    /// halves it shrinks its index and drops the pages of slots that emptied. A slot whose
    /// heartbeats outlive its key is reused once the last of them is dropped.
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
        let hash = self.index.hash(key);
        let Some(slot) = self.index.remove(hash, key, &self.slots) else {
            return false;
        };
        if let Some((segment, offset)) = self.slots.segment(slot) {
            segment.word(offset).close();
        }
        self.slots.release(slot);
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
        let found = self.index.find(self.index.hash(key), key, &self.slots)?;
        let timeout = found.segment.timeout(found.offset);
        Some(instant_at(
            self.origin,
            deadline_of(found.last_beat?, timeout),
        ))
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
        self.index
            .find(self.index.hash(key), key, &self.slots)
            .is_some_and(|found| found.last_beat.is_some())
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
        self.index.len()
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
        self.index.len() == 0
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
            if self.checks.poll_next(cx, self.origin).is_pending() {
                return Poll::Pending;
            }
            // The timer reached the earliest check: look again.
        }
    }

    /// Judges due keys until one turns out expired; checks beaten keys again later, drops
    /// stopped ones.
    fn next_due(&mut self, now: u64, observed: Instant) -> Option<(K, Expired)> {
        while let Some(slot) = self.checks.next_due(&mut self.slots, now) {
            let Some((segment, offset)) = self.slots.segment(slot) else {
                continue;
            };
            match judge(segment, offset, now) {
                Verdict::Expired(deadline) => {
                    let key = self.unindex(slot)?;
                    let expired = Expired::new(instant_at(self.origin, deadline), observed);
                    return Some((key, expired));
                }
                Verdict::Again(deadline) => {
                    self.checks.schedule(&mut self.slots, slot, deadline, now);
                }
                Verdict::Drop => {
                    self.unindex(slot);
                }
            }
        }
        self.compact();
        None
    }

    /// Lets go of left entries and drops stale exact checks once they outnumber the keys
    /// (plus 64); each time the number of keys halves, also collects orphans, drops emptied
    /// pages and shrinks the index. Amortized O(1) a removal.
    fn compact(&mut self) {
        let len = self.index.len();
        let halved = len <= self.shrink_at;
        let left = self.slots.left();
        if left > 0 && (halved || left > len + 64) {
            self.checks.purge(&mut self.slots);
        }
        self.checks.compact(len, &self.slots);
        if !halved {
            return;
        }
        self.shrink_at = len / 2;
        self.slots.shrink();
        self.index.shrink(&self.slots);
    }
}

// No field is structurally pinned: the set moves its keys freely, whatever `K` is.
impl<K, S> Unpin for Keepalives<K, S> {}

impl<K: Hash + Eq, S: BuildHasher> Stream for Keepalives<K, S> {
    type Item = (K, Expired);

    /// Yields each expired key once; never ends (`Pending` while the set is empty).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_expired(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl<K: Hash + Eq, S: BuildHasher> FusedStream for Keepalives<K, S> {
    /// Always `false`: the set never ends.
    fn is_terminated(&self) -> bool {
        false
    }
}

impl<K, S> Drop for Keepalives<K, S> {
    fn drop(&mut self) {
        // Heartbeats of a dropped set return `false`, as a dropped watchdog's do.
        self.slots.close_all();
    }
}

impl<K, S> fmt::Debug for Keepalives<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keepalives")
            .field("len", &self.index.len())
            .field("queued_checks", &self.checks.len())
            .field("slots", &self.slots.capacity())
            .field("orphans", &self.slots.orphans())
            .field("index_entries", &self.index.entries())
            .field("timeout", &Duration::from_nanos(self.slots.timeout()))
            .field("next_check", &self.checks.timer_deadline())
            .finish()
    }
}
