//! Test support: a future polled by hand with a waker that counts its wakeups.
#![allow(dead_code)] // each test file uses a different part

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::time::Instant;

/// The reference model of the lodash-based debounce properties.
pub mod lodash;

/// `deadlines::io` helpers: events and IO operations polled by hand.
#[cfg(feature = "io")]
pub mod idle;

/// `deadlines::systemd` helpers: a notify socket to receive on.
#[cfg(all(unix, feature = "systemd"))]
pub mod systemd;

/// A pinned future with a counting waker, polled only when the test says so.
pub struct Probe<F> {
    future: Pin<Box<F>>,
    wakes: Arc<WakeCounter>,
}

#[derive(Default)]
struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl<F: Future> Probe<F> {
    pub fn new(future: F) -> Self {
        Self {
            future: Box::pin(future),
            wakes: Arc::default(),
        }
    }

    pub fn poll(&mut self) -> Poll<F::Output> {
        let waker = Waker::from(self.wakes.clone());
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }

    /// How many times the future woke its task so far.
    pub fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    pub fn get(&mut self) -> Pin<&mut F> {
        self.future.as_mut()
    }

    pub fn get_ref(&self) -> &F {
        &self.future
    }
}

/// A current-thread runtime with its clock paused, for tests that drive one by hand
/// (`block_on` per proptest case, or a runtime built after a primitive).
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Advances the paused clock to `start + offset` and lets the timer driver fire what is due.
pub async fn advance_to(start: Instant, offset: Duration) {
    let target = start + offset;
    let now = Instant::now();
    assert!(target >= now, "advance_to goes forward only");
    tokio::time::advance(target - now).await;
    assert_eq!(Instant::now(), target);
}

/// The largest instant `Instant` can represent from here (found by bisection).
pub fn max_instant() -> Instant {
    let now = Instant::now();
    let (mut lo, mut hi) = (0u64, u64::MAX);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if now.checked_add(Duration::from_secs(mid)).is_some() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut max = now + Duration::from_secs(lo);
    let mut step = Duration::from_millis(500);
    while step > Duration::ZERO {
        if let Some(later) = max.checked_add(step) {
            max = later;
        } else {
            step /= 2;
        }
    }
    max
}

/// The path of an example binary: `target/<profile>/examples/`, beside the `deps/` a test
/// executable lives in. `run_example` builds it first.
pub fn example_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executables live in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test`, which builds the examples",
        path.display()
    );
    path
}

/// Polls `Keepalives::poll_expired` until it is pending, returning what it yielded, sorted.
pub fn drain<K: std::hash::Hash + Eq + Clone + Ord, S: std::hash::BuildHasher>(
    set: &mut deadlines::Keepalives<K, S>,
    waker: &Waker,
) -> Vec<(K, Instant)> {
    let mut cx = Context::from_waker(waker);
    let mut out = Vec::new();
    while let Poll::Ready((key, expired)) = set.poll_expired(&mut cx) {
        out.push((key, expired.deadline()));
    }
    out.sort();
    out
}

/// A waker that counts its wakes, for polling by hand something that takes `&mut self`.
pub fn counting_waker() -> (Waker, impl Fn() -> usize) {
    let counter = Arc::new(WakeCounter::default());
    let waker = Waker::from(counter.clone());
    (waker, move || counter.0.load(Ordering::SeqCst))
}

/// A stream fed by hand through its [`Feed`]: `Pending` until an item is pushed or the feed
/// ends it. Polling it again after it returned `None` panics, so a test proves an adapter
/// never does.
pub struct Fed<T> {
    shared: Arc<std::sync::Mutex<FedState<T>>>,
}

/// The feeding end of a [`Fed`] stream.
pub struct Feed<T> {
    shared: Arc<std::sync::Mutex<FedState<T>>>,
}

struct FedState<T> {
    queue: std::collections::VecDeque<T>,
    ended: bool,
    returned_none: bool,
    polls: usize,
    waker: Option<Waker>,
}

/// A hand-fed stream and its feed.
pub fn fed<T>() -> (Feed<T>, Fed<T>) {
    let shared = Arc::new(std::sync::Mutex::new(FedState {
        queue: std::collections::VecDeque::new(),
        ended: false,
        returned_none: false,
        polls: 0,
        waker: None,
    }));
    (
        Feed {
            shared: shared.clone(),
        },
        Fed { shared },
    )
}

impl<T> Feed<T> {
    /// Queues an item and wakes the stream's task.
    pub fn push(&self, item: T) {
        let mut state = self.shared.lock().unwrap();
        assert!(!state.ended, "pushed after the end");
        state.queue.push_back(item);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// Ends the stream once its queue is drained, and wakes its task.
    pub fn end(&self) {
        let mut state = self.shared.lock().unwrap();
        state.ended = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// How many times the stream was polled.
    pub fn polls(&self) -> usize {
        self.shared.lock().unwrap().polls
    }

    /// How many items are queued, not yet taken.
    pub fn queued(&self) -> usize {
        self.shared.lock().unwrap().queue.len()
    }
}

impl<T> futures_core::Stream for Fed<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.lock().unwrap();
        assert!(!state.returned_none, "polled again after it returned None");
        state.polls += 1;
        if let Some(item) = state.queue.pop_front() {
            return Poll::Ready(Some(item));
        }
        if state.ended {
            state.returned_none = true;
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A stream that yields each item at `start + offset` (offsets in order), then never ends.
pub fn scheduled<T>(
    start: Instant,
    items: Vec<(Duration, T)>,
) -> impl futures_core::Stream<Item = T> {
    use futures_util::StreamExt as _;
    futures_util::stream::iter(items)
        .then(move |(offset, item)| async move {
            tokio::time::sleep_until(start + offset).await;
            item
        })
        .chain(futures_util::stream::pending())
}

/// `scheduled` with items at whole milliseconds.
pub fn at_ms<T>(start: Instant, items: Vec<(u64, T)>) -> impl futures_core::Stream<Item = T> {
    scheduled(
        start,
        items.into_iter().map(|(t, item)| (ms(t), item)).collect(),
    )
}

/// What a stream yielded, each with its offset from `start`, until `start + until` or its end
/// (then `ended` holds the offset of the `None`). Runs on the paused clock's auto-advance, so
/// the stream's own wakeups drive it: a missing wakeup shows as a missing item.
pub struct Recorded<T> {
    pub items: Vec<(Duration, T)>,
    pub ended: Option<Duration>,
}

pub async fn record<S: futures_core::Stream>(
    start: Instant,
    stream: S,
    until: Duration,
) -> Recorded<S::Item> {
    use futures_util::StreamExt as _;
    let mut stream = std::pin::pin!(stream);
    let end = tokio::time::sleep_until(start + until);
    let mut end = std::pin::pin!(end);
    let mut recorded = Recorded {
        items: Vec::new(),
        ended: None,
    };
    loop {
        tokio::select! {
            biased;
            item = stream.next() => match item {
                Some(item) => {
                    assert!(recorded.items.len() < 100_000, "the stream spins");
                    recorded.items.push((Instant::now() - start, item));
                }
                None => {
                    recorded.ended = Some(Instant::now() - start);
                    return recorded;
                }
            },
            () = &mut end => return recorded,
        }
    }
}

/// The items of a recording with their offsets in whole milliseconds.
pub fn in_ms<T: Clone>(recorded: &Recorded<T>) -> Vec<(u64, T)> {
    recorded
        .items
        .iter()
        .map(|(offset, item)| {
            assert_eq!(
                offset.subsec_nanos() % 1_000_000,
                0,
                "not a whole millisecond"
            );
            (offset.as_millis() as u64, item.clone())
        })
        .collect()
}

/// A pinned stream with a counting waker, polled only when the test says so: the stream
/// counterpart of [`Probe`].
pub struct StreamProbe<S> {
    stream: Pin<Box<S>>,
    wakes: Arc<WakeCounter>,
}

impl<S: futures_core::Stream> StreamProbe<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream: Box::pin(stream),
            wakes: Arc::default(),
        }
    }

    pub fn poll(&mut self) -> Poll<Option<S::Item>> {
        let waker = Waker::from(self.wakes.clone());
        futures_core::Stream::poll_next(self.stream.as_mut(), &mut Context::from_waker(&waker))
    }

    /// How many times the stream (or its source) woke its task so far.
    pub fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    pub fn get(&mut self) -> Pin<&mut S> {
        self.stream.as_mut()
    }

    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

/// A source that uses up Tokio's cooperative budget at every poll and yields nothing: a
/// flooded channel whose items a filter drops. `select`ed with `items`, whose items pass.
pub fn flooded<T: Send + 'static>(
    items: impl futures_core::Stream<Item = T>,
) -> impl futures_core::Stream<Item = T> {
    use futures_util::StreamExt as _;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    for n in 0..100_000 {
        tx.send(n).unwrap();
    }
    let noise = futures_util::stream::poll_fn(move |cx| {
        let _keep_open = &tx;
        rx.poll_recv(cx)
    })
    .filter_map(|_| std::future::ready(None::<T>));
    futures_util::stream::select(items, noise)
}

/// Lets every task that is ready run, without moving the paused clock: tasks just spawned, or
/// just woken by a cancellation, get to start their timers before the test advances time.
pub async fn let_tasks_run() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

/// Awaits `future`, failing the test if it is still pending after a year of Tokio time. On a
/// paused clock that year passes at once when nothing else is due, so a future that would
/// hang for ever fails the test instead of hanging it.
pub async fn without_hanging<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(365 * 86_400), future)
        .await
        .expect("the future hangs")
}

/// Runs an example binary to its end; asserts it exits 0 and returns its stdout and how long
/// it ran (wall clock: examples run on real sockets, files and time).
pub fn run_example(name: &str) -> (String, std::time::Duration) {
    build_example(name);
    let started = std::time::Instant::now();
    let output = std::process::Command::new(example_path(name))
        .output()
        .expect("the example runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} exited {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    (stdout, elapsed)
}

/// Builds the example with the cargo that runs this test (a target filter such as
/// `--test io_hyper_example` builds no example), in the profile of this test's directory.
pub fn build_example(name: &str) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args(["build", "--quiet", "--example", name, "--manifest-path"]);
    command.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    let exe = std::env::current_exe().expect("the test executable has a path");
    if exe.components().any(|c| c.as_os_str() == "release") {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "cargo build --example {name}: {status}");
}
