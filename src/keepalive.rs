//! [`Keepalives`]: a keyed set of heartbeat deadlines on one timer.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use futures_core::stream::FusedStream;
use hashbrown::HashTable;
use tokio::time::Instant;

use crate::clock::{instant_at, tick, ticks};
use crate::deadline::Expired;
use crate::heartbeat::Heartbeat;
use crate::slots::{MAX_SEGMENT, SEGMENT_BITS, Segment};
use crate::state::{Decision, NEVER, deadline_of};
use crate::timer::Timer;

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
/// slot numbers: at 10^6 keys the set costs about 60 heap bytes a key.
///
/// The set keeps a min-heap of the instants at which keys must be checked, and one timer set
/// to the earliest. When a key's check comes, the owner judges its true deadline from its
/// word: expired, it is yielded and removed; beaten since, it is queued again at its new
/// deadline (a lazy re-arm, as Netty's idle handler does). So a session that beats often
/// costs one heap operation per timeout window, not one per beat.
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
/// [`insert`](Self::insert) panics past 2^32 keys, as a `Vec` does past its capacity, and
/// polling outside a Tokio runtime with the time driver enabled panics, as polling a
/// [`tokio::time::sleep`] would. No other method panics, whatever the key or duration: unknown and
/// removed keys give `false` or `None`, and durations saturate at about 30 years.
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
    /// The slot of every key in the set, hashed by the key (which its page stores).
    index: HashTable<u32>,
    hasher: RandomState,
    /// Slot `s` is offset `s % 4096` of page `s / 4096`; a page empty for long is dropped.
    pages: Vec<Option<Page<K>>>,
    /// The pages with a free slot. New keys take the lowest, so high pages can empty.
    open: BTreeSet<u32>,
    /// Slots whose key left while heartbeats of it remained, not yet collected.
    orphans: usize,
    /// The number of keys at or below which a removal looks for memory to return.
    shrink_at: usize,
    queue: BinaryHeap<Reverse<Queued>>,
    timeout: u64,
    origin: Instant,
    /// Made at the first poll that waits for a check, so `new` needs no runtime and an idle
    /// set allocates nothing. Boxed, as `DelayQueue` boxes its `Sleep`, to keep the set
    /// `Unpin`: `poll_expired` takes `&mut self`, and `StreamExt::next` works unpinned.
    timer: Option<Pin<Box<Timer>>>,
    // The owner's waker from its last pending poll, for `insert` to wake.
    waker: Option<Waker>,
}

/// The set's side of one segment of slots: the keys, and what is free.
struct Page<K> {
    shared: Arc<Segment>,
    /// One per slot handed out so far; `None` while the slot is free or orphaned.
    keys: Vec<Option<K>>,
    /// The generation of each slot's one current check in the queue; other checks are stale.
    generations: Vec<u32>,
    /// Offsets of free slots below `keys.len()`.
    free: Vec<u32>,
}

impl<K> Page<K> {
    /// Whether every slot handed out is free again: no key, no orphan.
    fn is_empty(&self) -> bool {
        self.free.len() == self.keys.len()
    }

    /// Whether a check of `offset` made at `generation` is its key's current one.
    ///
    /// A check can outlive its page: the page empties, is dropped, and a new page is made at
    /// the same number, with fewer slots handed out so far. So the offset may lie past this
    /// page's slots (not current). If it lies within them, the generation may match by
    /// chance (a new page counts from 0 again); such a check is then a second current one,
    /// and costs only an early look at the key: the judge reads the key's true deadline and
    /// re-queues it, as for a key beaten since its check.
    fn is_current(&self, offset: u32, generation: u32) -> bool {
        let offset = offset as usize;
        self.generations.get(offset) == Some(&generation)
            && self.keys.get(offset).is_some_and(Option::is_some)
    }
}

/// A check of `slot` due at `tick`: current while `generation` is the slot's generation.
/// Ordered by `tick` first (the other fields only break ties), and queued in `Reverse`:
/// `BinaryHeap` is a max-heap, and the earliest check must come out first.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Queued {
    tick: u64,
    slot: u32,
    generation: u32,
}

/// A key's slot, as `find` found it.
struct Found<'a> {
    segment: &'a Segment,
    offset: u32,
    /// The word's last beat when it was found, `None` if stopped.
    last_beat: Option<u64>,
}

/// The slot number of `offset` in page `page`: the inverse of [`split`].
fn slot_of(page: usize, offset: u32) -> u32 {
    ((page as u32) << SEGMENT_BITS) | offset
}

/// The page and offset of `slot`.
fn split(slot: u32) -> (usize, u32) {
    (
        (slot >> SEGMENT_BITS) as usize,
        slot & (MAX_SEGMENT as u32 - 1),
    )
}

/// How many slots page `page` has: 16, 32, ... up to 4096, so a small set stays small.
fn page_len(page: usize) -> usize {
    if page >= 8 { MAX_SEGMENT } else { 16 << page }
}

/// The most pages a set has: slot numbers are `u32`.
const MAX_PAGES: usize = 1 << (32 - SEGMENT_BITS);

/// The key in `slot`, if the slot holds one.
fn key_at<K>(pages: &[Option<Page<K>>], slot: u32) -> Option<&K> {
    let (page, offset) = split(slot);
    pages
        .get(page)?
        .as_ref()?
        .keys
        .get(offset as usize)?
        .as_ref()
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
    /// Needs no runtime: the set's Tokio timer is made at its first poll, so a set can be built
    /// in a constructor before the runtime starts.
    pub fn new(timeout: Duration) -> Self {
        Self {
            index: HashTable::new(),
            hasher: RandomState::new(),
            pages: Vec::new(),
            open: BTreeSet::new(),
            orphans: 0,
            shrink_at: 0,
            queue: BinaryHeap::new(),
            timeout: ticks(timeout),
            origin: Instant::now(),
            timer: None,
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
    ///
    /// # Panics
    ///
    /// With 2^32 keys in the set, as a `Vec` does past its capacity.
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
    /// With 2^32 keys in the set, as a `Vec` does past its capacity.
    pub fn insert_with_timeout(&mut self, key: K, timeout: Duration) -> Heartbeat {
        self.arm(key, Some(ticks(timeout)))
    }

    /// Arms `key` with its own `timeout`, or the set's (`None`).
    fn arm(&mut self, key: K, timeout: Option<u64>) -> Heartbeat {
        let now = tick(self.origin, Instant::now());
        let hash = self.hasher.hash_one(&key);
        let pages = &self.pages;
        let found = self
            .index
            .find(hash, |&slot| key_at(pages, slot) == Some(&key))
            .copied();
        let slot = match found {
            // In the set, and its life goes on: re-armed in place, so its heartbeats keep
            // working. The check and the re-arm are one atomic step (`Segment::rearm`).
            Some(slot) if self.rearm(slot, now, timeout) => slot,
            // Its life ended (stopped through a heartbeat, not yet dropped): a fresh life in a
            // fresh slot, so the heartbeats of the old one stay stopped.
            Some(old) => {
                let slot = self.fresh(key, now, timeout);
                if let Some(indexed) = self.index.find_mut(hash, |&slot| slot == old) {
                    *indexed = slot;
                }
                self.release(old);
                slot
            }
            None => {
                if self.index.len() == self.index.capacity() {
                    self.grow_index();
                }
                let slot = self.fresh(key, now, timeout);
                let (pages, hasher) = (&self.pages, &self.hasher);
                self.index.insert_unique(hash, slot, |&slot| {
                    key_at(pages, slot).map_or(0, |key| hasher.hash_one(key))
                });
                self.shrink_at = self.shrink_at.max(self.index.len() / 2);
                slot
            }
        };
        // The owner may be waiting on an empty set or on a later timer: let it look again.
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
        let (page, offset) = split(slot);
        let page = self.pages[page].as_ref().expect("a key's page exists");
        Heartbeat::for_key(page.shared.handle(offset), self.origin)
    }

    /// Rebuilds the index with room for one more key. Left to itself, the table would rehash
    /// its slots in bucket order, reading each key from its page at random (a cache miss a
    /// key at 10^6); walking the pages reads the keys in slot order instead. When most slots
    /// handed out are free (keys left and their pages stay), the walk would cost more than
    /// the rehash: then the table is left to grow by itself.
    fn grow_index(&mut self) {
        let len = self.index.len();
        let handed_out: usize = self
            .pages
            .iter()
            .flatten()
            .map(|page| page.keys.len())
            .sum();
        if handed_out > 2 * (len + 1) {
            return;
        }
        let (pages, hasher) = (&self.pages, &self.hasher);
        let rehash = |&slot: &u32| key_at(pages, slot).map_or(0, |key| hasher.hash_one(key));
        // Every key in a page is in the index: the capacity covers them all, so `rehash` is
        // never called.
        let mut index = HashTable::with_capacity(len + 1);
        for (number, page) in pages.iter().enumerate() {
            let Some(page) = page else { continue };
            for (offset, key) in page.keys.iter().enumerate() {
                if let Some(key) = key {
                    let slot = slot_of(number, offset as u32);
                    index.insert_unique(hasher.hash_one(key), slot, rehash);
                }
            }
        }
        debug_assert_eq!(index.len(), len, "a page's key missing from the index");
        self.index = index;
    }

    /// Re-arms the key in `slot` from `now`, with its own `timeout` or the set's, if its life
    /// goes on. Returns `false`, changing nothing, if a heartbeat stopped it.
    fn rearm(&mut self, slot: u32, now: u64, timeout: Option<u64>) -> bool {
        let Some((segment, offset)) = self.segment(slot) else {
            return false;
        };
        let before = segment.timeout(offset);
        if !segment.rearm(offset, now, timeout) {
            return false;
        }
        // A later deadline waits for the queued check (lazy); an earlier one (a shorter
        // timeout) needs a check of its own, which makes the old one stale.
        let after = timeout.unwrap_or(self.timeout);
        if after < before {
            self.schedule(slot, deadline_of(now, after));
        }
        true
    }

    /// Puts `key` in a free slot, armed from `now`, and queues its check.
    fn fresh(&mut self, key: K, now: u64, timeout: Option<u64>) -> u32 {
        let slot = self.alloc();
        let (page, offset) = split(slot);
        let page = self.pages[page]
            .as_mut()
            .expect("an allocated slot's page exists");
        page.keys[offset as usize] = Some(key);
        page.shared.claim(offset, now, timeout);
        self.schedule(slot, deadline_of(now, timeout.unwrap_or(self.timeout)));
        slot
    }

    /// Queues a check of `slot` at `tick`, making its earlier checks stale. A tick the clock
    /// cannot reach ([`NEVER`]) queues nothing: such a key is checked again only when the owner
    /// re-inserts it.
    fn schedule(&mut self, slot: u32, tick: u64) {
        if tick == NEVER {
            return;
        }
        let (page, offset) = split(slot);
        let Some(page) = self.pages.get_mut(page).and_then(Option::as_mut) else {
            return;
        };
        let generation = &mut page.generations[offset as usize];
        *generation = generation.wrapping_add(1);
        self.queue.push(Reverse(Queued {
            tick,
            slot,
            generation: *generation,
        }));
    }

    /// A free slot: in the lowest page with room, after collecting orphans, or in a new page.
    fn alloc(&mut self) -> u32 {
        if self.open.is_empty() {
            self.collect();
        }
        let page = match self.open.first() {
            Some(&page) => page as usize,
            None => self.new_page(),
        };
        let slots = self.pages[page].as_mut().expect("an open page exists");
        let offset = slots.free.pop().unwrap_or_else(|| {
            slots.keys.push(None);
            slots.generations.push(0);
            slots.keys.len() as u32 - 1
        });
        if slots.free.is_empty() && slots.keys.len() == slots.shared.len() {
            self.open.remove(&(page as u32));
        }
        slot_of(page, offset)
    }

    fn new_page(&mut self) -> usize {
        let page = self
            .pages
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.pages.len());
        assert!(page < MAX_PAGES, "Keepalives holds at most 2^32 keys");
        let len = page_len(page);
        let slots = Page {
            shared: Arc::new(Segment::new(len, self.timeout)),
            keys: Vec::with_capacity(len),
            generations: Vec::with_capacity(len),
            free: Vec::new(),
        };
        if page == self.pages.len() {
            self.pages.push(Some(slots));
        } else {
            self.pages[page] = Some(slots);
        }
        self.open.insert(page as u32);
        page
    }

    /// The segment and offset of `slot`, if its page exists.
    fn segment(&self, slot: u32) -> Option<(&Segment, u32)> {
        let (page, offset) = split(slot);
        let page = self.pages.get(page)?.as_ref()?;
        Some((&page.shared, offset))
    }

    /// Lets go of `slot`, whose key left the index and whose word is terminal: frees it, or
    /// leaves it to its last heartbeat. Returns the key.
    fn release(&mut self, slot: u32) -> Option<K> {
        let (index, offset) = split(slot);
        let page = self.pages.get_mut(index)?.as_mut()?;
        let key = page.keys[offset as usize].take();
        if page.shared.leave(offset) {
            page.free.push(offset);
            self.open.insert(index as u32);
        } else {
            self.orphans += 1;
        }
        key
    }

    /// Takes `slot`'s key out of the index and releases the slot. Returns the key.
    fn unindex(&mut self, slot: u32) -> Option<K> {
        let key = key_at(&self.pages, slot)?;
        let hash = self.hasher.hash_one(key);
        if let Ok(entry) = self.index.find_entry(hash, |&indexed| indexed == slot) {
            entry.remove();
        }
        self.release(slot)
    }

    /// Frees the orphans whose last heartbeat has gone. Orphans are counted here only, for
    /// the whole set: a collection visits every page's returned list (one uncontended lock a
    /// page), and runs only when an orphan exists and memory is wanted.
    fn collect(&mut self) {
        if self.orphans == 0 {
            return;
        }
        let Self {
            pages,
            open,
            orphans,
            ..
        } = self;
        for (index, page) in pages.iter_mut().enumerate() {
            let Some(page) = page.as_mut() else {
                continue;
            };
            page.shared.collect(|offset| {
                page.free.push(offset);
                *orphans -= 1;
                open.insert(index as u32);
            });
        }
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
        self.find(key).is_some_and(|found| {
            // A stopped key's word stays terminal until the owner re-arms it, which needs
            // `&mut self`: refusing here is the same as the beat's own refusal.
            found.last_beat.is_some()
                && found
                    .segment
                    .word(found.offset)
                    .beat(tick(self.origin, Instant::now()))
        })
    }

    /// `key`'s slot and its word's last beat, if the key is in the set.
    fn find(&self, key: &K) -> Option<Found<'_>> {
        let hash = self.hasher.hash_one(key);
        let pages = &self.pages;
        let mut found = None;
        self.index.find(hash, |&slot| {
            let (page, offset) = split(slot);
            let Some(page) = pages.get(page).and_then(Option::as_ref) else {
                return false;
            };
            // Read the slot's word before comparing its key: both addresses follow from the
            // slot, so at 10^6 keys their two cache misses overlap instead of following one
            // another, and the caller's use of the word hits the cache.
            let last_beat = page.shared.word(offset).last_beat();
            if page.keys[offset as usize].as_ref() != Some(key) {
                return false;
            }
            found = Some(Found {
                segment: &page.shared,
                offset,
                last_beat,
            });
            true
        });
        found
    }

    /// Removes `key`. Returns `true` if it was in the set. It is never yielded after this
    /// returns, and its heartbeats return `false`.
    ///
    /// Memory returns as keys leave: the set drops stale checks once they outnumber the keys,
    /// and each time the number of keys halves it shrinks its index and drops the pages of
    /// slots that emptied. A slot whose heartbeats outlive its key is reused once the last of
    /// them is dropped.
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
        let hash = self.hasher.hash_one(key);
        let pages = &self.pages;
        let Ok(entry) = self
            .index
            .find_entry(hash, |&slot| key_at(pages, slot) == Some(key))
        else {
            return false;
        };
        let (slot, _) = entry.remove();
        if let Some((segment, offset)) = self.segment(slot) {
            segment.word(offset).close();
        }
        self.release(slot);
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
        let found = self.find(key)?;
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
        self.find(key)
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
        self.index.is_empty()
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
            let Some(Reverse(next)) = self.queue.peek() else {
                self.register(cx.waker());
                return Poll::Pending;
            };
            let at = instant_at(self.origin, next.tick);
            let timer = self.timer.get_or_insert_with(|| Box::pin(Timer::new()));
            if timer.as_mut().poll_until(cx, at).is_pending() {
                self.register(cx.waker());
                return Poll::Pending;
            }
            // The timer reached the earliest check: look again.
        }
    }

    /// Pops due checks until one key turns out expired; re-queues beaten keys, drops stale
    /// checks and stopped keys.
    fn next_due(&mut self, now: u64, observed: Instant) -> Option<(K, Expired)> {
        while self
            .queue
            .peek()
            .is_some_and(|Reverse(next)| next.tick <= now)
        {
            let Reverse(Queued {
                slot, generation, ..
            }) = self.queue.pop()?;
            let (page, offset) = split(slot);
            let Some(page) = self.pages.get(page).and_then(Option::as_ref) else {
                continue; // its page emptied and was dropped since
            };
            if !page.is_current(offset, generation) {
                continue; // superseded by a later check, or the key left
            }
            let segment = &page.shared;
            let timeout = segment.timeout(offset);
            let check_again_at = match segment.word(offset).judge(timeout, now) {
                Decision::Expired(deadline) => {
                    let key = self.unindex(slot)?;
                    let expired = Expired::new(instant_at(self.origin, deadline), observed);
                    return Some((key, expired));
                }
                // Beaten since it was queued: check again at its new deadline.
                Decision::Pending(deadline) => Some(deadline),
                // Stopped through a heartbeat: kept, never yielded, until its deadline.
                Decision::Stopped => Some(deadline_of(segment.word(offset).snapshot().0, timeout))
                    .filter(|&deadline| deadline > now),
                // Cannot be in the set: the set unindexes what it closes or expires.
                Decision::Idle => None,
            };
            match check_again_at {
                Some(deadline) => self.schedule(slot, deadline),
                None => {
                    self.unindex(slot);
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

    /// Drops stale checks once they outnumber the keys; each time the number of keys halves,
    /// collects orphans, drops emptied pages and shrinks the index. Amortized O(1) a removal.
    fn compact(&mut self) {
        let len = self.index.len();
        if self.queue.len() > 2 * len + 64 {
            let pages = &self.pages;
            self.queue.retain(|Reverse(check)| {
                let (page, offset) = split(check.slot);
                pages
                    .get(page)
                    .and_then(Option::as_ref)
                    .is_some_and(|page| page.is_current(offset, check.generation))
            });
            self.queue.shrink_to_fit();
        }
        if len > self.shrink_at {
            return;
        }
        self.shrink_at = len / 2;
        self.collect();
        // Page 0 (16 slots) stays, so a set that empties and fills again does not allocate.
        for (index, page) in self.pages.iter_mut().enumerate().skip(1) {
            if page.as_ref().is_some_and(Page::is_empty) {
                *page = None;
                self.open.remove(&(index as u32));
            }
        }
        while self.pages.last().is_some_and(Option::is_none) {
            self.pages.pop();
        }
        self.pages.shrink_to_fit();
        let (pages, hasher) = (&self.pages, &self.hasher);
        self.index.shrink_to(len, |&slot| {
            key_at(pages, slot).map_or(0, |key| hasher.hash_one(key))
        });
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
        for page in self.pages.iter().flatten() {
            for (offset, key) in page.keys.iter().enumerate() {
                if key.is_some() {
                    page.shared.word(offset as u32).close();
                }
            }
        }
    }
}

impl<K> fmt::Debug for Keepalives<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots: usize = self
            .pages
            .iter()
            .flatten()
            .map(|page| page.shared.len())
            .sum();
        f.debug_struct("Keepalives")
            .field("len", &self.index.len())
            .field("queued_checks", &self.queue.len())
            .field("slots", &slots)
            .field("orphans", &self.orphans)
            .field("timeout", &Duration::from_nanos(self.timeout))
            .field(
                "next_check",
                &self.timer.as_ref().and_then(|timer| timer.deadline()),
            )
            .finish()
    }
}
