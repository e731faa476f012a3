//! The one Tokio timer of a stream adapter: created on first use, re-armed lazily, and used
//! only to wake the task. Whether an instant has come is decided by the adapter with the clock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::clock::timer_instant;

pin_project! {
    /// A wakeup source, never a judge: the adapter compares `Instant::now()` with its own
    /// instant, and asks the timer only to wake the task no later than the millisecond after
    /// it. So a source that uses up Tokio's cooperative budget (and makes the `Sleep` poll
    /// return `Pending`) cannot starve the decision, and the decision is the same whether the
    /// task was woken by the timer or by the source.
    ///
    /// Invariant while a wakeup is wanted: `sleep.deadline() <= timer_instant(target)`. The
    /// target moving later is free (the `Sleep` fires early, and the next call re-sets it once);
    /// moving earlier re-sets it at once.
    pub(crate) struct Timer {
        // `None` until the first wakeup is wanted, so building an adapter needs no runtime and
        // registers no timer entry.
        #[pin]
        sleep: Option<Sleep>,
        // How many times the `Sleep` was set: created or `reset`.
        sets: u64,
    }
}

impl Timer {
    pub(crate) fn new() -> Self {
        Self {
            sleep: None,
            sets: 0,
        }
    }

    /// How many times the Tokio timer was set (created or reset).
    pub(crate) fn sets(&self) -> u64 {
        self.sets
    }

    /// Makes sure the task is woken at `target` (Tokio rounds up to the next millisecond), with
    /// the waker of `cx`. Call it only when `target` is later than the instant the caller just
    /// judged, so that a fired `Sleep` means "early": it is set again, once.
    pub(crate) fn wake_at(self: Pin<&mut Self>, cx: &mut Context<'_>, target: Instant) {
        let mut this = self.project();
        let at = timer_instant(target);
        if this.sleep.is_none() {
            this.sleep.set(Some(sleep_until(at)));
            *this.sets += 1;
        }
        let Some(mut sleep) = this.sleep.as_pin_mut() else {
            return; // unreachable: set just above
        };
        // Defensive: no adapter moves its target earlier than an instant it set the timer to
        // (each new target comes after the previous one has passed), so this is unreachable
        // today, and keeps the invariant if that ever changes.
        if at < sleep.deadline() {
            sleep.as_mut().reset(at);
            *this.sets += 1;
        }
        loop {
            match sleep.as_mut().poll(cx) {
                // Registered; or refused by the coop budget, which then wakes the task itself.
                Poll::Pending => return,
                // Fired before the target (which moved later since): sleep to the target.
                Poll::Ready(()) if sleep.deadline() < at => {
                    sleep.as_mut().reset(at);
                    *this.sets += 1;
                }
                // Fired at or after the target: the clock passed it after the caller read the
                // clock. Poll again, and the caller will see it.
                Poll::Ready(()) => {
                    cx.waker().wake_by_ref();
                    return;
                }
            }
        }
    }
}
