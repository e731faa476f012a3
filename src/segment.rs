//! The per-key state a `Keepalives` set shares with its keys' heartbeats: dense segments of
//! packed words, and a count per slot that says when the slot may be reused.
//!
//! Like `state.rs`, this knows nothing of Tokio, so loom compiles it too (see `loom-tests/`).
//!
//! # Segments
//!
//! A set keeps its keys' words in segments of up to [`MAX_SEGMENT`] slots. A heartbeat holds
//! its segment (an `Arc`) and its slot's offset (16 bytes), so a beat is one `fetch_max` into a
//! dense array, and a key costs 12 bytes here (its [`Word`] and its `meta`), not an allocation.
//! The instant the words count from is the segment's, not each heartbeat's.
//! Keys with the set's timeout store none; a key with its own keeps it in the segment's
//! table, and its slot says so (`CUSTOM`). A key with the set's timeout never takes the
//! table's lock: reading its timeout, re-timing it to the set's and freeing its slot are
//! lock-free, so the owner judging keys and heartbeats reading deadlines never wait on each
//! other for it (checked by a loom model that holds the lock throughout).
//!
//! # When a slot is free
//!
//! A slot is reused for later keys, so the set must know when no heartbeat of the earlier key
//! is left: a beat through one would count for the new key. Each slot's `meta` word counts:
//!
//! ```text
//! bit 0      IN_SET    the set holds the slot (its key is in the set)
//! bit 1      CUSTOM    the key has its own timeout, in the segment's table
//! bits 2..   HANDLES   live heartbeats, in steps of 4
//! ```
//!
//! The set clears `IN_SET` when the key leaves; dropping a heartbeat subtracts 4. Whichever
//! of them leaves neither bit 0 nor a handle frees the slot: the set at once (it left last),
//! or the heartbeat (dropped last), which puts the offset on the segment's `returned` list
//! for the set to collect. Exactly one of them sees that zero, as with `Arc`'s count. The side
//! that frees acquires every earlier heartbeat's release, so the last beat of the old key
//! happens before the set arms the slot for a new one: no stale beat can land on a new key.

use std::collections::HashMap;
use std::sync::Arc;

use crate::state::{Word, deadline_of};
use crate::sync::{AtomicU32, Mutex, Ordering, fence, lock};

/// The most slots a segment holds; offsets fit in 12 bits.
pub(crate) const MAX_SEGMENT: usize = 1 << SEGMENT_BITS;
pub(crate) const SEGMENT_BITS: u32 = 12;

const IN_SET: u32 = 1;
const CUSTOM: u32 = 2;
const HANDLE: u32 = 4;
/// A `meta` at or past this (2^29 heartbeats of one key) aborts the next clone, as `Arc`
/// does past `isize::MAX`: the count must not wrap into the flag bits.
const MAX_HANDLES: u32 = u32::MAX / 2;

/// One segment of a set's slots, shared by the set and the heartbeats of its keys.
///
/// `O` is the instant the words' ticks count from: Tokio's `Instant` in the crate, `()` in
/// the loom models, which have no clock. Kept here rather than in each heartbeat, so that a
/// heartbeat is one pointer and an offset.
#[derive(Debug)]
pub(crate) struct Segment<O = ()> {
    words: Box<[Word]>,
    meta: Box<[AtomicU32]>,
    /// The timeout of keys without their own, in ticks: the set's.
    timeout: u64,
    /// The timeouts of keys with their own (offset → ticks), for slots with `CUSTOM`.
    custom: Mutex<HashMap<u32, u64>>,
    /// Slots freed by their last heartbeat, for the set to collect.
    returned: Mutex<Vec<u32>>,
    /// Tick 0 of every word.
    origin: O,
}

impl<O> Segment<O> {
    /// `len` free slots (at most [`MAX_SEGMENT`]) for keys whose timeout is `timeout` ticks,
    /// counted from `origin`.
    pub(crate) fn with_origin(len: usize, timeout: u64, origin: O) -> Self {
        let len = len.min(MAX_SEGMENT);
        Self {
            words: (0..len).map(|_| Word::closed()).collect(),
            meta: (0..len).map(|_| AtomicU32::new(0)).collect(),
            timeout,
            custom: Mutex::new(HashMap::new()),
            returned: Mutex::new(Vec::new()),
            origin,
        }
    }

    /// The instant tick 0 stands for.
    pub(crate) fn origin(&self) -> &O {
        &self.origin
    }

    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// The word of the key in slot `offset`.
    pub(crate) fn word(&self, offset: u32) -> &Word {
        &self.words[offset as usize]
    }

    /// The timeout in ticks of the key in slot `offset`.
    pub(crate) fn timeout(&self, offset: u32) -> u64 {
        // Acquire pairs with `retime`'s Release: a reader that sees `CUSTOM` sees the entry.
        // The table keeps an entry until the slot is freed, and a reader holds a handle (or
        // is the set), so the slot cannot be freed and reused under it.
        if self.meta[offset as usize].load(Ordering::Acquire) & CUSTOM == 0 {
            return self.timeout;
        }
        let custom = lock(&self.custom);
        custom.get(&offset).copied().unwrap_or(self.timeout)
    }

    /// The deadline tick of the key in slot `offset`, or `None` once it has left the set (or
    /// been stopped, or expired).
    pub(crate) fn deadline(&self, offset: u32) -> Option<u64> {
        // The timeout first, then the word: `rearm` writes them in the other order, so a
        // reader racing it sees the old deadline, the window restarted under the old timeout,
        // or the new deadline, and never the old beat under the new timeout. (Seeing the new
        // timeout, by `timeout`'s Acquire or its lock, makes the restart visible to the load.)
        let timeout = self.timeout(offset);
        let last_beat = self.word(offset).last_beat()?;
        Some(deadline_of(last_beat, timeout))
    }

    /// Re-arms the key in slot `offset` from `now`, with its own `timeout` or the set's
    /// (`None`), if its life goes on: the window restarts, like a beat, and its heartbeats keep
    /// working. Returns `false`, changing nothing, if the life is over (a heartbeat stopped
    /// it): the set then gives the key a fresh slot. For the set only, while the key is in it.
    pub(crate) fn rearm(&self, offset: u32, now: u64, timeout: Option<u64>) -> bool {
        // The restart is a beat: one read-modify-write, ordered against a racing `stop` as any
        // beat is, so a stop that returned `true` is never undone (the word is never cleared).
        if !self.word(offset).beat(now) {
            return false;
        }
        self.retime(offset, timeout);
        true
    }

    /// Arms the free slot `offset` for a new key, last beat at `now`, with its own `timeout`
    /// (`None`: the set's), and returns the key's first heartbeat reference. For the set only,
    /// and only on a free slot (`meta` is 0): no heartbeat refers to it, so plain stores
    /// suffice, and the set's bit and the first handle's count are one store, not a store and
    /// an increment.
    pub(crate) fn claim(
        self: &Arc<Self>,
        offset: u32,
        now: u64,
        timeout: Option<u64>,
    ) -> KeyRef<O> {
        debug_assert_eq!(self.meta[offset as usize].load(Ordering::Relaxed), 0);
        self.words[offset as usize].reset(now);
        // Relaxed: the slot reaches other threads only inside a heartbeat, which is sent by
        // some synchronizing means (a spawn, a channel) after this.
        self.meta[offset as usize].store(IN_SET | HANDLE, Ordering::Relaxed);
        self.retime(offset, timeout);
        KeyRef {
            segment: self.clone(),
            offset,
        }
    }

    /// Gives the key in slot `offset` its own `timeout`, or the set's (`None`). For the set
    /// only, while the key is in it.
    pub(crate) fn retime(&self, offset: u32, timeout: Option<u64>) {
        let meta = &self.meta[offset as usize];
        match timeout.filter(|&timeout| timeout != self.timeout) {
            Some(timeout) => {
                lock(&self.custom).insert(offset, timeout);
                // Release: a reader that sees the bit sees the entry (`timeout`).
                meta.fetch_or(CUSTOM, Ordering::Release);
            }
            None if meta.load(Ordering::Relaxed) & CUSTOM != 0 => {
                // Clear the bit first: a reader that still sees it finds the entry or, once it
                // is gone, falls back to the set's timeout, which is now the key's. Release: a
                // reader that sees the bit cleared sees what the set did before (`rearm`'s
                // restart), as `deadline` needs.
                meta.fetch_and(!CUSTOM, Ordering::Release);
                lock(&self.custom).remove(&offset);
            }
            None => {}
        }
    }

    /// A new heartbeat's reference to slot `offset`. For the set, while the key is in it, or
    /// for a heartbeat being cloned.
    pub(crate) fn handle(self: &Arc<Self>, offset: u32) -> KeyRef<O> {
        // Relaxed, as `Arc::clone`: the new handle is made from a live reference (the set's
        // `IN_SET`, or the handle being cloned), so the slot cannot be freed meanwhile.
        let prev = self.meta[offset as usize].fetch_add(HANDLE, Ordering::Relaxed);
        if prev >= MAX_HANDLES {
            std::process::abort();
        }
        KeyRef {
            segment: self.clone(),
            offset,
        }
    }

    /// The set lets go of slot `offset`: its key left the set (the caller made its word
    /// terminal first, so heartbeats left behind return `false`). Returns `true` if the slot
    /// is free now; `false` if heartbeats remain, the last of which will return it.
    pub(crate) fn leave(&self, offset: u32) -> bool {
        // AcqRel: Acquire, so that when no handle is left every handle's last beat happened
        // before (their drops released); Release, so that the last handle to drop sees the
        // terminal word written before this.
        let prev = self.meta[offset as usize].fetch_and(!IN_SET, Ordering::AcqRel);
        debug_assert!(prev & IN_SET != 0, "left twice");
        if prev & !CUSTOM != IN_SET {
            return false;
        }
        self.free(offset);
        true
    }

    /// Collects the slots their last heartbeat freed, calling `freed` with each offset.
    pub(crate) fn collect(&self, mut freed: impl FnMut(u32)) {
        // The lock orders each returning handle's release (and its `Acquire` fence) before
        // this, so their beats happened before the slot is claimed again.
        let returned = std::mem::take(&mut *lock(&self.returned));
        for offset in returned {
            self.free(offset);
            freed(offset);
        }
    }

    /// Clears a slot nobody refers to any more.
    fn free(&self, offset: u32) {
        if self.meta[offset as usize].swap(0, Ordering::Relaxed) & CUSTOM != 0 {
            lock(&self.custom).remove(&offset);
        }
    }
}

/// A heartbeat's reference to its key's slot: keeps the segment alive, and counts in the
/// slot's `meta` so the slot is not reused while it exists.
#[derive(Debug)]
pub(crate) struct KeyRef<O = ()> {
    segment: Arc<Segment<O>>,
    offset: u32,
}

impl<O> KeyRef<O> {
    pub(crate) fn word(&self) -> &Word {
        self.segment.word(self.offset)
    }

    pub(crate) fn deadline(&self) -> Option<u64> {
        self.segment.deadline(self.offset)
    }

    pub(crate) fn origin(&self) -> &O {
        self.segment.origin()
    }
}

impl<O> Clone for KeyRef<O> {
    fn clone(&self) -> Self {
        self.segment.handle(self.offset)
    }
}

impl<O> Drop for KeyRef<O> {
    fn drop(&mut self) {
        // Release, as `Arc`'s drop: this handle's beats happen before whoever frees the slot.
        let prev = self.segment.meta[self.offset as usize].fetch_sub(HANDLE, Ordering::Release);
        if prev & !CUSTOM != HANDLE {
            return; // the set still holds the slot, or other handles remain
        }
        // The last reference: acquire every other handle's release before handing the slot
        // back, so all their beats happen before it is claimed again.
        fence(Ordering::Acquire);
        lock(&self.segment.returned).push(self.offset);
    }
}

#[cfg(test)]
#[allow(dead_code)] // used by loom-tests, which compiles this file; not by this crate's tests
impl Segment {
    /// `len` free slots for keys whose timeout is `timeout` ticks, with no clock: the models'
    /// segments.
    pub(crate) fn new(len: usize, timeout: u64) -> Self {
        Self::with_origin(len, timeout, ())
    }

    /// A slot's raw `meta`, for the loom models' deliberately broken twins of `leave`.
    pub(crate) fn meta(&self, offset: u32) -> &AtomicU32 {
        &self.meta[offset as usize]
    }

    /// How many keys' own timeouts the table holds, for the models' check that it empties.
    pub(crate) fn custom_len(&self) -> usize {
        lock(&self.custom).len()
    }

    /// The table's lock, for the model that checks keys with the set's timeout never take it.
    pub(crate) fn lock_custom(&self) -> crate::sync::MutexGuard<'_, HashMap<u32, u64>> {
        lock(&self.custom)
    }
}
