//! Two-thread models, explored exhaustively (no preemption bound): each races one operation
//! against another on the shared state and asserts a guarantee of `docs/guarantees.md`. Each
//! has a `#[should_panic]` twin that runs the same model with one operation replaced by a
//! deliberately broken version (see `support.rs`), proving the model can fail.
//!
//! Time is an explicit tick. The watchdog's timeout is 10 ticks and its last beat tick 0
//! unless a model says otherwise.

use loom::sync::Arc;
use loom::thread;

use crate::state::{Decision, State};
use crate::support::*;

const TIMEOUT: u64 = 10;

pub(crate) fn shipped_beat(state: &State, now: u64) -> bool {
    state.pulse().beat(now)
}
fn shipped_stop(state: &State) -> bool {
    state.stop()
}
fn shipped_set_timeout(state: &State, timeout: u64) -> bool {
    state.set_timeout(timeout)
}
/// `Watchdog::rearm`: a restart in the life, or the next life's state.
pub(crate) fn shipped_rearm(state: &Arc<State>, now: u64) -> Arc<State> {
    if state.restart(now) {
        state.clone()
    } else {
        Arc::new(state.next_life())
    }
}
fn shipped_close(state: &State) {
    state.close()
}
fn shipped_decide(state: &State, now: u64, waker: &std::task::Waker) -> Decision {
    state.decide(now, waker)
}

/// (a) A beat at tick 5 against the expiry decision at tick 10 (the deadline). Either the
/// beat counted and the decision saw it (pending until 15), or the decision came first and
/// the beat returned `false`. Never both, never neither. The beat wakes nobody (rule 4): the
/// waker the decision may have registered stays unwoken.
fn beat_vs_expiry(beat: Beat) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let beater = {
            let state = state.clone();
            thread::spawn(move || beat(&state, 5))
        };
        let (waker, woken) = flag_waker();
        let decision = state.decide(10, &waker);
        let counted = beater.join().unwrap();
        assert!(!woken.woken(), "a beat woke the watchdog task");
        match decision {
            Decision::Expired(10) => assert!(!counted, "a beat after the decision counted"),
            Decision::Pending(15) => {
                assert!(counted, "the decision saw a beat that did not count");
                assert_eq!(state.decide(15, &waker), Decision::Expired(15));
            }
            other => panic!("unexpected decision {other:?}"),
        }
    });
}

#[test]
fn a_beat_vs_expiry() {
    beat_vs_expiry(shipped_beat);
}

#[test]
#[should_panic(expected = "a beat after the decision counted")]
fn a_beat_vs_expiry_broken_load_then_store() {
    beat_vs_expiry(beat_load_then_store);
}

/// (b) `stop` against the expiry decision at the deadline: exactly one outcome. The stop
/// returns `true` exactly when the decision reports `Stopped`.
fn stop_vs_expiry(stop: Stop) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let stopper = {
            let state = state.clone();
            thread::spawn(move || stop(&state))
        };
        let (waker, _) = flag_waker();
        let decision = state.decide(10, &waker);
        let prevented = stopper.join().unwrap();
        let phase = match decision {
            Decision::Expired(10) => {
                assert!(!prevented, "both an expiry and a stop");
                "expired"
            }
            Decision::Stopped => {
                assert!(prevented, "stopped, but no stop returned true");
                "stopped"
            }
            other => panic!("unexpected decision {other:?}"),
        };
        assert_eq!(state.pulse().snapshot(), (0, phase));
        // The outcome holds: a second stop never succeeds, a beat never counts.
        assert!(!state.stop());
        assert!(!state.pulse().beat(11));
    });
}

#[test]
fn b_stop_vs_expiry() {
    stop_vs_expiry(shipped_stop);
}

#[test]
#[should_panic(expected = "both an expiry and a stop")]
fn b_stop_vs_expiry_broken_load_then_store() {
    stop_vs_expiry(stop_load_then_store);
}

/// (c) A timeout shortened from 100 to 10 ticks against a decision at tick 50. Either the
/// decision sees the new timeout and expires, or it sees the old one, registers its waker,
/// and `set_timeout` wakes it; the decision it then makes expires.
fn shortened_timeout_vs_expiry(set_timeout: SetTimeout) {
    loom::model(move || {
        let state = Arc::new(State::new(100));
        let shortener = {
            let state = state.clone();
            thread::spawn(move || set_timeout(&state, 10))
        };
        let (waker, woken) = flag_waker();
        let decision = state.decide(50, &waker);
        assert!(
            shortener.join().unwrap(),
            "set_timeout on a live watchdog applies"
        );
        match decision {
            Decision::Expired(10) => {}
            Decision::Pending(100) => {
                assert!(
                    woken.woken(),
                    "the shortened timeout did not wake the watchdog"
                );
                assert_eq!(state.decide(50, &waker), Decision::Expired(10));
            }
            other => panic!("unexpected decision {other:?}"),
        }
    });
}

#[test]
fn c_shortened_timeout_vs_expiry() {
    shortened_timeout_vs_expiry(shipped_set_timeout);
}

#[test]
#[should_panic(expected = "the shortened timeout did not wake the watchdog")]
fn c_shortened_timeout_vs_expiry_broken_wake_then_store() {
    shortened_timeout_vs_expiry(set_timeout_wake_then_store);
}

/// (d) After an expiry, the owner's `rearm` at tick 15 against a late beat at tick 20 from a
/// heartbeat of the ended life. The rearm starts a new life (a fresh state, its ticks from 0),
/// so the late beat returns `false` whichever runs first (rule 8), and the new life's window
/// is its own: deadline 10 of its own ticks. The old life stays expired.
fn rearm_vs_late_beat(rearm: Rearm) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let (waker, woken) = flag_waker();
        assert_eq!(state.decide(10, &waker), Decision::Expired(10));

        let beater = {
            let state = state.clone();
            thread::spawn(move || state.pulse().beat(20))
        };
        let next = rearm(&state, 15);
        let counted = beater.join().unwrap();
        assert!(!counted, "a heartbeat of the ended life counted");
        if !Arc::ptr_eq(&next, &state) {
            assert_eq!(
                next.deadline(),
                Some(TIMEOUT),
                "the new life starts at its tick 0"
            );
        }
        assert_eq!(
            state.pulse().snapshot().1,
            "expired",
            "the old life's outcome holds"
        );
        assert!(!woken.woken(), "a rearm woke the watchdog task");
    });
}

#[test]
fn d_rearm_vs_late_beat() {
    rearm_vs_late_beat(shipped_rearm);
}

#[test]
#[should_panic(expected = "a heartbeat of the ended life counted")]
fn d_rearm_vs_late_beat_broken_in_place() {
    rearm_vs_late_beat(rearm_in_place);
}

/// (e) The watchdog dropped while a heartbeat beats. Once the drop is done, every heartbeat
/// operation returns `false` (or `None`), whatever the concurrent beat did.
fn drop_vs_beat(close: Close) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let heartbeat = state.clone();
        let beater = thread::spawn(move || {
            heartbeat.pulse().beat(5);
            heartbeat
        });
        close(&state);
        drop(state);
        let heartbeat = beater.join().unwrap();
        assert!(
            !heartbeat.pulse().beat(6),
            "a beat counted after the watchdog was dropped"
        );
        assert!(!heartbeat.stop());
        assert!(!heartbeat.set_timeout(1));
        assert_eq!(heartbeat.deadline(), None);
    });
}

#[test]
fn e_drop_vs_beat() {
    drop_vs_beat(shipped_close);
}

#[test]
#[should_panic(expected = "a beat counted after the watchdog was dropped")]
fn e_drop_vs_beat_broken_close_without_retry() {
    drop_vs_beat(close_without_retry);
}

/// (f) The stop/waker handshake. The watchdog decides at tick 5 (not yet due) while another
/// thread stops it: either the decision sees the stop, or its registered waker is woken.
fn stop_wakes_the_watchdog(decide: Decide) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let stopper = {
            let state = state.clone();
            thread::spawn(move || state.stop())
        };
        let (waker, woken) = flag_waker();
        let decision = decide(&state, 5, &waker);
        assert!(stopper.join().unwrap());
        match decision {
            Decision::Stopped => {}
            Decision::Pending(10) => {
                assert!(
                    woken.woken(),
                    "lost wakeup: stopped, but the watchdog sleeps"
                );
                assert_eq!(state.decide(5, &waker), Decision::Stopped);
            }
            other => panic!("unexpected decision {other:?}"),
        }
    });
}

#[test]
fn f_stop_wakes_the_watchdog() {
    stop_wakes_the_watchdog(shipped_decide);
}

#[test]
#[should_panic(expected = "lost wakeup")]
fn f_stop_wakes_the_watchdog_broken_check_then_register() {
    stop_wakes_the_watchdog(decide_check_then_register);
}
