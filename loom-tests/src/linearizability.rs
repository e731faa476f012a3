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
    /// A heartbeat's operations, all on the first life's state.
    Beat(u64),
    Stop,
    SetTimeout(u64),
    /// The owner's, on the state of the life it is in.
    Decide(u64),
    /// Returns whether it restarted the life (`true`) or started a new one.
    Rearm(u64),
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
/// Heartbeats belong to life 0 (rule 8): once a rearm after an outcome has started life 1,
/// they return `false`.
#[derive(Debug, Clone, Copy)]
struct Spec {
    last: u64,
    timeout: u64,
    outcome: Option<Decision>,
    life: u32,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            last: 0,
            timeout: TIMEOUT,
            outcome: None,
            life: 0,
        }
    }
}

impl Spec {
    /// Whether a heartbeat (of life 0) acts.
    fn heartbeat_acts(&self) -> bool {
        self.life == 0 && self.outcome.is_none()
    }

    fn apply(&mut self, op: Op) -> Ret {
        match op {
            Op::Beat(now) => Ret::Bool(
                self.heartbeat_acts() && {
                    self.last = self.last.max(now);
                    true
                },
            ),
            Op::Stop => Ret::Bool(
                self.heartbeat_acts() && {
                    self.outcome = Some(Decision::Stopped);
                    true
                },
            ),
            Op::SetTimeout(timeout) => Ret::Bool(
                self.heartbeat_acts() && {
                    self.timeout = timeout;
                    true
                },
            ),
            Op::Decide(now) => {
                let deadline = self.last + self.timeout;
                Ret::Decision(match self.outcome {
                    Some(Decision::Stopped) => Decision::Stopped,
                    Some(_) => Decision::Idle,
                    None if now >= deadline => {
                        self.outcome = Some(Decision::Expired(deadline));
                        Decision::Expired(deadline)
                    }
                    None => Decision::Pending(deadline),
                })
            }
            Op::Rearm(now) => Ret::Bool(match self.outcome {
                None => {
                    self.last = self.last.max(now);
                    true
                }
                Some(_) => {
                    self.life += 1;
                    self.last = now;
                    self.outcome = None;
                    false
                }
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
            Op::SetTimeout(timeout) => Ret::Bool(state.set_timeout(timeout)),
            Op::Decide(now) => Ret::Decision(state.decide(now, waker)),
            Op::Rearm(_) => unreachable!("the owner's rearm runs in `Owner::run`"),
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

/// The owner of a watchdog across its lives: the state of the life it is in, and the tick at
/// which that life began (a new life counts its ticks from 0, as a new origin does).
struct Owner {
    state: Arc<State>,
    base: u64,
    rearm: Rearm,
}

impl Owner {
    fn run(&mut self, recorder: &Recorder, op: Op, waker: &Waker) -> Event {
        let invoked = recorder.clock.fetch_add(1, SeqCst);
        let ret = match op {
            Op::Decide(now) => Ret::Decision(match self.state.decide(now - self.base, waker) {
                Decision::Expired(at) => Decision::Expired(at + self.base),
                Decision::Pending(at) => Decision::Pending(at + self.base),
                other => other,
            }),
            Op::Rearm(now) => {
                let next = (self.rearm)(&self.state, now - self.base);
                let restarted = Arc::ptr_eq(&next, &self.state);
                if !restarted {
                    (self.state, self.base) = (next, now);
                }
                Ret::Bool(restarted)
            }
            other => unreachable!("{other:?} is a heartbeat's"),
        };
        let returned = recorder.clock.fetch_add(1, SeqCst);
        Event {
            op,
            ret,
            invoked,
            returned,
        }
    }
}

/// A model builder with `default` as its preemption bound (`None`: unbounded), unless
/// `DEADLINES_LOOM_BOUND` says otherwise (`none`, or a number).
fn builder(default: Option<usize>) -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = match std::env::var("DEADLINES_LOOM_BOUND").as_deref() {
        Err(_) => default,
        Ok("none") => None,
        Ok(n) => Some(
            n.parse()
                .expect("DEADLINES_LOOM_BOUND is `none` or a number"),
        ),
    };
    builder
}

/// A watchdog armed at tick 0, a recorder, and the waker its decisions register.
fn setup() -> (Arc<State>, Arc<Recorder>, Waker) {
    let recorder = Recorder {
        clock: AtomicUsize::new(0),
    };
    let (waker, _) = flag_waker();
    (Arc::new(State::new(TIMEOUT)), Arc::new(recorder), waker)
}

/// A heartbeat thread that runs `op` on the first life's `state` and records it.
fn spawn_heartbeat(
    state: &Arc<State>,
    recorder: &Arc<Recorder>,
    waker: &Waker,
    op: Op,
    beat: Beat,
) -> thread::JoinHandle<Event> {
    let (state, recorder, waker) = (state.clone(), recorder.clone(), waker.clone());
    thread::spawn(move || recorder.run(&state, op, beat, &waker))
}

/// Thread 1 beats at 4, thread 2 does `second`, the watchdog thread decides at 10 and 14.
fn three_threads(beat: Beat, second: Op) {
    builder(None).check(move || {
        let (state, recorder, waker) = setup();
        let heartbeat = |op| spawn_heartbeat(&state, &recorder, &waker, op, beat);
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

/// The default preemption bound of (g'): unbounded it takes about 45 s (see
/// `docs/guarantees.md` for the command), too long for every test run.
const LIVES_BOUND: usize = 5;

/// (g') Lives: a stopper and a re-timer (shortening the timeout to 3) race the owner, which
/// decides at 4, rearms at 5 and decides at 9. The rearm restarts the life if it is still
/// open, or starts a new one (its own state) that the heartbeats of the first can no longer
/// touch; the history must replay on the spec with lives (rules 8 and 9).
fn lives_three_threads(rearm: Rearm) {
    builder(Some(LIVES_BOUND)).check(move || {
        let (state, recorder, waker) = setup();
        let beat = crate::models::shipped_beat;
        let heartbeat = |op| spawn_heartbeat(&state, &recorder, &waker, op, beat);
        let stopper = heartbeat(Op::Stop);
        let retimer = heartbeat(Op::SetTimeout(3));
        let mut owner = Owner {
            state: state.clone(),
            base: 0,
            rearm,
        };
        let mut history = vec![
            owner.run(&recorder, Op::Decide(4), &waker),
            owner.run(&recorder, Op::Rearm(5), &waker),
            owner.run(&recorder, Op::Decide(9), &waker),
        ];
        history.push(stopper.join().unwrap());
        history.push(retimer.join().unwrap());
        assert!(linearizable(&history), "not linearizable: {history:#?}");
    });
}

#[test]
fn g_a_stopper_a_retimer_and_the_owner_rearming_are_linearizable() {
    lives_three_threads(crate::models::shipped_rearm);
}

#[test]
#[should_panic(expected = "not linearizable")]
fn g_a_stopper_a_retimer_and_the_owner_rearming_broken_in_place() {
    lives_three_threads(rearm_in_place);
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
