//! The set's checks and its one timer: when each key must be looked at next.
//!
//! A beat moves no check: when a key's check comes, the owner judges its true deadline from
//! its word and, if it was beaten since, checks it again then (a lazy re-arm, as Netty's idle
//! handler does). So a key beaten often costs a few list operations per timeout window, not
//! one per beat.
//!
//! # The wheel
//!
//! Checks wait in a hierarchical timing wheel of whole milliseconds, as in tokio's
//! `runtime::time::wheel` and the Linux kernel's timers: 7 levels of 64 buckets, level `l`'s
//! buckets `64^l` ms wide, so the wheel spans 2^42 ms (139 years), past the last tick the
//! clock reaches. A key waits in one bucket, whose list runs through the slot entries (a
//! 4-byte `next` and a 2-byte bucket number, in the padding beside the key): the wheel costs
//! no memory per key of its own.
//!
//! When the clock reaches a bucket's first millisecond, the wheel takes its whole list and the
//! owner judges each key in it: expired keys are yielded, the others listed again by their
//! current deadline, in a finer bucket. So the cascade of a hierarchical wheel and the lazy
//! re-arm are one step, and no deadline is stored: the word tells it.
//!
//! Two kinds of check need an exact tick instead, and wait in a small heap: a deadline inside
//! the millisecond the clock is in (so that a poll in the middle of a millisecond yields
//! exactly the keys whose deadline has passed), and a deadline made earlier than the bucket
//! its key waits in (a shorter timeout on re-insert: a singly linked list cannot unlink it).
//! A heap check may outlive what it was for: the judge reads the key's true deadline, so an
//! early look costs a look and changes nothing.
//!
//! Nothing here depends on the key type: the slots are reached through [`Links`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::time::Instant;

use crate::clock::instant_at;
use crate::segment::Segment;
use crate::state::{Decision, NEVER, deadline_of};
use crate::timer::Timer;

/// The end of a list: no slot.
pub(super) const NIL: u32 = u32::MAX;

/// The bucket number of a key that waits in no bucket.
pub(super) const UNLISTED: u16 = u16::MAX;

const LEVELS: usize = 7;
const LEVEL_BITS: u32 = 6;
/// Buckets a level.
const WIDTH: usize = 1 << LEVEL_BITS;
const NANOS_PER_MS: u64 = 1_000_000;

/// The slots as the wheel sees them: each holds a key (listed in a bucket or not), a left
/// entry (its key gone while it was listed; it stays in its list until the list is walked), or
/// nothing.
pub(super) trait Links {
    /// The bucket `slot`'s key waits in ([`UNLISTED`] if none); `None` if `slot` holds no key.
    fn bucket(&self, slot: u32) -> Option<u16>;
    /// The slot after `slot` in its list.
    fn next(&self, slot: u32) -> u32;
    /// Lists `slot`'s key in `bucket`, before `next`.
    fn link(&mut self, slot: u32, bucket: u16, next: u32);
    /// Points listed `slot` at `next`.
    fn set_next(&mut self, slot: u32, next: u32);
    /// Takes `slot` off its list: a key becomes unlisted (`true`), a left entry is let go.
    fn unlist(&mut self, slot: u32) -> bool;
}

pub(super) struct Checks {
    /// Each bucket's first slot, level by level; empty until a key is first listed.
    heads: Vec<u32>,
    /// Each bucket's earliest deadline a key was listed at: no key in it is due before (a beat
    /// only moves a deadline later). The timer is set to it, not to the bucket's start, so
    /// that the owner is not woken where no key can be due, and wakes at the deadline itself
    /// (Tokio's timer rounds it up to its own milliseconds, as for a `Sleep`).
    earliest: Vec<u64>,
    /// Per level, a bit per bucket whose list is not empty.
    occupied: [u64; LEVELS],
    /// The wheel's time, in ms: every bucket that starts before it has been taken. Never past
    /// the clock's millisecond, rounded up.
    elapsed: u64,
    /// The rest of the bucket being judged.
    due: u32,
    /// Entries in a bucket's list or in `due`, left ones among them.
    listed: usize,
    /// Exact checks: a tick and a slot.
    exact: BinaryHeap<Reverse<(u64, u32)>>,
    /// Made at the first poll that waits for a check, so `Keepalives::new` needs no runtime
    /// and an idle set allocates nothing. Boxed, as `DelayQueue` boxes its `Sleep`, to keep
    /// the set `Unpin`: `poll_expired` takes `&mut self`, and `StreamExt::next` works on it
    /// unpinned.
    timer: Option<Pin<Box<Timer>>>,
    /// The owner's waker from its last pending poll, for an insert to wake.
    waker: Option<Waker>,
}

/// What a due check found.
pub(super) enum Verdict {
    /// The key expired at this deadline: yield it.
    Expired(u64),
    /// The key is live (beaten since), or stopped but not yet at its deadline: check it again
    /// then.
    Again(u64),
    /// The key is done with: stopped and past its deadline, or no longer armed.
    Drop,
}

/// Judges the key in `segment`'s slot `offset` at tick `now`.
pub(super) fn judge(segment: &Segment<Instant>, offset: u32, now: u64) -> Verdict {
    let timeout = segment.timeout(offset);
    let word = segment.word(offset);
    match word.judge(timeout, now) {
        Decision::Expired(deadline) => Verdict::Expired(deadline),
        Decision::Pending(deadline) => Verdict::Again(deadline),
        // Stopped through a heartbeat: kept, never yielded, until its deadline, so that the
        // set's length counts it as documented.
        Decision::Stopped => match deadline_of(word.snapshot().0, timeout) {
            deadline if deadline > now => Verdict::Again(deadline),
            _ => Verdict::Drop,
        },
        // Cannot be in the set: the set unindexes what it closes or expires.
        Decision::Idle => Verdict::Drop,
    }
}

/// The millisecond a tick lies in, rounded up: a check in that millisecond's bucket comes no
/// earlier than the tick. At `now`, every bucket up to it is due.
fn ms_up(tick: u64) -> u64 {
    tick.div_ceil(NANOS_PER_MS)
}

/// The level of the bucket for millisecond `when` at wheel time `elapsed` (`when >
/// elapsed`): that of the highest bit in which they differ, as in tokio's wheel. Every
/// millisecond is below 2^42, so the level is below 7.
fn level_of(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | (WIDTH as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    ((significant / LEVEL_BITS) as usize).min(LEVELS - 1)
}

impl Checks {
    pub(super) const fn new() -> Self {
        Self {
            heads: Vec::new(),
            earliest: Vec::new(),
            occupied: [0; LEVELS],
            elapsed: 0,
            due: NIL,
            listed: 0,
            exact: BinaryHeap::new(),
            timer: None,
            waker: None,
        }
    }

    /// Checks waiting: list entries (left ones among them) and exact checks.
    pub(super) fn len(&self) -> usize {
        self.listed + self.exact.len()
    }

    /// Makes sure `slot`'s key is looked at no later than `deadline`, the clock at `now`. A
    /// deadline the clock cannot reach ([`NEVER`]) needs no check: such a key is looked at
    /// again only when the owner re-inserts it.
    pub(super) fn schedule(&mut self, links: &mut impl Links, slot: u32, deadline: u64, now: u64) {
        let Some(bucket) = links.bucket(slot) else {
            return;
        };
        if deadline == NEVER {
            return;
        }
        let when = ms_up(deadline);
        if when <= ms_up(now) {
            // In the clock's millisecond: only an exact check is on time.
            self.exact.push(Reverse((deadline, slot)));
        } else if bucket == UNLISTED {
            self.list(links, slot, when, deadline);
        } else if self.start(bucket) > when {
            // Its bucket comes too late, and a list cannot give it up.
            self.exact.push(Reverse((deadline, slot)));
        }
    }

    /// Lists `slot`'s key, due at `deadline`, in the bucket of millisecond `when` (the
    /// deadline's, rounded up), after the wheel's time.
    fn list(&mut self, links: &mut impl Links, slot: u32, when: u64, deadline: u64) {
        if self.heads.is_empty() {
            self.heads = vec![NIL; LEVELS * WIDTH];
            self.earliest = vec![u64::MAX; LEVELS * WIDTH];
        }
        let level = level_of(self.elapsed, when);
        let offset = (when >> (LEVEL_BITS * level as u32)) as usize % WIDTH;
        let bucket = level * WIDTH + offset;
        links.link(slot, bucket as u16, self.heads[bucket]);
        self.heads[bucket] = slot;
        self.earliest[bucket] = self.earliest[bucket].min(deadline);
        self.occupied[level] |= 1 << offset;
        self.listed += 1;
    }

    /// The first millisecond of `bucket`, at the wheel's time.
    fn start(&self, bucket: u16) -> u64 {
        let level = u32::from(bucket) / WIDTH as u32;
        let offset = u64::from(bucket) % WIDTH as u64;
        let width = 1u64 << (LEVEL_BITS * level);
        let level_start = self.elapsed & !((width << LEVEL_BITS) - 1);
        level_start + offset * width
    }

    /// The next bucket with keys, and its first millisecond. Every listed bucket starts after
    /// the wheel's time, and a level's buckets all come before the next level's (they lie in
    /// the one bucket of the next level that holds the wheel's time).
    fn next_bucket(&self) -> Option<(usize, u64)> {
        let (level, &occupied) = self
            .occupied
            .iter()
            .enumerate()
            .find(|(_, occupied)| **occupied != 0)?;
        let bucket = level * WIDTH + occupied.trailing_zeros() as usize;
        Some((bucket, self.start(bucket as u16)))
    }

    /// The next key to judge at `now`: the rest of the bucket being judged, a key whose exact
    /// check is due, or the keys of the next bucket the clock has reached. `None` when no check
    /// is due; the wheel's time then moves up to the clock.
    pub(super) fn next_due(&mut self, links: &mut impl Links, now: u64) -> Option<u32> {
        loop {
            if self.due != NIL {
                let slot = self.due;
                self.due = links.next(slot);
                self.listed -= 1;
                if links.unlist(slot) {
                    return Some(slot);
                }
                continue;
            }
            if let Some(&Reverse((tick, slot))) = self.exact.peek()
                && tick <= now
            {
                self.exact.pop();
                if links.bucket(slot).is_some() {
                    return Some(slot);
                }
                continue;
            }
            let horizon = ms_up(now);
            match self.next_bucket() {
                Some((bucket, start)) if start <= horizon => {
                    self.elapsed = start;
                    self.due = mem::replace(&mut self.heads[bucket], NIL);
                    self.earliest[bucket] = u64::MAX;
                    self.occupied[bucket / WIDTH] &= !(1 << (bucket % WIDTH));
                }
                // The next bucket starts after `horizon`: the wheel's time may move up to it.
                _ => {
                    self.elapsed = self.elapsed.max(horizon);
                    return None;
                }
            }
        }
    }

    /// Lets go of every left entry, walking every list. O(entries listed).
    pub(super) fn purge(&mut self, links: &mut impl Links) {
        for bucket in 0..self.heads.len() {
            if self.heads[bucket] == NIL {
                continue;
            }
            self.heads[bucket] = self.sweep(links, self.heads[bucket]);
            if self.heads[bucket] == NIL {
                self.occupied[bucket / WIDTH] &= !(1 << (bucket % WIDTH));
            }
        }
        self.due = self.sweep(links, self.due);
    }

    /// The list from `head` without its left entries; returns its new head.
    fn sweep(&mut self, links: &mut impl Links, mut head: u32) -> u32 {
        let (mut kept, mut slot) = (NIL, head);
        while slot != NIL {
            let next = links.next(slot);
            if links.bucket(slot).is_some() {
                kept = slot;
            } else {
                links.unlist(slot);
                self.listed -= 1;
                if kept == NIL {
                    head = next;
                } else {
                    links.set_next(kept, next);
                }
            }
            slot = next;
        }
        head
    }

    /// Drops exact checks of slots without a key once they outnumber the keys (`len`) by
    /// far. Amortized O(1) a removal.
    pub(super) fn compact(&mut self, len: usize, links: &impl Links) {
        if self.exact.len() > 2 * len + 64 {
            self.exact
                .retain(|Reverse((_, slot))| links.bucket(*slot).is_some());
            self.exact.shrink_to_fit();
        }
    }

    /// The tick of the earliest check, if one waits: the next bucket's earliest deadline
    /// (which comes before any later bucket's start), or an exact check.
    fn next_tick(&self) -> Option<u64> {
        let bucket = self.next_bucket().map(|(bucket, _)| self.earliest[bucket]);
        let exact = self.exact.peek().map(|Reverse((tick, _))| *tick);
        match (bucket, exact) {
            (Some(bucket), Some(exact)) => Some(bucket.min(exact)),
            (bucket, exact) => bucket.or(exact),
        }
    }

    /// `Ready` once the timer has reached the earliest check; `Pending` with the owner's waker
    /// kept (for an insert) and, if a check waits, registered with the timer.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>, origin: Instant) -> Poll<()> {
        if let Some(tick) = self.next_tick() {
            let at = instant_at(origin, tick);
            let timer = self.timer.get_or_insert_with(|| Box::pin(Timer::new()));
            if timer.as_mut().poll_until(cx, at).is_ready() {
                return Poll::Ready(());
            }
        }
        match &mut self.waker {
            Some(registered) if registered.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Wakes the owner, if it waits: an insert may have queued an earlier check, or filled
    /// an empty set.
    pub(super) fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// The instant the timer is set to, if it was made.
    pub(super) fn timer_deadline(&self) -> Option<Instant> {
        self.timer.as_ref().and_then(|timer| timer.deadline())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MAX_TICK;

    #[test]
    fn a_bucket_starts_where_its_millisecond_rounds_down_at_its_level() {
        // Level 0 is 1 ms wide, level 1 64 ms, level 2 4096 ms.
        assert_eq!(level_of(0, 1), 0);
        assert_eq!(level_of(0, 63), 0);
        assert_eq!(level_of(0, 64), 1);
        assert_eq!(level_of(0, 4095), 1);
        assert_eq!(level_of(0, 4096), 2);
        assert_eq!(level_of(100, 127), 0, "the same 64 ms block");
        assert_eq!(level_of(127, 128), 1, "the next block");
        assert_eq!(level_of(0, ms_up(MAX_TICK)), LEVELS - 1);
        assert!(ms_up(MAX_TICK) < 1 << (LEVEL_BITS * LEVELS as u32));
        let checks = Checks {
            elapsed: 4100,
            ..Checks::new()
        };
        assert_eq!(checks.start(WIDTH as u16 + 2), 4096 + 2 * 64);
        assert_eq!(checks.start(2 * WIDTH as u16 + 3), 3 * 4096);
        assert_eq!(checks.start(5), 4096 + 5);
    }
}
