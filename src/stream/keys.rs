//! The keyed debounces' data structure: one [`Burst`] and one held item (or batch) per key,
//! and one min-heap of the instants at which a key has something to decide.
//!
//! - `slots` holds each key once, with its burst and what it holds; a slot freed by a settled
//!   key is reused by the next new key.
//! - `index` finds a key's slot: a hash table of 4-byte slot numbers, hashed by the key the
//!   slot holds (a `HashMap<K, u32>` would store every key twice).
//! - `due` holds exactly one entry per live slot, at or before the instant its burst is next
//!   worth looking at (a lazy queue: an item that pushes a key's window later changes nothing
//!   here, and the key is queued again when its entry comes). Entries with equal instants
//!   come out in the order their keys were first queued, since they were last forgotten.
//!
//! So a key costs O(1) per item and O(log n) per entry that comes due, and nothing per key is
//! a task, a thread or a timer. A key is forgotten when its burst has settled (see
//! [`Burst::settled`]); when the last one is, every allocation is returned.

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;
use std::hash::{BuildHasher, Hash, RandomState};

use hashbrown::HashTable;
use tokio::time::Instant;

use super::burst::{Action, Burst, Rules};
use super::settle::Held;

struct Slot<K, H> {
    key: K,
    burst: Burst,
    held: H,
}

/// An entry of the due queue: ordered by instant, then by when its key was first queued (a
/// key keeps its `seq` when it is queued again).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    seq: u64,
    slot: u32,
}

pub(crate) struct Keys<K, H> {
    slots: Vec<Option<Slot<K, H>>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: RandomState,
    due: BinaryHeap<Reverse<Due>>,
    // The number of keys ever queued: the tie-break that keeps equal instants in order.
    queued: u64,
    live: usize,
}

impl<K: Hash + Eq, H: Held> Keys<K, H> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            due: BinaryHeap::new(),
            queued: 0,
            live: 0,
        }
    }

    /// Keys with a burst that has not settled.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The earliest instant at which some key has something to decide.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.due.peek().map(|Reverse(due)| due.at)
    }

    fn live_slots(&self) -> impl Iterator<Item = &Slot<K, H>> {
        self.slots.iter().flatten()
    }

    fn find<Q>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find_hashed(self.hasher.hash_one(key), key)
    }

    /// The slot of `key`, whose hash is `hash`.
    fn find_hashed<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slots = &self.slots;
        self.index
            .find(hash, |&slot| {
                slots[slot as usize]
                    .as_ref()
                    .is_some_and(|s| s.key.borrow() == key)
            })
            .copied()
    }

    fn slot_mut(&mut self, slot: u32) -> &mut Slot<K, H> {
        self.slots[slot as usize]
            .as_mut()
            .expect("a queued or indexed slot is live")
    }

    /// The slot of `key`, made if the key is new.
    fn slot_for(&mut self, key: K) -> u32 {
        // One hash an item, for the lookup and, for a new key, the insert.
        let hash = self.hasher.hash_one(&key);
        if let Some(slot) = self.find_hashed(hash, &key) {
            return slot;
        }
        let fresh = Slot {
            key,
            burst: Burst::default(),
            held: H::default(),
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(fresh);
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 keys");
                self.slots.push(Some(fresh));
                slot
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, slot, |&slot| {
            slots[slot as usize]
                .as_ref()
                .map_or(0, |s| hasher.hash_one(&s.key))
        });
        self.live += 1;
        slot
    }

    /// Queues a new key's first entry.
    fn queue(&mut self, slot: u32, at: Instant) {
        self.queued += 1;
        let seq = self.queued;
        self.due.push(Reverse(Due { at, seq, slot }));
    }

    /// An item of `key` was taken at `now`: held, and judged by the key's burst.
    pub(crate) fn push(
        &mut self,
        key: K,
        item: H::Item,
        rules: &Rules,
        max_items: usize,
        now: Instant,
    ) -> Option<H::Out> {
        let live = self.live;
        let slot = self.slot_for(key);
        let new_key = self.live > live;
        let entry = self.slot_mut(slot);
        entry.held.push(item);
        let mut action = entry.burst.on_item(rules, now);
        if action == Action::Hold && entry.held.is_full(max_items) {
            action = entry.burst.on_full(rules, now);
        }
        let out = entry.held.apply(action);
        if new_key {
            // A new key: its one entry in the queue. A known key's entry is already at or
            // before its burst's next check (a burst's checks only move later).
            let at = entry
                .burst
                .next_check_at(rules)
                .expect("a burst with an item has a check to come");
            self.queue(slot, at);
        }
        out
    }

    /// Runs the checks that have come by `now`, in order, up to the first that emits.
    pub(crate) fn pop_due(&mut self, rules: &Rules, now: Instant) -> Option<H::Out> {
        while let Some(due) = self.pop_come(now) {
            if self.free_if_retired(&due) {
                continue;
            }
            let entry = self.slot_mut(due.slot);
            let out = entry.held.apply(entry.burst.on_timer(rules, now));
            self.requeue_or_forget(due, rules, now);
            if out.is_some() {
                return out;
            }
        }
        None
    }

    /// The first entry of the queue, if its instant has come by `now`.
    fn pop_come(&mut self, now: Instant) -> Option<Due> {
        let top = self.due.peek_mut()?;
        (top.0.at <= now).then(|| PeekMut::pop(top).0)
    }

    /// After its entry came out: the key is queued again at its next check, in its place
    /// among keys due at the same instant, or forgotten.
    fn requeue_or_forget(&mut self, due: Due, rules: &Rules, now: Instant) {
        let entry = self.slot_mut(due.slot);
        if entry.burst.settled(rules, now) {
            self.forget(due.slot);
        } else {
            let at = entry
                .burst
                .next_check_at(rules)
                .expect("an unsettled burst has a check to come");
            debug_assert!(at > now, "a key re-queued at an instant that has come");
            self.due.push(Reverse(Due { at, ..due }));
        }
    }

    /// Forgets the key of `slot`, whose entry came out of the queue: the slot is free.
    fn forget(&mut self, slot: u32) {
        if self.retire(slot) {
            self.free.push(slot);
        }
    }

    /// Forgets the key of `slot`, and its item, at once; its slot is freed when its entry
    /// comes out of the queue (which holds slot numbers: a slot reused before would get two
    /// entries). Returns `false` if that was the last key, and everything was freed.
    fn retire(&mut self, slot: u32) -> bool {
        let entry = self.slots[slot as usize]
            .take()
            .expect("a forgotten slot was live");
        let hash = self.hasher.hash_one(&entry.key);
        if let Ok(indexed) = self.index.find_entry(hash, |&s| s == slot) {
            indexed.remove();
        }
        self.live -= 1;
        if self.live == 0 {
            // Every key settled: return the memory of the last burst, however large. The
            // queue's entries, if any are left, belong to retired slots.
            *self = Self::new();
            return false;
        }
        true
    }

    /// Whether `due` belongs to a slot retired while it was queued; if so, the slot is free.
    fn free_if_retired(&mut self, due: &Due) -> bool {
        let retired = self.slots[due.slot as usize].is_none();
        if retired {
            self.free.push(due.slot);
        }
        retired
    }

    /// The source ended: the next key's held item that its trailing edge emits, in due order;
    /// `None` once no key is left.
    pub(crate) fn end(&mut self, rules: &Rules) -> Option<H::Out> {
        while let Some(Reverse(due)) = self.due.pop() {
            if self.free_if_retired(&due) {
                continue;
            }
            let entry = self.slot_mut(due.slot);
            let out = entry.held.apply(entry.burst.on_end(rules));
            self.forget(due.slot);
            if out.is_some() {
                return out;
            }
        }
        None
    }

    /// lodash's `flush` of one key.
    pub(crate) fn flush_key<Q>(&mut self, key: &Q, rules: &Rules, now: Instant) -> Option<H::Out>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.find(key)?;
        let entry = self.slot_mut(slot);
        let out = entry.held.apply(entry.burst.on_flush(rules, now));
        // Its entry stays queued (the burst's next check only moved later), unless its burst
        // has settled: then the key is forgotten now.
        if self.slot_mut(slot).burst.settled(rules, now) {
            self.retire(slot);
        }
        out
    }

    /// lodash's `flush` of every key, in due order.
    pub(crate) fn flush(&mut self, rules: &Rules, now: Instant) -> Vec<H::Out> {
        self.sort_due(rules);
        let mut out = Vec::new();
        for Reverse(due) in std::mem::take(&mut self.due)
            .into_sorted_vec()
            .into_iter()
            .rev()
        {
            if self.live == 0 {
                // The last key settled: everything was freed, the rest are retired slots.
                break;
            }
            if self.free_if_retired(&due) {
                continue;
            }
            let entry = self.slot_mut(due.slot);
            out.extend(entry.held.apply(entry.burst.on_flush(rules, now)));
            self.requeue_or_forget_at(due, rules, now);
        }
        out
    }

    /// Moves every entry to its key's true next check, and frees the slots retired while
    /// queued: the queue is lazy (an entry may sit earlier than its key's check), and this
    /// puts it in the keys' due order, for the flush of every key and the end of the source.
    pub(crate) fn sort_due(&mut self, rules: &Rules) {
        let entries = std::mem::take(&mut self.due).into_vec();
        let mut sorted = Vec::with_capacity(entries.len());
        for Reverse(due) in entries {
            if self.free_if_retired(&due) {
                continue;
            }
            let at = self.slot_mut(due.slot).burst.next_check_at(rules);
            sorted.push(Reverse(Due {
                at: at.unwrap_or(due.at),
                ..due
            }));
        }
        self.due = BinaryHeap::from(sorted);
    }

    /// Like [`requeue_or_forget`](Self::requeue_or_forget), for an entry that may not have
    /// come yet: it keeps its place.
    fn requeue_or_forget_at(&mut self, due: Due, rules: &Rules, now: Instant) {
        if self.slot_mut(due.slot).burst.settled(rules, now) {
            self.forget(due.slot);
        } else {
            self.due.push(Reverse(due));
        }
    }

    /// lodash's `cancel` of one key: `true` if it held an item.
    pub(crate) fn cancel_key<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(slot) = self.find(key) else {
            return false;
        };
        let held = self.slot_mut(slot).burst.cancel();
        // A cancelled burst is forgotten: the key goes now, its item with it, and its slot
        // when its entry comes out of the queue.
        self.retire(slot);
        held
    }

    /// lodash's `cancel` of every key: how many held an item.
    pub(crate) fn cancel(&mut self) -> usize {
        let held = self
            .live_slots()
            .filter(|slot| !slot.held.is_empty())
            .count();
        *self = Self::new();
        held
    }
}
