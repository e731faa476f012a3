//! [`DebounceByKey`]: the latest item of each key's burst, once that key's burst has settled.

use std::fmt;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::access::delegate_access_inner;
use super::keyed::{Keyed, delegate_keyed_controls};
use super::settle::Latest;

pin_project! {
    /// Stream for [`debounce_by_key`](super::StreamDeadlineExt::debounce_by_key): a
    /// [`debounce`](super::StreamDeadlineExt::debounce) for each key, on one timer.
    ///
    /// Each key (one per file path, say) has a burst of its own under lodash's rules, with
    /// the options of [`Debounce`](super::Debounce): [`leading`](Self::leading),
    /// [`trailing`](Self::trailing), [`max_wait`](Self::max_wait). Items of different keys
    /// never delay each other. The timelines are drawn on
    /// [`StreamDeadlineExt::debounce_by_key`](super::StreamDeadlineExt::debounce_by_key).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{DebounceByKey, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let saves = futures_util::stream::iter([("a.rs", 1), ("b.rs", 1), ("a.rs", 2)]);
    /// let settled: DebounceByKey<_, _, _> =
    ///     saves.debounce_by_key(Duration::from_millis(100), |&(path, _)| path);
    /// assert_eq!(settled.collect::<Vec<_>>().await, [("a.rs", 2), ("b.rs", 1)]);
    /// # }
    /// ```
    ///
    /// # How it works
    ///
    /// Every key's burst lives in one table (the key is stored once) and every key that
    /// waits for an instant has one entry in one min-heap, which the adapter's one Tokio
    /// timer follows. An item costs a hash lookup; an item that pushes its key's window later
    /// costs nothing more (the key's entry is moved when it comes due, at most once a
    /// window); each entry that comes due costs O(log n). No key has a task, a thread or a
    /// timer of its own. A key whose burst has settled is forgotten, and its room reused;
    /// when every key has settled, all of it is freed ([`tracked`](Self::tracked) counts
    /// the keys). With no key waiting, the adapter drops its timer and is never woken.
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it with [`std::pin::pin!`] or
    /// [`tokio::pin!`] to call `StreamExt::next`, or hold it as
    /// `Pin<Box<DebounceByKey<S, K, F>>>`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, once it needs its
    /// timer, and whatever the key function or the key's `Hash` panics with. With 2^32 keys
    /// tracked at once (the table numbers its slots in 32 bits). Building it needs no
    /// runtime. No `Duration` panics.
    #[must_use = "streams do nothing unless polled"]
    pub struct DebounceByKey<S: Stream, K, F> {
        #[pin]
        inner: Keyed<S, K, F, Latest<S::Item>>,
    }
}

impl<S, K, F> DebounceByKey<S, K, F>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
{
    pub(crate) fn new(stream: S, window: Duration, key_fn: F) -> Self {
        Self {
            inner: Keyed::new(stream, window, key_fn),
        }
    }

    /// Emit the first item of each key's burst at once (default `false`). With `trailing`
    /// also on, a key's trailing item follows only if its burst had more than one item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let saves = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2)]);
    /// let settled = saves
    ///     .debounce_by_key(Duration::from_millis(100), |&(path, _)| path)
    ///     .leading(true);
    /// assert_eq!(settled.collect::<Vec<_>>().await, [("a", 1), ("b", 1), ("a", 2)]);
    /// # }
    /// ```
    pub fn leading(mut self, on: bool) -> Self {
        self.inner.rules.set_leading(on);
        self
    }

    /// Emit each key's latest item once its burst settles (default `true`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let saves = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2)]);
    /// let settled = saves
    ///     .debounce_by_key(Duration::from_millis(100), |&(path, _)| path)
    ///     .leading(true)
    ///     .trailing(false);
    /// assert_eq!(settled.collect::<Vec<_>>().await, [("a", 1), ("b", 1)]);
    /// # }
    /// ```
    pub fn trailing(mut self, on: bool) -> Self {
        self.inner.rules.set_trailing(on);
        self
    }

    /// Under continuous input to one key, emit its latest item at least every `max_wait`,
    /// measured from the key's previous emission (or from the first item of its burst). A
    /// `max_wait` shorter than the window is raised to the window.
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
    /// // One file appended to every 10 ms, forever.
    /// let appends = futures_util::stream::unfold(0, |n| async move {
    ///     sleep(Duration::from_millis(10)).await;
    ///     Some((("log.txt", n + 1), n + 1))
    /// });
    /// let settled = appends
    ///     .debounce_by_key(Duration::from_millis(50), |&(path, _)| path)
    ///     .max_wait(Duration::from_millis(200));
    /// let mut settled = std::pin::pin!(settled);
    /// assert_eq!(settled.next().await, Some(("log.txt", 21)));
    /// assert_eq!(start.elapsed(), Duration::from_millis(210));
    /// # }
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.inner.rules.set_max_wait(max_wait);
        self
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: one timer for every key, so keys settling together cost one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let burst = futures_util::stream::iter(0..10_000).chain(futures_util::stream::pending());
    /// let mut settled = std::pin::pin!(burst.debounce_by_key(Duration::from_millis(100), |&n| n));
    /// for n in 0..10_000 {
    ///     assert_eq!(settled.next().await, Some(n));
    /// }
    /// assert_eq!(settled.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.inner.timer_resets()
    }

    delegate_keyed_controls!(
        out: S::Item,
        build: ".debounce_by_key(Duration::from_millis(100), |&(key, _)| key)",
        flushed: "[(\"a\", 2), (\"b\", 1)]",
        flushed_a: "Some((\"a\", 2))",
    );

    delegate_access_inner!(
        inner.stream: S,
        build: ".debounce_by_key(Duration::from_millis(100), |&n| n)",
        get_mut: "Taking items from it directly bypasses the debounce.",
        into_inner: "Every held item is dropped.",
    );
}

impl<S, K, F> Stream for DebounceByKey<S, K, F>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.project().inner.poll_next(cx)
    }

    /// At most one item per source item, and at most one per tracked key once the source
    /// ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S, K, F> FusedStream for DebounceByKey<S, K, F>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
{
    /// `true` once the source ended and every held item was yielded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let settled = futures_util::stream::iter([1, 2])
    ///     .debounce_by_key(Duration::from_millis(100), |&n| n);
    /// let mut settled = std::pin::pin!(settled);
    /// assert_eq!(settled.next().await, Some(1));
    /// assert!(!settled.is_terminated());
    /// assert_eq!(settled.next().await, Some(2));
    /// assert!(settled.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<S: Stream, K: Hash + Eq, F> fmt::Debug for DebounceByKey<S, K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug("DebounceByKey", f)
    }
}
