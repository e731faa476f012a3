//! The one Tokio timer of every primitive: created at the first poll, moved only when it must.
//!
//! Each timed type ([`Deadline`](crate::Deadline), [`Watchdog`](crate::Watchdog),
//! [`Keepalives`](crate::Keepalives) and the stream adapters) keeps its own target instant and
//! asks this timer to fire no later than it. Pushing a target later is free: the `Sleep` fires
//! early and is set again once, at the next poll. Pulling it earlier resets the `Sleep` at
//! once. So a heartbeat costs no timer operation, and a timer never fires late.
//!
//! The `Sleep` is made at the first poll, not at construction, so every primitive can be built
//! outside a runtime (in a struct's constructor, before `#[tokio::main]` starts it), as
//! `DelayQueue::new` can.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::clock::timer_instant;

pin_project! {
    /// A lazily made `Sleep`. Invariant while its owner waits for a target:
    /// `sleep.deadline() <= timer_instant(target)`.
    #[derive(Debug)]
    pub(crate) struct Timer {
        // `None` until the first poll: no runtime is needed before, and no timer entry exists.
        #[pin]
        sleep: Option<Sleep>,
        // How many times the `Sleep` was set (created or reset), for the adapters'
        // `timer_resets`.
        sets: u64,
    }
}

impl Timer {
    pub(crate) const fn new() -> Self {
        Self {
            sleep: None,
            sets: 0,
        }
    }

    /// How many times the Tokio timer was set (created or reset).
    pub(crate) fn sets(&self) -> u64 {
        self.sets
    }

    /// The instant the `Sleep` is set to, if it was made.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.sleep.as_ref().map(Sleep::deadline)
    }

    /// Moves the timer to `target` at once if it is set later, so the task waiting on it is
    /// woken in time without polling it first (a `FuturesUnordered` re-polls only what was
    /// woken). A later target needs nothing here: the next poll sets the timer again.
    pub(crate) fn pull_in(self: Pin<&mut Self>, target: Instant) {
        let this = self.project();
        if let Some(sleep) = this.sleep.as_pin_mut()
            && target < sleep.deadline()
        {
            sleep.reset(timer_instant(target));
            *this.sets += 1;
        }
    }

    /// Drops the `Sleep`, deregistering it, for an owner that wants no wakeup at all (a
    /// deadline no clock reading reaches). The next poll makes a new one.
    pub(crate) fn clear(self: Pin<&mut Self>) {
        self.project().sleep.set(None);
    }

    /// `Ready` once Tokio's timer has reached `target` (rounded up to its millisecond), else
    /// `Pending` with `cx`'s waker registered for it. A target `timer_instant` must clamp is
    /// never reached, and no poll loops on it.
    pub(crate) fn poll_until(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        target: Instant,
    ) -> Poll<()> {
        let mut this = self.project();
        let at = timer_instant(target);
        if this.sleep.is_none() {
            this.sleep.set(Some(sleep_until(at)));
            *this.sets += 1;
        }
        let mut sleep = this.sleep.as_pin_mut().expect("the sleep was made above");
        if at < sleep.deadline() {
            sleep.as_mut().reset(at);
            *this.sets += 1;
        }
        loop {
            // Pending: registered, or refused by the coop budget (which wakes the task).
            ready!(sleep.as_mut().poll(cx));
            // A clamped `at` lies 30 years after this poll, past any `Sleep` that has fired.
            if sleep.deadline() >= at {
                return Poll::Ready(());
            }
            // Fired early: the target moved later since the timer was set. One reset, no clock
            // read; Tokio's wheel then says, with its own rounding, whether `at` has come.
            sleep.as_mut().reset(at);
            *this.sets += 1;
        }
    }

    /// Makes sure the task is woken at `target`, for an owner that judges instants with the
    /// clock itself (the stream adapters) and wants only a wakeup: if the timer has already
    /// reached it (the clock passed `target` after the owner read it), the task is woken now.
    pub(crate) fn wake_at(self: Pin<&mut Self>, cx: &mut Context<'_>, target: Instant) {
        if self.poll_until(cx, target).is_ready() {
            cx.waker().wake_by_ref();
        }
    }
}
