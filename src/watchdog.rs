//! [`Watchdog`] and [`Heartbeat`]: a timeout that other tasks and threads extend.

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
use crate::deadline::{Deadline, Expired};
use crate::guard::Guarded;
use crate::slots::KeyRef;
use crate::state::{Decision, NEVER, State, Word};

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
    /// Creating a watchdog panics outside a Tokio runtime with the time driver enabled, as
    /// [`tokio::time::sleep`] does. No argument panics: a timeout longer than about 30 years
    /// saturates to that (effectively never).
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
        timer: Deadline,
        state: Arc<State>,
        origin: Instant,
        // The outcome of this arming was delivered: pending until `rearm`.
        done: bool,
    }

    impl PinnedDrop for Watchdog {
        fn drop(this: Pin<&mut Self>) {
            this.state.close();
        }
    }
}

/// A handle that beats, stops or re-times a [`Watchdog`] from any task or thread.
///
/// `Clone + Send + Sync + 'static`; cloning is a reference-count increment. Every method is
/// safe to call after the watchdog expired, was stopped or was dropped: they return `false`
/// (or `None`) and change nothing.
///
/// ```
/// use std::time::Duration;
/// use deadlines::Watchdog;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let watchdog = Watchdog::new(Duration::from_secs(1));
/// let heartbeat = watchdog.heartbeat();
/// assert!(heartbeat.beat());
/// drop(watchdog);
/// assert!(!heartbeat.beat(), "nobody is watching any more");
/// # }
/// ```
#[derive(Clone)]
pub struct Heartbeat {
    target: Target,
    origin: Instant,
}

/// What a heartbeat beats: a watchdog, or one key of a [`Keepalives`](crate::Keepalives) set.
#[derive(Clone)]
enum Target {
    Watchdog(Arc<State>),
    Key(KeyRef),
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
    /// # Panics
    ///
    /// Outside a Tokio runtime with the time driver enabled.
    pub fn new(timeout: Duration) -> Self {
        let origin = Instant::now();
        let state = Arc::new(State::new(ticks(timeout)));
        Self {
            timer: Deadline::disarmed(),
            state,
            origin,
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
        Heartbeat {
            target: Target::Watchdog(self.state.clone()),
            origin: self.origin,
        }
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
        if !this.state.restart(tick(*this.origin, now)) {
            // The life is over: a fresh word for the next one, so the old heartbeats stay
            // ended, and a fresh origin, so its ticks count from now.
            *this.state = Arc::new(this.state.next_life());
            *this.origin = now;
        }
        *this.done = false;
    }

    /// Runs `future` under this watchdog: it resolves `Ok(output)` if the future completes
    /// first, `Err(Expired)` if the watchdog expires first (and the future is dropped with the
    /// returned [`Guarded`]). Take a [`heartbeat`](Self::heartbeat) first to extend the
    /// timeout from other tasks: this is `tokio::time::timeout` with a deadline others can
    /// push back. A [`Heartbeat::stop`] disables the timeout; the future then runs to its end.
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
        let deadline = self.state.deadline()?;
        Some(instant_at(self.origin, deadline))
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
            match this.state.decide(tick(*this.origin, now), cx.waker()) {
                Decision::Pending(NEVER) => {
                    // No clock reading reaches the deadline: wait for a stop or a shorter
                    // timeout (their wakeup is registered), with no timer at all.
                    this.timer.as_mut().stop();
                    return Poll::Pending;
                }
                Decision::Pending(deadline) => {
                    // Later than before (beats moved it): a store, the timer is re-set when it
                    // fires. Earlier (a shortened timeout): the timer is reset now.
                    this.timer
                        .as_mut()
                        .reset_at(instant_at(*this.origin, deadline));
                    ready!(this.timer.as_mut().poll(cx));
                    // The timer reached the deadline it was given: decide again.
                }
                Decision::Expired(deadline) => {
                    *this.done = true;
                    this.timer.as_mut().stop();
                    let deadline = instant_at(*this.origin, deadline);
                    return Poll::Ready(Ok(Expired::new(deadline, now)));
                }
                Decision::Stopped => {
                    *this.done = true;
                    this.timer.as_mut().stop();
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
        debug_state(f, "Watchdog", self.state.pulse(), self.origin)
    }
}

impl Heartbeat {
    /// A heartbeat for one key of a `Keepalives` set, whose ticks count from `origin`.
    pub(crate) fn for_key(key: KeyRef, origin: Instant) -> Self {
        Self {
            target: Target::Key(key),
            origin,
        }
    }

    fn word(&self) -> &Word {
        match &self.target {
            Target::Watchdog(state) => state.pulse(),
            Target::Key(key) => key.word(),
        }
    }

    /// Records a beat: the window restarts from now. Returns `true` when the beat counted,
    /// `false` when the watchdog had already expired, been stopped or been dropped.
    ///
    /// One read of Tokio's clock and one atomic read-modify-write (`fetch_max`) on one word;
    /// it never blocks and wakes nobody. It is wait-free where the CPU has an atomic maximum
    /// (AArch64 with LSE) and a short compare-exchange loop elsewhere (x86-64).
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
    /// tokio::time::advance(Duration::from_millis(70)).await;
    /// assert!(heartbeat.beat());
    /// let expired = watchdog.await.unwrap();
    /// assert_eq!(expired.deadline() - start, Duration::from_millis(170));
    /// assert!(!heartbeat.beat());
    /// # }
    /// ```
    ///
    /// # Precision
    ///
    /// Under a paused test clock, beat from tasks of that runtime. A thread outside every
    /// runtime reads the real clock, which a paused clock does not follow.
    pub fn beat(&self) -> bool {
        self.word().beat(tick(self.origin, Instant::now()))
    }

    /// Stops the watchdog, which then resolves `Err(Stopped)`. Returns `true` exactly when
    /// this call prevented the expiry: `false` if the expiry was already decided, another
    /// `stop` came first, or the watchdog was dropped. Wakes the watchdog task.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Stopped, Watchdog};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_secs(1));
    /// let heartbeat = watchdog.heartbeat();
    /// assert!(heartbeat.stop());
    /// assert!(!heartbeat.stop(), "only the first stop prevents anything");
    /// assert!(watchdog.await.is_err());
    /// # }
    /// ```
    pub fn stop(&self) -> bool {
        match &self.target {
            Target::Watchdog(state) => state.stop(),
            // The set's owner finds the key stopped when its deadline comes, and drops it.
            Target::Key(key) => key.word().stop(),
        }
    }

    /// Sets the timeout, measured from the last beat; it may shorten or lengthen the window.
    /// Returns `true` if it applied, `false` (changing nothing) if the watchdog had already
    /// expired, been stopped or been dropped. A shorter timeout wakes the watchdog task; if
    /// last beat + the new timeout has already passed, it expires at that poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let watchdog = Watchdog::new(Duration::from_secs(60));
    /// let heartbeat = watchdog.heartbeat();
    /// tokio::time::advance(Duration::from_secs(1)).await;
    /// assert!(heartbeat.set_timeout(Duration::from_secs(5)));
    /// let expired = watchdog.await.unwrap();
    /// assert_eq!(expired.deadline() - start, Duration::from_secs(5));
    /// # }
    /// ```
    pub fn set_timeout(&self, timeout: Duration) -> bool {
        match &self.target {
            Target::Watchdog(state) => state.set_timeout(ticks(timeout)),
            Target::Key(_) => false,
        }
    }

    /// The time left before the watchdog expires if no beat comes (zero once the instant has
    /// passed but the watchdog task has not yet observed it), or `None` once an outcome is in
    /// or the watchdog was dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_secs(10));
    /// let heartbeat = watchdog.heartbeat();
    /// tokio::time::advance(Duration::from_secs(4)).await;
    /// assert_eq!(heartbeat.remaining(), Some(Duration::from_secs(6)));
    /// drop(watchdog);
    /// assert_eq!(heartbeat.remaining(), None);
    /// # }
    /// ```
    pub fn remaining(&self) -> Option<Duration> {
        let deadline = match &self.target {
            Target::Watchdog(state) => state.deadline()?,
            Target::Key(key) => key.deadline()?,
        };
        let deadline = instant_at(self.origin, deadline);
        Some(deadline.saturating_duration_since(Instant::now()))
    }
}

impl fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_state(f, "Heartbeat", self.word(), self.origin)
    }
}

fn debug_state(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    word: &Word,
    origin: Instant,
) -> fmt::Result {
    let (last_beat, phase) = word.snapshot();
    f.debug_struct(name)
        .field("state", &format_args!("{phase}"))
        .field("last_beat", &instant_at(origin, last_beat))
        .finish()
}
