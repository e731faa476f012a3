//! Random operation sequences on a watchdog and three heartbeat handles, against a plain
//! reference model of the rules.
//!
//! Handles belong to the life they were taken in (rule 8): `Op::Take` replaces a handle with
//! one of the current life, and a handle of an ended life must return `false` (or `None`) for
//! ever, whatever `rearm` did since.
//!
//! Times are microseconds since the start. The model decides an expiry at a poll when
//! `now >= last beat + timeout` (the decision reads the clock), and requires the task to have
//! been woken once the timer wheel has processed the deadline's millisecond, rounded up.

mod common;

use std::task::Poll;

use common::{Probe, us};
use deadlines::{Heartbeat, Watchdog};
use proptest::prelude::*;
use tokio::time::Instant;

const HANDLES: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Beat(usize),
    Stop(usize),
    SetTimeout(usize, u64),
    DropHandle(usize),
    Take(usize),
    Rearm,
    Advance(u64),
    Poll,
}

fn op() -> impl Strategy<Value = Op> {
    let handle = 0..HANDLES;
    prop_oneof![
        6 => handle.clone().prop_map(Op::Beat),
        1 => handle.clone().prop_map(Op::Stop),
        2 => (handle.clone(), 0u64..20_000).prop_map(|(h, t)| Op::SetTimeout(h, t)),
        1 => handle.clone().prop_map(Op::DropHandle),
        2 => handle.prop_map(Op::Take),
        1 => Just(Op::Rearm),
        6 => prop_oneof![0u64..2_000, 0u64..25_000].prop_map(Op::Advance),
        6 => Just(Op::Poll),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Expired,
    Stopped,
}

#[derive(Debug)]
struct Model {
    now: u64,
    last: u64,
    timeout: u64,
    outcome: Option<Outcome>,
    delivered: bool,
    /// Which life the watchdog is in: a `rearm` after an outcome starts the next one.
    life: u32,
}

impl Model {
    fn live(&self) -> bool {
        self.outcome.is_none()
    }
    /// Whether a handle taken in `life` acts: only in the current life, before its outcome.
    fn acts(&self, life: u32) -> bool {
        life == self.life && self.live()
    }
    fn deadline(&self) -> Option<u64> {
        self.live().then_some(self.last + self.timeout)
    }
    fn beat(&mut self, life: u32) -> bool {
        self.acts(life) && {
            self.last = self.last.max(self.now);
            true
        }
    }
    fn stop(&mut self, life: u32) -> bool {
        self.acts(life) && {
            self.outcome = Some(Outcome::Stopped);
            true
        }
    }
    fn set_timeout(&mut self, life: u32, timeout: u64) -> bool {
        self.acts(life) && {
            self.timeout = timeout;
            true
        }
    }
    fn remaining(&self, life: u32) -> Option<u64> {
        self.acts(life)
            .then(|| (self.last + self.timeout).saturating_sub(self.now))
    }
    /// During a life, a restart; after an outcome (delivered or not), the next life.
    fn rearm(&mut self) {
        if self.live() {
            self.last = self.last.max(self.now);
        } else {
            self.life += 1;
            self.last = self.now;
            self.outcome = None;
        }
        self.delivered = false;
    }
    /// `Some(Ok(deadline))`, `Some(Err(()))` for stopped, `None` for pending.
    fn poll(&mut self) -> Option<Result<u64, ()>> {
        if self.delivered {
            return None;
        }
        match self.outcome {
            Some(Outcome::Stopped) => {
                self.delivered = true;
                Some(Err(()))
            }
            Some(Outcome::Expired) => None,
            None if self.now >= self.last + self.timeout => {
                self.outcome = Some(Outcome::Expired);
                self.delivered = true;
                Some(Ok(self.last + self.timeout))
            }
            None => None,
        }
    }
    /// Whatever a pending poll waits for has happened: a stop, or the timer reached the
    /// deadline's millisecond.
    fn should_have_woken(&self) -> bool {
        match self.outcome {
            Some(Outcome::Stopped) => true,
            Some(Outcome::Expired) => false,
            None => (self.last + self.timeout).div_ceil(1_000) <= self.now / 1_000,
        }
    }
}

fn run(timeout: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = common::paused_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        let mut model = Model {
            now: 0,
            last: 0,
            timeout,
            outcome: None,
            delivered: false,
            life: 0,
        };
        let mut w = Probe::new(Watchdog::new(us(timeout)));
        let mut handles: Vec<Option<(Heartbeat, u32)>> = (0..HANDLES)
            .map(|_| Some((w.get_ref().heartbeat(), 0)))
            .collect();
        // Wake count at the last pending poll, while that poll's waker is still the one to wake.
        let mut waiting: Option<usize> = None;

        for op in ops {
            match op {
                Op::Beat(h) => {
                    if let Some((hb, life)) = &handles[h] {
                        prop_assert_eq!(hb.beat(), model.beat(*life));
                    }
                }
                Op::Stop(h) => {
                    if let Some((hb, life)) = &handles[h] {
                        prop_assert_eq!(hb.stop(), model.stop(*life));
                    }
                }
                Op::SetTimeout(h, t) => {
                    if let Some((hb, life)) = &handles[h] {
                        prop_assert_eq!(hb.set_timeout(us(t)), model.set_timeout(*life, t));
                    }
                }
                Op::DropHandle(h) => handles[h] = None,
                Op::Take(h) => handles[h] = Some((w.get_ref().heartbeat(), model.life)),
                Op::Rearm => {
                    w.get().rearm();
                    model.rearm();
                    waiting = None;
                }
                Op::Advance(step) => {
                    tokio::time::advance(us(step)).await;
                    model.now += step;
                }
                Op::Poll => {
                    let wakes = w.wakes();
                    let got = match w.poll() {
                        Poll::Ready(Ok(expired)) => Some(Ok(expired.deadline())),
                        Poll::Ready(Err(_)) => Some(Err(())),
                        Poll::Pending => None,
                    };
                    let want = model.poll().map(|r| r.map(|t| start + us(t)));
                    prop_assert_eq!(got, want);
                    waiting = (!model.delivered).then_some(wakes);
                }
            }
            if let Some(before) = waiting
                && model.should_have_woken()
            {
                prop_assert!(w.wakes() > before, "a pending watchdog was not woken");
            }
            let deadline = model.deadline().map(|t| start + us(t));
            prop_assert_eq!(w.get_ref().deadline(), deadline);
            for (hb, life) in handles.iter().flatten() {
                prop_assert_eq!(hb.remaining(), model.remaining(*life).map(us));
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn watchdog_matches_the_reference_model(
        timeout in 0u64..20_000,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run(timeout, ops)?;
    }
}
