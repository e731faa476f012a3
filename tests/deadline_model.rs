//! Random operation sequences against a plain reference model of the `Deadline` rules.
//!
//! The model keeps the armed instant as microseconds since the test's start. It fires when
//! Tokio's timer would: the deadline rounded up to a whole millisecond has been reached by
//! the millisecond the timer wheel last processed (the paused clock's, after `advance`).

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{Probe, us};
use deadlines::Deadline;
use proptest::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone)]
enum Op {
    /// `reset(d)` with `d` in microseconds.
    Reset(u64),
    /// `reset_at(now + offset)`, the offset in microseconds, clamped at the start instant.
    ResetAt(i64),
    /// `reset(Duration::MAX)`: effectively never.
    ResetMax,
    Stop,
    /// Advance the paused clock by this many microseconds.
    Advance(u64),
    Poll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..20_000).prop_map(Op::Reset),
        2 => (-5_000i64..20_000).prop_map(Op::ResetAt),
        1 => Just(Op::ResetMax),
        2 => Just(Op::Stop),
        5 => prop_oneof![0u64..2_000, 0u64..30_000].prop_map(Op::Advance),
        5 => Just(Op::Poll),
    ]
}

/// The reference: the armed instant, if any, in microseconds since the start.
#[derive(Debug, Default)]
struct Model {
    now: u64,
    target: Option<u64>,
}

const NEVER: u64 = u64::MAX;

impl Model {
    fn arm(&mut self, at: u64) -> bool {
        self.target.replace(at).is_some()
    }

    fn stop(&mut self) -> bool {
        self.target.take().is_some()
    }

    /// Whether a poll now delivers: the target's millisecond, rounded up, has been processed.
    fn due(&self) -> bool {
        self.target
            .is_some_and(|t| t != NEVER && t.div_ceil(1_000) <= self.now / 1_000)
    }

    fn poll(&mut self) -> Option<u64> {
        if self.due() { self.target.take() } else { None }
    }
}

fn run(ops: Vec<Op>, initial: u64) -> Result<(), TestCaseError> {
    let rt = common::paused_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        let at = |t: u64| {
            if t == NEVER {
                None
            } else {
                Some(start + us(t))
            }
        };
        let mut model = Model {
            now: 0,
            target: Some(initial),
        };
        let mut d = Probe::new(Deadline::after(us(initial)));
        // A poll returned Pending while armed, and nothing re-armed since: the waker must fire.
        let mut waiting_since_wakes: Option<usize> = None;

        for op in ops {
            match op {
                Op::Reset(delay) => {
                    prop_assert_eq!(d.get().reset(us(delay)), model.arm(model.now + delay));
                    waiting_since_wakes = None;
                }
                Op::ResetAt(offset) => {
                    let t = model.now.saturating_add_signed(offset);
                    prop_assert_eq!(d.get().reset_at(start + us(t)), model.arm(t));
                    waiting_since_wakes = None;
                }
                Op::ResetMax => {
                    prop_assert_eq!(d.get().reset(Duration::MAX), model.arm(NEVER));
                    waiting_since_wakes = None;
                }
                Op::Stop => {
                    prop_assert_eq!(d.get().stop(), model.stop());
                    waiting_since_wakes = None;
                }
                Op::Advance(step) => {
                    tokio::time::advance(us(step)).await;
                    model.now += step;
                    if let Some(before) = waiting_since_wakes
                        && model.due()
                    {
                        prop_assert!(d.wakes() > before, "due, but the task was not woken");
                    }
                }
                Op::Poll => {
                    let wakes = d.wakes();
                    let got = match d.poll() {
                        Poll::Ready(expired) => Some(expired.deadline()),
                        Poll::Pending => None,
                    };
                    prop_assert_eq!(got, model.poll().and_then(at));
                    waiting_since_wakes = model.target.map(|_| wakes);
                }
            }
            prop_assert_eq!(d.get_ref().is_armed(), model.target.is_some());
            if model.target != Some(NEVER) {
                prop_assert_eq!(d.get_ref().deadline(), model.target.and_then(at));
                let remaining = model.target.map(|t| us(t.saturating_sub(model.now)));
                prop_assert_eq!(d.get_ref().remaining(), remaining);
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn deadline_matches_the_reference_model(
        initial in 0u64..20_000,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run(ops, initial)?;
    }
}
