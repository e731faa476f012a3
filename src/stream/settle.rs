//! The stream that [`Debounce`](super::Debounce), [`DebounceBatch`](super::DebounceBatch) and
//! [`DebounceWith`](super::DebounceWith) are: a fused source, one timer, lodash's rules
//! ([`Rules`], [`Burst`]) and what is held between emissions. They differ in what they hold:
//! the latest item ([`Latest`]) or every item of the burst ([`All`]); and in where the window
//! comes from: fixed ([`Fixed`]) or chosen by each item ([`PerItem`]).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::burst::{Action, Burst, Rules};
use crate::timer::Timer;

/// What a debounce holds between emissions, and what it yields.
pub(crate) trait Held: Default {
    type Item;
    type Out;

    /// A source item was taken: it replaces, or joins, what is held.
    fn push(&mut self, item: Self::Item);

    /// What an emission yields; `None` if nothing is held.
    fn take(&mut self) -> Option<Self::Out>;

    fn is_empty(&self) -> bool;

    /// Whether what is held has reached `max_items` and must go out now.
    fn is_full(&self, _max_items: usize) -> bool {
        false
    }

    /// The `Debug` fields of the adapter that come from what it holds.
    fn debug_fields(&self, rules: &Rules, f: &mut fmt::DebugStruct<'_, '_>);

    /// The `Debug` fields of the options that only apply to what this holds.
    fn debug_options(_rules: &Rules, _f: &mut fmt::DebugStruct<'_, '_>) {}

    /// Carries out the rules' decision: what to yield now, if anything.
    fn apply(&mut self, action: Action) -> Option<Self::Out> {
        match action {
            Action::Hold => None,
            Action::Emit => self.take(),
            Action::Discard => {
                drop(self.take());
                None
            }
        }
    }
}

/// The latest item of the burst.
pub(crate) struct Latest<T>(Option<T>);

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Held for Latest<T> {
    type Item = T;
    type Out = T;

    fn push(&mut self, item: T) {
        self.0 = Some(item);
    }

    fn take(&mut self) -> Option<T> {
        self.0.take()
    }

    fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn debug_fields(&self, rules: &Rules, f: &mut fmt::DebugStruct<'_, '_>) {
        Self::debug_options(rules, f);
        f.field("holding", &self.0.is_some());
    }

    fn debug_options(rules: &Rules, f: &mut fmt::DebugStruct<'_, '_>) {
        // Only a latest item can be dropped by its edge: a batch has no trailing switch.
        f.field("trailing", &rules.trailing());
    }
}

/// Every item of the burst, in order.
pub(crate) struct All<T> {
    items: Vec<T>,
    // The capacity to reserve for the next batch: one allocation a batch, sized like the last.
    last_len: usize,
}

impl<T> Default for All<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            last_len: 0,
        }
    }
}

impl<T> Held for All<T> {
    type Item = T;
    type Out = Vec<T>;

    fn push(&mut self, item: T) {
        if self.items.is_empty() {
            self.items.reserve(self.last_len);
        }
        self.items.push(item);
    }

    /// Leaves an empty `Vec` behind, so nothing is allocated until the next item.
    fn take(&mut self) -> Option<Vec<T>> {
        if self.items.is_empty() {
            return None;
        }
        self.last_len = self.items.len();
        Some(std::mem::take(&mut self.items))
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn is_full(&self, max_items: usize) -> bool {
        self.items.len() >= max_items
    }

    fn debug_fields(&self, _: &Rules, f: &mut fmt::DebugStruct<'_, '_>) {
        f.field("held", &self.items.len());
    }
}

/// Where a debounce's window comes from.
pub(crate) trait Windows<T> {
    /// The window this item sets, or `None` to keep the one set at construction.
    fn window(&mut self, item: &T) -> Option<Duration>;
}

/// One window for every item.
#[derive(Debug, Default)]
pub(crate) struct Fixed;

impl<T> Windows<T> for Fixed {
    fn window(&mut self, _: &T) -> Option<Duration> {
        None
    }
}

/// A window chosen by each item.
pub(crate) struct PerItem<F>(pub(crate) F);

impl<T, F: FnMut(&T) -> Duration> Windows<T> for PerItem<F> {
    fn window(&mut self, item: &T) -> Option<Duration> {
        Some((self.0)(item))
    }
}

pin_project! {
    /// A debounce that yields what `H` holds, with windows from `W`: the public debounces of
    /// one burst at a time wrap one.
    pub(crate) struct Settle<S, H, W> {
        #[pin]
        pub(super) stream: S,
        #[pin]
        timer: Timer,
        pub(super) rules: Rules,
        burst: Burst,
        windows: W,
        held: H,
        // A batch this long is emitted at once (`usize::MAX`: never).
        pub(super) max_items: usize,
        // The source returned `None`: it is never polled again.
        source_done: bool,
    }
}

impl<S, H: Held, W> Settle<S, H, W> {
    pub(crate) fn new(stream: S, window: Duration, windows: W) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            rules: Rules::new(window),
            burst: Burst::default(),
            windows,
            held: H::default(),
            max_items: usize::MAX,
            source_done: false,
        }
    }

    pub(crate) fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    /// lodash's `flush`: the trailing edge now, if a burst is open.
    pub(crate) fn flush(self: Pin<&mut Self>) -> Option<H::Out> {
        let this = self.project();
        let out = this
            .held
            .apply(this.burst.on_flush(this.rules, Instant::now()));
        // The burst is closed: nothing left to wait for, so no wakeup follows.
        this.timer.clear();
        out
    }

    /// lodash's `cancel`: the held item dropped and the burst forgotten.
    pub(crate) fn cancel(self: Pin<&mut Self>) -> bool {
        let this = self.project();
        drop(this.held.take());
        // Nothing left to wait for: no wakeup follows.
        this.timer.clear();
        this.burst.cancel()
    }

    /// The adapter's `Debug`, under its public name.
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(name);
        d.field("window", &self.rules.window())
            .field("max_wait", &self.rules.max_wait())
            .field("leading", &self.rules.leading());
        self.held.debug_fields(&self.rules, &mut d);
        if self.max_items != usize::MAX {
            d.field("max_items", &self.max_items);
        }
        d.field("deadline", &self.burst.deadline())
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }
}

impl<S, H, W> Stream for Settle<S, H, W>
where
    S: Stream,
    H: Held<Item = S::Item>,
    W: Windows<S::Item>,
{
    type Item = H::Out;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<H::Out>> {
        let mut this = self.project();
        if *this.source_done {
            return Poll::Ready(this.held.apply(this.burst.on_end(this.rules)));
        }
        // One clock read a poll: the items ready now arrived "now", however many they are.
        let now = Instant::now();
        // Every ready item is taken before the window is judged, so a buffered burst costs
        // one window. An emission due on an item (a leading edge, `max_wait`, a full batch)
        // is yielded at once; the next poll takes the rest.
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    let window = this.windows.window(&item);
                    this.held.push(item);
                    let mut action = match window {
                        Some(window) => this.burst.on_item_with_window(this.rules, now, window),
                        None => this.burst.on_item(this.rules, now),
                    };
                    if action == Action::Hold && this.held.is_full(*this.max_items) {
                        action = this.burst.on_full(this.rules, now);
                    }
                    if let Some(out) = this.held.apply(action) {
                        return Poll::Ready(Some(out));
                    }
                }
                Poll::Ready(None) => {
                    *this.source_done = true;
                    return Poll::Ready(this.held.apply(this.burst.on_end(this.rules)));
                }
                // The source registered the waker for its next item.
                Poll::Pending => break,
            }
        }
        if let Some(out) = this.held.apply(this.burst.on_timer(this.rules, now)) {
            return Poll::Ready(Some(out));
        }
        match this.burst.deadline() {
            Some(at) => this.timer.wake_at(cx, at),
            // Nothing to decide means only the source can change anything, and it will wake
            // the task. The timer is dropped: set for an instant this poll has already acted
            // on, it would wake the task once more for nothing.
            None => this.timer.clear(),
        }
        Poll::Pending
    }

    /// At most one emission per source item, and at most the held one once the source ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = usize::from(self.burst.holds_trailing(&self.rules) && !self.held.is_empty());
        if self.source_done {
            return (held, Some(held));
        }
        let (_, upper) = self.stream.size_hint();
        (0, upper.and_then(|upper| upper.checked_add(held)))
    }
}

impl<S, H, W> FusedStream for Settle<S, H, W>
where
    S: Stream,
    H: Held<Item = S::Item>,
    W: Windows<S::Item>,
{
    fn is_terminated(&self) -> bool {
        self.source_done && self.held.is_empty()
    }
}

/// Expands, inside the `impl` of an adapter whose field `inner` is a [`Settle`], to lodash's
/// `flush` and `cancel`, each with its docs and a doctest on the adapter that `$build` (a
/// method chain, as text) makes of three items ready at once; `$flushed` is what `flush`
/// returns for them, as text.
macro_rules! delegate_flush_cancel {
    (out: $out:ty, build: $build:literal, flushed: $flushed:literal,) => {
        /// Emits the held burst now, lodash's `flush`: if a burst is open, its trailing edge
        /// runs at once and its held item is returned (or dropped, with `trailing(false)`),
        /// instead of being yielded when the window ends. `None` if no burst is open.
        ///
        /// It counts as an emission (`max_wait` measures from it), and the burst is closed:
        /// an item that comes within the window of the last one starts no leading edge
        /// (lodash). The stream itself yields nothing for the flushed burst.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        /// let source = futures_util::stream::iter([1, 2, 3]).chain(futures_util::stream::pending());
        #[doc = concat!("let mut adapter = std::pin::pin!(source", $build, ");")]
        /// assert!(futures_util::poll!(adapter.next()).is_pending()); // the burst is held
        #[doc = concat!("assert_eq!(adapter.as_mut().flush(), ", $flushed, ");")]
        /// assert_eq!(adapter.as_mut().flush(), None, "nothing is held any more");
        /// # }
        /// ```
        pub fn flush(self: ::std::pin::Pin<&mut Self>) -> Option<$out> {
            self.project().inner.flush()
        }

        /// Drops the held burst and forgets it, lodash's `cancel`: the next item starts a new
        /// burst (a leading edge, with `leading(true)`). Returns whether anything was held.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        /// let source = futures_util::stream::iter([1, 2, 3]).chain(futures_util::stream::pending());
        #[doc = concat!("let mut adapter = std::pin::pin!(source", $build, ");")]
        /// assert!(futures_util::poll!(adapter.next()).is_pending()); // the burst is held
        /// assert!(adapter.as_mut().cancel());
        /// tokio::time::sleep(Duration::from_secs(1)).await;
        /// assert!(futures_util::poll!(adapter.next()).is_pending(), "nothing left to emit");
        /// # }
        /// ```
        pub fn cancel(self: ::std::pin::Pin<&mut Self>) -> bool {
            self.project().inner.cancel()
        }
    };
}

pub(super) use delegate_flush_cancel;
