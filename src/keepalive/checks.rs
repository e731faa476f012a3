//! The set's check queue and its one timer: when each key must be looked at next.
//!
//! Nothing here depends on the key type, so it is compiled once, whatever `K` a program uses
//! (as tokio's `timeout.rs` keeps `poll_delay` apart from the generic future).
//!
//! A check is a slot and a tick. A beat moves no check: when a check comes, the owner judges
//! the key's true deadline from its word and queues a new check if it was beaten since (a
//! lazy re-arm, as Netty's idle handler does). So a key beaten often costs one heap operation
//! per timeout window, not one per beat.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::time::Instant;

use crate::clock::instant_at;
use crate::segment::Segment;
use crate::state::{Decision, NEVER, deadline_of};
use crate::timer::Timer;

pub(super) struct Checks {
    queue: BinaryHeap<Reverse<Queued>>,
    /// Made at the first poll that waits for a check, so `Keepalives::new` needs no runtime
    /// and an idle set allocates nothing. Boxed, as `DelayQueue` boxes its `Sleep`, to keep
    /// the set `Unpin`: `poll_expired` takes `&mut self`, and `StreamExt::next` works on it
    /// unpinned.
    timer: Option<Pin<Box<Timer>>>,
    /// The owner's waker from its last pending poll, for an insert to wake.
    waker: Option<Waker>,
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

impl Checks {
    pub(super) const fn new() -> Self {
        Self {
            queue: BinaryHeap::new(),
            timer: None,
            waker: None,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Queues a check of `slot` at `tick` with its new `generation`. A tick the clock cannot
    /// reach ([`NEVER`]) queues nothing: such a key is checked again only when the owner
    /// re-inserts it.
    pub(super) fn push(&mut self, tick: u64, slot: u32, generation: u32) {
        if tick != NEVER {
            self.queue.push(Reverse(Queued {
                tick,
                slot,
                generation,
            }));
        }
    }

    /// The earliest check due at or before `now`, as its slot and generation.
    pub(super) fn pop_due(&mut self, now: u64) -> Option<(u32, u32)> {
        let Reverse(next) = self.queue.peek()?;
        if next.tick > now {
            return None;
        }
        let Reverse(Queued {
            slot, generation, ..
        }) = self.queue.pop()?;
        Some((slot, generation))
    }

    /// `Ready` once the timer has reached the earliest check; `Pending` with the owner's waker
    /// kept (for an insert) and, if a check is queued, registered with the timer.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>, origin: Instant) -> Poll<()> {
        if let Some(Reverse(next)) = self.queue.peek() {
            let at = instant_at(origin, next.tick);
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

    /// Drops stale checks once they outnumber the keys (`len`) by far. Amortized O(1) a
    /// removal.
    pub(super) fn compact(&mut self, len: usize, is_current: impl Fn(u32, u32) -> bool) {
        if self.queue.len() > 2 * len + 64 {
            self.queue
                .retain(|Reverse(check)| is_current(check.slot, check.generation));
            self.queue.shrink_to_fit();
        }
    }

    /// The instant the timer is set to, if it was made.
    pub(super) fn timer_deadline(&self) -> Option<Instant> {
        self.timer.as_ref().and_then(|timer| timer.deadline())
    }
}
