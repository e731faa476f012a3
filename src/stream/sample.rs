//! [`Sample`]: the latest item, at most once a period, on a fixed grid of ticks.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::access::delegate_access_inner;
use crate::clock::{FAR_FUTURE, GRANULARITY, saturating_after};
use crate::timer::Timer;

pin_project! {
    /// Stream for [`sample`](super::StreamDeadlineExt::sample): at each tick of a fixed grid,
    /// the latest item that came since the tick before, if any (RxJS `sampleTime`, Kotlin
    /// `sample`).
    ///
    /// The grid starts at the first poll: ticks at `start + period`, `start + 2 * period`,
    /// and so on. A tick with no new item emits nothing, and costs nothing: the adapter sets
    /// its timer only while it holds an item. A tick the task is polled too late for is
    /// skipped: the held item goes out at once, and the next tick is the next one of the grid.
    /// When the source ends, a held item is emitted at once (RxJS and Kotlin drop it), then
    /// the stream ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Sample, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let progress = futures_util::stream::iter(0..=100).chain(futures_util::stream::pending());
    /// let sampled: Sample<_> = progress.sample(Duration::from_millis(250));
    /// let mut sampled = std::pin::pin!(sampled);
    /// assert_eq!(sampled.next().await, Some(100)); // at the first tick, 250 ms
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it to call `StreamExt::next`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, once it holds an
    /// item. Building it needs no runtime. No `Duration` panics: a period below a millisecond
    /// is raised to one (Tokio's granularity), a huge one saturates at about 30 years.
    #[must_use = "streams do nothing unless polled"]
    pub struct Sample<S: Stream> {
        #[pin]
        stream: S,
        #[pin]
        timer: Timer,
        period: Duration,
        // The grid's origin: the first poll.
        start: Option<Instant>,
        held: Option<S::Item>,
        // The tick the held item goes out at.
        tick: Option<Instant>,
        source_done: bool,
    }
}

impl<S: Stream> Sample<S> {
    pub(crate) fn new(stream: S, period: Duration) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            period: period.clamp(GRANULARITY, FAR_FUTURE),
            start: None,
            held: None,
            tick: None,
            source_done: false,
        }
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: at most one a tick that emits, none while no item comes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let burst = futures_util::stream::iter(0..10_000).chain(futures_util::stream::pending());
    /// let mut sampled = std::pin::pin!(burst.sample(Duration::from_millis(100)));
    /// assert_eq!(sampled.next().await, Some(9_999));
    /// assert_eq!(sampled.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    delegate_access_inner!(
        stream: S,
        build: ".sample(Duration::from_millis(100))",
        get_mut: "Taking items from it directly bypasses the sampling.",
        into_inner: "A held item is dropped.",
    );
}

/// The first tick of the grid from `start` at or after `now`, never `start` itself: an item
/// that comes exactly at a tick belongs to it.
fn tick_at_or_after(start: Instant, period: Duration, now: Instant) -> Instant {
    let elapsed = now.saturating_duration_since(start).as_nanos();
    let period_nanos = period.as_nanos();
    let ticks = elapsed.div_ceil(period_nanos).max(1);
    // Measured from `now`, so the grid holds however long the stream has run: the tick lies
    // at most a period (30 years at the most) ahead.
    let ahead = period_nanos.saturating_mul(ticks) - elapsed;
    let ahead = u64::try_from(ahead).map_or(FAR_FUTURE, Duration::from_nanos);
    saturating_after(now, ahead)
}

impl<S: Stream> Stream for Sample<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if *this.source_done {
            return Poll::Ready(this.held.take());
        }
        let now = Instant::now();
        let start = *this.start.get_or_insert(now);
        // Every ready item is taken before the tick is judged: an item ready at the tick's
        // poll belongs to that tick.
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    *this.held = Some(item);
                    if this.tick.is_none() {
                        *this.tick = Some(tick_at_or_after(start, *this.period, now));
                    }
                }
                Poll::Ready(None) => {
                    *this.source_done = true;
                    *this.tick = None;
                    return Poll::Ready(this.held.take());
                }
                // The source registered the waker for its next item.
                Poll::Pending => break,
            }
        }
        match *this.tick {
            Some(tick) if tick <= now => {
                *this.tick = None;
                Poll::Ready(this.held.take())
            }
            Some(tick) => {
                this.timer.wake_at(cx, tick);
                Poll::Pending
            }
            // Nothing held: only the source can change that, and it wakes the task. The timer
            // is dropped, so that it cannot wake the task for a tick already acted on.
            None => {
                this.timer.clear();
                Poll::Pending
            }
        }
    }

    /// At most one item per source item, and at most the held one once the source ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = usize::from(self.held.is_some());
        if self.source_done {
            return (held, Some(held));
        }
        let (_, upper) = self.stream.size_hint();
        (0, upper.and_then(|upper| upper.checked_add(held)))
    }
}

impl<S: Stream> FusedStream for Sample<S> {
    /// `true` once the source ended and nothing is held.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let sampled = futures_util::stream::iter([1, 2]).sample(Duration::from_millis(100));
    /// let mut sampled = std::pin::pin!(sampled);
    /// assert_eq!(sampled.next().await, Some(2));
    /// assert!(sampled.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.source_done && self.held.is_none()
    }
}

impl<S: Stream> fmt::Debug for Sample<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sample")
            .field("period", &self.period)
            .field("holding", &self.held.is_some())
            .field("tick", &self.tick)
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }
}
