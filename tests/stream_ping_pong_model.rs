//! `ping_pong` with random durations, random item schedules (some items signs of life, some
//! not) and random poll times, against a plain reference model (times in microseconds since
//! the start).
//!
//! The model keeps two instants, not a state machine: when the peer last showed life (the
//! first poll counts) and when the last unanswered ping was yielded. A poll takes a ready item
//! first (a sign of life sets the first and clears the second); a poll with no item yields a
//! ping once an interval has passed since the last sign of life and no ping is unanswered,
//! and the death once the timeout has passed since the unanswered ping. It also checks the
//! wakeups: once the timer wheel (whole milliseconds, rounded up) reaches the instant the
//! adapter waits for, the task was woken.

mod common;

use std::collections::VecDeque;
use std::task::Poll;

use common::{Fed, StreamProbe, fed, us};
use deadlines::stream::{Liveness, PeerDead, PingPong, StreamDeadlineExt};
use futures_core::stream::FusedStream;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// An item arrives; `true` if it is a sign of life for `pong_when`.
    Push(bool),
    Advance(u64),
    Poll,
    /// An item arrives, the stream is polled, the clock moves on.
    Tick(bool, u64),
    End,
}

fn op(scale: u64) -> impl Strategy<Value = Op> {
    // Steps of whole eighths of the larger duration, often with no jitter, and whole
    // milliseconds: so polls land exactly on the instants the adapter judges.
    let jitter = prop_oneof![Just(0u64), 0u64..500];
    let step = (0u64..16, jitter).prop_map(move |(eighths, jitter)| scale * eighths / 8 + jitter);
    let advance = prop_oneof![
        0u64..2_000,
        0u64..30_000,
        (0u64..30).prop_map(|n| n * 1_000)
    ];
    prop_oneof![
        5 => any::<bool>().prop_map(Op::Push),
        6 => advance.prop_map(Op::Advance),
        7 => Just(Op::Poll),
        4 => (any::<bool>(), step).prop_map(|(pong, step)| Op::Tick(pong, step)),
        1 => Just(Op::End),
    ]
}

fn duration() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        1 => 0u64..2_000,
        3 => 0u64..20_000,
        3 => (0u64..20).prop_map(|n| n * 1_000),
    ]
}

fn case() -> impl Strategy<Value = (u64, u64, Vec<Op>)> {
    (duration(), duration()).prop_flat_map(|(interval, timeout)| {
        let scale = interval.max(timeout);
        (
            Just(interval),
            Just(timeout),
            prop::collection::vec(op(scale), 1..120),
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Item(u32),
    Ping,
    Dead,
}

#[derive(Debug)]
struct Model {
    now: u64,
    interval: u64,
    timeout: u64,
    /// Whether every item is a sign of life (no `pong_when`).
    every_item: bool,
    /// The last sign of life; `None` before the first poll.
    last_life: Option<u64>,
    /// When the unanswered ping was yielded.
    pinged: Option<u64>,
    queue: VecDeque<(u32, bool)>,
    ended: bool,
    done: bool,
}

impl Model {
    fn new(interval: u64, timeout: u64, every_item: bool) -> Self {
        Self {
            now: 0,
            // An interval is at least a millisecond.
            interval: interval.max(1_000),
            timeout,
            every_item,
            last_life: None,
            pinged: None,
            queue: VecDeque::new(),
            ended: false,
            done: false,
        }
    }

    fn poll(&mut self) -> Poll<Option<Out>> {
        if self.done {
            return Poll::Ready(None);
        }
        self.last_life.get_or_insert(self.now);
        if let Some((item, pong)) = self.queue.pop_front() {
            if pong || self.every_item {
                self.last_life = Some(self.now);
                self.pinged = None;
            }
            return Poll::Ready(Some(Out::Item(item)));
        }
        if self.ended {
            self.done = true;
            return Poll::Ready(None);
        }
        match self.pinged {
            None if self.now >= self.last_life.unwrap() + self.interval => {
                self.pinged = Some(self.now);
                Poll::Ready(Some(Out::Ping))
            }
            Some(at) if self.now >= at + self.timeout => {
                self.done = true;
                Poll::Ready(Some(Out::Dead))
            }
            _ => Poll::Pending,
        }
    }

    /// The instant the adapter waits for, once polled and until it is done.
    fn waits_for(&self) -> Option<u64> {
        if self.done {
            return None;
        }
        match self.pinged {
            Some(at) => Some(at + self.timeout),
            None => self.last_life.map(|life| life + self.interval),
        }
    }

    fn timer_due(&self) -> bool {
        self.waits_for()
            .is_some_and(|at| at.div_ceil(1_000) <= self.now / 1_000)
    }
}

fn is_pong(item: &u32) -> bool {
    item % 2 == 1
}

/// Both adapters under test have this type: the default predicate is a `fn` pointer too.
type Watched = PingPong<Fed<u32>>;

fn out(item: Result<Liveness<u32>, PeerDead>) -> Out {
    match item {
        Ok(Liveness::Item(item)) => Out::Item(item),
        Ok(Liveness::Ping) => Out::Ping,
        Err(PeerDead { .. }) => Out::Dead,
    }
}

fn run(
    interval: u64,
    timeout: u64,
    every_item: bool,
    ops: Vec<Op>,
    build: impl FnOnce(Fed<u32>) -> Watched,
) -> Result<(), TestCaseError> {
    let rt = common::paused_runtime();
    rt.block_on(async move {
        let (feed, source) = fed();
        let mut adapter = StreamProbe::new(build(source));
        let mut model = Model::new(interval, timeout, every_item);
        let mut next_item = 0u32;
        let mut waiting: Option<usize> = None;

        for op in ops {
            match op {
                Op::Push(pong) | Op::Tick(pong, _) if !model.ended => {
                    // Odd items are pongs.
                    let item = next_item * 2 + u32::from(pong);
                    feed.push(item);
                    model.queue.push_back((item, pong));
                    next_item += 1;
                    waiting = None;
                }
                _ => {}
            }
            match op {
                Op::Push(_) => {}
                Op::End => {
                    feed.end();
                    model.ended = true;
                    waiting = None;
                }
                Op::Advance(step) => {
                    tokio::time::advance(us(step)).await;
                    model.now += step;
                    if let Some(before) = waiting
                        && model.timer_due()
                    {
                        prop_assert!(
                            adapter.wakes() > before,
                            "due at {:?} us, now {} us, but the task was not woken",
                            model.waits_for(),
                            model.now
                        );
                    }
                }
                Op::Poll | Op::Tick(..) => {
                    let before = adapter.wakes();
                    let got = adapter.poll().map(|item| item.map(out));
                    prop_assert_eq!(&got, &model.poll(), "at {} us", model.now);
                    waiting = got.is_pending().then_some(before);
                    if let Op::Tick(_, step) = op {
                        tokio::time::advance(us(step)).await;
                        model.now += step;
                        waiting = None;
                    }
                }
            }
            prop_assert_eq!(adapter.get_ref().is_terminated(), model.done);
        }
        // After the death the source is never polled again (and `Fed` panics if polled after
        // its own `None`, so the end is covered too).
        if model.done && model.pinged.is_some() && !model.ended {
            let polls = feed.polls();
            prop_assert!(matches!(adapter.poll(), Poll::Ready(None)));
            prop_assert_eq!(feed.polls(), polls);
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn ping_pong_matches_the_model((interval, timeout, ops) in case()) {
        run(interval, timeout, true, ops, |source| source.ping_pong(us(interval), us(timeout)))?;
    }

    #[test]
    fn ping_pong_with_pong_when_matches_the_model((interval, timeout, ops) in case()) {
        run(interval, timeout, false, ops, |source| {
            source
                .ping_pong(us(interval), us(timeout))
                .pong_when(is_pong as fn(&u32) -> bool)
        })?;
    }
}
