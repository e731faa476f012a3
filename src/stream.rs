//! Stream adapters on Tokio time, from the extension trait [`StreamDeadlineExt`], implemented
//! for every [`Stream`]: the debounces ([`debounce`], [`debounce_batch`], [`debounce_by_key`],
//! [`debounce_batch_by_key`], [`debounce_with`]), the rate limits ([`sample`],
//! [`throttle_with`]) and the liveness adapters ([`idle_timeout`], [`keepalive`],
//! [`ping_pong`]).
//!
//! | adapter | for | yields |
//! |---|---|---|
//! | [`debounce`] | act once a burst settles; the latest state at most every so often (with `max_wait`) | the latest item of each burst |
//! | [`debounce_batch`] | coalesce file-system events | every item of each burst, as one `Vec` (at most `max_items`) |
//! | [`debounce_by_key`] | one settle per file path, per user, per key | the latest item of each key's burst |
//! | [`debounce_batch_by_key`] | coalesce each file's events on its own | every item of each key's burst, as one `Vec` |
//! | [`debounce_with`] | a window that depends on the item (a short query waits longer) | the latest item of each burst |
//! | [`sample`] | redraw a progress bar at a steady rate | the latest item at each tick of a fixed grid |
//! | [`throttle_with`] | at most one action a period (clicks, scrolls) | the first item of each period, and with `trailing` its latest |
//! | [`idle_timeout`] | notice a silent connection | items as `Ok`, one `Err(Elapsed)` per silent gap |
//! | [`keepalive`] | server-sent-event comments, outbound keep-alives | items as `Source`, and one of yours as `Injected` after each silent period |
//! | [`ping_pong`] | websocket liveness: ping a silent peer, drop one that does not answer | items as `Ok(Item)`, `Ok(Ping)` after a silent interval, `Err(PeerDead)` (then the end) when a ping goes unanswered |
//!
//! ```
//! use std::time::Duration;
//! use deadlines::stream::StreamDeadlineExt;
//! use futures_util::StreamExt;
//! use tokio::time::Instant;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = Instant::now();
//! // Ten saves of a file, already queued: one rebuild, one window after the last save.
//! let saves = futures_util::stream::iter(1..=10).chain(futures_util::stream::pending());
//! let mut rebuilds = std::pin::pin!(saves.debounce(Duration::from_millis(300)));
//! assert_eq!(rebuilds.next().await, Some(10));
//! assert_eq!(start.elapsed(), Duration::from_millis(300));
//! # }
//! ```
//!
//! # How they read time
//!
//! All time is Tokio time, so the adapters obey `tokio::time::pause()` and
//! `#[tokio::test(start_paused = true)]`. Each adapter has one [`Sleep`](tokio::time::Sleep),
//! created at the first poll that needs it and re-set lazily: an item that pushes a window
//! later is a store, and the timer is re-set only when it fires early, at most once a window.
//! No item allocates, except to hold more: a batch grows a `Vec` (reserved at the size of the
//! last batch), and a keyed debounce's table grows, amortized, with each new key (an item of a
//! known key allocates nothing). Each adapter counts the times it set its timer, in
//! `timer_resets()`.
//!
//! In each poll the adapter reads the clock once, then takes every item the source has ready
//! before it judges the window: a burst of N buffered items costs one window, not N, and an
//! item that is ready when the poll finds the window over still counts as part of the burst
//! (the decision is made when it is observed, as for [`Deadline`](crate::Deadline)). The
//! window is judged by comparing the clock with its instant, not by whether the `Sleep`
//! fired, so a source that uses up Tokio's cooperative budget (for example a channel flooded
//! with items that a `filter` drops) cannot starve it.
//!
//! The source is fused by the adapter: once the adapter has yielded `None`, it yields `None`
//! forever and never polls the source again.
//!
//! # Precision
//!
//! Tokio's timer counts whole milliseconds and rounds an instant up to the next one. An
//! adapter acts at the first poll at or after its instant, never before: the timer wakes the
//! task at most about a millisecond late, and a poll that comes earlier for another reason
//! (an item) acts at once if the instant has passed.
//!
//! # Sources from Tokio channels
//!
//! A `tokio::sync::mpsc::Receiver` is not a `Stream` itself: wrap it with
//! `futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))`, or with tokio-stream's
//! `ReceiverStream`.
//!
//! # Telling injected items apart
//!
//! [`keepalive`] yields each item as a [`KeepaliveItem`]: `Source(item)` for the source's,
//! `Injected(item)` for those it made after a silent period, so a handler that counts or
//! logs the keep-alives matches on it, and one that writes every item alike calls
//! [`into_inner`](KeepaliveItem::into_inner). [`ping_pong`] yields `Ok(Liveness::Item(..))`
//! for the source's items and `Ok(Liveness::Ping)` when it is time to ping the peer.
//!
//! # Sources that are always ready
//!
//! The debounces, [`sample`] and [`throttle_with`] take items until the source returns
//! `Pending`. A Tokio
//! source (a channel, a socket) returns `Pending` once the task's cooperative budget is used
//! up, so the window is judged at least every budget's worth of items. A source that is
//! ready forever and ignores the budget (`futures::stream::repeat`) is drained forever; wrap
//! it to yield now and then, or do not debounce it.
//!
//! # Comparison with other crates
//!
//! - `tokio_stream::StreamExt::throttle` delays every item (nothing is dropped), and its type
//!   cannot be named. [`throttle_with`] drops items (RxJS's `throttleTime`); for "the latest
//!   state at most every `p`, on a fixed grid", use [`sample`]; lodash's `throttle` is
//!   `debounce(p).leading(true).max_wait(p)`.
//! - notify-debouncer-full settles file-system events per path on a thread of its own that
//!   wakes every quarter of the timeout, and a file written without pause never settles;
//!   [`debounce_by_key`] settles each path on the task's one timer, with `max_wait`, and is
//!   not woken while nothing is pending.
//! - `tokio_stream::StreamExt::chunks_timeout` yields a batch when it is full or a timeout
//!   after its first item passed; [`debounce_batch`] waits for the burst to settle.
//! - `tokio_stream::StreamExt::timeout` yields an `Err` for every late item and
//!   `timeout_repeating` one per interval; [`idle_timeout`] yields one per silent gap.
//! - `futures_time::stream::StreamExt::debounce` takes one item per poll and resets its timer
//!   per item, so N buffered items cost N windows.
//!
//! [`debounce`]: StreamDeadlineExt::debounce
//! [`debounce_batch`]: StreamDeadlineExt::debounce_batch
//! [`debounce_by_key`]: StreamDeadlineExt::debounce_by_key
//! [`debounce_batch_by_key`]: StreamDeadlineExt::debounce_batch_by_key
//! [`debounce_with`]: StreamDeadlineExt::debounce_with
//! [`sample`]: StreamDeadlineExt::sample
//! [`throttle_with`]: StreamDeadlineExt::throttle_with
//! [`idle_timeout`]: StreamDeadlineExt::idle_timeout
//! [`keepalive`]: StreamDeadlineExt::keepalive
//! [`ping_pong`]: StreamDeadlineExt::ping_pong

use std::hash::Hash;
use std::time::Duration;

use futures_core::Stream;

mod access;
mod burst;
mod debounce;
mod debounce_batch;
mod debounce_batch_by_key;
mod debounce_by_key;
mod debounce_with;
mod idle_timeout;
mod keepalive;
mod keyed;
mod keys;
mod ping_pong;
mod sample;
mod settle;
mod throttle_with;

pub use debounce::Debounce;
pub use debounce_batch::DebounceBatch;
pub use debounce_batch_by_key::DebounceBatchByKey;
pub use debounce_by_key::DebounceByKey;
pub use debounce_with::DebounceWith;
pub use idle_timeout::{Elapsed, IdleTimeout};
pub use keepalive::{Keepalive, KeepaliveItem};
pub use ping_pong::{Liveness, PeerDead, PingPong};
pub use sample::Sample;
pub use throttle_with::ThrottleWith;

/// Timing adapters for every [`Stream`]: [`debounce`](Self::debounce),
/// [`debounce_batch`](Self::debounce_batch), [`debounce_by_key`](Self::debounce_by_key),
/// [`debounce_batch_by_key`](Self::debounce_batch_by_key),
/// [`debounce_with`](Self::debounce_with), [`sample`](Self::sample),
/// [`throttle_with`](Self::throttle_with), [`idle_timeout`](Self::idle_timeout),
/// [`keepalive`](Self::keepalive), [`ping_pong`](Self::ping_pong).
///
/// Bring it into scope beside `futures::StreamExt` or `tokio_stream::StreamExt`: no method
/// name is shared with them. (`futures_time::stream::StreamExt` also has a `debounce`; call
/// one of the two by its trait path if both are in scope.)
///
/// The adapters are `!Unpin`, like [`tokio::time::Sleep`]: pin them with
/// [`std::pin::pin!`] or [`tokio::pin!`] before calling `next()`, or box them with
/// `Box::pin`.
pub trait StreamDeadlineExt: Stream {
    /// Yields the latest item of each burst once no item has arrived for `window`: lodash's
    /// `debounce`, on a stream.
    ///
    /// Options, set on the returned [`Debounce`] before it is polled:
    /// [`leading`](Debounce::leading) (emit the first item of a burst at once, default
    /// `false`), [`trailing`](Debounce::trailing) (emit the latest item once the burst
    /// settles, default `true`) and [`max_wait`](Debounce::max_wait) (under continuous input,
    /// emit at least every `max_wait`, measured from the previous emission or from the first
    /// item of the burst). They follow lodash 4.17: with both edges on, the trailing item
    /// comes only if the burst had more than one item; a `max_wait` shorter than the window
    /// is raised to the window; with both edges off nothing is emitted.
    ///
    /// When the source ends, a held item is emitted at once (if `trailing` is on), then the
    /// stream ends.
    ///
    /// ```text
    /// window 100 ms; a burst a, b, c, then d alone
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source              a  b  c                       d
    /// debounce(100)                       c                       d
    /// .leading(true)      a               c             d
    /// .leading(true)      a                             d
    ///   .trailing(false)
    /// .trailing(false)    (nothing: both edges off)
    /// ```
    ///
    /// With `max_wait`, under continuous input (each output is marked `^` at its instant,
    /// followed by the arrival time of the item it carries):
    ///
    /// ```text
    /// window 100 ms; an item (*) every 30 ms from 0 to 330, then silence
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source              *  *  *  *  *  *  *  *  *  *  *  *
    /// debounce(100)                                                  ^330
    /// .max_wait(200)                          ^180                ^330
    /// .leading(true)      ^0                  ^180                ^330
    ///   .max_wait(200)
    /// .leading(true)      ^0                   ^210
    ///   .trailing(false)
    ///   .max_wait(200)
    /// .trailing(false)    (nothing: both edges off)
    ///   .max_wait(200)
    /// .leading(true)      ^0        ^90       ^180      ^300      ^330
    ///   .max_wait(100)    (the lossy throttle)
    /// ```
    ///
    /// The last row is a lossy throttle, `debounce(p).leading(true).max_wait(p)`: at most one
    /// item every `p`, the latest one, and the final state is never lost. At 300 ms the item
    /// of 300 ms is ready when the window is judged, so it is the one emitted.
    ///
    /// A window of [`Duration::ZERO`] makes each poll's ready items a burst:
    ///
    /// ```text
    /// a, b, c ready at one poll, then d
    ///
    /// time (ms)           0    50   100
    ///                     |----|----|
    /// source              abc  d
    /// debounce(ZERO)      c    d
    /// .leading(true)      a c  d
    /// ```
    ///
    /// # Examples
    ///
    /// A file watcher acts once a burst of saves has settled:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::{Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    /// tokio::spawn(async move {
    ///     for save in ["draft 1", "draft 2", "final"] {
    ///         tx.send(save).unwrap();
    ///         sleep(Duration::from_millis(30)).await;
    ///     }
    ///     std::future::pending::<()>().await; // the editor stays open
    /// });
    /// let saves = futures_util::stream::unfold(rx, |mut rx| async { Some((rx.recv().await?, rx)) });
    /// let mut settled = std::pin::pin!(saves.debounce(Duration::from_millis(100)));
    /// assert_eq!(settled.next().await, Some("final"));
    /// assert_eq!(start.elapsed(), Duration::from_millis(160));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: a held item stays held.
    ///
    /// # Precision
    ///
    /// See [the module docs](self#precision): an item is emitted at the first poll at or
    /// after its instant, at most about a millisecond late from Tokio's timer.
    fn debounce(self, window: Duration) -> Debounce<Self>
    where
        Self: Sized,
    {
        Debounce::new(self, window)
    }

    /// Yields every item of each burst, as one `Vec`, once no item has arrived for `window`.
    ///
    /// The rules of [`debounce`](Self::debounce), with the items collected instead of
    /// replaced; no item is ever dropped, so there is no `trailing` switch. Options on the
    /// returned [`DebounceBatch`]: [`leading`](DebounceBatch::leading) (the first item of a
    /// burst at once, alone) and [`max_wait`](DebounceBatch::max_wait). When the source ends,
    /// a held batch is yielded at once, then the stream ends.
    ///
    /// ```text
    /// window 100 ms; a burst a, b, c, then d alone
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source              a  b  c                       d
    /// debounce_batch(100)                 [a,b,c]                 [d]
    /// .leading(true)      [a]             [b,c]         [d]
    /// ```
    ///
    /// ```text
    /// debounce_batch(100).max_wait(200); an item (*) every 30 ms from 0 to 330
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source              *  *  *  *  *  *  *  *  *  *  *  *
    /// batches                                 ^[0..=180]          ^[210..=330]
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::{Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let events = futures_util::stream::iter(["create a", "write a", "create b"])
    ///     .chain(futures_util::stream::once(async {
    ///         sleep(Duration::from_secs(1)).await;
    ///         "remove a"
    ///     }))
    ///     .chain(futures_util::stream::pending());
    /// let mut batches = std::pin::pin!(events.debounce_batch(Duration::from_millis(300)));
    /// assert_eq!(batches.next().await, Some(vec!["create a", "write a", "create b"]));
    /// assert_eq!(start.elapsed(), Duration::from_millis(300));
    /// assert_eq!(batches.next().await, Some(vec!["remove a"]));
    /// assert_eq!(start.elapsed(), Duration::from_millis(1_300));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: a held batch stays held.
    fn debounce_batch(self, window: Duration) -> DebounceBatch<Self>
    where
        Self: Sized,
    {
        DebounceBatch::new(self, window)
    }

    /// A [`debounce`](Self::debounce) for each key: yields the latest item of a key's burst
    /// once no item of that key has arrived for `window`. One settle per file path, say,
    /// where `debounce` would settle the whole directory at once.
    ///
    /// `key_fn` gives each item its key. Each key follows lodash's rules on its own, with the
    /// options of `debounce`, set on the returned [`DebounceByKey`]:
    /// [`leading`](DebounceByKey::leading), [`trailing`](DebounceByKey::trailing) and
    /// [`max_wait`](DebounceByKey::max_wait) (under continuous writes to one file, emit at
    /// least every `max_wait`). Items of different keys never delay each other. Keys due at
    /// the same instant come out in consecutive polls, with no wakeup between them, in the
    /// order the keys were first seen (since they were last forgotten). When the source ends,
    /// every key's held item is emitted at once, in the order they were due, then the stream
    /// ends.
    ///
    /// ```text
    /// window 100 ms; a, A are items of key a, and b, B of key b
    ///
    /// time (ms)           0    50   100  150  200  250  300
    ///                     |----|----|----|----|----|----|
    /// source              a b A          B
    /// debounce_by_key                 b A          B
    /// ```
    ///
    /// Each key's timeline is the one [`debounce`](Self::debounce) draws, option by option.
    /// All keys share one Tokio timer and one heap of instants: no task, thread or timer per
    /// key, O(log n) per key that comes due, and a key that settled is forgotten.
    ///
    /// # Examples
    ///
    /// A file watcher rebuilds each file once its own burst of writes has settled:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::{Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let writes = futures_util::stream::iter([("a.rs", 1), ("b.rs", 1), ("a.rs", 2)])
    ///     .chain(futures_util::stream::once(async {
    ///         sleep(Duration::from_millis(50)).await;
    ///         ("b.rs", 2)
    ///     }))
    ///     .chain(futures_util::stream::pending());
    /// let settled = writes.debounce_by_key(Duration::from_millis(100), |&(path, _)| path);
    /// let mut settled = std::pin::pin!(settled);
    /// assert_eq!(settled.next().await, Some(("a.rs", 2)));
    /// assert_eq!(start.elapsed(), Duration::from_millis(100));
    /// assert_eq!(settled.next().await, Some(("b.rs", 2)));
    /// assert_eq!(start.elapsed(), Duration::from_millis(150));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: held items stay held.
    ///
    /// # Precision
    ///
    /// See [the module docs](self#precision).
    fn debounce_by_key<K, F>(self, window: Duration, key_fn: F) -> DebounceByKey<Self, K, F>
    where
        Self: Sized,
        K: Hash + Eq,
        F: FnMut(&Self::Item) -> K,
    {
        DebounceByKey::new(self, window, key_fn)
    }

    /// A [`debounce_batch`](Self::debounce_batch) for each key: yields every item of a key's
    /// burst, as one `Vec`, once no item of that key has arrived for `window`.
    ///
    /// The rules of [`debounce_by_key`](Self::debounce_by_key), with each key's items
    /// collected instead of replaced: each source item is in exactly one batch, and a batch
    /// holds the items of one key in the order they came. Options on the returned
    /// [`DebounceBatchByKey`]: [`leading`](DebounceBatchByKey::leading),
    /// [`max_wait`](DebounceBatchByKey::max_wait) and
    /// [`max_items`](DebounceBatchByKey::max_items).
    ///
    /// ```text
    /// window 100 ms; a, A are items of key a, and b, B of key b
    ///
    /// time (ms)           0    50   100  150  200  250  300
    ///                     |----|----|----|----|----|----|
    /// source              a b A          B
    /// batches                         ^[b]
    ///                                   ^[a,A]     ^[B]
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let events = futures_util::stream::iter([("a", "create"), ("b", "create"), ("a", "write")])
    ///     .chain(futures_util::stream::pending());
    /// let batches = events.debounce_batch_by_key(Duration::from_millis(100), |&(path, _)| path);
    /// let mut batches = std::pin::pin!(batches);
    /// assert_eq!(batches.next().await, Some(vec![("a", "create"), ("a", "write")]));
    /// assert_eq!(batches.next().await, Some(vec![("b", "create")]));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: held batches stay held.
    fn debounce_batch_by_key<K, F>(
        self,
        window: Duration,
        key_fn: F,
    ) -> DebounceBatchByKey<Self, K, F>
    where
        Self: Sized,
        K: Hash + Eq,
        F: FnMut(&Self::Item) -> K,
    {
        DebounceBatchByKey::new(self, window, key_fn)
    }

    /// A [`debounce`](Self::debounce) whose window each item chooses: yields the latest item
    /// once no item has arrived for the window `window_fn` gave it (RxJS
    /// `debounce(selector)`, Kotlin `debounce { }`).
    ///
    /// The window of the latest item is the one in force: an item with a shorter window than
    /// the one before it is emitted when its own window ends. Options as on `debounce`, set
    /// on the returned [`DebounceWith`].
    ///
    /// ```text
    /// a sets a window of 100 ms, b of 20 ms, c of 50 ms
    ///
    /// time (ms)           0    50   100  150  200
    ///                     |----|----|----|----|
    /// source              a  b      c
    /// debounce_with            b         c
    /// ```
    ///
    /// # Examples
    ///
    /// A search box that waits longer after a short query, which is likely still being typed:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let typed = futures_util::stream::iter(["r", "ru", "rust"]).chain(futures_util::stream::pending());
    /// let queries = typed.debounce_with(|query: &&str| {
    ///     if query.len() < 3 { Duration::from_millis(500) } else { Duration::from_millis(150) }
    /// });
    /// let mut queries = std::pin::pin!(queries);
    /// assert_eq!(queries.next().await, Some("rust"));
    /// assert_eq!(start.elapsed(), Duration::from_millis(150));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: a held item stays held.
    fn debounce_with<F>(self, window_fn: F) -> DebounceWith<Self, F>
    where
        Self: Sized,
        F: FnMut(&Self::Item) -> Duration,
    {
        DebounceWith::new(self, window_fn)
    }

    /// Yields the latest item at each tick of a fixed grid of `period`, if an item came since
    /// the tick before (RxJS `sampleTime`, Kotlin `sample`).
    ///
    /// The grid starts at the first poll. A tick with no new item emits nothing and costs no
    /// wakeup. An item ready at a tick's poll belongs to that tick. When the source ends, a
    /// held item is emitted at once (RxJS and Kotlin drop it: here the final state is never
    /// lost), then the stream ends. A `period` below a millisecond is raised to one.
    ///
    /// ```text
    /// sample(100); first poll at 0
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source                a   b  c               d     e
    /// ticks                         |         |         |         |
    /// sample(100)                   c                   d         e
    /// ```
    ///
    /// # Examples
    ///
    /// A progress bar redrawn at most four times a second:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::sleep;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// // A percentage every 10 ms, then the task is done.
    /// let progress = futures_util::stream::unfold(0, |done| async move {
    ///     sleep(Duration::from_millis(10)).await;
    ///     (done < 100).then_some((done + 1, done + 1))
    /// });
    /// let redraws: Vec<u32> = progress.sample(Duration::from_millis(250)).collect().await;
    /// assert_eq!(redraws, [25, 50, 75, 100]);
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: a held item stays held.
    fn sample(self, period: Duration) -> Sample<Self>
    where
        Self: Sized,
    {
        Sample::new(self, period)
    }

    /// At most one item a `period`: RxJS's `throttleTime(period, { leading, trailing })`.
    ///
    /// An item that comes while the stream is not throttled starts a throttle of `period`,
    /// and is emitted at once (`leading`, on by default). Items during the throttle are
    /// dropped; with [`trailing(true)`](ThrottleWith::trailing) the latest is held instead
    /// and emitted when the throttle ends, which starts the next throttle. Any two emissions
    /// are thus at least `period` apart. When the source ends, a held item is emitted at once
    /// (RxJS waits for the throttle to end), then the stream ends.
    ///
    /// ```text
    /// period 100 ms
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source              a  b  c        d e                 f
    /// throttle_with(100)  a              d                   f
    /// .trailing(true)     a         c         e              f
    /// .leading(false)               c         e                        f
    ///   .trailing(true)
    /// ```
    ///
    /// Named so as not to clash with `tokio_stream::StreamExt::throttle`, which delays every
    /// item instead of dropping any. lodash's `throttle` differs in one case: after a
    /// trailing emission, an item that comes once the burst has been quiet for a period is
    /// emitted at once, even if less than a period after the trailing one. That behaviour is
    /// `debounce(period).leading(true).max_wait(period)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::{Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// // A scroll event every 10 ms for 95 ms.
    /// let scrolls = futures_util::stream::unfold(0, |n| async move {
    ///     (n < 10).then_some(())?;
    ///     if n > 0 {
    ///         sleep(Duration::from_millis(10)).await;
    ///     }
    ///     Some((n, n + 1))
    /// });
    /// let handled = scrolls.throttle_with(Duration::from_millis(40)).trailing(true);
    /// let mut handled = std::pin::pin!(handled);
    /// let mut at = Vec::new();
    /// while let Some(n) = handled.next().await {
    ///     at.push((n, start.elapsed().as_millis()));
    /// }
    /// assert_eq!(at, [(0, 0), (4, 40), (8, 80), (9, 90)]);
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: a held item stays held.
    fn throttle_with(self, period: Duration) -> ThrottleWith<Self>
    where
        Self: Sized,
    {
        ThrottleWith::new(self, period)
    }

    /// Passes the items as `Ok` and yields one `Err(`[`Elapsed`]`)` for each silent gap of
    /// `timeout`.
    ///
    /// The first window starts at the first poll; each item restarts it. After an `Err` the
    /// stream waits for the next item with no timeout (a gap yields one `Err`, however long
    /// it lasts); that item starts a new window. The stream ends when the source ends.
    ///
    /// ```text
    /// idle_timeout(100); first poll at 0; a, b, c pass as Ok(..), E is Err(Elapsed)
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450  500
    ///                     |----|----|----|----|----|----|----|----|----|----|
    /// source                 a  b                       c
    /// output                 a  b         E             c         E
    /// ```
    ///
    /// # Examples
    ///
    /// A connection that must notice silence:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> std::io::Result<()> {
    /// let start = Instant::now();
    /// let frames = futures_util::stream::iter(["hello", "world"]).chain(futures_util::stream::pending());
    /// let mut frames = std::pin::pin!(frames.idle_timeout(Duration::from_secs(30)));
    /// let mut received = Vec::new();
    /// let error = loop {
    ///     match frames.next().await {
    ///         Some(Ok(frame)) => received.push(frame),
    ///         Some(Err(elapsed)) => break std::io::Error::from(elapsed),
    ///         None => return Ok(()),
    ///     }
    /// };
    /// assert_eq!(received, ["hello", "world"]);
    /// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    /// assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe.
    fn idle_timeout(self, timeout: Duration) -> IdleTimeout<Self>
    where
        Self: Sized,
    {
        IdleTimeout::new(self, timeout)
    }

    /// Passes the items as [`KeepaliveItem::Source`], and yields `make_item()` as
    /// [`KeepaliveItem::Injected`] after each `period` with no item.
    ///
    /// The first period starts at the first poll, so the first injected item comes a full
    /// period after it; each item, the source's or an injected one, restarts the period. The
    /// stream ends when the source ends. A period below a millisecond is raised to one.
    ///
    /// Both variants carry the source's item type: write every item the same way with
    /// [`into_inner`](KeepaliveItem::into_inner), or tell the keep-alives apart with
    /// [`is_injected`](KeepaliveItem::is_injected) (to count them, or to log only real events).
    ///
    /// ```text
    /// keepalive(100, || ping); first poll at 0; p is an injected ping
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450  500
    ///                     |----|----|----|----|----|----|----|----|----|----|
    /// source                 a  b                       c
    /// output                 a  b         p         p   c         p         p
    /// ```
    ///
    /// # Examples
    ///
    /// Server-sent events with a comment line every 15 seconds of silence, so proxies keep
    /// the connection open:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::{Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let events = futures_util::stream::once(async {
    ///     sleep(Duration::from_secs(20)).await;
    ///     String::from("data: ready\n\n")
    /// })
    /// .chain(futures_util::stream::pending());
    /// let sse = events.keepalive(Duration::from_secs(15), || String::from(": keepalive\n\n"));
    /// let mut sse = std::pin::pin!(sse);
    /// let (mut sent, mut keepalives) = (Vec::new(), 0);
    /// for _ in 0..3 {
    ///     let line = sse.next().await.unwrap();
    ///     keepalives += usize::from(line.is_injected());
    ///     sent.push((start.elapsed().as_secs(), line.into_inner()));
    /// }
    /// assert_eq!(sent, [
    ///     (15, String::from(": keepalive\n\n")),
    ///     (20, String::from("data: ready\n\n")),
    ///     (35, String::from(": keepalive\n\n")),
    /// ]);
    /// assert_eq!(keepalives, 2);
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe.
    fn keepalive<F>(self, period: Duration, make_item: F) -> Keepalive<Self, F>
    where
        Self: Sized,
        F: FnMut() -> Self::Item,
    {
        Keepalive::new(self, period, make_item)
    }

    /// Ping/pong liveness for a stream of inbound messages (a websocket): asks for a ping
    /// after `interval` with no sign of life, and declares the peer dead if none follows
    /// within `timeout`.
    ///
    /// Every item passes through as `Ok(`[`Liveness::Item`]`(item))`. The first interval
    /// starts at the first poll; every item that counts as a sign of life (by default every
    /// item; only some with [`pong_when`](PingPong::pong_when)) restarts it. When an interval
    /// passes with no sign of life, the stream yields `Ok(`[`Liveness::Ping`]`)` once: send a
    /// ping to the peer then. If a sign of life comes within `timeout` of the poll that
    /// yielded the ping, the pending death is cancelled and a new interval starts from that
    /// item; otherwise the stream yields `Err(`[`PeerDead`]`)`, then `None` forever, without
    /// polling the source again. One ping per silent stretch: no other ping is asked for
    /// while it waits for the answer. When the source ends, the stream ends, with no death.
    ///
    /// ```text
    /// ping_pong(100, 50); first poll at 0; a passes as Ok(Item(a)), b is the peer's pong;
    /// P is Ok(Ping), D is Err(PeerDead), then None
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source                 a            b
    /// output                 a         P  b         P    D
    /// ```
    ///
    /// A ping at 130 (an interval after a), answered by b at 160, so the next interval runs
    /// from 160: a ping at 260, unanswered, and the peer is dead at 310, the ping's instant
    /// plus the timeout.
    ///
    /// Items ready at a poll are taken before the instant is judged, as in the other
    /// adapters: an item that is ready when the poll finds the timeout over still counts. A
    /// consumer that polls late gets the ping late, and the timeout runs from the poll that
    /// yielded it (the ping could not be sent before): a poll later than interval plus
    /// timeout yields the ping, not the death.
    ///
    /// An `interval` below a millisecond is raised to a millisecond, so it cannot spin. A
    /// zero `timeout` declares the peer dead at the first poll after the one that yielded
    /// the ping, unless a sign of life is ready at that poll. Durations saturate at about 30
    /// years (effectively never): `Duration::MAX` neither panics nor spins.
    ///
    /// # Examples
    ///
    /// A peer that says hello, answers the first ping two seconds late, then falls silent:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Liveness, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    /// use tokio::time::{Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let inbound = futures_util::stream::iter(["hello"])
    ///     .chain(futures_util::stream::once(async {
    ///         sleep(Duration::from_secs(32)).await;
    ///         "pong"
    ///     }))
    ///     .chain(futures_util::stream::pending());
    /// let inbound = inbound.ping_pong(Duration::from_secs(30), Duration::from_secs(10));
    /// let mut inbound = std::pin::pin!(inbound);
    /// let mut log = Vec::new();
    /// while let Some(event) = inbound.next().await {
    ///     let what = match event {
    ///         Ok(Liveness::Item(message)) => message.to_owned(),
    ///         Ok(Liveness::Ping) => String::from("send a ping"),
    ///         Err(dead) => format!("close: {dead}"),
    ///     };
    ///     log.push((start.elapsed().as_secs(), what));
    /// }
    /// let log: Vec<_> = log.iter().map(|(at, what)| (*at, what.as_str())).collect();
    /// assert_eq!(log, [
    ///     (0, "hello"),
    ///     (30, "send a ping"),
    ///     (32, "pong"),
    ///     (62, "send a ping"),
    ///     (72, "close: peer did not answer a ping in time"),
    /// ]);
    /// # }
    /// ```
    ///
    /// With a websocket (`tokio_tungstenite`), split the `WebSocketStream` into its sink and
    /// its stream, and wrap the stream: `read.ping_pong(interval, timeout)`, with
    /// `.pong_when(|m| matches!(m, Ok(Message::Pong(_))))` if only pongs should count (by
    /// default any inbound frame does, and a read error item counts too; end the loop on
    /// it). Then loop on `next()` in a `select!` beside the outbound work: on
    /// `Ok(Liveness::Item(Ok(message)))` handle the message; on `Ok(Liveness::Ping)` send
    /// `Message::Ping` through the sink (tungstenite answers the peer's pings by itself);
    /// on `Err(PeerDead)` send `Message::Close` and drop the connection, or turn it into an
    /// `io::Error` of kind `TimedOut` with `?`.
    ///
    /// # Cancel safety
    ///
    /// `next()` on it is cancel safe: a ping or a death decided is yielded by the poll that
    /// decides it, so none is lost to a `select!` that drops the `next()` future.
    ///
    /// # Precision
    ///
    /// See [the module docs](self#precision): the ping and the death come at the first poll
    /// at or after their instants, at most about a millisecond late from Tokio's timer.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, or if the predicate
    /// of `pong_when` panics. No `Duration` panics.
    fn ping_pong(self, interval: Duration, timeout: Duration) -> PingPong<Self>
    where
        Self: Sized,
    {
        PingPong::new(self, interval, timeout)
    }
}

impl<S: Stream + ?Sized> StreamDeadlineExt for S {}
