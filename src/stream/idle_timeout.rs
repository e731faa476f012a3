//! [`IdleTimeout`]: items pass as `Ok`; each silent gap of a given length yields one
//! `Err(Elapsed)`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::access::delegate_access_inner;
use crate::clock::{FAR_FUTURE, saturating_after};
use crate::timer::Timer;

/// The error of [`IdleTimeout`]: the source was silent for the whole timeout.
///
/// Its `Display` is lowercase, without trailing punctuation, so it composes into larger
/// messages; it converts into a [`std::io::Error`] of kind
/// [`TimedOut`](std::io::ErrorKind::TimedOut), for `?` in I/O code.
///
/// ```
/// use std::time::Duration;
/// use deadlines::stream::{Elapsed, StreamDeadlineExt};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let silent = futures_util::stream::pending::<u8>().idle_timeout(Duration::from_secs(30));
/// let mut silent = std::pin::pin!(silent);
/// let elapsed: Elapsed = silent.next().await.unwrap().unwrap_err();
/// assert_eq!(elapsed.to_string(), "stream idle timeout elapsed");
/// let io = std::io::Error::from(elapsed);
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stream idle timeout elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

pin_project! {
    /// Stream for [`idle_timeout`](super::StreamDeadlineExt::idle_timeout): the source's items
    /// as `Ok`, and one `Err(Elapsed)` for each silent gap of the timeout.
    ///
    /// The first window starts at the first poll; every item restarts it. When a window
    /// passes with no item, the stream yields `Err(Elapsed)` once and then waits, with no
    /// timeout, for the next item, which starts a new window. It never ends on its own: it
    /// ends when the source ends (and then yields no `Err`). To stop at the first timeout,
    /// add `.take_while(|item| std::future::ready(item.is_ok()))`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{IdleTimeout, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let source = futures_util::stream::iter([1, 2]).chain(futures_util::stream::pending());
    /// let watched: IdleTimeout<_> = source.idle_timeout(Duration::from_secs(5));
    /// let mut watched = std::pin::pin!(watched);
    /// assert_eq!(watched.next().await, Some(Ok(1)));
    /// assert_eq!(watched.next().await, Some(Ok(2)));
    /// assert!(watched.next().await.unwrap().is_err()); // 5 s later
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it to call `StreamExt::next`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled. No `Duration` panics:
    /// a timeout saturates at about 30 years (effectively never).
    #[must_use = "streams do nothing unless polled"]
    pub struct IdleTimeout<S> {
        #[pin]
        stream: S,
        #[pin]
        timer: Timer,
        timeout: Duration,
        // The end of the current window; `None` before the first poll and after an `Err`,
        // until the next item.
        deadline: Option<Instant>,
        started: bool,
        source_done: bool,
    }
}

impl<S> IdleTimeout<S> {
    pub(crate) fn new(stream: S, timeout: Duration) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            timeout: timeout.min(FAR_FUTURE),
            deadline: None,
            started: false,
            source_done: false,
        }
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: steady traffic costs at most one a window, not one per item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let items = futures_util::stream::iter(0..1_000).chain(futures_util::stream::pending());
    /// let mut watched = std::pin::pin!(items.idle_timeout(Duration::from_secs(1)));
    /// while let Some(Ok(_)) = watched.next().await {}
    /// assert_eq!(watched.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    delegate_access_inner!(
        stream: S,
        build: ".idle_timeout(Duration::from_secs(1))",
        get_mut: "Taking items from it directly does not restart the window.",
    );
}

impl<S: Stream> Stream for IdleTimeout<S> {
    type Item = Result<S::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.source_done {
            return Poll::Ready(None);
        }
        let now = Instant::now();
        if !*this.started {
            *this.started = true;
            *this.deadline = Some(saturating_after(now, *this.timeout));
        }
        // The source first: an item ready when the window is judged counts, even if the
        // window is over (it was not observed over before the item came).
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                // A store: the timer is re-set at most once a window, when it fires early.
                *this.deadline = Some(saturating_after(now, *this.timeout));
                return Poll::Ready(Some(Ok(item)));
            }
            Poll::Ready(None) => {
                *this.source_done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        // Decided with the clock, so a source that uses up the coop budget cannot hide it.
        match *this.deadline {
            Some(at) if at <= now => {
                *this.deadline = None;
                Poll::Ready(Some(Err(Elapsed(()))))
            }
            Some(at) => {
                this.timer.wake_at(cx, at);
                Poll::Pending
            }
            // After an `Err`: only an item, which the source will wake the task for, matters.
            None => Poll::Pending,
        }
    }

    /// The source's items, and at most one `Err` before each and after the last.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.source_done {
            return (0, Some(0));
        }
        let (lower, upper) = self.stream.size_hint();
        let armed = usize::from(!self.started || self.deadline.is_some());
        let upper = upper.and_then(|upper| upper.checked_mul(2)?.checked_add(armed));
        (lower, upper)
    }
}

impl<S: Stream> FusedStream for IdleTimeout<S> {
    /// `true` once the source ended: the stream yields `None` from now on, and never polls the
    /// source again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watched = futures_util::stream::iter([1]).idle_timeout(Duration::from_secs(1));
    /// let mut watched = std::pin::pin!(watched);
    /// assert_eq!(watched.next().await, Some(Ok(1)));
    /// assert!(!watched.is_terminated());
    /// assert_eq!(watched.next().await, None);
    /// assert!(watched.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.source_done
    }
}

impl<S> fmt::Debug for IdleTimeout<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleTimeout")
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }
}
