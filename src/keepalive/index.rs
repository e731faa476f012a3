//! The set's index: a hash table of 4-byte slot numbers, hashed by the key the slot holds.
//!
//! Each key is stored once, in its slot (see `slots.rs`); the table holds only where to find
//! it. std's `HashMap<K, u32>` would store the key again: at 10^6 `u64` keys that is 35.7
//! heap bytes a key for the index instead of 10.5.

use std::hash::{BuildHasher, Hash, RandomState};

use hashbrown::HashTable;

use super::slots::{Slot, Slots};

pub(super) struct Index {
    table: HashTable<u32>,
    hasher: RandomState,
}

impl Index {
    pub(super) fn new() -> Self {
        Self {
            table: HashTable::new(),
            hasher: RandomState::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

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
    }

    /// Takes `key` out; returns its slot.
    pub(super) fn remove<K: Eq>(&mut self, hash: u64, key: &K, slots: &Slots<K>) -> Option<u32> {
        let entry = self
            .table
            .find_entry(hash, |&slot| slots.key(slot) == Some(key))
            .ok()?;
        Some(entry.remove().0)
    }

    /// Takes `slot`, whose key hashes to `hash`, out.
    pub(super) fn remove_slot(&mut self, hash: u64, slot: u32) {
        if let Ok(entry) = self.table.find_entry(hash, |&indexed| indexed == slot) {
            entry.remove();
        }
    }

    /// Makes room for one more key, before it is put in its slot. Left to itself, the table
    /// would rehash its slots in bucket order, reading each key from its page at random (a
    /// cache miss a key at 10^6); walking the pages reads the keys in slot order instead. When
    /// most slots handed out are free (keys left and their pages stay), the walk would cost
    /// more than the rehash: then the table is left to grow by itself.
    pub(super) fn reserve<K: Hash>(&mut self, slots: &Slots<K>) {
        let len = self.table.len();
        if len < self.table.capacity() || slots.handed_out() > 2 * (len + 1) {
            return;
        }
        let hasher = &self.hasher;
        let rehash = |&slot: &u32| slots.key(slot).map_or(0, |key| hasher.hash_one(key));
        // Every key in a page is in the index: the capacity covers them all, so `rehash` is
        // never called.
        let mut table = HashTable::with_capacity(len + 1);
        for (slot, key) in slots.keys() {
            table.insert_unique(hasher.hash_one(key), slot, rehash);
        }
        debug_assert_eq!(table.len(), len, "a page's key missing from the index");
        self.table = table;
    }

    /// Returns memory down to what the keys in the index need.
    pub(super) fn shrink<K: Hash>(&mut self, slots: &Slots<K>) {
        let hasher = &self.hasher;
        let len = self.table.len();
        self.table.shrink_to(len, |&slot| {
            slots.key(slot).map_or(0, |key| hasher.hash_one(key))
        });
    }
}
