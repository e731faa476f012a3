//! `Keepalives` across the levels of its timing wheel, whose buckets are 1 ms, 64 ms, 4.096 s,
//! 4.4 min, 4.7 h, 12.4 days and 2.2 years wide: a key's deadline stays exact to the
//! nanosecond, whichever level it waits in, on each side of each level's boundary, after
//! beats and shorter re-inserts, and inside one millisecond; and a random model with
//! timeouts at every level and thousands of keys.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{advance_to, counting_waker, drain};
use deadlines::Keepalives;
use futures_util::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRunner};
use tokio::time::Instant;

/// Where each level of the wheel starts, in ms: 64^1 to 64^6.
const LEVELS: [u64; 6] = [64, 4096, 262_144, 1 << 24, 1 << 30, 1 << 36];

/// What every duration saturates to, as Tokio's `sleep` does.
const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);

const NS: Duration = Duration::from_nanos(1);

/// Timeouts on each side of each level's boundary, inside the first millisecond, and the
/// largest.
fn timeouts() -> Vec<Duration> {
    let mut timeouts = vec![
        Duration::ZERO,
        NS,
        Duration::from_micros(1),
        Duration::from_micros(999),
        Duration::from_millis(1) - NS,
        Duration::from_millis(1),
        Duration::from_millis(1) + NS,
        Duration::from_millis(63),
    ];
    for level in LEVELS {
        let boundary = Duration::from_millis(level);
        timeouts.extend([
            boundary - NS,
            boundary,
            boundary + NS,
            boundary + boundary / 2,
        ]);
    }
    timeouts.extend([THIRTY_YEARS - NS, THIRTY_YEARS, Duration::MAX]);
    timeouts
}

/// Advances to each deadline in turn and drains the set a nanosecond before it and at it:
/// exactly the keys due at each deadline come out, at it, and nothing else.
async fn expect_exact(set: &mut Keepalives<usize>, start: Instant, due: &[(usize, Instant)]) {
    let (waker, _) = counting_waker();
    let mut due = due.to_vec();
    due.sort_by_key(|&(key, at)| (at, key));
    let mut rest = &due[..];
    while let Some(&(_, at)) = rest.first() {
        let together = rest.iter().take_while(|(_, t)| *t == at).count();
        let (now, later) = rest.split_at(together);
        if at > Instant::now() {
            advance_to(start, at - NS - start).await;
            assert_eq!(drain(set, &waker), [], "nothing before {:?}", at - start);
            advance_to(start, at - start).await;
        }
        let want: Vec<_> = now.to_vec();
        assert_eq!(drain(set, &waker), want, "at {:?}", at - start);
        rest = later;
    }
    assert!(set.is_empty());
}

#[tokio::test(start_paused = true)]
async fn keys_expire_at_their_exact_nanosecond_on_each_side_of_every_level_boundary() {
    let start = Instant::now();
    let mut set = Keepalives::new(Duration::from_secs(1));
    // Off every boundary of the wheel's milliseconds and levels.
    let inserted = Duration::from_millis(4_196_037) + Duration::from_micros(250);
    advance_to(start, inserted).await;
    let mut due = Vec::new();
    for (key, timeout) in timeouts().into_iter().enumerate() {
        set.insert_with_timeout(key, timeout);
        due.push((key, start + inserted + timeout.min(THIRTY_YEARS)));
    }
    expect_exact(&mut set, start, &due).await;
}

#[tokio::test(start_paused = true)]
async fn keys_beaten_at_every_level_expire_a_timeout_after_their_last_beat() {
    let (waker, _) = counting_waker();
    for level in LEVELS {
        let start = Instant::now();
        let mut set = Keepalives::new(Duration::from_secs(1));
        let timeout = Duration::from_millis(level + 1);
        let heartbeat = set.insert_with_timeout(level as usize, timeout);
        // Beaten a millisecond before its deadline, after its check has cascaded down through
        // the levels above: it waits a whole timeout more.
        advance_to(start, timeout - Duration::from_millis(1)).await;
        assert_eq!(drain(&mut set, &waker), []);
        assert!(heartbeat.beat());
        let due = [(level as usize, Instant::now() + timeout)];
        expect_exact(&mut set, start, &due).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_shorter_re_insert_expires_at_its_new_deadline_at_every_level() {
    let start = Instant::now();
    let mut set = Keepalives::new(Duration::from_secs(1));
    let mut due = Vec::new();
    // Each key first waits at a level, then is re-inserted with the timeout of the level below
    // (or of one millisecond), 5 ms later: the bucket it waits in comes too late.
    for (key, &level) in LEVELS.iter().enumerate() {
        set.insert_with_timeout(key, Duration::from_millis(level * 2));
    }
    advance_to(start, Duration::from_millis(5)).await;
    for (key, &level) in LEVELS.iter().enumerate() {
        let shorter = Duration::from_millis(level / 64 + 1);
        set.insert_with_timeout(key, shorter);
        due.push((key, Instant::now() + shorter));
    }
    expect_exact(&mut set, start, &due).await;
}

#[tokio::test(start_paused = true)]
async fn the_stream_wakes_within_a_millisecond_of_each_deadline_at_every_level() {
    let start = Instant::now();
    let mut set = Keepalives::new(Duration::from_secs(1));
    let mut due = HashMap::new();
    for (key, timeout) in timeouts().into_iter().enumerate() {
        set.insert_with_timeout(key, timeout);
        due.insert(key, start + timeout.min(THIRTY_YEARS));
    }
    // The paused clock jumps to each timer the set sets: the buckets' starts on the way down
    // the levels, then the deadline's millisecond, rounded up. Keys due at one poll come out
    // in no particular order.
    while !due.is_empty() {
        let (key, expired) = set.next().await.unwrap();
        assert_eq!(due.remove(&key), Some(expired.deadline()), "{key}");
        assert!(expired.overdue() < Duration::from_millis(1), "{expired:?}");
        assert!(
            due.values()
                .all(|&later| later >= expired.deadline() - Duration::from_millis(1)),
            "{key} came out more than a millisecond after another key's deadline"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_owner_is_woken_once_for_each_deadline_not_at_each_level_it_passes() {
    let start = Instant::now();
    let (waker, wakes) = counting_waker();
    let mut set = Keepalives::new(Duration::from_secs(1));
    // Inserted a quarter of a millisecond in: each deadline lies inside a millisecond, and the
    // timer (whole milliseconds) fires at the end of that millisecond.
    let inserted = Duration::from_micros(250);
    advance_to(start, inserted).await;
    let mut due = Vec::new();
    for (key, &level) in LEVELS.iter().enumerate() {
        for timeout in [level - 1, level, level + 1].map(Duration::from_millis) {
            let key = key * 3 + due.len() % 3;
            set.insert_with_timeout(key, timeout);
            due.push((key, start + inserted + timeout));
        }
    }
    assert_eq!(drain(&mut set, &waker), []);
    for (woken, (key, at)) in due.into_iter().enumerate() {
        advance_to(start, at - NS - start).await;
        assert_eq!(wakes(), woken, "no wake before {:?}", at - start);
        let end_of_its_millisecond = at - inserted + Duration::from_millis(1);
        advance_to(start, end_of_its_millisecond - start).await;
        assert_eq!(wakes(), woken + 1, "woken for {:?}", at - start);
        assert_eq!(drain(&mut set, &waker), [(key, at)]);
    }
}

/// An operation of the model at every level: timeouts and clock steps spread from 0 to 2^37
/// ms, keys from 0 to 2^12.
#[derive(Debug, Clone)]
enum Op {
    Insert(u16, u64),
    /// Inserts keys `from..from + count` with one timeout (in ns).
    InsertMany(u16, u16, u64),
    Beat(u16),
    Remove(u16),
    /// Advances the clock (in ns).
    Advance(u64),
    Drain,
}

const KEYS: u16 = 4096;

/// Nanoseconds spread over every level: a power of two up to 2^57 ns (2^37 ms), plus a part
/// of it, so that values inside one millisecond and at every level's boundary are all drawn.
fn span() -> impl Strategy<Value = u64> {
    (0u32..58, any::<u64>()).prop_map(|(bits, extra)| {
        let base = 1u64 << bits;
        base + extra % base
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..KEYS, span()).prop_map(|(key, t)| Op::Insert(key, t)),
        1 => (0..KEYS, 1000..=KEYS, span()).prop_map(|(key, n, t)| Op::InsertMany(key, n, t)),
        3 => (0..KEYS).prop_map(Op::Beat),
        1 => (0..KEYS).prop_map(Op::Remove),
        4 => span().prop_map(Op::Advance),
        3 => Just(Op::Drain),
    ]
}

fn run(ops: Vec<Op>) -> Result<usize, TestCaseError> {
    let rt = common::paused_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        let (waker, _) = counting_waker();
        let mut set = Keepalives::new(Duration::from_secs(1));
        // Key to last beat and timeout, in ns since the start.
        let mut model: HashMap<u16, (u64, u64)> = HashMap::new();
        let mut now = 0u64;
        let mut most = 0;
        let cap = |t: u64| t.min(THIRTY_YEARS.as_nanos() as u64);
        for op in ops {
            match op {
                Op::Insert(key, timeout) => {
                    set.insert_with_timeout(key, Duration::from_nanos(timeout));
                    model.insert(key, (now, cap(timeout)));
                }
                Op::InsertMany(from, count, timeout) => {
                    for key in (from..KEYS).take(usize::from(count)) {
                        set.insert_with_timeout(key, Duration::from_nanos(timeout));
                        model.insert(key, (now, cap(timeout)));
                    }
                }
                Op::Beat(key) => {
                    let beaten = model.get_mut(&key).map(|(last, _)| *last = now);
                    prop_assert_eq!(set.beat(&key), beaten.is_some());
                }
                Op::Remove(key) => {
                    prop_assert_eq!(set.remove(&key), model.remove(&key).is_some());
                }
                Op::Advance(step) => {
                    // Forty years at most, so that every deadline stays within the clock's range.
                    let step = step.min((40 * THIRTY_YEARS / 30).as_nanos() as u64 - now);
                    tokio::time::advance(Duration::from_nanos(step)).await;
                    now += step;
                }
                Op::Drain => {
                    let got = drain(&mut set, &waker);
                    let mut want: Vec<_> = model
                        .iter()
                        .filter(|(_, (last, timeout))| last + timeout <= now)
                        .map(|(&key, (last, timeout))| {
                            (key, start + Duration::from_nanos(last + timeout))
                        })
                        .collect();
                    want.sort();
                    model.retain(|_, (last, timeout)| *last + *timeout > now);
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(set.len(), model.len());
            most = most.max(model.len());
        }
        for (key, (last, timeout)) in &model {
            let deadline = start + Duration::from_nanos(last + timeout);
            prop_assert_eq!(set.deadline(key), Some(deadline));
        }
        Ok(most)
    })
}

#[test]
fn keepalives_match_the_model_with_timeouts_at_every_level_and_thousands_of_keys() {
    let mut config = ProptestConfig::with_cases(200);
    config.source_file = Some(file!());
    config.rng_algorithm = RngAlgorithm::XorShift;
    let mut runner = TestRunner::new(config);
    let most = std::cell::RefCell::new(Vec::new());
    let result = runner.run(&prop::collection::vec(op(), 1..60), |ops| {
        most.borrow_mut().push(run(ops)?);
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let most = most.into_inner();
    let big = most.iter().filter(|&&n| n >= 1000).count();
    assert!(
        big >= most.len() / 4,
        "only {big} of {} cases held 1000 keys or more",
        most.len()
    );
}
