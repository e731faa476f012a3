//! The stream that [`Debounce`](super::Debounce) and [`DebounceBatch`](super::DebounceBatch)
//! both are: a fused source, one timer, lodash's rules ([`Burst`]) and what is held between
//! emissions. The two differ only in what they hold: the latest item ([`Latest`]) or every
//! item of the burst ([`All`]).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::burst::{Action, Burst};
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

    /// The `Debug` fields of the adapter that come from what it holds.
    fn debug_fields(&self, burst: &Burst, f: &mut fmt::DebugStruct<'_, '_>);

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

    fn debug_fields(&self, burst: &Burst, f: &mut fmt::DebugStruct<'_, '_>) {
        // Only a latest item can be dropped by its edge: a batch has no trailing switch.
        f.field("trailing", &burst.trailing())
            .field("holding", &self.0.is_some());
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

    fn debug_fields(&self, _: &Burst, f: &mut fmt::DebugStruct<'_, '_>) {
        f.field("held", &self.items.len());
    }
}

pin_project! {
    /// A debounce that yields what `H` holds: both public debounces wrap one.
    pub(crate) struct Settle<S, H> {
        #[pin]
        pub(super) stream: S,
        #[pin]
        timer: Timer,
        pub(super) burst: Burst,
        held: H,
        // The source returned `None`: it is never polled again.
        source_done: bool,
    }
}

impl<S, H: Held> Settle<S, H> {
    pub(crate) fn new(stream: S, window: Duration) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            burst: Burst::new(window),
            held: H::default(),
            source_done: false,
        }
    }

    pub(crate) fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    /// The adapter's `Debug`, under its public name.
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(name);
        d.field("window", &self.burst.window())
            .field("max_wait", &self.burst.max_wait())
            .field("leading", &self.burst.leading());
        self.held.debug_fields(&self.burst, &mut d);
        d.field("deadline", &self.burst.deadline())
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }
}

impl<S, H> Stream for Settle<S, H>
where
    S: Stream,
    H: Held<Item = S::Item>,
{
    type Item = H::Out;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<H::Out>> {
        let mut this = self.project();
        if *this.source_done {
            return Poll::Ready(this.held.apply(this.burst.on_end()));
        }
        // One clock read a poll: the items ready now arrived "now", however many they are.
        let now = Instant::now();
        // Every ready item is taken before the window is judged, so a buffered burst costs
        // one window. An emission due on an item (a leading edge, `max_wait`) is yielded at
        // once; the next poll takes the rest.
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    this.held.push(item);
                    if let Some(out) = this.held.apply(this.burst.on_item(now)) {
                        return Poll::Ready(Some(out));
                    }
                }
                Poll::Ready(None) => {
                    *this.source_done = true;
                    return Poll::Ready(this.held.apply(this.burst.on_end()));
                }
                // The source registered the waker for its next item.
                Poll::Pending => break,
            }
        }
        if let Some(out) = this.held.apply(this.burst.on_timer(now)) {
            return Poll::Ready(Some(out));
        }
        // Nothing to decide means only the source can change anything, and it will wake
        // the task.
        if let Some(at) = this.burst.deadline() {
            this.timer.wake_at(cx, at);
        }
        Poll::Pending
    }

    /// At most one emission per source item, and at most the held one once the source ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = usize::from(self.burst.holds_trailing() && !self.held.is_empty());
        if self.source_done {
            return (held, Some(held));
        }
        let (_, upper) = self.stream.size_hint();
        (0, upper.and_then(|upper| upper.checked_add(held)))
    }
}

impl<S, H> FusedStream for Settle<S, H>
where
    S: Stream,
    H: Held<Item = S::Item>,
{
    fn is_terminated(&self) -> bool {
        self.source_done && self.held.is_empty()
    }
}
