//! `Keepalives` beside what it replaces, at 10^4, 10^5, 10^6 and 10^7 keys, keys touched in a
//! shuffled order:
//!
//! - `keepalives_beat/{ours,heartbeat,heartbeat_held,floor,delay_queue,delay_queue_held}/N`: one
//!   heartbeat. Ours: `Keepalives::beat(&key)`; or `Heartbeat::beat()` on the handle `insert`
//!   returned (the session's own task beating), picked from a vector in shuffled order
//!   (`heartbeat`: the handle itself is a cache miss) or walked in beating order
//!   (`heartbeat_held`: the handle is in cache, as in the task that holds it). Baseline:
//!   `DelayQueue::reset(&map[&key], timeout)`, with a `HashMap<u64, delay_queue::Key>`; and,
//!   given the same advantage as `heartbeat_held`, `reset` on `delay_queue::Key`s walked in
//!   beating order (`delay_queue_held`). And the floor under any design in which the owner
//!   sees the beats (`floor`): the clock read and one `fetch_max` on a plain array of one
//!   8-byte word per key. In every case the set's (or queue's, or array's) per-key state is
//!   touched in a shuffled order.
//! - `keepalives_insert/...`: inserting all N keys into an empty set (time per key). At 10^7,
//!   this group and the next two time ours only. `{ours,delay_queue}_foldhash/N` (to 10^6):
//!   the same pair with one fast hasher, foldhash, on both sides instead of std's SipHash;
//!   `ours_held/N` (to 10^6): ours keeping each returned `Heartbeat`, dropped untimed.
//! - `keepalives_remove/...`: removing all N keys (time per key). At 10^7: removing 10^6 of
//!   the set's keys, put back untimed after each iteration (time per key removed).
//! - `keepalives_expire/...`: every key due at once, on a paused clock: the time to yield
//!   them all (time per key). At 10^7: 10^6 keys due at once in a set of 10^7 (time per key
//!   yielded).
//! - Memory, printed before the benches: heap bytes per key (a counting allocator) for ours,
//!   for `DelayQueue` + map, and for one spawned task with a `Sleep` per key; and for ours and
//!   `DelayQueue` again with every key's handle held (a `Vec<Heartbeat>`, a
//!   `Vec<delay_queue::Key>`), as a server's session tasks hold them.
//!
//! Run: `cargo bench --bench keepalives`, then
//! `python3 scripts/bench_ratios.py keepalives_beat` (and `_insert`, `_remove`, `_expire`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::future::poll_fn;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use deadlines::{Heartbeat, Keepalives};
use tokio::runtime::Runtime;
use tokio_util::time::{DelayQueue, delay_queue};

const SIZES: [usize; 4] = [10_000, 100_000, 1_000_000, 10_000_000];
const TIMEOUT: Duration = Duration::from_secs(3600);

/// Counts the bytes currently allocated, to measure memory per key.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments, and only
// adds a counter update; the bench is a separate binary, not part of the library (which
// forbids unsafe code).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// 0..n in a fixed pseudo-random order (xorshift, Fisher-Yates): reproducible runs.
fn shuffled(n: usize) -> Vec<u64> {
    shuffled_with(n, 0x9E37_79B9_7F4A_7C15)
}

fn shuffled_with(n: usize, seed: u64) -> Vec<u64> {
    let mut keys: Vec<u64> = (0..n as u64).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        keys.swap(i, (state % (i as u64 + 1)) as usize);
    }
    keys
}

fn runtime(paused: bool) -> Runtime {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(paused)
        .build()
        .unwrap();
    // Some versions only honour `start_paused` from inside the runtime: make sure.
    if paused {
        rt.block_on(async {});
    }
    rt
}

fn ours(keys: &[u64]) -> Keepalives<u64> {
    let mut set = Keepalives::new(TIMEOUT);
    for &key in keys {
        drop(set.insert(key));
    }
    set
}

type Baseline = (DelayQueue<u64>, HashMap<u64, delay_queue::Key>);
type FastHash = foldhash::fast::RandomState;

fn baseline(keys: &[u64]) -> Baseline {
    let mut queue = DelayQueue::new();
    let mut map = HashMap::new();
    for &key in keys {
        map.insert(key, queue.insert(key, TIMEOUT));
    }
    (queue, map)
}

/// Heap bytes per key held by `build(keys)`'s result.
fn bytes_per_key<T>(keys: &[u64], build: impl FnOnce(&[u64]) -> T) -> f64 {
    let before = allocated();
    let built = build(keys);
    let bytes = allocated() - before;
    drop(black_box(built));
    bytes as f64 / keys.len() as f64
}

fn memory() {
    eprintln!("heap bytes per key (counting allocator):");
    eprintln!(
        "{:>9}  {:>10}  {:>18}  {:>14}  {:>8}  {:>8}  {:>15}  {:>11}  {:>8}",
        "keys",
        "keepalives",
        "delay_queue + map",
        "task per key",
        "vs dq",
        "vs task",
        "keepalives held",
        "dq held",
        "vs dq"
    );
    for n in SIZES {
        let keys = shuffled(n);
        // A running clock: a paused one would slow every later `Instant::now()` (see `beat`).
        let rt = runtime(false);
        let _guard = rt.enter();
        let ours_held = bytes_per_key(&keys, |keys| {
            let mut set = Keepalives::new(TIMEOUT);
            let held: Vec<_> = keys.iter().map(|&key| set.insert(key)).collect();
            (set, held)
        });
        let dq_held = bytes_per_key(&keys, |keys| {
            let (queue, map) = baseline(keys);
            let held: Vec<delay_queue::Key> = keys.iter().map(|key| map[key]).collect();
            (queue, map, held)
        });
        let ours = bytes_per_key(&keys, ours);
        let dq = bytes_per_key(&keys, baseline);
        // A task per key is measured up to 10^6 keys (its target's size): at 10^7 it would hold
        // 2.5 GB for a column that only grows with the count.
        let tasks = if n > 1_000_000 {
            f64::NAN
        } else {
            let before = allocated();
            let handles: Vec<_> = keys
                .iter()
                .map(|_| tokio::spawn(tokio::time::sleep(TIMEOUT)))
                .collect();
            // Let every task run once, so its `Sleep` is registered with the timer.
            rt.block_on(tokio::task::yield_now());
            // The vector of handles is the bench's, not the tasks': leave it out.
            let handles_bytes = handles.capacity() * std::mem::size_of_val(&handles[0]);
            let bytes = allocated() - before - handles_bytes as isize;
            for handle in &handles {
                handle.abort();
            }
            rt.block_on(tokio::task::yield_now());
            bytes as f64 / n as f64
        };
        eprintln!(
            "{n:>9}  {ours:>10.1}  {dq:>18.1}  {tasks:>14.1}  {:>7.2}x  {:>7.2}x  {ours_held:>15.1}  {dq_held:>11.1}  {:>7.2}x",
            ours / dq,
            ours / tasks,
            ours_held / dq_held
        );
    }
}

fn beat(c: &mut Criterion) {
    memory();
    let rt = runtime(false);
    // Sets and queues are built inside the runtime (they need its timer) and beaten from
    // outside it. This crate's dev-dependencies turn on tokio's `test-util`: once any runtime
    // in the process has paused its clock, every `Instant::now()` looks for the current
    // runtime's clock, and locks it inside a runtime. No runtime is paused before this group
    // (the memory figures use a running clock; the expiry group, which pauses, runs last),
    // so both sides pay the clock read of a production build plus one atomic load.
    let mut group = c.benchmark_group("keepalives_beat");
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_secs(1));
    for n in SIZES {
        // Inserted in one shuffled order, beaten in another: neither the map nor the memory
        // behind it is walked in allocation order.
        let keys = shuffled(n);
        let touch = shuffled_with(n, 0xD1B5_4A32_D192_ED03);
        group.throughput(Throughput::Elements(1));
        let set = built(&rt, || ours(&keys));
        group.bench_with_input(BenchmarkId::new("ours", n), &touch, |b, touch| {
            let mut i = 0;
            b.iter(|| {
                i = next(i, touch.len());
                set.beat(&touch[i])
            })
        });
        // The same beats through the handles `insert` returns, as each session's own task
        // would make them: no lookup, the handle points at the key's word.
        let mut set = built(&rt, || Keepalives::new(TIMEOUT));
        let mut handles: Vec<_> = keys.iter().map(|&key| (key, set.insert(key))).collect();
        handles.sort_unstable_by_key(|&(key, _)| key);
        group.bench_function(BenchmarkId::new("heartbeat", n), |b| {
            let mut i = 0;
            b.iter(|| {
                i = next(i, touch.len());
                handles[touch[i] as usize].1.beat()
            })
        });
        // The same beats, each handle already in cache, as it is for the session task that
        // holds it and has just been polled: handles laid out in beating order, the words
        // they point at still touched in a shuffled order.
        let held: Vec<_> = touch
            .iter()
            .map(|&key| handles[key as usize].1.clone())
            .collect();
        drop(handles);
        group.bench_function(BenchmarkId::new("heartbeat_held", n), |b| {
            let mut i = 0;
            b.iter(|| {
                i = next(i, held.len());
                held[i].beat()
            })
        });
        drop((set, held));
        // The floor under any design in which the owner sees a session's beats: the clock read
        // and one `fetch_max` on that session's word, here a plain array of 8-byte words (the
        // least memory a word can take) touched in the same shuffled order.
        let origin = tokio::time::Instant::now();
        let words: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
        group.bench_with_input(BenchmarkId::new("floor", n), &touch, |b, touch| {
            let mut i = 0;
            b.iter(|| {
                i = next(i, touch.len());
                let nanos = tokio::time::Instant::now()
                    .saturating_duration_since(origin)
                    .as_nanos();
                words[touch[i] as usize]
                    .fetch_max(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed)
            })
        });
        drop(words);
        let (mut queue, map) = built(&rt, || baseline(&keys));
        group.bench_with_input(BenchmarkId::new("delay_queue", n), &touch, |b, touch| {
            let mut i = 0;
            b.iter(|| {
                i = next(i, touch.len());
                queue.reset(&map[&touch[i]], TIMEOUT)
            })
        });
        // The baseline given the same advantage: each session holds its `delay_queue::Key`
        // (no map lookup), in beating order. Not the contract's baseline; shown beside it.
        let held: Vec<_> = touch.iter().map(|key| map[key]).collect();
        group.bench_function(BenchmarkId::new("delay_queue_held", n), |b| {
            let mut i = 0;
            b.iter(|| {
                i = next(i, held.len());
                queue.reset(&held[i], TIMEOUT)
            })
        });
    }
    group.finish();
}

/// The index after `i` in a walk over `len` items, wrapping: a compare, not a division (a
/// 64-bit `%` costs several nanoseconds, a tenth of the cheapest beat timed here).
fn next(i: usize, len: usize) -> usize {
    if i + 1 == len { 0 } else { i + 1 }
}

/// What `build` returns, built inside `rt`.
fn built<T>(rt: &Runtime, build: impl FnOnce() -> T) -> T {
    let _guard = rt.enter();
    build()
}

/// A group timed per key: ten samples of the same number of iterations (at 10^7 keys an
/// iteration takes seconds, and criterion's default, linear, sampling would run 55 of them).
fn per_key<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_millis(500));
    group
}

/// Times `work` over a fresh set of each kind per sample, per key, inside the runtime the
/// caller entered; `ids` names ours and the baseline.
#[allow(clippy::too_many_arguments)]
fn per_key_group<A, B>(
    c: &mut Criterion,
    name: &str,
    ids: [&str; 2],
    setup_ours: impl Fn(&[u64]) -> A,
    work_ours: impl Fn(&mut A, &[u64]),
    setup_baseline: impl Fn(&[u64]) -> B,
    work_baseline: impl Fn(&mut B, &[u64]),
    sizes: &[usize],
) {
    let mut group = per_key(c, name);
    for &n in sizes {
        let keys = shuffled(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new(ids[0], n), &keys, |b, keys| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut state = setup_ours(keys);
                    let start = std::time::Instant::now();
                    work_ours(&mut state, keys);
                    total += start.elapsed();
                    drop(state);
                }
                total
            })
        });
        // The baselines' ratios are targets at 10^6; at 10^7 only our own per-key cost is (its
        // growth from 10^4), and each of criterion's eleven iterations (a warm-up and ten
        // samples) of a `DelayQueue` that size takes 5 to 13 s with its setup.
        if n > 1_000_000 {
            continue;
        }
        group.bench_with_input(BenchmarkId::new(ids[1], n), &keys, |b, keys| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut state = setup_baseline(keys);
                    let start = std::time::Instant::now();
                    work_baseline(&mut state, keys);
                    total += start.elapsed();
                    drop(state);
                }
                total
            })
        });
    }
    group.finish();
}

/// Inserts every key, dropping each `Heartbeat` at once.
fn insert_all<S: BuildHasher>(set: &mut Keepalives<u64, S>, keys: &[u64]) {
    for &key in keys {
        drop(set.insert(key));
    }
}

/// Inserts every key into the queue and its key into the map.
fn insert_all_baseline<S: BuildHasher>(
    (queue, map): &mut (DelayQueue<u64>, HashMap<u64, delay_queue::Key, S>),
    keys: &[u64],
) {
    for &key in keys {
        map.insert(key, queue.insert(key, TIMEOUT));
    }
}

fn insert(c: &mut Criterion) {
    let rt = runtime(false);
    let _guard = rt.enter();
    per_key_group(
        c,
        "keepalives_insert",
        ["ours", "delay_queue"],
        |_| Keepalives::new(TIMEOUT),
        insert_all,
        |_| (DelayQueue::new(), HashMap::new()),
        insert_all_baseline,
        &SIZES,
    );
    // The same pair with one fast hasher on both sides (hashbrown's default, foldhash), for
    // keys no adversary picks: what our structure costs beside `DelayQueue`'s once neither
    // pays for SipHash.
    per_key_group(
        c,
        "keepalives_insert",
        ["ours_foldhash", "delay_queue_foldhash"],
        |_| Keepalives::with_hasher(TIMEOUT, FastHash::default()),
        insert_all,
        |_| (DelayQueue::new(), HashMap::default()),
        insert_all_baseline::<FastHash>,
        &SIZES[..3],
    );
    // Ours with every returned `Heartbeat` kept (as a session's task keeps it) and dropped
    // untimed: the insert without the two atomic decrements of the drop. The slots for the
    // handles are written once before timing, so the pushes do not fault pages in.
    let mut group = per_key(c, "keepalives_insert");
    for n in SIZES[..3].iter().copied() {
        let keys = shuffled(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("ours_held", n), &keys, |b, keys| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut set = Keepalives::new(TIMEOUT);
                    let mut held: Vec<Option<Heartbeat>> = (0..keys.len()).map(|_| None).collect();
                    let start = std::time::Instant::now();
                    for (&key, handle) in keys.iter().zip(&mut held) {
                        *handle = Some(set.insert(key));
                    }
                    total += start.elapsed();
                    drop((held, set));
                }
                total
            })
        });
    }
    group.finish();
}

fn remove(c: &mut Criterion) {
    let rt = runtime(false);
    let _guard = rt.enter();
    per_key_group(
        c,
        "keepalives_remove",
        ["ours", "delay_queue"],
        ours,
        |set, keys| {
            for key in keys.iter().rev() {
                set.remove(key);
            }
        },
        baseline,
        |(queue, map): &mut Baseline, keys| {
            for key in keys.iter().rev() {
                if let Some(entry) = map.remove(key) {
                    queue.remove(&entry);
                }
            }
        },
        &SIZES[..3],
    );
    // At 10^7, one set, built once: each iteration removes a slice of its keys, then puts
    // them back untimed.
    let keys = shuffled(BIG);
    let mut set = ours(&keys);
    let slice = &keys[..SLICE];
    let mut group = per_key(c, "keepalives_remove");
    group.throughput(Throughput::Elements(SLICE as u64));
    group.bench_function(BenchmarkId::new("ours", BIG), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = std::time::Instant::now();
                for key in slice {
                    set.remove(key);
                }
                total += start.elapsed();
                for &key in slice {
                    drop(set.insert(key));
                }
            }
            total
        })
    });
    group.finish();
}

/// The largest size, at which the remove and expiry groups time a slice of a set built once
/// (building one takes seconds, and criterion's eleven iterations would each need a fresh
/// one): `SLICE` of its `BIG` keys removed, or expired, per iteration, and put back untimed.
const BIG: usize = 10_000_000;
const SLICE: usize = 1_000_000;

fn expire(c: &mut Criterion) {
    // A paused clock: every key is due after one advance, and no real time passes.
    let rt = runtime(true);
    let _guard = rt.enter();
    let drain_ours = |set: &mut Keepalives<u64>, keys: &[u64]| {
        rt.block_on(async {
            tokio::time::advance(TIMEOUT).await;
            for _ in 0..keys.len() {
                black_box(poll_fn(|cx| set.poll_expired(cx)).await);
            }
        })
    };
    let drain_baseline = |(queue, map): &mut Baseline, keys: &[u64]| {
        rt.block_on(async {
            tokio::time::advance(TIMEOUT).await;
            let mut cx = Context::from_waker(Waker::noop());
            for _ in 0..keys.len() {
                let expired = loop {
                    match queue.poll_expired(&mut cx) {
                        Poll::Ready(Some(expired)) => break expired,
                        _ => tokio::task::yield_now().await,
                    }
                };
                map.remove(expired.get_ref());
            }
        })
    };
    per_key_group(
        c,
        "keepalives_expire",
        ["ours", "delay_queue"],
        ours,
        drain_ours,
        baseline,
        drain_baseline,
        &SIZES[..3],
    );
    // At 10^7: the set holds `BIG - SLICE` keys that never come due here; each iteration
    // inserts `SLICE` more (untimed), lets the clock pass their deadline, and times yielding
    // them.
    let keys = shuffled(BIG);
    let (stay, slice) = keys.split_at(BIG - SLICE);
    let mut set = built(&rt, || {
        let mut set = Keepalives::new(TIMEOUT * 1_000);
        for &key in stay {
            drop(set.insert(key));
        }
        set
    });
    let mut group = per_key(c, "keepalives_expire");
    group.throughput(Throughput::Elements(SLICE as u64));
    group.bench_function(BenchmarkId::new("ours", BIG), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(async {
                    for &key in slice {
                        drop(set.insert_with_timeout(key, TIMEOUT));
                    }
                    tokio::time::advance(TIMEOUT).await;
                    let start = std::time::Instant::now();
                    for _ in 0..slice.len() {
                        black_box(poll_fn(|cx| set.poll_expired(cx)).await);
                    }
                    total += start.elapsed();
                });
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, beat, insert, remove, expire);
criterion_main!(benches);
