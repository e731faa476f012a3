//! [`Watchdog::guard`] and the [`Guarded`] future it makes: a timeout that other tasks extend.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;

use crate::expired::Expired;
use crate::watchdog::Watchdog;

pin_project! {
    /// A future run under a [`Watchdog`]: made by [`Watchdog::guard`].
    ///
    /// Resolves `Ok(output)` if the future completes first, `Err(Expired)` if the watchdog
    /// expires first. A [`Heartbeat::stop`](crate::Heartbeat::stop) disables the timeout.
    /// Once it has resolved, polling it again returns `Pending` and polls nothing.
    ///
    /// The future is polled first, then the watchdog. A future that uses up Tokio's
    /// cooperative budget on every poll cannot starve the timeout (the trouble
    /// `tokio::time::timeout` works around): the watchdog's decision reads the clock itself
    /// rather than waiting for its timer to be polled successfully.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Guarded, Watchdog};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let stuck: Guarded<_> = Watchdog::new(Duration::from_secs(2)).guard(std::future::pending::<()>());
    /// let expired = stuck.await.unwrap_err();
    /// assert_eq!(expired.deadline() - start, Duration::from_secs(2));
    /// # }
    /// ```
    #[must_use = "a guarded future does nothing unless polled"]
    pub struct Guarded<F> {
        #[pin]
        future: F,
        #[pin]
        watchdog: Watchdog,
        done: bool,
    }
}

impl Watchdog {
    /// Runs `future` under this watchdog: it resolves `Ok(output)` if the future completes
    /// first, `Err(Expired)` if the watchdog expires first (and the future is dropped with the
    /// returned [`Guarded`]). Take a [`heartbeat`](Self::heartbeat) first to extend the
    /// timeout from other tasks: this is `tokio::time::timeout` with a deadline others can
    /// push back. A [`Heartbeat::stop`](crate::Heartbeat::stop) disables the timeout; the future then runs to its end.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_millis(100));
    /// let heartbeat = watchdog.heartbeat();
    /// let download = async move {
    ///     for _chunk in 0..10 {
    ///         tokio::time::sleep(Duration::from_millis(50)).await;
    ///         heartbeat.beat(); // progress extends the timeout
    ///     }
    ///     "done"
    /// };
    /// assert_eq!(watchdog.guard(download).await, Ok("done"));
    /// # }
    /// ```
    pub fn guard<F: Future>(self, future: F) -> Guarded<F> {
        Guarded::new(future, self)
    }
}

impl<F> Guarded<F> {
    fn new(future: F, watchdog: Watchdog) -> Self {
        Self {
            future,
            watchdog,
            done: false,
        }
    }

    /// The guarded future.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let guarded = Watchdog::new(Duration::from_secs(1)).guard(std::future::ready(7));
    /// assert_eq!(guarded.get_ref().clone().await, 7);
    /// # }
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The guarded future, pinned.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let guarded = Watchdog::new(Duration::from_secs(1)).guard(tokio::time::sleep(Duration::from_secs(5)));
    /// tokio::pin!(guarded);
    /// guarded.as_mut().get_pin_mut().reset(tokio::time::Instant::now());
    /// assert!(guarded.await.is_ok(), "the sleep now ends first");
    /// # }
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().future
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, Expired>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if *this.done {
            return Poll::Pending;
        }
        if let Poll::Ready(output) = this.future.poll(cx) {
            *this.done = true;
            return Poll::Ready(Ok(output));
        }
        match this.watchdog.poll(cx) {
            Poll::Ready(Ok(expired)) => {
                *this.done = true;
                Poll::Ready(Err(expired))
            }
            // Stopped: no timeout any more; the future's own waker drives the rest.
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> FusedFuture for Guarded<F> {
    /// `true` once it has resolved.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    /// use futures_core::future::FusedFuture;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let guarded = Watchdog::new(Duration::from_secs(1)).guard(async { 1 });
    /// tokio::pin!(guarded);
    /// assert!(!guarded.is_terminated());
    /// assert_eq!(guarded.as_mut().await, Ok(1));
    /// assert!(guarded.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<F> fmt::Debug for Guarded<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("watchdog", &self.watchdog)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
