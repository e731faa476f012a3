//! `sample` and `throttle_with` on random schedules against plain reference models: RxJS's
//! `sampleTime` and `throttleTime` stepped one millisecond at a time, with the crate's rules
//! where it departs from RxJS (marked `CRATE`). Items come at whole milliseconds, often
//! several at one instant and often exactly at a tick or a throttle's end; the source may end.
//! Each case runs on a paused clock, so the adapter's own wakeups drive it: a missing wakeup
//! shows as a missing or late emission.

mod common;

use std::time::Duration;

use common::{in_ms, ms, record};
use deadlines::stream::StreamDeadlineExt;
use futures_core::Stream;
use futures_util::StreamExt as _;
use proptest::prelude::*;
use tokio::time::{Instant, sleep_until};

/// Items at `start + t` ms, in order; then the end at `end` ms, or never.
fn source(start: Instant, items: Vec<(u64, u32)>, end: Option<u64>) -> impl Stream<Item = u32> {
    let tail = async move {
        match end {
            Some(end) => sleep_until(start + ms(end)).await,
            None => std::future::pending().await,
        }
    };
    futures_util::stream::iter(items)
        .then(move |(t, item)| async move {
            sleep_until(start + ms(t)).await;
            item
        })
        .chain(futures_util::stream::once(tail).filter_map(|()| std::future::ready(None)))
}

#[derive(Debug, Clone)]
struct Case {
    period: u64,
    items: Vec<(u64, u32)>,
    end: Option<u64>,
}

impl Case {
    /// When the recording stops: the end, or well after the last item.
    fn horizon(&self) -> u64 {
        let last = self.items.last().map_or(0, |&(t, _)| t);
        self.end.unwrap_or(last + 3 * self.period.max(1) + 2)
    }
}

/// Gaps between items drawn around the period (0, 1, the period and its neighbours, twice
/// it) or anywhere below three periods; the end, if any, a gap after the last item.
fn case(periods: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = Case> {
    periods.prop_flat_map(|period| {
        let p = period.max(1);
        let gap = prop_oneof![
            3 => Just(0u64),
            1 => Just(1u64),
            1 => Just(p - 1),
            2 => Just(p),
            1 => Just(p + 1),
            1 => Just(2 * p),
            3 => 0..3 * p,
        ];
        let gaps = prop::collection::vec(gap, 0..40);
        let end = prop::option::of(prop_oneof![Just(0u64), 0..2 * p]);
        (gaps, end).prop_map(move |(gaps, end)| {
            let mut at = 0;
            let items: Vec<(u64, u32)> = gaps
                .into_iter()
                .enumerate()
                .map(|(n, gap)| {
                    at += gap;
                    (at, n as u32)
                })
                .collect();
            Case {
                period,
                end: end.map(|gap| at + gap),
                items,
            }
        })
    })
}

/// What a model emits, and the instant of the end (if the source ends).
type Expected = (Vec<(u64, u32)>, Option<u64>);

/// RxJS `sampleTime`: ticks at k x period, k >= 1, from the first poll (0); at each tick the
/// latest item since the tick before, if any; an item at a tick's instant belongs to it.
/// CRATE: the period is at least 1 ms; at the end the held item is emitted at once (RxJS
/// drops it).
fn sample_model(case: &Case) -> Expected {
    let p = case.period.max(1);
    let mut out = Vec::new();
    let mut held = None;
    let mut items = case.items.iter().peekable();
    for t in 0..=case.horizon() {
        while let Some(&(_, item)) = items.next_if(|&&(at, _)| at == t) {
            held = Some(item);
        }
        if case.end == Some(t) {
            out.extend(held.map(|item| (t, item)));
            return (out, Some(t));
        }
        if t > 0 && t % p == 0 {
            out.extend(held.take().map(|item| (t, item)));
        }
    }
    (out, None)
}

/// RxJS `throttleTime(period, { leading, trailing })`: the items of an instant are taken,
/// then the end of the throttle is judged (again after a trailing emission, which starts the
/// next throttle: a zero period ends at once). CRATE: at the end the held item is emitted at
/// once (RxJS waits for the throttle to end).
fn throttle_model(case: &Case, leading: bool, trailing: bool) -> Expected {
    let period = case.period;
    let mut out = Vec::new();
    let (mut until, mut held) = (None::<u64>, None);
    let mut items = case.items.iter().peekable();
    for t in 0..=case.horizon() {
        while let Some(&(_, item)) = items.next_if(|&&(at, _)| at == t) {
            if until.is_none() {
                until = Some(t + period);
                if leading {
                    out.push((t, item));
                    continue;
                }
            }
            if trailing {
                held = Some(item);
            }
        }
        if case.end == Some(t) {
            out.extend(held.map(|item| (t, item)));
            return (out, Some(t));
        }
        while until.is_some_and(|end| end <= t) {
            match held.take() {
                Some(item) => {
                    out.push((t, item));
                    until = Some(t + period);
                }
                None => until = None,
            }
        }
    }
    (out, None)
}

/// Runs `adapter` on the case's source on a fresh paused runtime: what it yielded, and when
/// it ended.
fn run<S: Stream<Item = u32>>(
    case: &Case,
    adapter: impl FnOnce(Instant) -> S,
) -> (Vec<(u64, u32)>, Option<u64>) {
    let rt = common::paused_runtime();
    rt.block_on(async {
        let start = Instant::now();
        let recorded = record(
            start,
            adapter(start),
            ms(case.horizon()) + Duration::from_micros(1),
        )
        .await;
        let ended = recorded.ended.map(|at| {
            assert_eq!(at.subsec_nanos() % 1_000_000, 0, "not a whole millisecond");
            at.as_millis() as u64
        });
        (in_ms(&recorded), ended)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn sample_matches_rxjs_sample_time(case in case(0..=40)) {
        let got = run(&case, |start| {
            source(start, case.items.clone(), case.end).sample(ms(case.period))
        });
        prop_assert_eq!(got, sample_model(&case));
    }

    #[test]
    fn throttle_with_matches_rxjs_throttle_time(
        case in case(0..=40),
        leading in any::<bool>(),
        trailing in any::<bool>(),
    ) {
        let got = run(&case, |start| {
            source(start, case.items.clone(), case.end)
                .throttle_with(ms(case.period))
                .leading(leading)
                .trailing(trailing)
        });
        let expected = throttle_model(&case, leading, trailing);
        // Any two emissions at least a period apart, whatever the options.
        for pair in expected.0.windows(2) {
            prop_assert!(pair[1].0 - pair[0].0 >= case.period || case.end == Some(pair[1].0));
        }
        prop_assert_eq!(got, expected);
    }
}
