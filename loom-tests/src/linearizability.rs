//! (g) Three threads, checked for linearizability against a sequential model.
//!
//! Two heartbeat threads (two beaters, or a beater and a stopper) race the watchdog thread,
//! which makes the expiry decision twice. Every operation records when it was invoked and when
//! it returned, on a shared counter. The history passes when some order of the operations
//! that respects real time (an operation that returned before another was invoked comes first)
//! gives, run one at a time on the plain model below, exactly the results observed.
//!
//! The default run is unbounded: exhaustive up to loom's partial-order reduction (about 11,000
//! executions for the two-beater history, about 3 seconds for both). The stamps that order the
//! history come from a std counter, which adds no scheduling points (see `Recorder`); with
//! loom atomics as stamps the same model needed a preemption bound to finish. Set
//! `DEADLINES_LOOM_BOUND=N` for a preemption bound of N (loom's bound on how often a thread is
//! switched out while it could go on), for a quicker run while changing the protocol.

use std::sync::atomic::AtomicUsize;
use std::task::Waker;

use loom::sync::Arc;
use loom::thread;

use crate::state::{Decision, State};
use crate::support::*;
use crate::sync::Ordering::SeqCst;

const TIMEOUT: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Beat(u64),
    Stop,
    Decide(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ret {
    Bool(bool),
    Decision(Decision),
}

#[derive(Debug, Clone, Copy)]
struct Event {
    op: Op,
    ret: Ret,
    invoked: usize,
    returned: usize,
}

/// The sequential specification: what each operation does when nothing runs beside it.
#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    last: u64,
    outcome: Option<Decision>,
}

impl Spec {
    fn apply(&mut self, op: Op) -> Ret {
        match op {
            Op::Beat(now) => Ret::Bool(
                self.outcome.is_none() && {
                    self.last = self.last.max(now);
                    true
                },
            ),
            Op::Stop => Ret::Bool(
                self.outcome.is_none() && {
                    self.outcome = Some(Decision::Stopped);
                    true
                },
            ),
            Op::Decide(now) => Ret::Decision(match self.outcome {
                Some(Decision::Stopped) => Decision::Stopped,
                Some(_) => Decision::Idle,
                None if now >= self.last + TIMEOUT => {
                    self.outcome = Some(Decision::Expired(self.last + TIMEOUT));
                    Decision::Expired(self.last + TIMEOUT)
                }
                None => Decision::Pending(self.last + TIMEOUT),
            }),
        }
    }
}

/// Whether some real-time-respecting order of `history` replays on the spec.
fn linearizable(history: &[Event]) -> bool {
    fn search(history: &[Event], used: &mut Vec<bool>, spec: Spec) -> bool {
        if used.iter().all(|&u| u) {
            return true;
        }
        for i in 0..history.len() {
            if used[i] {
                continue;
            }
            // `i` may go next only if no pending operation returned before `i` was invoked.
            let blocked = (0..history.len())
                .any(|j| !used[j] && j != i && history[j].returned < history[i].invoked);
            if blocked {
                continue;
            }
            let mut next = spec;
            if next.apply(history[i].op) == history[i].ret {
                used[i] = true;
                if search(history, used, next) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    search(history, &mut vec![false; history.len()], Spec::default())
}

/// Stamps invocations and responses in the order the explored schedule runs them.
///
/// A std atomic, not loom's: loom runs one thread at a time, so a plain counter bumped at
/// each event records exactly the real-time order of this execution, and, unlike a loom
/// atomic, it adds no scheduling points for loom to explore. It is not part of the protocol.
struct Recorder {
    clock: AtomicUsize,
}

impl Recorder {
    fn run(&self, state: &State, op: Op, beat: Beat, waker: &Waker) -> Event {
        let invoked = self.clock.fetch_add(1, SeqCst);
        let ret = match op {
            Op::Beat(now) => Ret::Bool(beat(state, now)),
            Op::Stop => Ret::Bool(state.stop()),
            Op::Decide(now) => Ret::Decision(state.decide(now, waker)),
        };
        let returned = self.clock.fetch_add(1, SeqCst);
        Event {
            op,
            ret,
            invoked,
            returned,
        }
    }
}

fn builder() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = match std::env::var("DEADLINES_LOOM_BOUND").as_deref() {
        Ok("none") | Err(_) => None,
        Ok(n) => Some(
            n.parse()
                .expect("DEADLINES_LOOM_BOUND is `none` or a number"),
        ),
    };
    builder
}

/// Thread 1 beats at 4, thread 2 does `second`, the watchdog thread decides at 10 and 14.
fn three_threads(beat: Beat, second: Op) {
    builder().check(move || {
        let state = Arc::new(State::new(TIMEOUT));
        let recorder = Arc::new(Recorder {
            clock: AtomicUsize::new(0),
        });
        let (waker, _) = flag_waker();
        let heartbeat = |op: Op| {
            let (state, recorder, waker) = (state.clone(), recorder.clone(), waker.clone());
            thread::spawn(move || recorder.run(&state, op, beat, &waker))
        };
        let first = heartbeat(Op::Beat(4));
        let second = heartbeat(second);
        let mut history = vec![
            recorder.run(&state, Op::Decide(10), beat, &waker),
            recorder.run(&state, Op::Decide(14), beat, &waker),
        ];
        history.push(first.join().unwrap());
        history.push(second.join().unwrap());
        assert!(linearizable(&history), "not linearizable: {history:#?}");
    });
}

#[test]
fn g_two_beaters_and_the_decision_are_linearizable() {
    three_threads(crate::models::shipped_beat, Op::Beat(6));
}

#[test]
fn g_a_beater_a_stopper_and_the_decision_are_linearizable() {
    three_threads(crate::models::shipped_beat, Op::Stop);
}

#[test]
#[should_panic(expected = "not linearizable")]
fn g_two_beaters_broken_load_then_store() {
    three_threads(beat_load_then_store, Op::Beat(6));
}

#[test]
#[should_panic(expected = "not linearizable")]
fn g_a_beater_a_stopper_broken_load_then_store() {
    three_threads(beat_load_then_store, Op::Stop);
}

/// The checker itself: a history no order explains is rejected.
#[test]
fn the_checker_rejects_an_impossible_history() {
    let event = |op, ret, invoked, returned| Event {
        op,
        ret,
        invoked,
        returned,
    };
    // A beat that counted, returned before the decision began, yet the decision ignored it.
    let history = [
        event(Op::Beat(4), Ret::Bool(true), 0, 1),
        event(Op::Decide(10), Ret::Decision(Decision::Expired(10)), 2, 3),
    ];
    assert!(!linearizable(&history));
    // The same results overlapping in time: the beat can be ordered after the decision only
    // if it returned `false`.
    let history = [
        event(Op::Beat(4), Ret::Bool(false), 0, 3),
        event(Op::Decide(10), Ret::Decision(Decision::Expired(10)), 1, 2),
    ];
    assert!(linearizable(&history));
}
