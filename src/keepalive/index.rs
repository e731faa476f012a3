//! The set's index: a hash table of 4-byte slot numbers, hashed by the key the slot holds.
//!
//! Each key is stored once, in its slot (see `slots.rs`); the table holds only where to find
//! it. std's `HashMap<K, u32>` would store the key again: at 10^6 `u64` keys that is 35.7
//! heap bytes a key for the index instead of 10.5.
//!
//! A key that expires leaves its entry behind (stale): taking it out would cost a cache miss
//! a key at 10^6 (the entry's bucket), which is most of what an expiry would cost. A stale
//! entry's slot no longer holds its key, or holds another key, so no lookup matches through
//! it (every match compares the key in the slot). They go when the table is rebuilt from the
//! slots, in slot order: when it is full (instead of growing, if the keys fit) and each time
//! the number of keys halves. So the table holds at most about four entries a key.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

use super::slots::{Slot, Slots};

pub(super) struct Index<S> {
    table: HashTable<u32>,
    hasher: S,
    /// The keys in the set: the table's entries less the stale ones.
    len: usize,
}

impl<S> Index<S> {
    pub(super) fn new(hasher: S) -> Self {
        Self {
            table: HashTable::new(),
            hasher,
            len: 0,
        }
    }

    /// The keys in the set.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The table's entries, stale ones among them.
    pub(super) fn entries(&self) -> usize {
        self.table.len()
    }

    /// Counts out a key that left its slot, leaving its entry stale.
    pub(super) fn forget(&mut self) {
        self.len -= 1;
    }
}

impl<S: BuildHasher> Index<S> {
    pub(super) fn hash<K: Hash>(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slot of `key`, with its word's last beat.
    pub(super) fn find<'a, K: Eq>(
        &self,
        hash: u64,
        key: &K,
        slots: &'a Slots<K>,
    ) -> Option<Slot<'a, K>> {
        let mut found = None;
        self.table.find(hash, |&slot| {
            found = slots.look(slot).filter(|slot| slot.key == key);
            found.is_some()
        });
        found
    }

    /// The slot of `key`.
    pub(super) fn slot<K: Eq>(&self, hash: u64, key: &K, slots: &Slots<K>) -> Option<u32> {
        let table = &self.table;
        table
            .find(hash, |&slot| slots.key(slot) == Some(key))
            .copied()
    }

    /// Points the entry of `old` (hashed `hash`) at `new`, which holds the same key.
    pub(super) fn replace(&mut self, hash: u64, old: u32, new: u32) {
        if let Some(indexed) = self.table.find_mut(hash, |&slot| slot == old) {
            *indexed = new;
        }
    }

    /// Adds `slot`, which holds a key hashed `hash` that is not in the index yet. Call
    /// [`reserve`](Self::reserve) before the key is put in its slot.
    pub(super) fn insert<K: Hash>(&mut self, hash: u64, slot: u32, slots: &Slots<K>) {
        let hasher = &self.hasher;
        self.table.insert_unique(hash, slot, |&slot| {
            slots.key(slot).map_or(0, |key| hasher.hash_one(key))
        });
        self.len += 1;
    }

    /// Takes `key` out; returns its slot.
    pub(super) fn remove<K: Eq>(&mut self, hash: u64, key: &K, slots: &Slots<K>) -> Option<u32> {
        let entry = self
            .table
            .find_entry(hash, |&slot| slots.key(slot) == Some(key))
            .ok()?;
        self.len -= 1;
        Some(entry.remove().0)
    }

    /// Makes room for one more key, before it is put in its slot. Left to itself, the table
    /// would rehash its slots in bucket order, reading each key from its page at random (a
    /// cache miss a key at 10^6); rebuilding it from the pages reads the keys in slot order
    /// instead, and drops the stale entries. When most slots handed out are free (keys left
    /// and their pages stay), the walk would cost more than the rehash: then the table is left
    /// to grow by itself (a stale entry is rehashed by the key its slot holds now, if any,
    /// where it still matches nothing but that slot's key).
    pub(super) fn reserve<K: Hash>(&mut self, slots: &Slots<K>) {
        let entries = self.table.len();
        if entries < self.table.capacity() || slots.handed_out() > 2 * (self.len + 1) {
            return;
        }
        self.rebuild(slots, self.len + 1);
    }

    /// Returns memory down to what the keys need.
    pub(super) fn shrink<K: Hash>(&mut self, slots: &Slots<K>) {
        self.rebuild(slots, self.len);
    }

    /// A new table of room `capacity`, with an entry for every key in the slots (in slot
    /// order) and no stale ones.
    fn rebuild<K: Hash>(&mut self, slots: &Slots<K>, capacity: usize) {
        let hasher = &self.hasher;
        let rehash = |&slot: &u32| slots.key(slot).map_or(0, |key| hasher.hash_one(key));
        // Every key in a page is in the set: the capacity covers them all, so `rehash` is
        // never called.
        let mut table = HashTable::with_capacity(capacity);
        for (slot, key) in slots.keys() {
            table.insert_unique(hasher.hash_one(key), slot, rehash);
        }
        debug_assert_eq!(table.len(), self.len, "a page's key missing from the set");
        self.table = table;
    }
}
