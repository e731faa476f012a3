//! `idle_timeout` and `keepalive` with random durations and random item schedules, against a
//! plain reference model (times in microseconds since the start).
//!
//! The model: the first window starts at the first poll; an item ready at a poll is yielded
//! and restarts the window; a poll that finds the window over yields one `Err` (and waits for
//! the next item) or one injected item (and starts a new period from that poll). It also checks
//! the wakeups: once the timer wheel (whole milliseconds, rounded up) reaches the window's end,
//! the task was woken.

mod common;

use std::collections::VecDeque;
use std::task::Poll;

use common::{Fed, StreamProbe, fed, us};
use deadlines::stream::{KeepaliveItem, StreamDeadlineExt};
use futures_core::stream::FusedStream;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push,
    Advance(u64),
    Poll,
    /// An item arrives, the stream is polled, the clock moves on.
    Tick(u64),
    End,
}

fn op(window: u64) -> impl Strategy<Value = Op> {
    let tick =
        (0u64..16, 0u64..500).prop_map(move |(eighths, jitter)| window * eighths / 8 + jitter);
    prop_oneof![
        5 => Just(Op::Push),
        6 => prop_oneof![0u64..2_000, 0u64..30_000].prop_map(Op::Advance),
        7 => Just(Op::Poll),
        4 => tick.prop_map(Op::Tick),
        1 => Just(Op::End),
    ]
}

fn case() -> impl Strategy<Value = (u64, Vec<Op>)> {
    prop_oneof![1 => Just(0u64), 1 => 0u64..2_000, 4 => 0u64..20_000]
        .prop_flat_map(|window| (Just(window), prop::collection::vec(op(window), 1..100)))
}

/// What either adapter yields, in one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Item(u32),
    /// `Err(Elapsed)`, or the injected item.
    Silence,
}

#[derive(Debug)]
struct Model {
    now: u64,
    window: u64,
    keepalive: bool,
    started: bool,
    deadline: Option<u64>,
    queue: VecDeque<u32>,
    ended: bool,
    source_done: bool,
}

impl Model {
    fn new(window: u64, keepalive: bool) -> Self {
        Self {
            now: 0,
            // A keepalive period is at least a millisecond.
            window: if keepalive { window.max(1_000) } else { window },
            keepalive,
            started: false,
            deadline: None,
            queue: VecDeque::new(),
            ended: false,
            source_done: false,
        }
    }

    fn poll(&mut self) -> Poll<Option<Out>> {
        if self.source_done {
            return Poll::Ready(None);
        }
        if !self.started {
            self.started = true;
            self.deadline = Some(self.now + self.window);
        }
        if let Some(item) = self.queue.pop_front() {
            self.deadline = Some(self.now + self.window);
            return Poll::Ready(Some(Out::Item(item)));
        }
        if self.ended {
            self.source_done = true;
            return Poll::Ready(None);
        }
        match self.deadline {
            Some(at) if at <= self.now => {
                self.deadline = self.keepalive.then_some(self.now + self.window);
                Poll::Ready(Some(Out::Silence))
            }
            _ => Poll::Pending,
        }
    }

    fn timer_due(&self) -> bool {
        self.deadline
            .is_some_and(|at| at.div_ceil(1_000) <= self.now / 1_000)
    }
}

trait Adapter {
    fn poll_out(&mut self) -> Poll<Option<Out>>;
    fn terminated(&self) -> bool;
    fn wakes(&self) -> usize;
}

type Idle = deadlines::stream::IdleTimeout<Fed<u32>>;
type Alive = deadlines::stream::Keepalive<Fed<u32>, fn() -> u32>;

impl Adapter for StreamProbe<Idle> {
    fn poll_out(&mut self) -> Poll<Option<Out>> {
        self.poll()
            .map(|item| item.map(|item| item.map_or(Out::Silence, Out::Item)))
    }
    fn terminated(&self) -> bool {
        self.get_ref().is_terminated()
    }
    fn wakes(&self) -> usize {
        StreamProbe::wakes(self)
    }
}

/// The value the keepalive injects: the first item the source sends too, so only the marker
/// tells them apart.
const PING: u32 = 0;

impl Adapter for StreamProbe<Alive> {
    fn poll_out(&mut self) -> Poll<Option<Out>> {
        self.poll().map(|item| {
            item.map(|item| match item {
                KeepaliveItem::Source(item) => Out::Item(item),
                KeepaliveItem::Injected(PING) => Out::Silence,
                KeepaliveItem::Injected(other) => panic!("injected {other}, not the ping"),
            })
        })
    }
    fn terminated(&self) -> bool {
        self.get_ref().is_terminated()
    }
    fn wakes(&self) -> usize {
        StreamProbe::wakes(self)
    }
}

fn run<A: Adapter>(
    window: u64,
    keepalive: bool,
    ops: Vec<Op>,
    build: impl FnOnce(Fed<u32>) -> A,
) -> Result<(), TestCaseError> {
    let rt = common::paused_runtime();
    rt.block_on(async move {
        let (feed, source) = fed();
        let mut adapter = build(source);
        let mut model = Model::new(window, keepalive);
        let mut next_item = 0u32;
        let mut waiting: Option<usize> = None;

        for op in ops {
            match op {
                Op::Push | Op::Tick(_) if !model.ended => {
                    feed.push(next_item);
                    model.queue.push_back(next_item);
                    next_item += 1;
                    waiting = None;
                }
                _ => {}
            }
            match op {
                Op::Push => {}
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
                            "the window ends at {} us, now {} us, but the task was not woken",
                            model.deadline.unwrap(),
                            model.now
                        );
                    }
                }
                Op::Poll | Op::Tick(_) => {
                    let before = adapter.wakes();
                    let got = adapter.poll_out();
                    prop_assert_eq!(&got, &model.poll(), "at {} us", model.now);
                    waiting = got.is_pending().then_some(before);
                    if let Op::Tick(step) = op {
                        tokio::time::advance(us(step)).await;
                        model.now += step;
                        waiting = None;
                    }
                }
            }
            prop_assert_eq!(adapter.terminated(), model.source_done);
        }
        Ok(())
    })
}

fn ping() -> u32 {
    PING
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn idle_timeout_matches_the_model((window, ops) in case()) {
        run(window, false, ops, |source| StreamProbe::new(source.idle_timeout(us(window))))?;
    }

    #[test]
    fn keepalive_matches_the_model((window, ops) in case()) {
        run(window, true, ops, |source| {
            StreamProbe::new(source.keepalive(us(window), ping as fn() -> u32))
        })?;
    }
}
