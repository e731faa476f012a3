//! `debounce` and `debounce_batch` with random options and random item schedules, against a
//! plain transcription of lodash 4.17.21's `debounce` (times in microseconds since the start).
//!
//! The harness decides when items arrive and when the stream is polled; the model takes each
//! poll's ready items as calls at the poll's instant (items before the timer, the contract's
//! rule), yields an emission as soon as one is due, and runs lodash's `timerExpired` when the
//! poll finds the timer's instant passed. The model departs from lodash in the two places the
//! contract does, each marked `CONTRACT`. It also checks the wakeups: once the timer wheel
//! (which rounds up to whole milliseconds) reaches the model's timer, the task was woken.

mod common;

use std::collections::VecDeque;
use std::task::Poll;

use common::{Fed, Feed, StreamProbe, fed, us};
use deadlines::stream::{Debounce, DebounceBatch, StreamDeadlineExt};
use futures_core::stream::FusedStream;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// An item arrives (the source's queue grows).
    Push,
    /// The paused clock moves on by this many microseconds.
    Advance(u64),
    Poll,
    /// Steady input: an item arrives and the stream is polled; half the step later it is
    /// polled with no item ready; the clock moves on by the other half.
    Tick(u64),
    /// The source ends once its queue is drained.
    End,
}

/// The operations, with the steps of `Tick` drawn relative to the window (up to twice it), so
/// that steady input often crosses `max_wait` and the window edges.
fn op(window: u64) -> impl Strategy<Value = Op> {
    let tick =
        (0u64..16, 0u64..500).prop_map(move |(eighths, jitter)| window * eighths / 8 + jitter);
    prop_oneof![
        6 => Just(Op::Push),
        5 => prop_oneof![0u64..2_000, 0u64..30_000].prop_map(Op::Advance),
        6 => Just(Op::Poll),
        6 => tick.prop_map(Op::Tick),
        1 => Just(Op::End),
    ]
}

/// Options and the operations to run under them.
fn case() -> impl Strategy<Value = (Options, Vec<Op>)> {
    options().prop_flat_map(|options| {
        let ops = prop::collection::vec(op(options.window), 1..120);
        (Just(options), ops)
    })
}

#[derive(Debug, Clone)]
struct Options {
    window: u64,
    max_wait: Option<u64>,
    leading: bool,
    trailing: bool,
}

fn options() -> impl Strategy<Value = Options> {
    let window = prop_oneof![1 => Just(0u64), 1 => 0u64..2_000, 4 => 0u64..20_000];
    window
        .prop_flat_map(|window| {
            // `max_wait` below, at, or a little above the window, or anywhere.
            let max_wait = prop::option::of(prop_oneof![
                1 => Just(0u64),
                2 => (0u64..=8).prop_map(move |quarters| window + window * quarters / 4),
                2 => 0u64..40_000,
            ]);
            (Just(window), max_wait, any::<bool>(), any::<bool>())
        })
        .prop_map(|(window, max_wait, leading, trailing)| Options {
            window,
            max_wait,
            leading,
            trailing,
        })
}

/// lodash's `debounce` state, in its own names. `args` is `lastArgs`: the held item (or, for
/// batches, the held items).
#[derive(Debug)]
struct Lodash {
    wait: u64,
    max_wait: Option<u64>,
    leading: bool,
    trailing: bool,
    batch: bool,
    last_call_time: Option<u64>,
    last_invoke_time: u64,
    timer: Option<u64>,
    args: Vec<u32>,
}

impl Lodash {
    fn new(options: &Options, batch: bool) -> Self {
        Self {
            wait: options.window,
            // maxWait = max(maxWait, wait)
            max_wait: options.max_wait.map(|m| m.max(options.window)),
            leading: options.leading,
            trailing: options.trailing || batch,
            batch,
            last_call_time: None,
            last_invoke_time: 0,
            timer: None,
            args: Vec::new(),
        }
    }

    fn should_invoke(&self, time: u64) -> bool {
        let Some(last_call) = self.last_call_time else {
            return true;
        };
        time - last_call >= self.wait
            || self
                .max_wait
                .is_some_and(|max_wait| time - self.last_invoke_time >= max_wait)
    }

    /// `invokeFunc`: what is emitted (CONTRACT: nothing when both edges are off).
    fn invoke(&mut self, time: u64) -> Option<Vec<u32>> {
        self.last_invoke_time = time;
        let args = std::mem::take(&mut self.args);
        (self.leading || self.trailing).then_some(args)
    }

    fn leading_edge(&mut self, time: u64) -> Option<Vec<u32>> {
        self.last_invoke_time = time;
        self.timer = Some(time + self.wait);
        if self.leading {
            self.invoke(time)
        } else {
            None
        }
    }

    fn remaining_wait(&self, time: u64) -> u64 {
        let time_waiting = self.wait - (time - self.last_call_time.unwrap());
        match self.max_wait {
            Some(max_wait) => time_waiting.min(max_wait - (time - self.last_invoke_time)),
            None => time_waiting,
        }
    }

    fn trailing_edge(&mut self, time: u64) -> Option<Vec<u32>> {
        self.timer = None;
        if self.trailing && !self.args.is_empty() {
            return self.invoke(time);
        }
        self.args.clear();
        None
    }

    fn timer_expired(&mut self, time: u64) -> Option<Vec<u32>> {
        if self.should_invoke(time) {
            return self.trailing_edge(time);
        }
        self.timer = Some(time + self.remaining_wait(time));
        None
    }

    /// `debounced(item)` at `time`.
    fn call(&mut self, time: u64, item: u32) -> Option<Vec<u32>> {
        let is_invoking = self.should_invoke(time);
        if !self.batch {
            self.args.clear();
        }
        self.args.push(item);
        self.last_call_time = Some(time);
        if is_invoking {
            if self.timer.is_none() {
                return self.leading_edge(time);
            }
            if self.max_wait.is_some() {
                self.timer = Some(time + self.wait);
                return self.invoke(time);
            }
        }
        if self.timer.is_none() {
            // lodash: `setTimeout(timerExpired, wait)`. CONTRACT: `max_wait` counts from the
            // previous emission, so the timer waits no longer than that allows.
            self.timer = Some(time + self.remaining_wait(time));
        }
        None
    }
}

/// The model of the adapter around lodash: the source's queue, polls, the end.
#[derive(Debug)]
struct Model {
    now: u64,
    lodash: Lodash,
    queue: VecDeque<u32>,
    ended: bool,
    source_done: bool,
}

impl Model {
    fn poll(&mut self) -> Poll<Option<Vec<u32>>> {
        if !self.source_done {
            while let Some(item) = self.queue.pop_front() {
                if let Some(out) = self.lodash.call(self.now, item) {
                    return Poll::Ready(Some(out));
                }
            }
            if !self.ended {
                if self.lodash.timer.is_some_and(|at| at <= self.now)
                    && let Some(out) = self.lodash.timer_expired(self.now)
                {
                    return Poll::Ready(Some(out));
                }
                return Poll::Pending;
            }
            self.source_done = true;
        }
        // The end: the held item goes out at once if the trailing edge would emit it.
        self.lodash.timer = None;
        let held = std::mem::take(&mut self.lodash.args);
        Poll::Ready((self.lodash.trailing && !held.is_empty()).then_some(held))
    }

    /// Whether Tokio's timer wheel has reached the model's timer: the instant rounded up to a
    /// whole millisecond, against the last millisecond the paused clock reached.
    fn timer_due(&self) -> bool {
        self.lodash
            .timer
            .is_some_and(|at| at.div_ceil(1_000) <= self.now / 1_000)
    }
}

/// What the adapter under test yields, as the model's `Vec`.
trait Adapter {
    fn poll_vec(&mut self) -> Poll<Option<Vec<u32>>>;
    fn terminated(&self) -> bool;
    fn wakes(&self) -> usize;
}

impl Adapter for StreamProbe<Debounce<Fed<u32>>> {
    fn poll_vec(&mut self) -> Poll<Option<Vec<u32>>> {
        self.poll().map(|item| item.map(|item| vec![item]))
    }
    fn terminated(&self) -> bool {
        self.get_ref().is_terminated()
    }
    fn wakes(&self) -> usize {
        StreamProbe::wakes(self)
    }
}

impl Adapter for StreamProbe<DebounceBatch<Fed<u32>>> {
    fn poll_vec(&mut self) -> Poll<Option<Vec<u32>>> {
        self.poll()
    }
    fn terminated(&self) -> bool {
        self.get_ref().is_terminated()
    }
    fn wakes(&self) -> usize {
        StreamProbe::wakes(self)
    }
}

fn run<A: Adapter>(
    options: &Options,
    ops: Vec<Op>,
    batch: bool,
    build: impl FnOnce(Fed<u32>) -> A,
) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let (feed, source): (Feed<u32>, _) = fed();
        let mut adapter = build(source);
        let mut model = Model {
            now: 0,
            lodash: Lodash::new(options, batch),
            queue: VecDeque::new(),
            ended: false,
            source_done: false,
        };
        let mut next_item = 0u32;
        let mut waiting: Option<usize> = None;

        for op in ops {
            match op {
                Op::Push => {
                    if !model.ended {
                        feed.push(next_item);
                        model.queue.push_back(next_item);
                        next_item += 1;
                        waiting = None;
                    }
                }
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
                            "the window is due at {} us but the task was not woken",
                            model.lodash.timer.unwrap()
                        );
                    }
                }
                Op::Poll => {
                    let before = adapter.wakes();
                    let got = adapter.poll_vec();
                    let expected = model.poll();
                    prop_assert_eq!(&got, &expected, "at {} us", model.now);
                    waiting = got.is_pending().then_some(before);
                }
                Op::Tick(step) => {
                    if !model.ended {
                        feed.push(next_item);
                        model.queue.push_back(next_item);
                        next_item += 1;
                    }
                    for half in [step / 2, step - step / 2] {
                        let got = adapter.poll_vec();
                        let expected = model.poll();
                        prop_assert_eq!(&got, &expected, "at {} us", model.now);
                        tokio::time::advance(us(half)).await;
                        model.now += half;
                    }
                    waiting = None;
                }
            }
            prop_assert_eq!(
                adapter.terminated(),
                model.source_done && model.lodash.args.is_empty()
            );
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn debounce_matches_lodash((options, ops) in case()) {
        run(&options, ops, false, debounce_probe(options.clone()))?;
    }

    #[test]
    fn debounce_batch_matches_lodash_collecting((options, ops) in case()) {
        let built = options.clone();
        run(&options, ops, true, move |source| {
            let mut batches = source.debounce_batch(us(built.window)).leading(built.leading);
            if let Some(max_wait) = built.max_wait {
                batches = batches.max_wait(us(max_wait));
            }
            StreamProbe::new(batches)
        })?;
    }
}

fn debounce_probe(options: Options) -> impl FnOnce(Fed<u32>) -> StreamProbe<Debounce<Fed<u32>>> {
    move |source| {
        let mut debounced = source
            .debounce(us(options.window))
            .leading(options.leading)
            .trailing(options.trailing);
        if let Some(max_wait) = options.max_wait {
            debounced = debounced.max_wait(us(max_wait));
        }
        StreamProbe::new(debounced)
    }
}

#[test]
fn max_wait_after_a_max_wait_emission_counts_from_that_emission() {
    // Items at 0, 3, 6, 9 ms; the poll at 10 ms emits by `max_wait`; an item at 12 ms must go
    // out at 20 ms (`max_wait` after the emission), where lodash would wait until 22 ms.
    let options = Options {
        window: 10_000,
        max_wait: Some(10_000),
        leading: false,
        trailing: true,
    };
    let ops = vec![
        Op::Tick(3_000),
        Op::Tick(3_000),
        Op::Tick(3_000),
        Op::Tick(1_000),
        Op::Poll,
        Op::Advance(2_000),
        Op::Tick(8_000),
        Op::Poll,
    ];
    run(&options, ops, false, debounce_probe(options.clone())).unwrap();
}
