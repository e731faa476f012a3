//! Lives (contract, Watchdog rules 8 and 9): the owner's operations that end or restart a life
//! (`rearm`, a `Keepalives` re-insert, the drop) and the re-timing operations, each raced
//! against a heartbeat's `stop` or read. Two threads each, explored exhaustively; each model
//! has a `#[should_panic]` twin with the one mistake it must catch (see `support.rs`).

use std::sync::Arc as StdArc;

use loom::sync::Arc;
use loom::thread;

use crate::models::shipped_rearm;
use crate::segment::Segment;
use crate::state::{CLOSED, Decision, STOPPED, State};
use crate::support::*;
use crate::sync::Ordering::SeqCst;

const TIMEOUT: u64 = 10;

/// (i) The owner's `rearm` at tick 5 against a heartbeat's `stop`. The stop returns `true`
/// (nothing else ends the life). If the rearm came first it restarted the window, and the stop
/// ends that same life: the watchdog then decides `Stopped`. If the stop came first, the
/// rearm started a new life, live, with a fresh state. Either way the stop is never undone:
/// the stopped life's heartbeat returns `false` from then on.
fn rearm_vs_stop(rearm: Rearm) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let stopper = {
            let state = state.clone();
            thread::spawn(move || state.stop())
        };
        let current = rearm(&state, 5);
        let prevented = stopper.join().unwrap();
        assert!(
            prevented,
            "the life was live: the stop must prevent its expiry"
        );
        assert!(
            !state.pulse().beat(6),
            "a stop that returned true was undone by the rearm"
        );
        let (waker, _) = flag_waker();
        if Arc::ptr_eq(&current, &state) {
            assert_eq!(current.decide(100, &waker), Decision::Stopped);
        } else {
            assert_eq!(current.decide(5, &waker), Decision::Pending(TIMEOUT));
            assert!(current.pulse().beat(6), "the new life is live");
        }
    });
}

#[test]
fn i_rearm_vs_stop() {
    rearm_vs_stop(shipped_rearm);
}

#[test]
#[should_panic(expected = "a stop that returned true was undone by the rearm")]
fn i_rearm_vs_stop_broken_in_place() {
    rearm_vs_stop(rearm_in_place);
}

/// `Keepalives::insert` on a key in the set, as far as the shared slot goes: the re-arm in
/// place if the life goes on, else a fresh slot (here, slot 1) for a new life.
fn shipped_keyed_rearm(segment: &Segment, offset: u32, now: u64, timeout: Option<u64>) -> bool {
    segment.rearm(offset, now, timeout)
}

/// (j) A re-insert of a key at tick 5 against a `stop` through the key's heartbeat. The stop
/// returns `true`. If the re-insert re-armed the slot in place, the stop ended that life: the
/// owner's judge finds the key stopped (never yielded). If the stop came first, the re-insert
/// found the life over and took a fresh slot. Either way the stopped heartbeat returns `false`
/// from then on.
fn reinsert_vs_stop(rearm: KeyedRearm) {
    loom::model(move || {
        let segment = StdArc::new(Segment::new(2, TIMEOUT));
        segment.claim(0, 0, None);
        let heartbeat = segment.handle(0);
        let stopper = thread::spawn(move || {
            let prevented = heartbeat.word().stop();
            (prevented, heartbeat)
        });
        let in_place = rearm(&segment, 0, 5, None);
        if !in_place {
            segment.claim(1, 5, None);
        }
        let (prevented, heartbeat) = stopper.join().unwrap();
        assert!(
            prevented,
            "the key was live: the stop must prevent its expiry"
        );
        assert!(
            !heartbeat.word().beat(6),
            "a stop that returned true was undone by the re-insert"
        );
        if in_place {
            let judged = segment.word(0).judge(segment.timeout(0), 100);
            assert_eq!(judged, Decision::Stopped, "a stopped key is never yielded");
        } else {
            let judged = segment.word(1).judge(segment.timeout(1), 15);
            assert_eq!(
                judged,
                Decision::Expired(15),
                "the new life has its own window"
            );
        }
    });
}

#[test]
fn j_reinsert_vs_stop() {
    reinsert_vs_stop(shipped_keyed_rearm);
}

#[test]
#[should_panic(expected = "a stop that returned true was undone by the re-insert")]
fn j_reinsert_vs_stop_broken_check_then_rearm() {
    reinsert_vs_stop(keyed_rearm_check_then_in_place);
}

/// (k) `set_timeout(20)` against a `stop`; then the owner starts the next life, which inherits
/// the timeout. `set_timeout` returned `true` exactly when it is ordered before the stop, so
/// the next life's timeout is 20 if it did and 10 if it did not: a `set_timeout` that returned
/// `false` changed nothing.
fn set_timeout_vs_stop(set_timeout: SetTimeout) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let retimer = {
            let state = state.clone();
            thread::spawn(move || set_timeout(&state, 20))
        };
        let prevented = state.stop();
        let applied = retimer.join().unwrap();
        assert!(prevented, "nothing else ended the life");
        let next = shipped_rearm(&state, 0);
        assert!(
            !Arc::ptr_eq(&next, &state),
            "a rearm after a stop starts a new life"
        );
        let inherited = next.deadline();
        let expected = Some(if applied { 20 } else { TIMEOUT });
        assert_eq!(
            inherited, expected,
            "set_timeout returned {applied} but the next life's timeout says otherwise"
        );
    });
}

#[test]
fn k_set_timeout_vs_stop() {
    set_timeout_vs_stop(|state, timeout| state.set_timeout(timeout));
}

#[test]
#[should_panic(expected = "set_timeout returned false but the next life's timeout says otherwise")]
fn k_set_timeout_vs_stop_broken_store_then_check() {
    set_timeout_vs_stop(set_timeout_store_then_check);
}

/// (k') Nothing but a stop and a shortening `set_timeout` wakes the watchdog task (rule 4).
/// The task has decided at tick 0 and sleeps with its waker registered; a heartbeat then beats
/// and lengthens the timeout, while the task decides again at tick 10. Whatever the order, the
/// registered waker is never woken.
fn beats_and_a_longer_timeout_wake_nobody(set_timeout: SetTimeout) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let (waker, woken) = flag_waker();
        assert_eq!(state.decide(0, &waker), Decision::Pending(TIMEOUT));
        let heartbeat = {
            let state = state.clone();
            thread::spawn(move || {
                state.pulse().beat(5);
                set_timeout(&state, 30)
            })
        };
        let decision = state.decide(10, &waker);
        heartbeat.join().unwrap();
        assert!(
            !woken.woken(),
            "something other than a stop woke the watchdog"
        );
        assert!(matches!(
            decision,
            Decision::Expired(10) | Decision::Pending(15 | 35)
        ));
    });
}

#[test]
fn k_beats_and_a_longer_timeout_wake_nobody() {
    beats_and_a_longer_timeout_wake_nobody(|state, timeout| state.set_timeout(timeout));
}

#[test]
#[should_panic(expected = "something other than a stop woke the watchdog")]
fn k_beats_and_a_longer_timeout_wake_nobody_broken_always_wakes() {
    beats_and_a_longer_timeout_wake_nobody(set_timeout_always_wakes);
}

/// (l) The watchdog dropped (its word closed) against a `stop`. The stop returns `true`
/// exactly when it came first, and then its record stays in the word beside `CLOSED`; after
/// both, every heartbeat operation returns `false`.
fn drop_vs_stop(close: Close) {
    loom::model(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let stopper = {
            let state = state.clone();
            thread::spawn(move || state.stop())
        };
        close(&state);
        let prevented = stopper.join().unwrap();
        let word = state.word().load(SeqCst);
        assert!(word & CLOSED != 0, "the drop was lost");
        if prevented {
            assert!(
                word & STOPPED != 0,
                "a stop that returned true was erased by the drop"
            );
        }
        assert!(!state.pulse().beat(6));
        assert!(!state.stop());
        assert!(!state.set_timeout(1));
        assert_eq!(state.deadline(), None);
    });
}

#[test]
fn l_drop_vs_stop() {
    drop_vs_stop(|state| state.close());
}

#[test]
#[should_panic(expected = "a stop that returned true was erased by the drop")]
fn l_drop_vs_stop_broken_close_by_swap() {
    drop_vs_stop(close_by_swap);
}

#[test]
#[should_panic(expected = "the drop was lost")]
fn l_drop_vs_stop_broken_close_without_retry() {
    drop_vs_stop(close_without_retry);
}

/// How a heartbeat reads its key's deadline: the shipped order, or a broken twin.
type ReadDeadline = fn(&Segment, u32) -> Option<u64>;

/// Broken: reads the word, then the timeout (the order before lives). A re-insert with a new
/// timeout in between gives the old beat under the new timeout: a deadline no order gives.
fn deadline_word_then_timeout(segment: &Segment, offset: u32) -> Option<u64> {
    let last_beat = segment.word(offset).last_beat()?;
    Some(last_beat + segment.timeout(offset))
}

/// Broken: re-times a key from one timeout of its own to another through the set's, in two
/// steps. A reader in between sees the set's timeout, which the key never had.
fn keyed_rearm_through_the_default(
    segment: &Segment,
    offset: u32,
    now: u64,
    timeout: Option<u64>,
) -> bool {
    if !segment.word(offset).beat(now) {
        return false;
    }
    segment.retime(offset, None);
    segment.retime(offset, timeout);
    true
}

/// (n) A re-insert at tick 5 that re-times a key from its own timeout of 30 to 20 (the set's
/// is 10), against a heartbeat reading the key's deadline. The reader sees the old deadline
/// (30), the window restarted under the old timeout (35), or the new deadline (25): the
/// re-insert is a restart, then a re-time, each atomic; never a mix of old and new.
fn retime_vs_deadline(rearm: KeyedRearm, read: ReadDeadline) {
    loom::model(move || {
        let segment = StdArc::new(Segment::new(1, TIMEOUT));
        segment.claim(0, 0, Some(30));
        let heartbeat = segment.handle(0);
        let reader = {
            let segment = segment.clone();
            thread::spawn(move || {
                let deadline = read(&segment, 0);
                drop(heartbeat);
                deadline
            })
        };
        assert!(rearm(&segment, 0, 5, Some(20)));
        let seen = reader.join().unwrap();
        assert!(
            matches!(seen, Some(30 | 35 | 25)),
            "a deadline no order of the re-insert gives: {seen:?}"
        );
        assert_eq!(segment.deadline(0), Some(25));
    });
}

#[test]
fn n_retime_vs_deadline() {
    retime_vs_deadline(shipped_keyed_rearm, Segment::deadline);
}

#[test]
#[should_panic(expected = "a deadline no order of the re-insert gives")]
fn n_retime_vs_deadline_broken_word_then_timeout() {
    retime_vs_deadline(shipped_keyed_rearm, deadline_word_then_timeout);
}

#[test]
#[should_panic(expected = "a deadline no order of the re-insert gives")]
fn n_retime_vs_deadline_broken_through_the_default() {
    retime_vs_deadline(keyed_rearm_through_the_default, Segment::deadline);
}
