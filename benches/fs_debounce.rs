//! `debounce_by_key` on real file-system events beside notify-debouncer-full 0.7 (the newest
//! release on notify 8; 0.8 is a release candidate on notify 9's), both with the same window
//! and notify's `RecommendedWatcher` (inotify on Linux) as the source, in a temporary
//! directory. notify-debouncer-full is built as `new_debouncer(timeout, None, ..)` builds it:
//! its tick left at its default, a quarter of the timeout (25 ms for 100 ms), and its
//! recommended file-id cache (`NoCache` on Linux), with one difference: its watcher is
//! notify's `RecommendedWatcher` behind a wrapper (`Tapped`) that counts the raw events after
//! handing them on, which every side here uses, so each knows when notify has delivered
//! everything and whether inotify's queue overflowed.
//!
//! - (a) `latency`: 1,000 files created and written once each in a burst; for each file, the
//!   time from the end of its last write (the file closed) to the emission that carries it,
//!   the last one if there are several. Target for ours: median <= window + 2 ms.
//! - (b) `idle`: once that burst has settled, the context switches (voluntary and not) of
//!   every thread of the process over 10 s, from `/proc/self/task/*/status`, minus the same
//!   count for notify's watcher alone (`idle:baseline`, the same burst received by a thread):
//!   the wakeups the debouncer itself costs while nothing changes. Target for ours: 0.
//! - (c) `memory`: live heap bytes per pending path, from a counting global allocator: 10,000
//!   files created once the watch is up; the count is taken once notify has handed over the
//!   close of the last file (and, for ours, once the adapter has taken every event), minus the
//!   count before the first file, divided by the number of paths. The window is an hour, so
//!   nothing settles. Ours is polled by hand on the measuring thread, so "every event taken,
//!   none emitted" is known, not waited for; theirs is measured through its public API.
//!   Both figures include notify's events as each side keeps them. Theirs is measured twice:
//!   with `NoCache` (what it uses on Linux) and with `FileIdMap` (what it uses on macOS and
//!   Windows: a map from every path in the watched tree to its file id).
//! - (d) `continuous`: one file, made before the watch starts, appended to every 10 ms for
//!   2 s; window 100 ms, ours with `max_wait` 500 ms. Target for ours: at least 3 emissions
//!   during the writes. Emissions are counted during the writes and in the second after.
//!
//! Events are filtered the same way on both sides: accesses are not changes and are dropped,
//! except a close after writing (ours drops them before the debounce, theirs after, as a user
//! of either would; notify-debouncer-full has no filter of its own).
//!
//! Each measurement runs in a child process (this binary again, with `DEADLINES_FS_BENCH`
//! naming the measurement and the side), so one side's threads and allocations never count
//! for the other. Run: `cargo bench --bench fs_debounce` (about 50 s); it prints a markdown
//! table. `cargo bench --bench fs_debounce -- --quick` runs the same with 2 s idle windows
//! (about 20 s); `cargo test --benches` and `cargo bench -- --test` run a smoke pass (a few
//! seconds) whose figures mean nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use deadlines::stream::StreamDeadlineExt;
use futures_core::Stream;
use futures_util::StreamExt as _;
use notify::event::{AccessKind, AccessMode};
use notify::{
    Event, EventHandler, EventKind, RecommendedWatcher, RecursiveMode, Watcher, WatcherKind,
};
use notify_debouncer_full::{DebounceEventResult, Debouncer, FileIdCache, FileIdMap, NoCache};

/// Live heap bytes: a wrapper around the system allocator that counts what is allocated and
/// not yet freed, for `memory`.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged; the
// wrapper only counts sizes. (`#![forbid(unsafe_code)]` is the library's, in src/lib.rs; a
// `GlobalAlloc` cannot be implemented without `unsafe impl`.)
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `dealloc` is `System::dealloc`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc_zeroed` is `System::alloc_zeroed`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract for `realloc` is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CHILD_ENV: &str = "DEADLINES_FS_BENCH";
const SIZE_ENV: &str = "DEADLINES_FS_BENCH_SIZE";
const WINDOW: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_millis(500);
/// The window of `memory`: nothing settles while the count is taken.
const MEMORY_WINDOW: Duration = Duration::from_secs(3600);
/// Files created between two waits for notify to catch up in `memory`: 3 events each, well
/// under inotify's default queue of 16,384.
const MEMORY_CHUNK: usize = 1_000;

/// How big a run is.
#[derive(Clone, Copy)]
struct Size {
    name: &'static str,
    burst_files: usize,
    idle: Duration,
    memory_files: usize,
    continuous_for: Duration,
    /// How long (d) counts emissions after the writes stop.
    continuous_after: Duration,
}

/// `cargo bench --bench fs_debounce`: the figures of record.
const FULL: Size = Size {
    name: "full",
    burst_files: 1_000,
    idle: Duration::from_secs(10),
    memory_files: 10_000,
    continuous_for: Duration::from_secs(2),
    continuous_after: Duration::from_secs(1),
};

/// `-- --quick`: the full run with a 2 s idle window, to check the bench itself.
const QUICK: Size = Size {
    name: "quick",
    idle: Duration::from_secs(2),
    ..FULL
};

/// `cargo test --benches`, `cargo bench -- --test`: every path once, small.
const SMOKE: Size = Size {
    name: "smoke",
    burst_files: 50,
    idle: Duration::from_millis(300),
    memory_files: 200,
    continuous_for: Duration::from_millis(300),
    continuous_after: Duration::from_millis(300),
};

fn size_named(name: &str) -> Size {
    [FULL, QUICK, SMOKE]
        .into_iter()
        .find(|size| size.name == name)
        .unwrap_or(SMOKE)
}

const JOBS: [&str; 8] = [
    "latency:ours",
    "latency:theirs",
    "idle:baseline",
    "memory:ours",
    "memory:theirs",
    "memory:theirs_file_ids",
    "continuous:ours",
    "continuous:theirs",
];

fn main() {
    if let Ok(job) = std::env::var(CHILD_ENV) {
        let size = size_named(&std::env::var(SIZE_ENV).unwrap_or_default());
        return child(&job, size);
    }
    // `cargo bench` passes `--bench`; `cargo bench -- --test` passes `--test --bench`;
    // `cargo test --benches` passes neither.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    let size = if has("--test") || !has("--bench") {
        SMOKE
    } else if has("--quick") {
        QUICK
    } else {
        FULL
    };
    let started = Instant::now();
    let mut results: HashMap<String, String> = HashMap::new();
    for job in JOBS {
        let job_started = Instant::now();
        results.extend(run_child(job, size));
        eprintln!(
            "fs_debounce: {job} took {:.1} s",
            job_started.elapsed().as_secs_f64()
        );
    }
    report(&results, size, started.elapsed());
}

/// Runs this binary again as the child `job`; returns the `key=value` pairs it printed.
fn run_child(job: &str, size: Size) -> Vec<(String, String)> {
    let output = Command::new(std::env::current_exe().expect("the bench has a path"))
        .env(CHILD_ENV, job)
        .env(SIZE_ENV, size.name)
        .output()
        .expect("the child runs");
    assert!(
        output.status.success(),
        "{job} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("result "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

fn report(results: &HashMap<String, String>, size: Size, took: Duration) {
    let get = |key: &str| results.get(key).map_or("?", String::as_str);
    let num = |key: &str| get(key).parse::<f64>().unwrap_or(f64::NAN);
    let verdict = |met: bool| match (size.name, met) {
        ("smoke", _) => "not judged (smoke)",
        (_, true) => "met",
        (_, false) => "**missed**",
    };
    let idle = |side: &str| {
        let base = num("idle_baseline");
        format!(
            "{} ({} - baseline {})",
            num(&format!("idle_{side}")) - base,
            get(&format!("idle_{side}")),
            get("idle_baseline")
        )
    };
    let window_ms = WINDOW.as_secs_f64() * 1e3;
    println!();
    println!(
        "fs_debounce ({} run, {:.0} s): window {} ms on both sides; notify-debouncer-full's tick \
         at its default, timeout / 4 = {} ms",
        size.name,
        took.as_secs_f64(),
        WINDOW.as_millis(),
        (WINDOW / 4).as_millis()
    );
    println!();
    println!("| measure | target (ours) | `debounce_by_key` | notify-debouncer-full 0.7 |");
    println!("|---|---|---|---|");
    println!(
        "| (a) latency, last write to emission, {} files: median / p90 / max (ms) | median <= {} ms: {} | {} / {} / {} | {} / {} / {} |",
        size.burst_files,
        window_ms + 2.0,
        verdict(num("latency_ours_median") <= window_ms + 2.0),
        get("latency_ours_median"),
        get("latency_ours_p90"),
        get("latency_ours_max"),
        get("latency_theirs_median"),
        get("latency_theirs_p90"),
        get("latency_theirs_max"),
    );
    println!(
        "| (a) events emitted for the {} files (in how many handler calls) | | {} | {} (in {}) |",
        size.burst_files,
        get("latency_ours_events"),
        get("latency_theirs_events"),
        get("latency_theirs_batches"),
    );
    println!(
        "| (b) context switches while idle, {} s, every thread, minus notify's watcher alone | 0: {} | {} | {} |",
        size.idle.as_secs_f64(),
        verdict(num("idle_ours") - num("idle_baseline") <= 0.0),
        idle("ours"),
        idle("theirs"),
    );
    println!(
        "| (b) threads that switched (name: count) | | {} | {} |",
        get("idle_ours_threads"),
        get("idle_theirs_threads"),
    );
    println!(
        "| (c) heap bytes per pending path, {} paths | | {} | {} (`NoCache`, Linux's default); {} (`FileIdMap`, macOS's and Windows') |",
        size.memory_files,
        get("memory_ours"),
        get("memory_theirs"),
        get("memory_theirs_file_ids"),
    );
    println!(
        "| (d) emissions of a file appended to every 10 ms for {} s (ours: max_wait {} ms): during / in the {} s after | >= 3 during: {} | {} / {} | {} / {} (events; handler calls: {} / {}) |",
        size.continuous_for.as_secs_f64(),
        MAX_WAIT.as_millis(),
        size.continuous_after.as_secs_f64(),
        verdict(num("continuous_ours_during") >= 3.0),
        get("continuous_ours_during"),
        get("continuous_ours_after"),
        get("continuous_theirs_during"),
        get("continuous_theirs_after"),
        get("continuous_theirs_batches_during"),
        get("continuous_theirs_batches_after"),
    );
    println!();
    let overflowed: Vec<&str> = JOBS
        .iter()
        .copied()
        .filter(|job| get(&format!("rescans_{job}")) != "0")
        .collect();
    if overflowed.is_empty() {
        println!("inotify's queue did not overflow in any run (no rescan event).");
    } else {
        println!(
            "**warning**: inotify's queue overflowed in {overflowed:?}: those figures are suspect."
        );
    }
    println!(
        "Command: `cargo bench --bench fs_debounce`{}",
        match size.name {
            "full" => "",
            "quick" => " (this was `-- --quick`: 2 s idle windows)",
            _ => " (this was a smoke pass: its figures mean nothing)",
        }
    );
}

fn child(job: &str, size: Size) {
    let (measure, side) = job.split_once(':').expect("measure:side");
    let dir = TempDir::new(job);
    match (measure, side) {
        ("latency", side) => latency(side, dir.path(), size),
        ("idle", "baseline") => idle_baseline(dir.path(), size),
        ("memory", side) => memory(side, dir.path(), size),
        ("continuous", side) => continuous(side, dir.path(), size),
        _ => panic!("unknown job {job}"),
    }
    result(&format!("rescans_{job}"), RESCANS.load(Ordering::Relaxed));
}

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(job: &str) -> Self {
        let name = format!(
            "deadlines-fs-bench-{}-{}",
            job.replace(':', "-"),
            std::process::id()
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).expect("a temporary directory");
        // Canonical, as the paths notify reports are.
        Self(path.canonicalize().expect("the directory exists"))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn result(key: &str, value: impl std::fmt::Display) {
    println!("result {key}={value}");
}

/// Creates `name` in `dir`, writes it and closes it; the instant it was closed.
fn write_file(dir: &Path, name: &str, contents: &[u8]) -> Instant {
    let mut file = fs::File::create(dir.join(name)).expect("create");
    file.write_all(contents).expect("write");
    drop(file);
    Instant::now()
}

/// A change to a file, rather than an access to one: accesses are dropped, except a close
/// after writing.
fn is_change(event: &Event) -> bool {
    !matches!(event.kind, EventKind::Access(_))
        || matches!(
            event.kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write))
        )
}

/// Raw events notify handed on (errors not counted), closes after writing among them, and
/// queue overflows.
static RAW_EVENTS: AtomicUsize = AtomicUsize::new(0);
static CLOSE_WRITES: AtomicUsize = AtomicUsize::new(0);
static RESCANS: AtomicUsize = AtomicUsize::new(0);

/// An event handler that hands each event on, then counts it.
struct Tap<H>(H);

impl<H: EventHandler> EventHandler for Tap<H> {
    fn handle_event(&mut self, event: notify::Result<Event>) {
        let (close_write, rescan) = match &event {
            Ok(event) => (
                event.kind == EventKind::Access(AccessKind::Close(AccessMode::Write)),
                event.need_rescan(),
            ),
            Err(_) => (false, false),
        };
        let is_event = event.is_ok();
        self.0.handle_event(event);
        RAW_EVENTS.fetch_add(usize::from(is_event), Ordering::SeqCst);
        CLOSE_WRITES.fetch_add(usize::from(close_write), Ordering::SeqCst);
        RESCANS.fetch_add(usize::from(rescan), Ordering::SeqCst);
    }
}

/// notify's `RecommendedWatcher` with its handler behind a `Tap`.
struct Tapped(RecommendedWatcher);

impl Watcher for Tapped {
    fn new<F: EventHandler>(event_handler: F, config: notify::Config) -> notify::Result<Self> {
        RecommendedWatcher::new(Tap(event_handler), config).map(Self)
    }

    fn watch(&mut self, path: &Path, recursive_mode: RecursiveMode) -> notify::Result<()> {
        self.0.watch(path, recursive_mode)
    }

    fn unwatch(&mut self, path: &Path) -> notify::Result<()> {
        self.0.unwatch(path)
    }

    fn configure(&mut self, option: notify::Config) -> notify::Result<bool> {
        self.0.configure(option)
    }

    fn kind() -> WatcherKind {
        RecommendedWatcher::kind()
    }
}

/// A tapped watcher on `dir` whose events go to `handler`.
fn watch(dir: &Path, handler: impl EventHandler) -> Tapped {
    let mut watcher = Tapped::new(handler, notify::Config::default()).expect("a watcher");
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .expect("watch the directory");
    watcher
}

/// Waits until notify has handed on `closes` closes after writing.
fn wait_for_closes(closes: usize) {
    let give_up = Instant::now() + Duration::from_secs(30);
    while CLOSE_WRITES.load(Ordering::SeqCst) < closes {
        assert!(
            Instant::now() < give_up,
            "notify handed on {} closes of {closes} (rescans: {})",
            CLOSE_WRITES.load(Ordering::SeqCst),
            RESCANS.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// An emission: the path, the instant, and which handler call it came in (ours: one call
/// per item).
type Emitted = (PathBuf, Instant, u64);

/// The events of a tapped watcher on `dir`, as a stream of notify's events on a Tokio
/// channel; the watcher drops the sender, and so ends the stream, when it is dropped.
fn bridged(dir: &Path) -> (Tapped, impl Stream<Item = Event> + use<>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let watcher = watch(dir, move |event: notify::Result<Event>| {
        if let Ok(event) = event {
            let _ = tx.send(event);
        }
    });
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (watcher, events)
}

/// Our side: notify's events through `debounce_by_key`, keyed by their first path, on a
/// current-thread runtime in a thread of its own. Each emission is sent to `emitted` with
/// its instant. The task ends when the returned watcher is dropped.
fn ours(
    dir: &Path,
    window: Duration,
    max_wait: Option<Duration>,
    emitted: mpsc::Sender<Emitted>,
) -> Tapped {
    let (watcher, events) = bridged(dir);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let events = events.filter(|event: &Event| std::future::ready(is_change(event)));
            let settled =
                events.debounce_by_key(window, |event: &Event| event.paths.first().cloned());
            let settled = match max_wait {
                Some(max_wait) => settled.max_wait(max_wait),
                None => settled,
            };
            let mut settled = std::pin::pin!(settled);
            let mut n = 0;
            while let Some(event) = settled.next().await {
                if let Some(path) = event.paths.first() {
                    let _ = emitted.send((path.clone(), Instant::now(), n));
                    n += 1;
                }
            }
        });
    });
    watcher
}

/// Their side: notify-debouncer-full with the same timeout and its default tick, as
/// `new_debouncer` makes it but on a tapped watcher; each debounced change is sent to
/// `emitted` with the instant the handler ran and the number of the call.
fn theirs<C: FileIdCache + Send + 'static>(
    dir: &Path,
    timeout: Duration,
    cache: C,
    emitted: mpsc::Sender<Emitted>,
) -> Debouncer<Tapped, C> {
    let mut call = 0;
    let mut debouncer = notify_debouncer_full::new_debouncer_opt::<_, Tapped, C>(
        timeout,
        None,
        move |result: DebounceEventResult| {
            let now = Instant::now();
            match result {
                Ok(events) => {
                    for event in events {
                        if event.need_rescan() {
                            eprintln!("notify-debouncer-full emitted a rescan");
                        }
                        if !is_change(&event.event) {
                            continue;
                        }
                        if let Some(path) = event.paths.first() {
                            let _ = emitted.send((path.clone(), now, call));
                        }
                    }
                }
                Err(errors) => eprintln!("notify-debouncer-full: {errors:?}"),
            }
            call += 1;
        },
        cache,
        notify::Config::default(),
    )
    .expect("a debouncer");
    debouncer
        .watch(dir, RecursiveMode::NonRecursive)
        .expect("watch the directory");
    debouncer
}

fn side_for(
    side: &str,
    dir: &Path,
    window: Duration,
    emitted: mpsc::Sender<Emitted>,
) -> Box<dyn std::any::Any> {
    match side {
        "ours" => Box::new(ours(dir, window, None, emitted)),
        "theirs" => Box::new(theirs(dir, window, NoCache, emitted)),
        _ => panic!("unknown side {side}"),
    }
}

/// (a) and (b): a burst of files, the latency of each, then the wakeups while idle.
fn latency(side: &str, dir: &Path, size: Size) {
    let (emitted_tx, emitted) = mpsc::channel();
    let keep = side_for(side, dir, WINDOW, emitted_tx);
    // Let the watch settle before the burst.
    std::thread::sleep(Duration::from_millis(200));
    let names: Vec<String> = (0..size.burst_files)
        .map(|n| format!("f{n:05}.txt"))
        .collect();
    let mut last_write = HashMap::new();
    for name in &names {
        last_write.insert(dir.join(name), write_file(dir, name, b"saved"));
    }
    // Every emission until none has come for 5 windows (and at least every file once).
    let mut last_emission: HashMap<PathBuf, Instant> = HashMap::new();
    let mut events = 0usize;
    let mut calls = HashSet::new();
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        match emitted.recv_timeout(WINDOW * 5) {
            Ok((path, at, call)) => {
                if last_write.contains_key(&path) {
                    events += 1;
                    calls.insert(call);
                    last_emission.insert(path, at);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if last_emission.len() == names.len() => break,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < give_up => {}
            Err(error) => panic!(
                "{side}: {} of {} files emitted ({error})",
                last_emission.len(),
                names.len()
            ),
        }
    }
    let mut latencies: Vec<f64> = last_write
        .iter()
        .map(|(path, written)| {
            let at = last_emission[path];
            at.saturating_duration_since(*written).as_secs_f64() * 1e3
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    // Nearest rank.
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    result(&format!("latency_{side}_median"), format!("{:.1}", at(0.5)));
    result(&format!("latency_{side}_p90"), format!("{:.1}", at(0.9)));
    result(&format!("latency_{side}_max"), format!("{:.1}", at(1.0)));
    result(&format!("latency_{side}_events"), events);
    result(&format!("latency_{side}_batches"), calls.len());
    // (b): the burst has settled; nothing changes from here on.
    let (switches, threads) = switches_over(size.idle);
    result(&format!("idle_{side}"), switches);
    result(&format!("idle_{side}_threads"), threads);
    if let Ok(late) = emitted.try_recv() {
        panic!("{side}: an emission while idle: {late:?}");
    }
    drop(keep);
}

/// (b)'s baseline: notify's watcher alone, the same burst received by a thread, then the
/// same wait as the debouncers' settling.
fn idle_baseline(dir: &Path, size: Size) {
    let (tx, events) = mpsc::channel();
    let watcher = watch(dir, tx);
    let receiver = std::thread::spawn(move || while events.recv().is_ok() {});
    std::thread::sleep(Duration::from_millis(200));
    for n in 0..size.burst_files {
        write_file(dir, &format!("f{n:05}.txt"), b"saved");
    }
    wait_for_closes(size.burst_files);
    std::thread::sleep(WINDOW * 7);
    let (switches, threads) = switches_over(size.idle);
    result("idle_baseline", switches);
    result("idle_baseline_threads", threads);
    drop(watcher);
    receiver.join().expect("the receiver ends with the watcher");
}

/// Context switches, voluntary and not, of every thread of this process (the calling one
/// included: the baseline has it too) over `period`; and the threads that switched, by name.
fn switches_over(period: Duration) -> (u64, String) {
    let before = switches_by_thread();
    std::thread::sleep(period);
    let after = switches_by_thread();
    // A thread that ended in between took its count with it: compare thread by thread.
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for (tid, (name, count)) in &after {
        let earlier = before.get(tid).map_or(0, |(_, count)| *count);
        *by_name.entry(name.clone()).or_default() += count.saturating_sub(earlier);
    }
    let total = by_name.values().sum();
    let threads: Vec<String> = by_name
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(name, count)| format!("{name}: {count}"))
        .collect();
    let threads = if threads.is_empty() {
        "none".to_owned()
    } else {
        threads.join(", ")
    };
    (total, threads)
}

fn switches_by_thread() -> HashMap<u64, (String, u64)> {
    let mut counts = HashMap::new();
    for task in fs::read_dir("/proc/self/task").expect("procfs").flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        let Ok(status) = fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let count: u64 = status
            .lines()
            .filter(|line| line.contains("ctxt_switches"))
            .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        let name = fs::read_to_string(task.path().join("comm"))
            .map(|name| name.trim().replace([',', '|'], " "))
            .unwrap_or_default();
        counts.insert(tid, (name, count));
    }
    counts
}

/// (c): heap bytes per pending path.
fn memory(side: &str, dir: &Path, size: Size) {
    let names: Vec<PathBuf> = (0..size.memory_files)
        .map(|n| dir.join(format!("f{n:05}.txt")))
        .collect();
    let per_path = match side {
        "ours" => memory_ours(dir, &names),
        "theirs" => memory_theirs(dir, &names, NoCache),
        "theirs_file_ids" => memory_theirs(dir, &names, FileIdMap::new()),
        _ => panic!("unknown side {side}"),
    };
    result(&format!("memory_{side}"), format!("{per_path:.0}"));
}

/// Creates every file in `names` (empty: create, open, close after writing), `MEMORY_CHUNK`
/// at a time, each chunk handed over by notify before the next, so inotify's queue never
/// overflows; `between` runs after each chunk.
fn create_all(names: &[PathBuf], mut between: impl FnMut()) {
    for (n, chunk) in names.chunks(MEMORY_CHUNK).enumerate() {
        for path in chunk {
            drop(fs::File::create(path).expect("create"));
        }
        wait_for_closes(n * MEMORY_CHUNK + chunk.len());
        between();
    }
}

/// Events our side has taken from its channel, in `memory`.
static TAKEN: AtomicUsize = AtomicUsize::new(0);

/// Polls `settled` until it has taken every event notify has handed on so far (Tokio's
/// budget may cut a poll short: then it polls again); it must emit none.
fn take_all<S: Stream>(runtime: &tokio::runtime::Runtime, mut settled: Pin<&mut S>) {
    while TAKEN.load(Ordering::SeqCst) < RAW_EVENTS.load(Ordering::SeqCst) {
        let polled = runtime.block_on(std::future::poll_fn(|cx| {
            Poll::Ready(settled.as_mut().poll_next(cx).map(|_| ()))
        }));
        assert!(
            polled.is_pending(),
            "ours emitted while the count was taken"
        );
    }
}

/// Ours, polled by hand on this thread, so that it has taken every event and emitted none
/// when the count is taken.
fn memory_ours(dir: &Path, names: &[PathBuf]) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let _entered = runtime.enter();
    let (watcher, events) = bridged(dir);
    let settled = events
        .inspect(|_| {
            TAKEN.fetch_add(1, Ordering::SeqCst);
        })
        .filter(|event: &Event| std::future::ready(is_change(event)))
        .debounce_by_key(MEMORY_WINDOW, |event: &Event| event.paths.first().cloned());
    let mut settled = std::pin::pin!(settled);
    std::thread::sleep(Duration::from_millis(200));
    take_all(&runtime, settled.as_mut());
    let before = LIVE.load(Ordering::SeqCst);
    create_all(names, || take_all(&runtime, settled.as_mut()));
    take_all(&runtime, settled.as_mut());
    let after = LIVE.load(Ordering::SeqCst);
    assert_eq!(settled.tracked(), names.len(), "every path pending");
    drop(watcher);
    (after - before) as f64 / names.len() as f64
}

/// Theirs, through its public API: the count is taken once notify has handed the close of
/// the last file to it (the tap counts an event after the debouncer has taken it in).
fn memory_theirs<C: FileIdCache + Send + 'static>(dir: &Path, names: &[PathBuf], cache: C) -> f64 {
    let (emitted_tx, emitted) = mpsc::channel();
    let debouncer = theirs(dir, MEMORY_WINDOW, cache, emitted_tx);
    std::thread::sleep(Duration::from_millis(200));
    let before = LIVE.load(Ordering::SeqCst);
    create_all(names, || {});
    let after = LIVE.load(Ordering::SeqCst);
    assert!(
        emitted.try_recv().is_err(),
        "theirs emitted while the count was taken"
    );
    // Its thread sleeps a tick (15 min) before it sees the stop: leave it behind.
    debouncer.stop_nonblocking();
    (after - before) as f64 / names.len() as f64
}

/// (d): one file appended to every 10 ms.
fn continuous(side: &str, dir: &Path, size: Size) {
    // The file exists before the watch starts, as a log file does: its events are writes.
    let path = dir.join("log.txt");
    fs::write(&path, b"").expect("create");
    let (emitted_tx, emitted) = mpsc::channel();
    let keep: Box<dyn std::any::Any> = match side {
        "ours" => Box::new(ours(dir, WINDOW, Some(MAX_WAIT), emitted_tx)),
        "theirs" => Box::new(theirs(dir, WINDOW, NoCache, emitted_tx)),
        _ => panic!("unknown side {side}"),
    };
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut next = started;
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    while next < started + size.continuous_for {
        file.write_all(b"line\n").expect("append");
        next += Duration::from_millis(10);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let stopped = Instant::now();
    drop(file);
    std::thread::sleep(size.continuous_after);
    let (mut during, mut after) = (0, 0);
    let (mut calls_during, mut calls_after) = (HashSet::new(), HashSet::new());
    while let Ok((emitted_path, at, call)) = emitted.try_recv() {
        if emitted_path != path {
            continue;
        }
        if at <= stopped {
            during += 1;
            calls_during.insert(call);
        } else {
            after += 1;
            calls_after.insert(call);
        }
    }
    result(&format!("continuous_{side}_during"), during);
    result(&format!("continuous_{side}_after"), after);
    result(
        &format!("continuous_{side}_batches_during"),
        calls_during.len(),
    );
    result(
        &format!("continuous_{side}_batches_after"),
        calls_after.len(),
    );
    drop(keep);
}
