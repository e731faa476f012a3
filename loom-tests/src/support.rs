//! What the models share: a waker that records being woken, and the broken twins of the
//! protocol's operations, each with the one mistake its model must catch.

use std::sync::Arc;
use std::task::{Wake, Waker};

use loom::sync::atomic::AtomicBool;

use crate::segment::Segment;
use crate::state::{CLOSED, Decision, EXPIRED, MAX_TICK, STOPPED, State, TERMINAL, Word};
use crate::sync::AtomicU64;
use crate::sync::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// A waker whose `wake` sets a loom flag, so a model can assert no wakeup was lost.
pub(crate) struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

impl Flag {
    pub(crate) fn woken(&self) -> bool {
        self.0.load(SeqCst)
    }
}

pub(crate) fn flag_waker() -> (Waker, Arc<Flag>) {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    (Waker::from(flag.clone()), flag)
}

/// One way of doing each operation: the shipped one, or a broken twin.
pub(crate) type Beat = fn(&State, u64) -> bool;
pub(crate) type Stop = fn(&State) -> bool;
pub(crate) type SetTimeout = fn(&State, u64) -> bool;
pub(crate) type Rearm = fn(&loom::sync::Arc<State>, u64) -> loom::sync::Arc<State>;
pub(crate) type KeyedRearm = fn(&Segment, u32, u64, Option<u64>) -> bool;
pub(crate) type WordBeat = fn(&Word, u64) -> bool;
pub(crate) type WordStop = fn(&Word) -> bool;
pub(crate) type Judge = fn(&Word, u64, u64) -> Decision;
pub(crate) type Close = fn(&State);
pub(crate) type Decide = fn(&State, u64, &Waker) -> Decision;

/// Broken: a load, then a store. A decision between the two is overwritten, and the beat
/// returns `true` after the expiry was decided.
pub(crate) fn beat_load_then_store(state: &State, now: u64) -> bool {
    raw_beat_load_then_store(state.word(), now)
}

/// The same mistake on a `Keepalives` key's word.
pub(crate) fn word_beat_load_then_store(word: &Word, now: u64) -> bool {
    raw_beat_load_then_store(word.raw(), now)
}

fn raw_beat_load_then_store(word: &AtomicU64, now: u64) -> bool {
    let current = word.load(SeqCst);
    if current & TERMINAL != 0 {
        return false;
    }
    word.store(current.max(now), SeqCst);
    true
}

/// Broken: checks, then sets `STOPPED` with a store. An expiry decided in between is erased,
/// and both the expiry and the stop happen.
pub(crate) fn stop_load_then_store(state: &State) -> bool {
    if !raw_stop_load_then_store(state.word()) {
        return false;
    }
    if let Some(waker) = state.lock().waker.take() {
        waker.wake();
    }
    true
}

/// The same mistake on a `Keepalives` key's word.
pub(crate) fn word_stop_load_then_store(word: &Word) -> bool {
    raw_stop_load_then_store(word.raw())
}

fn raw_stop_load_then_store(word: &AtomicU64) -> bool {
    let current = word.load(SeqCst);
    if current & TERMINAL != 0 {
        return false;
    }
    word.store(current | STOPPED, SeqCst);
    true
}

/// Weakened: the shipped stop with `Relaxed` instead of `Release`. What the stopper wrote
/// before stopping need not be visible to the task that sees `Stopped`.
pub(crate) fn stop_relaxed(state: &State) -> bool {
    if state.word().fetch_or(STOPPED, Relaxed) & TERMINAL != 0 {
        return false;
    }
    if let Some(waker) = state.lock().waker.take() {
        waker.wake();
    }
    true
}

/// Weakened: the shipped decision with `Relaxed` loads instead of `Acquire` (and the same
/// lock and waker registration), for the ordering model of stop and decision.
pub(crate) fn decide_relaxed(state: &State, now: u64, waker: &Waker) -> Decision {
    let mut slot = state.lock();
    let word = state.word();
    let mut current = word.load(Relaxed);
    loop {
        if current & (EXPIRED | CLOSED) != 0 {
            return Decision::Idle;
        }
        if current & STOPPED != 0 {
            return Decision::Stopped;
        }
        let deadline = current + slot.timeout;
        if now < deadline {
            slot.waker = Some(waker.clone());
            return Decision::Pending(deadline);
        }
        match word.compare_exchange(current, current | EXPIRED, Relaxed, Relaxed) {
            Ok(_) => return Decision::Expired(deadline),
            Err(actual) => current = actual,
        }
    }
}

/// Broken: the lock-free judge `Keepalives` uses, with a store instead of its exchange. A beat
/// between its load and its store is overwritten by `EXPIRED`: the beat returned `true`, and
/// the expiry ignored it.
pub(crate) fn judge_load_then_store(word: &Word, timeout: u64, now: u64) -> Decision {
    let current = word.raw().load(SeqCst);
    if current & (EXPIRED | CLOSED) != 0 {
        return Decision::Idle;
    }
    if current & STOPPED != 0 {
        return Decision::Stopped;
    }
    let deadline = current + timeout;
    if now < deadline {
        return Decision::Pending(deadline);
    }
    word.raw().store(current | EXPIRED, SeqCst);
    Decision::Expired(deadline)
}

/// Broken: a lengthened timeout wakes the watchdog task too. Harmless to correctness, but it
/// breaks "nothing else wakes it" (rule 4), a spurious wakeup per `set_timeout`.
pub(crate) fn set_timeout_always_wakes(state: &State, timeout: u64) -> bool {
    let waker = {
        let mut slot = state.lock();
        if state.word().load(Acquire) & TERMINAL != 0 {
            return false;
        }
        slot.timeout = timeout;
        slot.waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
    true
}

/// Broken: stores the timeout, then checks the word. After an outcome it returns `false`, yet
/// has changed the timeout, which the next life inherits.
pub(crate) fn set_timeout_store_then_check(state: &State, timeout: u64) -> bool {
    let mut slot = state.lock();
    slot.timeout = timeout;
    state.word().load(Acquire) & TERMINAL == 0
}

/// Broken: takes the waker before storing the new timeout, outside one critical section. A
/// decision in between judges the old timeout, registers its waker, and is never woken.
pub(crate) fn set_timeout_wake_then_store(state: &State, timeout: u64) -> bool {
    let waker = state.lock().waker.take();
    {
        let mut slot = state.lock();
        if state.word().load(SeqCst) & TERMINAL != 0 {
            return false;
        }
        slot.timeout = timeout;
    }
    if let Some(waker) = waker {
        waker.wake();
    }
    true
}

/// Broken, as `Watchdog::rearm` was before lives: re-arms the same word in place, clearing
/// any outcome with a compare-exchange loop that rebuilds the word from its tick. A stop that
/// returned `true` before it is undone, and the heartbeats of the ended life count again.
pub(crate) fn rearm_in_place(state: &loom::sync::Arc<State>, now: u64) -> loom::sync::Arc<State> {
    raw_rearm_in_place(state.word(), now);
    state.clone()
}

fn raw_rearm_in_place(word: &AtomicU64, now: u64) {
    let mut current = word.load(Relaxed);
    loop {
        let next = (current & MAX_TICK).max(now);
        match word.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

/// Broken, as `Keepalives::insert` was on a live key: checks the key's liveness, then
/// re-arms its word in place. A stop between the two is erased.
pub(crate) fn keyed_rearm_check_then_in_place(
    segment: &Segment,
    offset: u32,
    now: u64,
    timeout: Option<u64>,
) -> bool {
    if segment.deadline(offset).is_none() {
        return false;
    }
    segment.retime(offset, timeout);
    raw_rearm_in_place(segment.word(offset).raw(), now);
    true
}

/// Broken: the close as a swap to `CLOSED`, dropping what the word held. A stop that
/// returned `true` just before leaves no trace. (A swap, not a plain store: loom can order a
/// plain store between the read and the write of a racing read-modify-write, which C11
/// forbids, tokio-rs/loom#254; with a swap every failure the model finds is a real one.)
pub(crate) fn close_by_swap(state: &State) {
    state.word().swap(CLOSED, Release);
}

/// Broken: one compare-exchange with no retry. A beat in between makes it fail, and the
/// watchdog is never marked dropped.
pub(crate) fn close_without_retry(state: &State) {
    let current = state.word().load(SeqCst);
    let _ = state
        .word()
        .compare_exchange(current, current | CLOSED, SeqCst, SeqCst);
}

/// Broken: checks the word before registering the waker, not under the lock. A `stop` in
/// between finds no waker to wake, and the registered one is never woken.
pub(crate) fn decide_check_then_register(state: &State, now: u64, waker: &Waker) -> Decision {
    let current = state.word().load(SeqCst);
    if current & STOPPED != 0 {
        return Decision::Stopped;
    }
    if current & EXPIRED != 0 {
        return Decision::Idle;
    }
    let mut slot = state.lock();
    let deadline = current + slot.timeout;
    if now < deadline {
        slot.waker = Some(waker.clone());
        return Decision::Pending(deadline);
    }
    drop(slot);
    state.decide(now, waker)
}
