//! [`Deadline`]: a resettable, stoppable timeout future that fires once per arming.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;
use tokio::time::Instant;

use crate::clock::saturating_after;
use crate::expired::Expired;
use crate::timer::Timer;

pin_project! {
    /// A timeout future that can be reset, pushed later cheaply, stopped, and re-armed.
    ///
    /// A `Deadline` is *armed* with an instant, or *disarmed*. An armed deadline completes with
    /// [`Expired`] at the first poll at or after its instant, and is disarmed by doing so; a
    /// disarmed deadline is pending until [`reset`](Self::reset) arms it again. It is the
    /// timer of a heartbeat window: keep one `Deadline` across the iterations of a
    /// `select!` loop and reset it on every event, instead of creating a fresh `sleep()` each
    /// iteration (which never fires under steady traffic).
    ///
    /// The rules, which follow Go 1.23's `time.Timer` and add "no re-firing":
    ///
    /// 1. An armed deadline yields [`Expired`] exactly once, then is disarmed: later polls are
    ///    `Pending` until it is reset, so a `select!` loop does not spin after a timeout.
    /// 2. [`reset`](Self::reset) and [`reset_at`](Self::reset_at) arm it anew and return `true`
    ///    if it was armed with an expiry not yet delivered. Once they return, no expiry of the
    ///    earlier arming is ever observed, even if its instant had already passed unobserved.
    /// 3. [`stop`](Self::stop) disarms it and returns `true` exactly when that prevented an
    ///    expiry from being delivered.
    /// 4. Pushing the deadline later does not touch the Tokio timer: the new instant is stored,
    ///    and when the timer fires early the deadline sleeps again to the stored instant.
    ///    Moving it earlier resets the timer at once.
    ///
    /// ```text
    /// after(300)   reset(300)   reset(300)      (silence)
    /// |            |            |
    /// 0-----------100----------200----------300----------400----------500 ms
    ///                                                                  ^ Expired { deadline: 500 },
    ///                                                                    then Pending until a reset
    /// ```
    ///
    /// `Deadline` is `!Unpin`, like [`Sleep`](tokio::time::Sleep): pin it with [`tokio::pin!`] or
    /// [`std::pin::pin!`] to poll it in place, or hold it as `Pin<Box<Deadline>>` (or a
    /// `#[pin]` field) in a struct.
    ///
    /// # Examples
    ///
    /// A heartbeat window: the loop ends once no message came for 300 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    /// use tokio::sync::mpsc;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (tx, mut rx) = mpsc::channel::<&str>(8);
    /// tokio::spawn(async move {
    ///     for _ in 0..3 {
    ///         tokio::time::sleep(Duration::from_millis(100)).await;
    ///         tx.send("ping").await.unwrap();
    ///     }
    ///     std::future::pending::<()>().await; // silent, but still connected
    /// });
    ///
    /// let start = tokio::time::Instant::now();
    /// let window = Duration::from_millis(300);
    /// let deadline = Deadline::after(window);
    /// tokio::pin!(deadline);
    /// let mut pings = 0;
    /// loop {
    ///     tokio::select! {
    ///         Some(_) = rx.recv() => {
    ///             pings += 1;
    ///             deadline.as_mut().reset(window);
    ///         }
    ///         expired = &mut deadline => {
    ///             // The last ping came at 300 ms; the window closed at 600 ms.
    ///             assert_eq!(expired.deadline() - start, Duration::from_millis(600));
    ///             break;
    ///         }
    ///     }
    /// }
    /// assert_eq!(pings, 3);
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Polling a `Deadline` by reference (`&mut deadline` in `select!`) and dropping that
    /// poll loses nothing: an expiry is delivered only by a poll that returns `Ready`.
    ///
    /// # Panics
    ///
    /// Creating a `Deadline` needs no runtime: its Tokio timer is made at the first poll, so
    /// it can be built in a constructor before the runtime starts. Polling it panics outside
    /// a Tokio runtime, or in one built without `enable_time`, as polling a
    /// [`tokio::time::sleep`] made there would. No `Duration` or `Instant` argument panics: a
    /// duration that would overflow saturates to about 30 years from now (effectively never),
    /// as in Tokio.
    ///
    /// # Precision
    ///
    /// Tokio's timer counts whole milliseconds and rounds a deadline up to the next one. A
    /// `Deadline` completes at the first poll at or after its instant, never before: at most
    /// about a millisecond late from the timer, plus however long the task waits to be polled.
    #[must_use = "a deadline does nothing unless polled"]
    pub struct Deadline {
        #[pin]
        timer: Timer,
        // The armed instant; `None` when disarmed. The timer never fires after it (see
        // `Timer`); it fires early only after a reset to a later instant.
        target: Option<Instant>,
    }
}

impl Deadline {
    /// A deadline armed at `duration` from now.
    ///
    /// A `duration` too large to add to the current instant saturates to about 30 years from
    /// now, as in [`tokio::time::sleep`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// Deadline::after(Duration::from_millis(250)).await;
    /// assert_eq!(start.elapsed(), Duration::from_millis(250));
    /// # }
    /// ```
    pub fn after(duration: Duration) -> Self {
        Self::at(saturating_after(Instant::now(), duration))
    }

    /// A deadline armed at `deadline`. An instant in the past completes at the first poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let at = Instant::now() + Duration::from_secs(1);
    /// let deadline = Deadline::at(at);
    /// assert_eq!(deadline.deadline(), Some(at));
    /// assert_eq!(deadline.await.deadline(), at);
    /// # }
    /// ```
    pub fn at(deadline: Instant) -> Self {
        Self {
            timer: Timer::new(),
            target: Some(deadline),
        }
    }

    /// A deadline that is not armed: pending until [`reset`](Self::reset) arms it. Creating
    /// one registers no timer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::disarmed();
    /// tokio::pin!(deadline);
    /// assert!(!deadline.is_armed());
    /// let waited = tokio::time::timeout(Duration::from_secs(3600), deadline.as_mut()).await;
    /// assert!(waited.is_err(), "a disarmed deadline never completes");
    ///
    /// deadline.as_mut().reset(Duration::from_secs(1));
    /// deadline.await;
    /// # }
    /// ```
    pub const fn disarmed() -> Self {
        Self {
            timer: Timer::new(),
            target: None,
        }
    }

    /// Arms the deadline at `duration` from now, replacing any earlier arming.
    ///
    /// Returns `true` if the deadline was armed with an expiry not yet delivered (even one
    /// whose instant has passed but was not yet observed by a poll), `false` if it was
    /// disarmed. After this returns, no expiry of the earlier arming is ever observed.
    ///
    /// Pushing the deadline later costs a clock read and a store: the Tokio timer is left
    /// alone until it fires, and the deadline then sleeps again to the new instant. Moving it
    /// earlier resets the timer at once. As with [`Sleep::reset`](tokio::time::Sleep::reset), poll the deadline again
    /// after resetting it for its waker to be registered.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let deadline = Deadline::after(Duration::from_millis(100));
    /// tokio::pin!(deadline);
    /// assert!(deadline.as_mut().reset(Duration::from_millis(500)), "it was armed");
    /// deadline.as_mut().await;
    /// assert_eq!(start.elapsed(), Duration::from_millis(500));
    /// assert!(!deadline.as_mut().reset(Duration::from_millis(1)), "the expiry was delivered");
    /// # }
    /// ```
    pub fn reset(self: Pin<&mut Self>, duration: Duration) -> bool {
        self.reset_at(saturating_after(Instant::now(), duration))
    }

    /// Arms the deadline at `deadline`, replacing any earlier arming. An instant in the past
    /// completes at the next poll.
    ///
    /// Returns what [`reset`](Self::reset) returns, with the same guarantee: after this
    /// returns, no expiry of the earlier arming is ever observed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_secs(60));
    /// tokio::pin!(deadline);
    /// let sooner = Instant::now() + Duration::from_secs(1);
    /// assert!(deadline.as_mut().reset_at(sooner));
    /// assert_eq!(deadline.await.deadline(), sooner);
    /// # }
    /// ```
    pub fn reset_at(self: Pin<&mut Self>, deadline: Instant) -> bool {
        let this = self.project();
        let was_armed = this.target.replace(deadline).is_some();
        this.timer.pull_in(deadline);
        was_armed
    }

    /// Disarms the deadline.
    ///
    /// Returns `true` exactly when this prevented an expiry from being delivered: the deadline
    /// was armed, whether or not its instant had already passed unobserved. Returns `false`
    /// when it was already disarmed (stopped, never armed, or its expiry delivered).
    ///
    /// The Tokio timer is left alone; if it fires later it causes one spurious wakeup of the
    /// owning task, and the poll returns `Pending`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// tokio::pin!(deadline);
    /// tokio::time::advance(Duration::from_secs(2)).await; // the instant passes unobserved
    /// assert!(deadline.as_mut().stop(), "the expiry was prevented");
    /// assert!(!deadline.as_mut().stop());
    /// assert!(!deadline.is_armed());
    /// # }
    /// ```
    pub fn stop(self: Pin<&mut Self>) -> bool {
        self.project().target.take().is_some()
    }

    /// Whether the deadline is armed: it will complete once its instant is reached.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// tokio::pin!(deadline);
    /// assert!(deadline.is_armed());
    /// deadline.as_mut().await;
    /// assert!(!deadline.is_armed(), "delivering the expiry disarms it");
    /// # }
    /// ```
    pub fn is_armed(&self) -> bool {
        self.target.is_some()
    }

    /// The instant the deadline is armed for, or `None` when it is disarmed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// assert_eq!(deadline.deadline(), Some(Instant::now() + Duration::from_secs(1)));
    /// assert_eq!(Deadline::disarmed().deadline(), None);
    /// # }
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.target
    }

    /// The time left until the deadline, zero once its instant has passed, or `None` when
    /// it is disarmed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_secs(10));
    /// tokio::time::advance(Duration::from_secs(4)).await;
    /// assert_eq!(deadline.remaining(), Some(Duration::from_secs(6)));
    /// tokio::time::advance(Duration::from_secs(60)).await;
    /// assert_eq!(deadline.remaining(), Some(Duration::ZERO));
    /// # }
    /// ```
    pub fn remaining(&self) -> Option<Duration> {
        let target = self.target?;
        Some(target.saturating_duration_since(Instant::now()))
    }
}

impl Future for Deadline {
    type Output = Expired;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Expired> {
        let this = self.project();
        // Disarmed: only `reset`, through the owner's `&mut`, can arm it again, and the owner
        // polls after doing so. No waker is needed, as for `std::future::pending()`.
        let Some(target) = *this.target else {
            return Poll::Pending;
        };
        // Tokio's timer decides, with its own millisecond rounding, whether `target` has come:
        // the expiry is observed at the same instant as if the timer had been set to `target`
        // all along, however often the deadline was pushed later.
        ready!(this.timer.poll_until(cx, target));
        *this.target = None;
        // One clock read per delivered expiry, for `Expired::overdue`.
        Poll::Ready(Expired::new(target, Instant::now()))
    }
}

impl FusedFuture for Deadline {
    /// `true` when the deadline is not armed: polling it would return `Pending` until a reset.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    /// use futures_core::future::FusedFuture;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// tokio::pin!(deadline);
    /// assert!(!deadline.is_terminated());
    /// deadline.as_mut().await;
    /// assert!(deadline.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        !self.is_armed()
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline")
            .field("deadline", &self.target)
            .finish()
    }
}
