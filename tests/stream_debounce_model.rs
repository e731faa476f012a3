//! `debounce`, `debounce_batch` and `debounce_with` with random options and random item
//! schedules, against a plain transcription of lodash 4.17.21's `debounce`
//! ([`common::lodash`], times in microseconds since the start).
//!
//! The harness decides when items arrive, when the stream is polled and when it is flushed or
//! cancelled; the model takes each poll's ready items as calls at the poll's instant (items
//! before the timer, the contract's rule), yields an emission as soon as one is due, and runs
//! lodash's `timerExpired` when the poll finds the timer's instant passed. The model departs
//! from lodash in the places the contract does, each marked `CONTRACT` in it. It also checks
//! the wakeups: once the timer wheel (which rounds up to whole milliseconds) reaches the
//! model's timer, the task was woken.

mod common;

use std::collections::VecDeque;
use std::task::Poll;
use std::time::Duration;

use common::lodash::{Lodash, Options, timer_due};
use common::{Fed, Feed, StreamProbe, fed, us};
use deadlines::stream::{Debounce, DebounceBatch, DebounceWith, StreamDeadlineExt};
use futures_core::stream::FusedStream;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// An item arrives (the source's queue grows).
    Push,
    /// The paused clock moves on by this many microseconds.
    Advance(u64),
    /// The paused clock moves on to the model's timer, exactly, if it is pending.
    ToTimer,
    Poll,
    /// Steady input: an item arrives and the stream is polled; half the step later it is
    /// polled with no item ready; the clock moves on by the other half.
    Tick(u64),
    /// The source ends once its queue is drained.
    End,
    /// lodash's `flush`: the held item is returned, not yielded.
    Flush,
    /// lodash's `cancel`.
    Cancel,
}

/// The operations, with the steps of `Tick` drawn relative to the window (up to twice it), so
/// that steady input often crosses `max_wait` and the window edges.
fn op(window: u64) -> impl Strategy<Value = Op> {
    let tick =
        (0u64..16, 0u64..500).prop_map(move |(eighths, jitter)| window * eighths / 8 + jitter);
    prop_oneof![
        6 => Just(Op::Push),
        5 => prop_oneof![0u64..2_000, 0u64..30_000].prop_map(Op::Advance),
        2 => Just(Op::ToTimer),
        6 => Just(Op::Poll),
        6 => tick.prop_map(Op::Tick),
        1 => Just(Op::End),
        1 => Just(Op::Flush),
        1 => Just(Op::Cancel),
    ]
}

/// Options and the operations to run under them; `max_items` only for batches.
fn case(batch: bool) -> impl Strategy<Value = (Options, Vec<Op>)> {
    options(batch).prop_flat_map(|options| {
        let ops = prop::collection::vec(op(options.window), 1..120);
        (Just(options), ops)
    })
}

fn options(batch: bool) -> impl Strategy<Value = Options> {
    let window = prop_oneof![1 => Just(0u64), 1 => 0u64..2_000, 4 => 0u64..20_000];
    let max_items = if batch {
        prop::option::of(0usize..=5).boxed()
    } else {
        Just(None).boxed()
    };
    (window, max_items)
        .prop_flat_map(|(window, max_items)| {
            // `max_wait` below, at, or a little above the window, or anywhere.
            let max_wait = prop::option::of(prop_oneof![
                1 => Just(0u64),
                2 => (0u64..=8).prop_map(move |quarters| window + window * quarters / 4),
                2 => 0u64..40_000,
            ]);
            (
                Just(window),
                max_wait,
                any::<bool>(),
                any::<bool>(),
                Just(max_items),
            )
        })
        .prop_map(|(window, max_wait, leading, trailing, max_items)| Options {
            window,
            max_wait,
            leading,
            trailing,
            max_items,
        })
}

/// The model of the adapter around lodash: the source's queue, polls, the end.
#[derive(Debug)]
struct Model {
    now: u64,
    lodash: Lodash,
    /// `debounce_with`: the window of each item, by its number.
    windows: Option<Vec<u64>>,
    queue: VecDeque<u32>,
    ended: bool,
    source_done: bool,
}

impl Model {
    fn new(lodash: Lodash, windows: Option<Vec<u64>>) -> Self {
        Self {
            now: 0,
            lodash,
            windows,
            queue: VecDeque::new(),
            ended: false,
            source_done: false,
        }
    }

    fn call(&mut self, item: u32) -> Option<Vec<u32>> {
        match &self.windows {
            Some(windows) => {
                let window = windows[item as usize % windows.len()];
                self.lodash.call_with_window(self.now, item, window)
            }
            None => self.lodash.call(self.now, item),
        }
    }

    fn poll(&mut self) -> Poll<Option<Vec<u32>>> {
        if !self.source_done {
            while let Some(item) = self.queue.pop_front() {
                if let Some(out) = self.call(item) {
                    return Poll::Ready(Some(out));
                }
            }
            if !self.ended {
                if self.lodash.timer().is_some_and(|at| at <= self.now)
                    && let Some(out) = self.lodash.timer_expired(self.now)
                {
                    return Poll::Ready(Some(out));
                }
                return Poll::Pending;
            }
            self.source_done = true;
        }
        // The end: the held item goes out at once if the trailing edge would emit it.
        Poll::Ready(self.lodash.end())
    }

    /// Whether Tokio's timer wheel has reached the model's timer.
    fn timer_due(&self) -> bool {
        self.lodash
            .timer()
            .is_some_and(|at| timer_due(at, self.now))
    }
}

/// What the adapter under test yields, as the model's `Vec`.
trait Adapter {
    fn poll_vec(&mut self) -> Poll<Option<Vec<u32>>>;
    fn flush_vec(&mut self) -> Option<Vec<u32>>;
    fn cancel(&mut self) -> bool;
    fn terminated(&self) -> bool;
    fn wakes(&self) -> usize;
}

impl Adapter for StreamProbe<Debounce<Fed<u32>>> {
    fn poll_vec(&mut self) -> Poll<Option<Vec<u32>>> {
        self.poll().map(|item| item.map(|item| vec![item]))
    }
    fn flush_vec(&mut self) -> Option<Vec<u32>> {
        self.get().flush().map(|item| vec![item])
    }
    fn cancel(&mut self) -> bool {
        self.get().cancel()
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
    fn flush_vec(&mut self) -> Option<Vec<u32>> {
        self.get().flush()
    }
    fn cancel(&mut self) -> bool {
        self.get().cancel()
    }
    fn terminated(&self) -> bool {
        self.get_ref().is_terminated()
    }
    fn wakes(&self) -> usize {
        StreamProbe::wakes(self)
    }
}

impl<F: FnMut(&u32) -> Duration> Adapter for StreamProbe<DebounceWith<Fed<u32>, F>> {
    fn poll_vec(&mut self) -> Poll<Option<Vec<u32>>> {
        self.poll().map(|item| item.map(|item| vec![item]))
    }
    fn flush_vec(&mut self) -> Option<Vec<u32>> {
        self.get().flush().map(|item| vec![item])
    }
    fn cancel(&mut self) -> bool {
        self.get().cancel()
    }
    fn terminated(&self) -> bool {
        self.get_ref().is_terminated()
    }
    fn wakes(&self) -> usize {
        StreamProbe::wakes(self)
    }
}

fn run<A: Adapter>(
    mut model: Model,
    ops: Vec<Op>,
    build: impl FnOnce(Fed<u32>) -> A,
) -> Result<(), TestCaseError> {
    let rt = common::paused_runtime();
    rt.block_on(async move {
        let (feed, source): (Feed<u32>, _) = fed();
        let mut adapter = build(source);
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
                Op::Advance(_) | Op::ToTimer => {
                    let step = match op {
                        Op::Advance(step) => step,
                        _ => model
                            .lodash
                            .timer()
                            .map_or(0, |at| at.saturating_sub(model.now)),
                    };
                    tokio::time::advance(us(step)).await;
                    model.now += step;
                    if let Some(before) = waiting
                        && model.timer_due()
                    {
                        prop_assert!(
                            adapter.wakes() > before,
                            "the window is due at {} us but the task was not woken",
                            model.lodash.timer().unwrap()
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
                Op::Flush => {
                    let got = adapter.flush_vec();
                    let expected = model.lodash.flush(model.now);
                    prop_assert_eq!(&got, &expected, "flush at {} us", model.now);
                }
                Op::Cancel => {
                    let got = adapter.cancel();
                    let expected = model.lodash.cancel();
                    prop_assert_eq!(got, expected, "cancel at {} us", model.now);
                }
            }
            prop_assert_eq!(
                adapter.terminated(),
                model.source_done && !model.lodash.holding()
            );
        }
        Ok(())
    })
}

/// The windows of `debounce_with`'s items: drawn per item from a small set that has `ZERO`.
fn windows() -> impl Strategy<Value = Vec<u64>> {
    let set =
        prop::collection::vec(prop_oneof![0u64..2_000, 0u64..20_000], 1..=3).prop_map(|mut set| {
            set.push(0);
            set
        });
    // Item `n` has window `n % len`: the pattern repeats over a long case.
    set.prop_flat_map(|set| prop::collection::vec(prop::sample::select(set), 1..=32))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn debounce_matches_lodash((options, ops) in case(false)) {
        let model = Model::new(Lodash::new(&options, false), None);
        run(model, ops, debounce_probe(options.clone()))?;
    }

    #[test]
    fn debounce_batch_matches_lodash_collecting((options, ops) in case(true)) {
        let model = Model::new(Lodash::new(&options, true), None);
        let built = options.clone();
        run(model, ops, move |source| {
            let mut batches = source.debounce_batch(us(built.window)).leading(built.leading);
            if let Some(max_wait) = built.max_wait {
                batches = batches.max_wait(us(max_wait));
            }
            if let Some(max_items) = built.max_items {
                batches = batches.max_items(max_items);
            }
            StreamProbe::new(batches)
        })?;
    }

    #[test]
    fn debounce_with_matches_lodash_with_a_window_per_item(
        (options, ops) in case(false),
        windows in windows(),
    ) {
        let lodash = Lodash::new(&options, false).with_window_per_call();
        let model = Model::new(lodash, Some(windows.clone()));
        run(model, ops, move |source| {
            let mut debounced = source
                .debounce_with(move |&item: &u32| us(windows[item as usize % windows.len()]))
                .leading(options.leading)
                .trailing(options.trailing);
            if let Some(max_wait) = options.max_wait {
                debounced = debounced.max_wait(us(max_wait));
            }
            StreamProbe::new(debounced)
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
        max_items: None,
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
    let model = Model::new(Lodash::new(&options, false), None);
    run(model, ops, debounce_probe(options.clone())).unwrap();
}
