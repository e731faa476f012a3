//! What the models share: a waker that records being woken, and the broken twins of the
//! protocol's operations, each with the one mistake its model must catch.

use std::sync::Arc;
use std::task::{Wake, Waker};

use loom::sync::atomic::AtomicBool;

use crate::state::{CLOSED, Decision, EXPIRED, STOPPED, State, TERMINAL};
use crate::sync::Ordering::SeqCst;

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
pub(crate) type Rearm = fn(&State, u64);
pub(crate) type Close = fn(&State);
pub(crate) type Decide = fn(&State, u64, &Waker) -> Decision;

/// Broken: a load, then a store. A decision between the two is overwritten, and the beat
/// returns `true` after the expiry was decided.
pub(crate) fn beat_load_then_store(state: &State, now: u64) -> bool {
    let current = state.word().load(SeqCst);
    if current & TERMINAL != 0 {
        return false;
    }
    state.word().store(current.max(now), SeqCst);
    true
}

/// Broken: checks, then sets `STOPPED` with a store. An expiry decided in between is erased,
/// and both the expiry and the stop happen.
pub(crate) fn stop_load_then_store(state: &State) -> bool {
    let current = state.word().load(SeqCst);
    if current & TERMINAL != 0 {
        return false;
    }
    state.word().store(current | STOPPED, SeqCst);
    if let Some(waker) = state.lock().waker.take() {
        waker.wake();
    }
    true
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

/// Broken: clears the outcome, then stores the tick. A beat in between returns `true`, as it
/// should in the new arming, and is then overwritten by an older tick.
pub(crate) fn rearm_clear_then_store(state: &State, now: u64) {
    state.word().fetch_and(!TERMINAL, SeqCst);
    state.word().store(now, SeqCst);
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
