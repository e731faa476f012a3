//! The set's slots: pages of keys, each beside the [`Segment`] of words it shares with the
//! keys' heartbeats, and the bookkeeping of which slots are free.
//!
//! Slot `s` is offset `s % 4096` of page `s / 4096`. Pages grow 16, 32, ... up to 4096 slots,
//! so a small set stays small; new keys take the lowest page with room, so high pages can
//! empty, and a page that empties is dropped when the set shrinks.
//!
//! Each slot's entry holds its key and the key's link in the check wheel (`checks.rs`): the
//! bucket it waits in and the next slot of that bucket's list. For a `u64` key an entry is 16
//! bytes, the size of an `Option<u64>` alone: the link fills the padding.

use std::collections::BTreeSet;
use std::mem;
use std::sync::Arc;

use tokio::time::Instant;

use super::checks::{Links, NIL, UNLISTED};
use crate::segment::{KeyRef, MAX_SEGMENT, SEGMENT_BITS, Segment};

pub(super) struct Slots<K> {
    pages: Vec<Option<Page<K>>>,
    /// The pages with a free slot.
    open: BTreeSet<u32>,
    /// Slots whose key left while heartbeats of it remained, not yet collected. Counted here
    /// only, for the whole set.
    orphans: usize,
    /// Left entries: slots whose key left while it was listed, waiting for their list.
    left: usize,
    /// The set's timeout in ticks, handed to each new segment; a key's timeout is its
    /// segment's to tell (`Segment::timeout`).
    timeout: u64,
    /// Tick 0 of every key's word, handed to each new segment.
    origin: Instant,
}

/// The set's side of one segment: the keys, and what is free.
struct Page<K> {
    shared: Arc<Segment<Instant>>,
    /// One per slot handed out so far.
    entries: Vec<Entry<K>>,
    /// Offsets of free slots below `entries.len()`.
    free: Vec<u32>,
}

/// What a slot holds. The fields are flat, not a struct in a variant, so that the link fills
/// the padding of the key's variant.
enum Entry<K> {
    /// Free, or an orphan (left to its last heartbeat): in no list.
    Vacant,
    /// A key, listed in `bucket` before `next`, or [`UNLISTED`].
    Key { key: K, bucket: u16, next: u32 },
    /// Its key left while it was listed: it stays in its list, before `next`, until the wheel
    /// walks that list and lets the slot go.
    Left { next: u32 },
}

impl<K> Page<K> {
    /// Whether every slot handed out is free again: no key, no orphan, no left entry.
    fn is_empty(&self) -> bool {
        self.free.len() == self.entries.len()
    }
}

/// A slot with a key, as [`Slots::look`] found it.
pub(super) struct Slot<'a, K> {
    pub(super) key: &'a K,
    pub(super) segment: &'a Segment<Instant>,
    pub(super) offset: u32,
    /// The word's last beat when it was read, `None` if stopped.
    pub(super) last_beat: Option<u64>,
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

/// How many slots page `page` has: 16, 32, ... up to 4096.
fn page_len(page: usize) -> usize {
    if page >= 8 { MAX_SEGMENT } else { 16 << page }
}

/// The most pages a set has: slot numbers are `u32`, and the last one is [`NIL`].
const MAX_PAGES: usize = (1 << (32 - SEGMENT_BITS)) - 1;

impl<K> Slots<K> {
    pub(super) fn new(timeout: u64, origin: Instant) -> Self {
        Self {
            pages: Vec::new(),
            open: BTreeSet::new(),
            orphans: 0,
            left: 0,
            timeout,
            origin,
        }
    }

    /// The set's timeout in ticks.
    pub(super) fn timeout(&self) -> u64 {
        self.timeout
    }

    fn page(&self, slot: u32) -> Option<(&Page<K>, u32)> {
        let (page, offset) = split(slot);
        Some((self.pages.get(page)?.as_ref()?, offset))
    }

    fn entry(&self, slot: u32) -> Option<&Entry<K>> {
        let (page, offset) = self.page(slot)?;
        page.entries.get(offset as usize)
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry<K>> {
        let (page, offset) = split(slot);
        self.pages
            .get_mut(page)?
            .as_mut()?
            .entries
            .get_mut(offset as usize)
    }

    /// The key in `slot`, if the slot holds one.
    pub(super) fn key(&self, slot: u32) -> Option<&K> {
        match self.entry(slot)? {
            Entry::Key { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The segment and offset of `slot`, if its page exists.
    pub(super) fn segment(&self, slot: u32) -> Option<(&Segment<Instant>, u32)> {
        let (page, offset) = self.page(slot)?;
        Some((&page.shared, offset))
    }

    /// `slot` with its key and its word's last beat, if it holds a key. The word is read
    /// before the key: both addresses follow from the slot, so at 10^6 keys their two cache
    /// misses overlap instead of following one another, and the caller's use of the word hits
    /// the cache.
    pub(super) fn look(&self, slot: u32) -> Option<Slot<'_, K>> {
        let (page, offset) = self.page(slot)?;
        let segment = &*page.shared;
        let last_beat = segment.word(offset).last_beat();
        let Some(Entry::Key { key, .. }) = page.entries.get(offset as usize) else {
            return None;
        };
        Some(Slot {
            key,
            segment,
            offset,
            last_beat,
        })
    }

    /// A new heartbeat's reference to `slot`, which holds a key.
    pub(super) fn handle(&self, slot: u32) -> KeyRef<Instant> {
        let (page, offset) = self.page(slot).expect("a key's page exists");
        page.shared.handle(offset)
    }

    /// Puts `key` in a free slot, last beat at `now`, with its own `timeout` (`None`: the
    /// set's). Returns the slot and the key's first heartbeat reference.
    pub(super) fn fill(
        &mut self,
        key: K,
        now: u64,
        timeout: Option<u64>,
    ) -> (u32, KeyRef<Instant>) {
        let slot = self.alloc();
        let (page, offset) = split(slot);
        let page = self.pages[page]
            .as_mut()
            .expect("an allocated slot's page exists");
        page.entries[offset as usize] = Entry::Key {
            key,
            bucket: UNLISTED,
            next: NIL,
        };
        (slot, page.shared.claim(offset, now, timeout))
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
            slots.entries.push(Entry::Vacant);
            slots.entries.len() as u32 - 1
        });
        if slots.free.is_empty() && slots.entries.len() == slots.shared.len() {
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
        assert!(page < MAX_PAGES, "Keepalives holds fewer than 2^32 keys");
        let len = page_len(page);
        let slots = Page {
            shared: Arc::new(Segment::with_origin(len, self.timeout, self.origin)),
            entries: Vec::with_capacity(len),
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

    /// Takes the key out of `slot`, whose key left the index and whose word is terminal, and
    /// lets the slot go: frees it, or leaves it to its last heartbeat. A listed slot becomes a
    /// left entry instead, let go when the wheel walks its list. Returns the key.
    pub(super) fn release(&mut self, slot: u32) -> Option<K> {
        let entry = self.entry_mut(slot)?;
        let after = match *entry {
            Entry::Key {
                bucket: UNLISTED, ..
            } => Entry::Vacant,
            Entry::Key { next, .. } => Entry::Left { next },
            _ => return None,
        };
        let listed = matches!(after, Entry::Left { .. });
        let Entry::Key { key, .. } = mem::replace(entry, after) else {
            return None;
        };
        if listed {
            self.left += 1;
        } else {
            self.let_go(slot);
        }
        Some(key)
    }

    /// Frees vacant `slot`, or leaves it to its last heartbeat.
    fn let_go(&mut self, slot: u32) {
        let (index, offset) = split(slot);
        let Some(page) = self.pages.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if page.shared.leave(offset) {
            page.free.push(offset);
            self.open.insert(index as u32);
        } else {
            self.orphans += 1;
        }
    }

    /// Left entries, waiting for their list to be walked.
    pub(super) fn left(&self) -> usize {
        self.left
    }

    /// Frees the orphans whose last heartbeat has gone. A collection visits every page's
    /// returned list (one uncontended lock a page), so it runs only when an orphan exists and
    /// memory is wanted.
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

    /// Collects orphans and drops the pages that emptied. Page 0 (16 slots) stays, so a set
    /// that empties and fills again does not allocate.
    pub(super) fn shrink(&mut self) {
        self.collect();
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
    }

    /// Every key with its slot, in slot order.
    pub(super) fn keys(&self) -> impl Iterator<Item = (u32, &K)> {
        self.pages.iter().enumerate().flat_map(|(number, page)| {
            page.iter().flat_map(move |page| {
                page.entries
                    .iter()
                    .enumerate()
                    .filter_map(move |(offset, entry)| match entry {
                        Entry::Key { key, .. } => Some((slot_of(number, offset as u32), key)),
                        _ => None,
                    })
            })
        })
    }

    /// How many slots were handed out (keys, orphans and free slots below each page's mark).
    pub(super) fn handed_out(&self) -> usize {
        self.pages
            .iter()
            .flatten()
            .map(|page| page.entries.len())
            .sum()
    }

    /// How many slots the segments hold.
    pub(super) fn capacity(&self) -> usize {
        self.pages
            .iter()
            .flatten()
            .map(|page| page.shared.len())
            .sum()
    }

    pub(super) fn orphans(&self) -> usize {
        self.orphans
    }

    /// Makes every key's word terminal, so heartbeats of a dropped set return `false`.
    pub(super) fn close_all(&self) {
        for (slot, _) in self.keys() {
            if let Some((segment, offset)) = self.segment(slot) {
                segment.word(offset).close();
            }
        }
    }
}

impl<K> Links for Slots<K> {
    fn bucket(&self, slot: u32) -> Option<u16> {
        match self.entry(slot)? {
            Entry::Key { bucket, .. } => Some(*bucket),
            _ => None,
        }
    }

    fn next(&self, slot: u32) -> u32 {
        match self.entry(slot) {
            Some(Entry::Key { next, .. } | Entry::Left { next }) => *next,
            _ => NIL,
        }
    }

    fn link(&mut self, slot: u32, to: u16, before: u32) {
        if let Some(Entry::Key { bucket, next, .. }) = self.entry_mut(slot) {
            (*bucket, *next) = (to, before);
        }
    }

    fn set_next(&mut self, slot: u32, before: u32) {
        if let Some(Entry::Key { next, .. } | Entry::Left { next }) = self.entry_mut(slot) {
            *next = before;
        }
    }

    fn unlist(&mut self, slot: u32) -> bool {
        match self.entry_mut(slot) {
            Some(Entry::Key { bucket, next, .. }) => {
                (*bucket, *next) = (UNLISTED, NIL);
                true
            }
            Some(entry @ Entry::Left { .. }) => {
                *entry = Entry::Vacant;
                self.left -= 1;
                self.let_go(slot);
                false
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_of_a_u64_key_is_as_small_as_an_option_of_it() {
        assert_eq!(size_of::<Entry<u64>>(), 16);
        assert_eq!(size_of::<Entry<u32>>(), 12);
    }
}
