//! The state a watchdog shares with its heartbeats: one packed atomic word and a waker slot.
//!
//! This module knows nothing of Tokio, nor of clocks: time comes in as a *tick*, a count of
//! nanoseconds since an origin the caller chose. That keeps it checkable by loom, which compiles
//! this file against its own `sync` module (see `loom-tests/`).
//!
//! # The word
//!
//! ```text
//! bit 63   EXPIRED   the expiry was decided (only `decide` sets it, only when no other bit is set)
//! bit 62   STOPPED   a `stop` came first
//! bit 61   CLOSED    the watchdog was dropped
//! 60..0    the tick of the last beat (creation and an owner's restart count as beats)
//! ```
//!
//! A beat is one `fetch_max` of its tick into the word. Any word with a terminal bit set is
//! larger than every tick, so a beat can never overwrite a terminal state, and its result says
//! whether it counted. The expiry decision is a compare-exchange from the exact word it judged
//! to that word with `EXPIRED` set: a beat that lands in between changes the word, the exchange
//! fails, and the decision is made again with that beat in view. So, per arming, exactly one
//! of "an expiry is decided" and "a `stop` returns `true`" happens, a beat that returned `true`
//! is seen by the decision, and a beat after the decision returns `false`.
//!
//! # Lives
//!
//! A word holds one life: from its arming to its outcome (an expiry decided, a `stop` that
//! returned `true`, or the owner gone). Terminal bits are never cleared. An owner that wants
//! the window again first *restarts* it with a beat of its own: a `true` means the life goes
//! on, with its heartbeats. A `false` means the life is over, and the owner takes a fresh
//! word for the next one (a new [`State`] for a watchdog, a fresh slot for a `Keepalives`
//! key), so that every heartbeat of the old life keeps returning `false`. Because the restart
//! is the same single read-modify-write as a beat, it is ordered against a racing `stop`
//! like any beat is: a stop that returned `true` is never undone.
//!
//! Ticks saturate at [`MAX_TICK`], about 73 years after the origin; a deadline past it is
//! [`NEVER`]: no clock reading reaches it, so no poll waits for it in a loop.
//!
//! # The slot
//!
//! The timeout and the watchdog task's waker live behind a mutex that only the rare operations
//! take: the decision (the watchdog's poll), `stop` (to wake), `set_timeout`, and reads of the
//! deadline. Beats never touch it. The decision reads the timeout and exchanges the word while
//! holding the lock, so `set_timeout` is ordered entirely before or after it.

use std::task::Waker;

use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering, lock};

pub(crate) const EXPIRED: u64 = 1 << 63;
pub(crate) const STOPPED: u64 = 1 << 62;
pub(crate) const CLOSED: u64 = 1 << 61;

/// The largest tick the word holds: about 73 years of nanoseconds. Later ticks saturate.
pub(crate) const MAX_TICK: u64 = CLOSED - 1;

/// Every bit above the tick: `EXPIRED`, `STOPPED` and `CLOSED`.
pub(crate) const TERMINAL: u64 = !MAX_TICK;

/// The deadline tick of a word whose last beat is `last_beat`: `last_beat + timeout`, or
/// [`NEVER`] when that lies past [`MAX_TICK`]. Ticks saturate at `MAX_TICK`, so a clock reading
/// can never reach such a deadline: it is never, and stays never however far the clock runs.
pub(crate) fn deadline_of(last_beat: u64, timeout: u64) -> u64 {
    match last_beat.checked_add(timeout) {
        Some(deadline) if deadline <= MAX_TICK => deadline,
        _ => NEVER,
    }
}

/// A deadline no tick reaches (see [`deadline_of`]).
pub(crate) const NEVER: u64 = u64::MAX;

/// What the watchdog's poll learns from [`State::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The expiry is decided, for this deadline tick. Reported once per arming.
    Expired(u64),
    /// A `stop` came first. Reported on every decision of this life.
    Stopped,
    /// Not yet: the deadline tick as of the last beat ([`NEVER`] if the clock cannot reach it).
    /// The waker is registered, so a `stop` or a shortening `set_timeout` will wake it; the
    /// caller sleeps until the deadline itself (not at all for `NEVER`).
    Pending(u64),
    /// The expiry was already reported, or the watchdog is closed: nothing will happen in
    /// this life, and no waker was registered.
    Idle,
}

/// The packed word of the module docs, and the operations on it. A [`State`] holds one for
/// a watchdog; `Keepalives` holds one per key (in a `segment::Segment`).
#[derive(Debug)]
pub(crate) struct Word(AtomicU64);

impl Word {
    /// Armed, with a last beat at `now`.
    pub(crate) fn new(now: u64) -> Self {
        Self(AtomicU64::new(now.min(MAX_TICK)))
    }

    /// Closed, as a slot no key holds.
    pub(crate) fn closed() -> Self {
        Self(AtomicU64::new(CLOSED))
    }

    /// Armed afresh, with a last beat at `now`, whatever the word held. Only for a word nobody
    /// else can reach: a slot being claimed for a new key.
    pub(crate) fn reset(&self, now: u64) {
        self.0.store(now.min(MAX_TICK), Ordering::Relaxed);
    }

    /// Records a beat at `now`. Returns `false` if an outcome is in or the owner is gone.
    /// Wait-free where the target has an atomic max instruction, a compare-exchange loop
    /// otherwise; it wakes nobody.
    pub(crate) fn beat(&self, now: u64) -> bool {
        // Relaxed: the beat publishes nothing but the tick in this word, and every
        // read-modify-write of one word reads the latest value in its modification order, so
        // the decision's compare-exchange cannot miss a beat ordered before it. Terminal bits
        // make the word larger than any tick, so `fetch_max` leaves them as they are.
        let prev = self.0.fetch_max(now.min(MAX_TICK), Ordering::Relaxed);
        prev & TERMINAL == 0
    }

    /// Sets `STOPPED`. Returns `true` exactly when this prevented the expiry: no expiry was
    /// decided and no other `stop` or close came first. Wakes nobody.
    pub(crate) fn stop(&self) -> bool {
        // Release: what the stopper wrote before stopping happens-before the decision that
        // reads `STOPPED` (Acquire). `EXPIRED` is set only on a word with no terminal bit, so
        // once `STOPPED` is in, no expiry can be decided.
        let prev = self.0.fetch_or(STOPPED, Ordering::Release);
        prev & TERMINAL == 0
    }

    /// Marks the owner gone: later beats and stops return `false`.
    pub(crate) fn close(&self) {
        // Relaxed: nobody waits on this bit; it only makes the handles' results `false`.
        self.0.fetch_or(CLOSED, Ordering::Relaxed);
    }

    /// The expiry decision at tick `now` for `timeout`: expired when `now >= last beat +
    /// timeout` and nothing terminal happened first, decided by one compare-exchange from the
    /// exact word judged. A beat that lands before the exchange is counted and restarts the
    /// window (as in Go 1.23, the expiry is decided when it is observed, not when its instant
    /// passes). Returns `Pending` without registering anything.
    pub(crate) fn judge(&self, timeout: u64, now: u64) -> Decision {
        // Acquire pairs with `stop`'s Release. A stale read is harmless: a stale tick makes the
        // exchange below fail, and callers that must see a `stop` order it by a lock.
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            // Terminal other than by a stop: expired or closed.
            if current & (TERMINAL & !STOPPED) != 0 {
                return Decision::Idle;
            }
            if current & STOPPED != 0 {
                return Decision::Stopped;
            }
            let deadline = deadline_of(current, timeout);
            if now < deadline {
                return Decision::Pending(deadline);
            }
            // Acquire on failure: the word that beat us may be a `stop`'s.
            match self.0.compare_exchange(
                current,
                current | EXPIRED,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Decision::Expired(deadline),
                Err(actual) => current = actual,
            }
        }
    }

    /// The last beat's tick, or `None` once an outcome is in or the owner is gone.
    pub(crate) fn last_beat(&self) -> Option<u64> {
        let current = self.0.load(Ordering::Acquire);
        (current & TERMINAL == 0).then_some(current)
    }

    /// The last beat's tick and which terminal state holds, for `Debug`.
    pub(crate) fn snapshot(&self) -> (u64, &'static str) {
        let current = self.0.load(Ordering::Relaxed);
        // Dropped first: it is final, and a handle may still set `STOPPED` afterwards.
        let phase = if current & CLOSED != 0 {
            "dropped"
        } else if current & EXPIRED != 0 {
            "expired"
        } else if current & STOPPED != 0 {
            "stopped"
        } else {
            "armed"
        };
        (current & MAX_TICK, phase)
    }
}

/// The shared state of one watchdog and its heartbeats.
#[derive(Debug)]
pub(crate) struct State {
    word: Word,
    slot: Mutex<Slot>,
}

#[derive(Debug)]
pub(crate) struct Slot {
    /// In ticks. Written only under the lock, so the decision sees one value throughout.
    pub(crate) timeout: u64,
    pub(crate) waker: Option<Waker>,
}

impl State {
    /// Armed, with a last beat at tick 0 (creation counts as a beat).
    pub(crate) fn new(timeout: u64) -> Self {
        Self {
            word: Word::new(0),
            slot: Mutex::new(Slot {
                timeout,
                waker: None,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Slot> {
        // Nothing panics while holding the lock but a waker's `clone`; the slot stays valid.
        lock(&self.slot)
    }

    /// The packed word, which heartbeats beat.
    pub(crate) fn pulse(&self) -> &Word {
        &self.word
    }

    /// Stops the watchdog. Returns `true` exactly when this call prevented the expiry: no
    /// expiry was decided and no other `stop` or drop came first. Wakes the watchdog task.
    pub(crate) fn stop(&self) -> bool {
        if !self.word.stop() {
            return false;
        }
        self.wake();
        true
    }

    /// Sets the timeout, measured from the last beat. Returns `false`, changing nothing, if
    /// the watchdog has already expired, been stopped or been dropped. A shorter timeout wakes
    /// the watchdog task so it can judge the earlier deadline; a longer one does not (the
    /// task's timer fires at the old deadline, and the decision then sleeps again).
    pub(crate) fn set_timeout(&self, timeout: u64) -> bool {
        let waker = {
            let mut slot = self.lock();
            // Under the lock, as the decision is: if it came first, its `EXPIRED` is visible.
            if self.word.last_beat().is_none() {
                return false;
            }
            let shorter = timeout < slot.timeout;
            slot.timeout = timeout;
            if shorter { slot.waker.take() } else { None }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Restarts the window from `now` if this life has had no outcome, like a beat, and
    /// returns `true`. Returns `false`, changing nothing, once an expiry was decided, a `stop`
    /// returned `true` or the watchdog was dropped: the life is over, and the owner starts a
    /// new one with [`next_life`](Self::next_life). A life's outcome is never undone: the word
    /// is never cleared, so every heartbeat of the life keeps returning `false`.
    pub(crate) fn restart(&self, now: u64) -> bool {
        self.word.beat(now)
    }

    /// The state of a new life: armed at tick 0 of a new origin, with this life's timeout,
    /// shared with no heartbeat yet. For the owner, after [`restart`](Self::restart) returned
    /// `false`.
    pub(crate) fn next_life(&self) -> State {
        // Under the lock, as `set_timeout` is: one that returned `true` before this life
        // ended (it checks the word under the lock) has stored its timeout by now, and one
        // that runs later sees the outcome and returns `false`.
        State::new(self.lock().timeout)
    }

    /// Marks the watchdog dropped: later beats, stops and `set_timeout` calls return `false`.
    pub(crate) fn close(&self) {
        self.word.close();
    }

    /// The expiry decision, at tick `now`, by the watchdog's poll; see [`Word::judge`].
    ///
    /// Holds the lock throughout, so `set_timeout` is ordered before or after it. On
    /// `Pending`, `waker` is registered before the lock is released, so a `stop` either is
    /// seen here (its bit was set before it took the lock to wake) or finds the waker.
    pub(crate) fn decide(&self, now: u64, waker: &Waker) -> Decision {
        let mut slot = self.lock();
        let decision = self.word.judge(slot.timeout, now);
        if let Decision::Pending(_) = decision {
            match &mut slot.waker {
                Some(registered) if registered.will_wake(waker) => {}
                other => *other = Some(waker.clone()),
            }
        }
        decision
    }

    /// The deadline tick (last beat + timeout), or `None` once an outcome is in or the
    /// watchdog is dropped.
    pub(crate) fn deadline(&self) -> Option<u64> {
        let slot = self.lock();
        Some(deadline_of(self.word.last_beat()?, slot.timeout))
    }

    fn wake(&self) {
        let waker = self.lock().waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

#[cfg(test)]
#[allow(dead_code)] // used by loom-tests, which compiles this file; not by this crate's tests
impl State {
    /// The raw word, for the loom models' deliberately broken twins of these operations.
    pub(crate) fn word(&self) -> &AtomicU64 {
        &self.word.0
    }
}

#[cfg(test)]
#[allow(dead_code)] // used by loom-tests, as above
impl Word {
    /// The raw word, for the loom models' broken twins of the keyed operations.
    pub(crate) fn raw(&self) -> &AtomicU64 {
        &self.0
    }
}
