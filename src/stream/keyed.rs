//! The stream that [`DebounceByKey`](super::DebounceByKey) and
//! [`DebounceBatchByKey`](super::DebounceBatchByKey) both are: a fused source, a key function,
//! one timer for every key, lodash's rules once for all keys, and a [`Burst`] per key in
//! [`Keys`].
//!
//! [`Burst`]: super::burst::Burst

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::burst::Rules;
use super::keys::Keys;
use super::settle::Held;
use crate::timer::Timer;

pin_project! {
    /// A debounce per key that yields what `H` holds: both keyed debounces wrap one.
    pub(crate) struct Keyed<S, K, F, H> {
        #[pin]
        pub(super) stream: S,
        #[pin]
        timer: Timer,
        key_fn: F,
        pub(super) rules: Rules,
        // A key's batch this long is emitted at once (`usize::MAX`: never).
        pub(super) max_items: usize,
        keys: Keys<K, H>,
        // The source returned `None`: it is never polled again.
        source_done: bool,
    }
}

impl<S, K: Hash + Eq, F, H: Held> Keyed<S, K, F, H> {
    pub(crate) fn new(stream: S, window: Duration, key_fn: F) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            key_fn,
            rules: Rules::new(window),
            max_items: usize::MAX,
            keys: Keys::new(),
            source_done: false,
        }
    }

    pub(crate) fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    pub(crate) fn tracked(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn flush(self: Pin<&mut Self>) -> Vec<H::Out> {
        let this = self.project();
        let out = this.keys.flush(this.rules, Instant::now());
        if this.keys.next_due().is_none() {
            // Nothing left to wait for: no wakeup follows.
            this.timer.clear();
        }
        out
    }

    pub(crate) fn flush_key<Q>(self: Pin<&mut Self>, key: &Q) -> Option<H::Out>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let this = self.project();
        this.keys.flush_key(key, this.rules, Instant::now())
    }

    pub(crate) fn cancel(self: Pin<&mut Self>) -> usize {
        let this = self.project();
        // Nothing left to wait for: no wakeup follows.
        this.timer.clear();
        this.keys.cancel()
    }

    pub(crate) fn cancel_key<Q>(self: Pin<&mut Self>, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.project().keys.cancel_key(key)
    }

    /// The adapter's `Debug`, under its public name.
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(name);
        d.field("window", &self.rules.window())
            .field("max_wait", &self.rules.max_wait())
            .field("leading", &self.rules.leading());
        H::debug_options(&self.rules, &mut d);
        if self.max_items != usize::MAX {
            d.field("max_items", &self.max_items);
        }
        d.field("tracked", &self.keys.len())
            .field("next_due", &self.keys.next_due())
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }
}

impl<S, K, F, H> Stream for Keyed<S, K, F, H>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
    H: Held<Item = S::Item>,
{
    type Item = H::Out;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<H::Out>> {
        let mut this = self.project();
        if *this.source_done {
            return Poll::Ready(this.keys.end(this.rules));
        }
        // One clock read a poll, and every ready item taken before any key's window is
        // judged, as `debounce` does; an emission due on an item is yielded at once.
        let now = Instant::now();
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    let key = (this.key_fn)(&item);
                    let out = this.keys.push(key, item, this.rules, *this.max_items, now);
                    if out.is_some() {
                        return Poll::Ready(out);
                    }
                }
                Poll::Ready(None) => {
                    *this.source_done = true;
                    this.timer.clear();
                    // Held items go out in the order their keys were due.
                    this.keys.sort_due(this.rules);
                    return Poll::Ready(this.keys.end(this.rules));
                }
                // The source registered the waker for its next item.
                Poll::Pending => break,
            }
        }
        // Every key whose check has come, in due order, one emission a poll: the keys that
        // settle together come out in consecutive polls, with no wakeup in between.
        if let Some(out) = this.keys.pop_due(this.rules, now) {
            return Poll::Ready(Some(out));
        }
        match this.keys.next_due() {
            Some(at) => this.timer.wake_at(cx, at),
            // No key has anything to decide: only the source can change that, and it wakes
            // the task. The timer is dropped, so an idle adapter is never woken.
            None => this.timer.clear(),
        }
        Poll::Pending
    }

    /// At most one emission per source item, and at most one per tracked key once the source
    /// ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let tracked = self.keys.len();
        if self.source_done {
            return (0, Some(tracked));
        }
        let (_, upper) = self.stream.size_hint();
        (0, upper.and_then(|upper| upper.checked_add(tracked)))
    }
}

impl<S, K, F, H> FusedStream for Keyed<S, K, F, H>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
    H: Held<Item = S::Item>,
{
    fn is_terminated(&self) -> bool {
        self.source_done && self.keys.len() == 0
    }
}

/// Expands, inside the `impl` of a keyed adapter whose field `inner` is a [`Keyed`], to
/// `tracked`, `flush`, `flush_key`, `cancel` and `cancel_key`, each with its docs and a
/// doctest on the adapter that `$build` (a method chain, as text) makes of the items
/// `("a", 1), ("b", 1), ("a", 2)` ready at once, keyed by their first field; `$flushed` is
/// what `flush` returns for them and `$flushed_a` what `flush_key(&"a")` does, as text.
macro_rules! delegate_keyed_controls {
    (
        out: $out:ty,
        build: $build:literal,
        flushed: $flushed:literal,
        flushed_a: $flushed_a:literal,
    ) => {
        /// How many keys have a burst that has not settled: holding an item, or within the
        /// window of their last one. A key is forgotten, and its memory reused, once its burst
        /// has settled; when every key has, the adapter holds no memory for keys at all.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        /// let items = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2)]);
        #[doc = concat!("let mut adapter = std::pin::pin!(items.chain(futures_util::stream::pending())", $build, ");")]
        /// assert!(futures_util::poll!(adapter.next()).is_pending());
        /// assert_eq!(adapter.tracked(), 2);
        /// adapter.next().await;
        /// adapter.next().await;
        /// assert_eq!(adapter.tracked(), 0, "both keys settled");
        /// # }
        /// ```
        pub fn tracked(&self) -> usize {
            self.inner.tracked()
        }

        /// lodash's `flush` for every key at once: each open burst's trailing edge runs now,
        /// and the items their trailing edges emit are returned, in the order they would have
        /// been yielded. The stream itself yields nothing for them.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        /// let items = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2)]);
        #[doc = concat!("let mut adapter = std::pin::pin!(items.chain(futures_util::stream::pending())", $build, ");")]
        /// assert!(futures_util::poll!(adapter.next()).is_pending());
        #[doc = concat!("assert_eq!(adapter.as_mut().flush(), ", $flushed, ");")]
        /// assert!(adapter.as_mut().flush().is_empty());
        /// # }
        /// ```
        pub fn flush(self: ::std::pin::Pin<&mut Self>) -> Vec<$out> {
            self.project().inner.flush()
        }

        /// lodash's `flush` for one key: its open burst's trailing edge runs now, and the item
        /// it emits is returned. `None` if the key has no open burst (or is unknown).
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        /// let items = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2)]);
        #[doc = concat!("let mut adapter = std::pin::pin!(items.chain(futures_util::stream::pending())", $build, ");")]
        /// assert!(futures_util::poll!(adapter.next()).is_pending());
        #[doc = concat!("assert_eq!(adapter.as_mut().flush_key(&\"a\"), ", $flushed_a, ");")]
        /// assert_eq!(adapter.as_mut().flush_key(&"z"), None, "an unknown key");
        /// # }
        /// ```
        pub fn flush_key<Q>(self: ::std::pin::Pin<&mut Self>, key: &Q) -> Option<$out>
        where
            K: ::std::borrow::Borrow<Q>,
            Q: ::std::hash::Hash + Eq + ?Sized,
        {
            self.project().inner.flush_key(key)
        }

        /// lodash's `cancel` for every key at once: every held item is dropped and every
        /// burst forgotten. Returns how many keys held an item.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        /// let items = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2)]);
        #[doc = concat!("let mut adapter = std::pin::pin!(items.chain(futures_util::stream::pending())", $build, ");")]
        /// assert!(futures_util::poll!(adapter.next()).is_pending());
        /// assert_eq!(adapter.as_mut().cancel(), 2);
        /// assert_eq!(adapter.tracked(), 0);
        /// # }
        /// ```
        pub fn cancel(self: ::std::pin::Pin<&mut Self>) -> usize {
            self.project().inner.cancel()
        }

        /// lodash's `cancel` for one key: its held item is dropped and its burst forgotten (its
        /// next item starts a new burst). Returns whether it held an item; `false` for an
        /// unknown key.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        /// let items = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2)]);
        #[doc = concat!("let mut adapter = std::pin::pin!(items.chain(futures_util::stream::pending())", $build, ");")]
        /// assert!(futures_util::poll!(adapter.next()).is_pending());
        /// assert!(adapter.as_mut().cancel_key(&"a"));
        /// assert!(!adapter.as_mut().cancel_key(&"z"));
        /// # }
        /// ```
        pub fn cancel_key<Q>(self: ::std::pin::Pin<&mut Self>, key: &Q) -> bool
        where
            K: ::std::borrow::Borrow<Q>,
            Q: ::std::hash::Hash + Eq + ?Sized,
        {
            self.project().inner.cancel_key(key)
        }
    };
}

pub(super) use delegate_keyed_controls;
