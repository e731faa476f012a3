//! `debounce_by_key` on real file-system events beside notify-debouncer-full 0.7 (the newest
//! release on notify 8; 0.8 is a release candidate on notify 9's), both with the same window
//! and notify's `RecommendedWatcher` (inotify on Linux) as the source, in a temporary
//! directory:
//!
//! - `latency`: 1,000 files written once each in a burst; for each file, the time from the end
//!   of its last write to the emission that carries it. Target for ours: median <= window +
//!   2 ms. notify-debouncer-full keeps a queue of events per path and, on a thread that
//!   wakes every tick (a quarter of the timeout by default), emits the events older than the
//!   timeout, unless a newer event of the same kind is queued for that path; it emits a
//!   file's create and its close apart, so the last emission of each path is taken.
//! - `idle`: once that burst has settled, the context switches of every thread of the
//!   process but the one measuring, over 10 s, minus the same count for notify's watcher
//!   alone (`baseline`): the wakeups the debouncer itself costs while nothing changes.
//!   Target for ours: 0.
//! - `memory`: live heap bytes per pending path, from a counting global allocator: 10,000
//!   files created, the count taken once every path is pending (a long window keeps them
//!   so), minus the count before the writes, divided by the number of paths. Both sides hold
//!   what notify delivered (ours the latest event of each path, theirs every event), so the
//!   figure is the whole cost of a pending path, notify's event included.
//! - `continuous`: one file, made before the watch starts, appended to every 10 ms for 2 s;
//!   window 100 ms, ours with `max_wait` 500 ms. Target for ours: at least 3 emissions
//!   during the writes. Emissions are counted during the writes and in the second after.
//!
//! Each measurement runs in a child process (this binary again, with `DEADLINES_FS_BENCH`
//! naming the measurement and the side), so one side's threads and allocations never count
//! for the other. Run: `cargo bench --bench fs_debounce` (about 60 s); it prints a markdown
//! table. Without `--bench` (`cargo test --benches`) it runs a short smoke pass.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use deadlines::stream::StreamDeadlineExt;
use futures_util::StreamExt as _;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Live heap bytes: a wrapper around the system allocator that counts what is allocated and
/// not yet freed, for `memory`.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged; the
// wrapper only counts sizes.
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
const WINDOW: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_millis(500);

/// How big a run is: the full one under `cargo bench`, a smoke pass otherwise.
#[derive(Clone, Copy)]
struct Size {
    burst_files: usize,
    idle: Duration,
    memory_files: usize,
    continuous_for: Duration,
}

const FULL: Size = Size {
    burst_files: 1_000,
    idle: Duration::from_secs(10),
    memory_files: 10_000,
    continuous_for: Duration::from_secs(2),
};

const SMOKE: Size = Size {
    burst_files: 50,
    idle: Duration::from_millis(300),
    memory_files: 200,
    continuous_for: Duration::from_millis(700),
};

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let size = if full { FULL } else { SMOKE };
    if let Ok(job) = std::env::var(CHILD_ENV) {
        return child(&job, size);
    }
    let mut results: HashMap<String, String> = HashMap::new();
    for job in [
        "latency:ours",
        "latency:theirs",
        "idle:baseline",
        "memory:ours",
        "memory:theirs",
        "continuous:ours",
        "continuous:theirs",
    ] {
        for (key, value) in run_child(job, full) {
            results.insert(key, value);
        }
    }
    report(&results, size);
}

/// Runs this binary again as the child `job`; returns the `key=value` pairs it printed.
fn run_child(job: &str, full: bool) -> Vec<(String, String)> {
    let mut command = Command::new(std::env::current_exe().expect("the bench has a path"));
    command.env(CHILD_ENV, job);
    if full {
        command.arg("--bench");
    }
    let output = command.output().expect("the child runs");
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

fn report(results: &HashMap<String, String>, size: Size) {
    let get = |key: &str| results.get(key).map_or("?", String::as_str);
    let idle = |side: &str| -> String {
        let side: i64 = get(&format!("idle_{side}")).parse().unwrap_or(-1);
        let base: i64 = get("idle_baseline").parse().unwrap_or(-1);
        format!("{} ({} - baseline {})", side - base, side, base)
    };
    println!();
    println!(
        "| measure (window {} ms) | `debounce_by_key` | notify-debouncer-full 0.7 |",
        WINDOW.as_millis()
    );
    println!("|---|---|---|");
    println!(
        "| (a) latency, last write to emission, {} files: median / p90 / max (ms) | {} / {} / {} | {} / {} / {} |",
        size.burst_files,
        get("latency_ours_median"),
        get("latency_ours_p90"),
        get("latency_ours_max"),
        get("latency_theirs_median"),
        get("latency_theirs_p90"),
        get("latency_theirs_max"),
    );
    println!(
        "| (a) emissions for the {} files | {} | {} |",
        size.burst_files,
        get("latency_ours_emissions"),
        get("latency_theirs_emissions"),
    );
    println!(
        "| (b) wakeups while idle, {} s, minus notify alone | {} | {} |",
        size.idle.as_secs_f64(),
        idle("ours"),
        idle("theirs"),
    );
    println!(
        "| (c) heap bytes per pending path, {} paths | {} | {} |",
        size.memory_files,
        get("memory_ours"),
        get("memory_theirs"),
    );
    println!(
        "| (d) emissions of a file written every 10 ms for {} s (ours: max_wait {} ms): during / after | {} / {} | {} / {} |",
        size.continuous_for.as_secs_f64(),
        MAX_WAIT.as_millis(),
        get("continuous_ours_during"),
        get("continuous_ours_after"),
        get("continuous_theirs_during"),
        get("continuous_theirs_after"),
    );
    let overflow: Vec<&str> = results
        .iter()
        .filter(|(key, value)| key.ends_with("_rescans") && value.as_str() != "0")
        .map(|(key, _)| key.as_str())
        .collect();
    if !overflow.is_empty() {
        println!(
            "\nwarning: inotify's queue overflowed in {overflow:?}: those figures are suspect"
        );
    }
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

/// Writes `name` in `dir` (create, write, close) and returns when it is closed.
fn write_file(dir: &Path, name: &str, contents: &[u8]) -> Instant {
    let mut file = fs::File::create(dir.join(name)).expect("create");
    file.write_all(contents).expect("write");
    drop(file);
    Instant::now()
}

/// The events notify reports for `dir`, on a std channel. Access events other than a close
/// after writing are not changes and are dropped (notify's own walk opens the directory).
fn watcher(dir: &Path) -> (RecommendedWatcher, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        if let Ok(event) = event {
            let _ = tx.send(event);
        }
    })
    .expect("a watcher");
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .expect("watch the directory");
    (watcher, rx)
}

/// Our side: notify's events through `debounce_by_key`, keyed by their first path, on a
/// current-thread runtime in a thread of its own. Each emission is sent to `emitted` with
/// its instant. The task ends when the returned watcher is dropped.
fn ours(
    dir: &Path,
    window: Duration,
    max_wait: Option<Duration>,
    emitted: mpsc::Sender<(PathBuf, Instant)>,
) -> RecommendedWatcher {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        if let Ok(event) = event {
            let _ = tx.send(event);
        }
    })
    .expect("a watcher");
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .expect("watch the directory");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
                .filter(|event: &Event| std::future::ready(is_change(event)));
            let settled =
                events.debounce_by_key(window, |event: &Event| event.paths.first().cloned());
            let settled = match max_wait {
                Some(max_wait) => settled.max_wait(max_wait),
                None => settled,
            };
            let mut settled = std::pin::pin!(settled);
            while let Some(event) = settled.next().await {
                if let Some(path) = event.paths.first() {
                    let _ = emitted.send((path.clone(), Instant::now()));
                }
            }
        });
    });
    watcher
}

/// A change to a file, rather than an access to one: accesses are dropped, except a close
/// after writing.
fn is_change(event: &Event) -> bool {
    use notify::event::{AccessKind, AccessMode};
    !matches!(event.kind, EventKind::Access(_))
        || matches!(
            event.kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write))
        )
}

/// Their side: notify-debouncer-full with the same timeout and its default tick; each
/// debounced event is sent to `emitted` with the instant the handler ran.
fn theirs(
    dir: &Path,
    timeout: Duration,
    emitted: mpsc::Sender<(PathBuf, Instant)>,
) -> notify_debouncer_full::Debouncer<RecommendedWatcher, notify_debouncer_full::RecommendedCache> {
    let mut debouncer = notify_debouncer_full::new_debouncer(
        timeout,
        None,
        move |result: notify_debouncer_full::DebounceEventResult| {
            let now = Instant::now();
            for event in result.into_iter().flatten() {
                if !is_change(&event.event) {
                    continue;
                }
                if let Some(path) = event.paths.first() {
                    let _ = emitted.send((path.clone(), now));
                }
            }
        },
    )
    .expect("a debouncer");
    debouncer
        .watch(dir, RecursiveMode::NonRecursive)
        .expect("watch the directory");
    debouncer
}

/// (a) and (b): a burst of files, the latency of each, then the wakeups while idle.
fn latency(side: &str, dir: &Path, size: Size) {
    let (emitted_tx, emitted) = mpsc::channel();
    let keep: Box<dyn std::any::Any> = match side {
        "ours" => Box::new(ours(dir, WINDOW, None, emitted_tx)),
        "theirs" => Box::new(theirs(dir, WINDOW, emitted_tx)),
        _ => panic!("unknown side {side}"),
    };
    // Let the watch settle (notify walks the directory) before the burst.
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
    let mut emissions = 0usize;
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        match emitted.recv_timeout(WINDOW * 5) {
            Ok((path, at)) => {
                if last_write.contains_key(&path) {
                    emissions += 1;
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
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    result(&format!("latency_{side}_median"), format!("{:.1}", at(0.5)));
    result(&format!("latency_{side}_p90"), format!("{:.1}", at(0.9)));
    result(&format!("latency_{side}_max"), format!("{:.1}", at(1.0)));
    result(&format!("latency_{side}_emissions"), emissions);
    // (b): the burst has settled; nothing changes from here on.
    result(&format!("idle_{side}"), switches_over(size.idle));
    drop(keep);
}

/// (b)'s baseline: notify's watcher alone, its events received by a thread.
fn idle_baseline(dir: &Path, size: Size) {
    let (_watcher, events) = watcher(dir);
    let receiver = std::thread::spawn(move || while events.recv().is_ok() {});
    std::thread::sleep(Duration::from_millis(200));
    for n in 0..size.burst_files {
        write_file(dir, &format!("f{n:05}.txt"), b"saved");
    }
    std::thread::sleep(WINDOW * 5);
    result("idle_baseline", switches_over(size.idle));
    drop(_watcher);
    receiver.join().expect("the receiver ends with the watcher");
}

/// Context switches of every thread of this process but the calling one, over `period`.
fn switches_over(period: Duration) -> u64 {
    let before = switches_of_other_threads();
    std::thread::sleep(period);
    let after = switches_of_other_threads();
    // A thread that ended in between took its count with it: compare thread by thread.
    before
        .iter()
        .filter_map(|(tid, count)| after.get(tid).map(|later| later.saturating_sub(*count)))
        .sum::<u64>()
        + after
            .iter()
            .filter(|(tid, _)| !before.contains_key(*tid))
            .map(|(_, count)| count)
            .sum::<u64>()
}

fn switches_of_other_threads() -> HashMap<u64, u64> {
    let me = fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| link.file_name()?.to_str()?.parse::<u64>().ok());
    let mut counts = HashMap::new();
    for task in fs::read_dir("/proc/self/task").expect("procfs").flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        if Some(tid) == me {
            continue;
        }
        let Ok(status) = fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let count: u64 = status
            .lines()
            .filter(|line| line.contains("ctxt_switches"))
            .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        counts.insert(tid, count);
    }
    counts
}

/// (c): heap bytes per pending path.
fn memory(side: &str, dir: &Path, size: Size) {
    // A window long enough that nothing settles while the count is taken.
    let window = Duration::from_secs(30);
    let (emitted_tx, emitted) = mpsc::channel();
    let keep: Box<dyn std::any::Any> = match side {
        "ours" => Box::new(ours(dir, window, None, emitted_tx)),
        "theirs" => Box::new(theirs(dir, window, emitted_tx)),
        _ => panic!("unknown side {side}"),
    };
    std::thread::sleep(Duration::from_millis(200));
    let names: Vec<String> = (0..size.memory_files)
        .map(|n| format!("f{n:05}.txt"))
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    for (n, name) in names.iter().enumerate() {
        drop(fs::File::create(dir.join(name)).expect("create"));
        if n % 500 == 499 {
            // Let notify's thread keep up, so inotify's queue does not overflow.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // Every path pending: the live count stops moving once every event is taken in.
    let deadline = Instant::now() + Duration::from_secs(10);
    std::thread::sleep(Duration::from_millis(500));
    while Instant::now() < deadline {
        let live = LIVE.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(300));
        if (LIVE.load(Ordering::Relaxed) - live).abs() < 1024 {
            break;
        }
    }
    let after = LIVE.load(Ordering::Relaxed);
    assert!(
        emitted.try_recv().is_err(),
        "{side}: something settled while the count was taken"
    );
    result(
        &format!("memory_{side}"),
        format!("{:.0}", (after - before) as f64 / names.len() as f64),
    );
    drop(keep);
}

/// (d): one file written every 10 ms.
fn continuous(side: &str, dir: &Path, size: Size) {
    // The file exists before the watch starts, as a log file does: its events are writes.
    let path = dir.join("log.txt");
    fs::write(&path, b"").expect("create");
    let (emitted_tx, emitted) = mpsc::channel();
    let keep: Box<dyn std::any::Any> = match side {
        "ours" => Box::new(ours(dir, WINDOW, Some(MAX_WAIT), emitted_tx)),
        "theirs" => Box::new(theirs(dir, WINDOW, emitted_tx)),
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
    std::thread::sleep(Duration::from_secs(1));
    let (mut during, mut after) = (0, 0);
    while let Ok((emitted_path, at)) = emitted.try_recv() {
        if emitted_path != path {
            continue;
        }
        if at <= stopped {
            during += 1;
        } else {
            after += 1;
        }
    }
    result(&format!("continuous_{side}_during"), during);
    result(&format!("continuous_{side}_after"), after);
    drop(keep);
}
