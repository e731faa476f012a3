//! (o) The one `Release`/`Acquire` pair of the watchdog's word that carries data across
//! threads: `stop` releases, the decision acquires, so what the stopper wrote before stopping
//! is visible to the task that sees `Stopped` (a reason, a last status: "stop after writing
//! why"). The stopper writes a value with a `Relaxed` store, then stops; the watchdog task, if
//! it decides `Stopped`, reads the value with a `Relaxed` load. Loom lets a `Relaxed` load
//! return an older value whenever no happens-before edge forbids it, so each twin, with one
//! side weakened to `Relaxed`, reads the old value in some execution and fails.
//!
//! The slot-reuse orderings of model (h) have no twin here: loom cannot see them, see
//! `docs/guarantees.md`.

use std::task::Waker;

use loom::sync::Arc;
use loom::sync::atomic::AtomicUsize;
use loom::thread;

use crate::state::{Decision, State};
use crate::support::*;
use crate::sync::Ordering::Relaxed;

const TIMEOUT: u64 = 10;

fn stop_then_read_why(stop: Stop, decide: Decide) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let why = Arc::new(AtomicUsize::new(0));
        let stopper = {
            let (state, why) = (state.clone(), why.clone());
            thread::spawn(move || {
                why.store(1, Relaxed);
                stop(&state)
            })
        };
        let (waker, _): (Waker, _) = flag_waker();
        if decide(&state, 5, &waker) == Decision::Stopped {
            assert_eq!(
                why.load(Relaxed),
                1,
                "the task saw the stop but not what the stopper wrote before it"
            );
        }
        assert!(stopper.join().unwrap());
    });
}

#[test]
fn o_what_the_stopper_wrote_is_visible_to_the_task_that_sees_stopped() {
    stop_then_read_why(
        |state| state.stop(),
        |state, now, waker| state.decide(now, waker),
    );
}

#[test]
#[should_panic(expected = "the task saw the stop but not what the stopper wrote before it")]
fn o_broken_relaxed_stop() {
    stop_then_read_why(stop_relaxed, |state, now, waker| state.decide(now, waker));
}

#[test]
#[should_panic(expected = "the task saw the stop but not what the stopper wrote before it")]
fn o_broken_relaxed_decision() {
    stop_then_read_why(|state| state.stop(), decide_relaxed);
}
