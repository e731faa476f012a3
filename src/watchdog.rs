//! [`Watchdog`]: a timeout that other tasks and threads extend with a [`Heartbeat`].

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;
use tokio::time::Instant;

use crate::clock::{instant_at, tick, ticks};
use crate::expired::Expired;
use crate::heartbeat::{Heartbeat, Life, debug_state};
use crate::state::{Decision, NEVER, State};
use crate::timer::Timer;

pin_project! {
    /// A timeout that other tasks and threads push back with a wait-free [`Heartbeat`].
    ///
    /// The watchdog expires when Tokio time reaches *last beat + timeout*; creating it counts
    /// as a beat. It is a future that resolves once per arming: `Ok(Expired)` when the expiry
    /// is decided, or `Err(Stopped)` when a [`Heartbeat::stop`] came first. Afterwards it is
    /// pending until [`rearm`](Self::rearm) opens a fresh window.
    ///
    /// Hand out heartbeats with [`heartbeat`](Self::heartbeat). [`Heartbeat::beat`] is one
    /// clock read and one atomic read-modify-write; it wakes nobody. The watchdog task is woken
    /// by its own timer, by [`Heartbeat::stop`] and by a [`Heartbeat::set_timeout`] that
    /// shortens the timeout; beats are noticed when the timer fires, and the watchdog then
    /// sleeps again to the deadline they moved.
    ///
    /// ```text
    /// timeout 300 ms   new    beat         beat                   (silence)
    ///                  |      |            |
    /// time (ms)        0-----100----------250--------------------------550
    /// deadline         300 -> 400 -------> 550                          ^ Ok(Expired { deadline: 550 })
    /// ```
    ///
    /// The rules, each pinned by a test in `tests/watchdog_*.rs` and, where threads race, a
    /// loom model in `loom-tests/`:
    ///
    /// 1. It expires when Tokio time reaches last beat + timeout, once per arming.
    /// 2. A beat returns `true` when it counted, `false` when the watchdog had already expired,
    ///    been stopped or been dropped.
    /// 3. Per arming, exactly one outcome: an expiry is delivered, or a `stop` returns `true`.
    ///    A beat that returned `true` is seen by the expiry decision; a beat after the decision
    ///    returns `false`.
    /// 4. `stop` and a shortening `set_timeout` wake the watchdog task; nothing else does.
    /// 5. Dropping every `Heartbeat` does not stop the watchdog: silence is starvation, and it
    ///    fires.
    /// 6. The expiry is decided when the watchdog task observes it, as in Go 1.23: a beat that
    ///    lands after the instant but before that poll counts, and restarts the window.
    /// 7. Under a paused test clock, beat from tasks of that runtime: a thread outside it reads
    ///    the real clock (`tokio::time::Instant::now()` falls back to it there).
    /// 8. Heartbeats belong to one life, which ends with its outcome (an expiry decided, a
    ///    `stop` that returned `true`, the watchdog dropped). [`rearm`](Self::rearm) during a
    ///    life restarts its window; after an outcome it starts a new life, and the earlier
    ///    heartbeats return `false` from then on.
    /// 9. Every operation on the shared state is linearizable against every other, the
    ///    owner's `rearm` included: a `stop` that returned `true` is never undone.
    ///
    /// # Examples
    ///
    /// A worker that must show progress every 100 ms:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let watchdog = Watchdog::new(Duration::from_millis(100));
    /// let heartbeat = watchdog.heartbeat();
    /// tokio::spawn(async move {
    ///     for _ in 0..5 {
    ///         tokio::time::sleep(Duration::from_millis(60)).await;
    ///         heartbeat.beat(); // progress
    ///     }
    ///     // ...then it hangs.
    /// });
    ///
    /// let expired = watchdog.await.expect("nobody stops it");
    /// assert_eq!(expired.deadline() - start, Duration::from_millis(400));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Polling `&mut watchdog` in `select!` and dropping that poll loses nothing: the outcome
    /// is delivered only by a poll that returns `Ready`.
    ///
    /// # Panics
    ///
    /// Creating a watchdog needs no runtime; polling it panics outside a Tokio runtime with
    /// the time driver enabled, as polling a [`tokio::time::sleep`] made there would. No
    /// argument panics: a timeout longer than about 30 years saturates to that (effectively
    /// never).
    ///
    /// # Precision
    ///
    /// The decision reads Tokio's clock at each poll, and the watchdog's timer counts whole
    /// milliseconds, rounding up. It resolves at the first poll at or after the deadline,
    /// never before.
    ///
    /// A life counts time in nanoseconds from its start, for 2^61 - 1 ns (about 73 years):
    /// later beats count as beats at the end of that range, and a deadline past it is never
    /// reached. Such a watchdog sets no timer and waits only for a stop or a shorter timeout;
    /// its [`deadline`](Self::deadline) reads 30 years from now, however far the clock runs.
    #[must_use = "a watchdog does nothing unless polled"]
    pub struct Watchdog {
        #[pin]
        timer: Timer,
        // The shared state of this life, and the instant its ticks count from.
        life: Arc<Life>,
        // The outcome of this arming was delivered: pending until `rearm`.
        done: bool,
    }

    impl PinnedDrop for Watchdog {
        fn drop(this: Pin<&mut Self>) {
            this.life.state.close();
        }
    }
}

/// The error a [`Watchdog`] resolves with when a [`Heartbeat::stop`] came before the expiry.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{Stopped, Watchdog};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let watchdog = Watchdog::new(Duration::from_secs(1));
/// assert!(watchdog.heartbeat().stop());
/// let outcome: Result<_, Stopped> = watchdog.await;
/// assert_eq!(outcome.unwrap_err().to_string(), "watchdog stopped");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stopped(());

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watchdog stopped")
    }
}

impl Error for Stopped {}

impl Watchdog {
    /// A watchdog armed now: it expires `timeout` after the last beat.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let expired = Watchdog::new(Duration::from_millis(250)).await.unwrap();
    /// assert_eq!(expired.deadline() - start, Duration::from_millis(250));
    /// # }
    /// ```
    ///
    /// Needs no runtime: the Tokio timer is made at the first poll, so a watchdog can be built
    /// in a constructor before the runtime starts (its window starts at construction all the
    /// same). Polling it needs a runtime with the time driver enabled.
    pub fn new(timeout: Duration) -> Self {
        let life = Arc::new(Life {
            state: State::new(ticks(timeout)),
            origin: Instant::now(),
        });
        Self {
            timer: Timer::new(),
            life,
            done: false,
        }
    }

    /// A handle for other tasks and threads to beat, stop or re-time this watchdog.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_secs(1));
    /// let heartbeat = watchdog.heartbeat();
    /// std::thread::spawn(move || heartbeat.beat()).join().unwrap();
    /// # }
    /// ```
    pub fn heartbeat(&self) -> Heartbeat {
        Heartbeat::for_watchdog(self.life.clone())
    }

    /// Opens a fresh window from now, whatever the outcome of the last one.
    ///
    /// Heartbeats belong to one *life* of the watchdog, which ends with its outcome: an expiry
    /// decided, a [`Heartbeat::stop`] that returned `true`, or the watchdog dropped.
    ///
    /// - During a life, `rearm` restarts its window, like a beat: the heartbeats keep working.
    /// - After an outcome, `rearm` starts a new life: the watchdog resolves again, and every
    ///   heartbeat handed out before returns `false` from then on, so a worker you gave up on
    ///   can never hold the new window open. Hand out new ones with
    ///   [`heartbeat`](Self::heartbeat). The timeout carries over.
    ///
    /// An outcome not yet observed by a poll when `rearm` runs (a stop that returned `true`
    /// just before) is discarded: the watchdog does not resolve `Err(Stopped)` for it. The stop
    /// still ended the life it stopped, and its heartbeats stay stopped.
    ///
    /// A restart is one clock read and one atomic read-modify-write; a new life allocates the
    /// shared state anew (see `docs/performance.md` for the cost of both).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let watchdog = Watchdog::new(Duration::from_millis(100));
    /// tokio::pin!(watchdog);
    /// let old = watchdog.heartbeat();
    /// watchdog.as_mut().await.unwrap();
    /// assert!(!old.beat(), "expired");
    ///
    /// watchdog.as_mut().rearm(); // a new life
    /// assert!(!old.beat(), "a heartbeat of the old life stays ended");
    /// let new = watchdog.heartbeat();
    /// assert!(new.beat());
    /// let again = watchdog.as_mut().await.unwrap();
    /// assert_eq!(again.deadline() - start, Duration::from_millis(200));
    /// # }
    /// ```
    pub fn rearm(self: Pin<&mut Self>) {
        let this = self.project();
        let now = Instant::now();
        if !this.life.state.restart(tick(this.life.origin, now)) {
            // The life is over: a fresh word for the next one, so the old heartbeats stay
            // ended, and a fresh origin, so its ticks count from now.
            *this.life = Arc::new(Life {
                state: this.life.state.next_life(),
                origin: now,
            });
        }
        *this.done = false;
    }

    /// The instant the watchdog expires at if no beat comes first, or `None` once an outcome
    /// is in.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_secs(3));
    /// assert_eq!(watchdog.deadline(), Some(Instant::now() + Duration::from_secs(3)));
    /// # }
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        let deadline = self.life.state.deadline()?;
        Some(instant_at(self.life.origin, deadline))
    }
}

impl Future for Watchdog {
    type Output = Result<Expired, Stopped>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if *this.done {
            // Delivered: nothing is registered, only `rearm` (by the owner) arms it again.
            return Poll::Pending;
        }
        loop {
            let now = Instant::now();
            // The decision registers `cx`'s waker for `stop` and a shortening `set_timeout`;
            // the timer below wakes the task at the deadline.
            match this
                .life
                .state
                .decide(tick(this.life.origin, now), cx.waker())
            {
                Decision::Pending(NEVER) => {
                    // No clock reading reaches the deadline: wait for a stop or a shorter
                    // timeout (their wakeup is registered), with no timer at all.
                    this.timer.as_mut().clear();
                    return Poll::Pending;
                }
                Decision::Pending(deadline) => {
                    // Later than before (beats moved it): the timer fires early and is set
                    // again once. Earlier (a shortened timeout): it is reset now.
                    let deadline = instant_at(this.life.origin, deadline);
                    ready!(this.timer.as_mut().poll_until(cx, deadline));
                    // The timer reached the deadline it was given: decide again.
                }
                Decision::Expired(deadline) => {
                    *this.done = true;
                    let deadline = instant_at(this.life.origin, deadline);
                    return Poll::Ready(Ok(Expired::new(deadline, now)));
                }
                Decision::Stopped => {
                    *this.done = true;
                    return Poll::Ready(Err(Stopped(())));
                }
                Decision::Idle => {
                    *this.done = true;
                    return Poll::Pending;
                }
            }
        }
    }
}

impl FusedFuture for Watchdog {
    /// `true` once this arming's outcome was delivered, until [`Watchdog::rearm`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    /// use futures_core::future::FusedFuture;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_secs(1));
    /// tokio::pin!(watchdog);
    /// assert!(!watchdog.is_terminated());
    /// let _ = watchdog.as_mut().await;
    /// assert!(watchdog.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_state(f, "Watchdog", self.life.state.pulse(), self.life.origin)
    }
}
