//! The set's slots: pages of keys, each beside the [`Segment`] of words it shares with the
//! keys' heartbeats, and the bookkeeping of which slots are free.
//!
//! Slot `s` is offset `s % 4096` of page `s / 4096`. Pages grow 16, 32, ... up to 4096 slots,
//! so a small set stays small; new keys take the lowest page with room, so high pages can
//! empty, and a page that empties is dropped when the set shrinks.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::time::Instant;

use crate::segment::{KeyRef, MAX_SEGMENT, SEGMENT_BITS, Segment};

pub(super) struct Slots<K> {
    pages: Vec<Option<Page<K>>>,
    /// The pages with a free slot.
    open: BTreeSet<u32>,
    /// Slots whose key left while heartbeats of it remained, not yet collected. Counted here
    /// only, for the whole set.
    orphans: usize,
    /// The set's timeout in ticks, handed to each new segment; a key's timeout is its
    /// segment's to tell (`Segment::timeout`).
    timeout: u64,
    /// Tick 0 of every key's word, handed to each new segment.
    origin: Instant,
}

/// The set's side of one segment: the keys, and what is free.
struct Page<K> {
    shared: Arc<Segment<Instant>>,
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

/// The most pages a set has: slot numbers are `u32`.
const MAX_PAGES: usize = 1 << (32 - SEGMENT_BITS);

impl<K> Slots<K> {
    pub(super) fn new(timeout: u64, origin: Instant) -> Self {
        Self {
            pages: Vec::new(),
            open: BTreeSet::new(),
            orphans: 0,
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

    /// The key in `slot`, if the slot holds one.
    pub(super) fn key(&self, slot: u32) -> Option<&K> {
        let (page, offset) = self.page(slot)?;
        page.keys.get(offset as usize)?.as_ref()
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
        let key = page.keys.get(offset as usize)?.as_ref()?;
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

    /// Whether a check of `slot` made at `generation` is its key's current one.
    ///
    /// A check can outlive its page: the page empties, is dropped, and a new page is made at
    /// the same number, with fewer slots handed out so far. So the offset may lie past this
    /// page's slots (not current). If it lies within them, the generation may match by
    /// chance (a new page counts from 0 again); such a check is then a second current one,
    /// and costs only an early look at the key: the judge reads the key's true deadline and
    /// re-queues it, as for a key beaten since its check.
    pub(super) fn is_current(&self, slot: u32, generation: u32) -> bool {
        self.page(slot).is_some_and(|(page, offset)| {
            let offset = offset as usize;
            page.generations.get(offset) == Some(&generation)
                && page.keys.get(offset).is_some_and(Option::is_some)
        })
    }

    /// Starts a new generation of `slot`'s check, making its earlier checks stale.
    pub(super) fn next_generation(&mut self, slot: u32) -> Option<u32> {
        let (page, offset) = split(slot);
        let page = self.pages.get_mut(page)?.as_mut()?;
        let generation = page.generations.get_mut(offset as usize)?;
        *generation = generation.wrapping_add(1);
        Some(*generation)
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
        page.keys[offset as usize] = Some(key);
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
            shared: Arc::new(Segment::with_origin(len, self.timeout, self.origin)),
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

    /// Lets go of `slot`, whose key left the index and whose word is terminal: frees it, or
    /// leaves it to its last heartbeat. Returns the key.
    pub(super) fn release(&mut self, slot: u32) -> Option<K> {
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
                page.keys
                    .iter()
                    .enumerate()
                    .filter_map(move |(offset, key)| {
                        Some((slot_of(number, offset as u32), key.as_ref()?))
                    })
            })
        })
    }

    /// How many slots were handed out (keys, orphans and free slots below each page's mark).
    pub(super) fn handed_out(&self) -> usize {
        self.pages
            .iter()
            .flatten()
            .map(|page| page.keys.len())
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
