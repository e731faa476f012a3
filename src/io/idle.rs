//! `Idle`: the part of an [`IdleIo`](super::IdleIo) that does not depend on its IO: the
//! time-out decision of a pending operation, its timer, and the hold on the shared state.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::handle::{Shared, Side};
use super::{IdleKind, IdleTimedOut};
use crate::clock::{instant_at, timer_instant};
use crate::timer::Timer;

/// The part of an `IdleIo` that does not depend on `T`, so its code is compiled once, as
/// tokio's `timeout.rs` keeps `poll_delay` apart.
pub(super) struct Idle {
    // Wakes pending reads and writes at the earliest time-out. Boxed, so that an `IdleIo` is
    // `Unpin` when its IO is (hyper and `AsyncReadExt` need that), and made at the first
    // operation that waits for a time-out: an `IdleIo` without one never allocates it.
    pub(super) timer: Option<Pin<Box<Timer>>>,
    // What the timer wakes: the shared state, which wakes the read side and the write side.
    // Made once, so a pending operation does not clone an `Arc` to poll the timer.
    timer_waker: Waker,
    // The waker last parked for each side, and the count of takings it was parked after: a
    // side polled again by the same task skips the lock.
    parked: [Option<(Waker, u64)>; 2],
    // The count of takings read before the timer's last poll, if that poll left the `Sleep`
    // waiting in Tokio's wheel: while no taking happened since (the `Sleep` firing, a
    // refusal by the coop budget and a threshold change each wake the shared state, which
    // takes), polling it again would change nothing, and a pending operation skips it.
    timer_quiet: Option<u64>,
    pub(super) shared: Owner,
    // The kinds that fail the IO, as bits `1 << kind`.
    pub(super) time_out_on: u8,
    pub(super) timed_out: Option<IdleTimedOut>,
}

/// The `IdleIo`'s hold on the shared state: dropping it ends the event streams.
pub(super) struct Owner(pub(super) Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Idle {
    pub(super) fn new() -> Self {
        let shared = Shared::new();
        Self {
            timer: None,
            timer_waker: Waker::from(shared.clone()),
            parked: [None, None],
            timer_quiet: None,
            shared: Owner(shared),
            time_out_on: 0,
            timed_out: None,
        }
    }

    /// The error of a time-out already reached, for an operation polled after it.
    pub(super) fn refuse<R>(&self) -> Option<Poll<io::Result<R>>> {
        self.timed_out.map(|idle| Poll::Ready(Err(idle.into())))
    }

    pub(super) fn moved(&self, side: Side) {
        self.shared.0.moved(side);
    }

    /// An operation on `side` went pending: wait for the earliest time-out along with it,
    /// and fail it if that has come.
    pub(super) fn pending<R>(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<io::Result<R>> {
        if self.time_out_on == 0 {
            return Poll::Pending;
        }
        let shared = &self.shared.0;
        // Parked before the thresholds are read: a threshold set or shortened from now on
        // wakes this operation. (Parked after, a change made between the reads and the park
        // found no waker to wake, and the operation waited for the old instant.) The park's
        // lock orders it: a change whose wake came before it is seen by the reads after it.
        // The same task parked since the last taking is still parked, and skips the lock: a
        // taking that this check misses has woken it, so it polls again and parks anew.
        let parked = &mut self.parked[side as usize];
        match parked {
            Some((waker, wakes)) if waker.will_wake(cx.waker()) && shared.parked_since(*wakes) => {}
            _ => *parked = Some((cx.waker().clone(), shared.park_io(side, cx.waker()))),
        }
        let mut earliest: Option<(u64, IdleKind)> = None;
        for kind in IdleKind::ALL {
            if self.time_out_on & 1 << kind as u8 == 0 {
                continue;
            }
            if let Some(threshold) = shared.threshold_ticks(kind) {
                let due = shared.activity(kind).saturating_add(threshold);
                if earliest.is_none_or(|(e, _)| due < e) {
                    earliest = Some((due, kind));
                }
            }
        }
        let Some((due, kind)) = earliest else {
            self.timer = None;
            self.timer_quiet = None;
            return Poll::Pending;
        };
        let at = instant_at(shared.origin, due);
        let timer = self.timer.get_or_insert_with(|| Box::pin(Timer::new()));
        let wakes = shared.io_wakes();
        if self.timer_quiet == Some(wakes)
            && timer.deadline().is_some_and(|set| set <= timer_instant(at))
        {
            // In the wheel with our waker, due no later than `at`, not fired since.
            return Poll::Pending;
        }
        let mut timer_cx = Context::from_waker(&self.timer_waker);
        if timer.as_mut().poll_until(&mut timer_cx, at).is_pending() {
            self.timer_quiet = Some(wakes);
            return Poll::Pending;
        }
        self.timer_quiet = None;
        let idle = IdleTimedOut::new(kind, shared.threshold(kind).unwrap_or_default());
        self.timed_out = Some(idle);
        shared.time_out(idle);
        Poll::Ready(Err(idle.into()))
    }
}

impl Idle {
    pub(super) fn written(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved(Side::Write);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.pending(cx, Side::Write),
            failed => failed,
        }
    }
}
