//! [`Fence`]: until when the lease is surely held, and [`Fenced`], work cut off when it passes.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use deadlines::Deadline;
use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::ReusableBoxFuture;

use crate::lease::Ended;

/// What the keeper publishes: the fence, and how the keeping ended.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) until: Instant,
    pub(crate) ended: Option<Ended>,
}

/// The lease's fence: the instant until which this node surely holds its lease, the send
/// time of the last granted renewal + TTL - margin.
///
/// etcd counts a renewal's TTL from when it handles the request, which comes after the
/// keeper sent it, so the lease cannot lapse before `sent + TTL`; the fence stands a margin
/// earlier, for the time between checking it and acting (a scheduling delay, a pause of the
/// process, the write that the work ends with). Work that must never run on a node that may
/// have lost its lease (leader-only work: a job only one node may run, writes fenced on the
/// lease) runs under [`guard`](Self::guard), which cuts it off when the fence passes.
///
/// Each granted renewal moves the fence later; when the keeper stops renewing (a gate failed,
/// the lease was lost, the shutdown was triggered) it closes the fence at once. A closed fence
/// never opens again. Cheap to clone: every clone watches the same keeper.
///
/// ```text
/// TTL 3 s: renew every 1 s, margin 1 s
///
/// time (s)   0         1         2         2.5       3.5        4.5
/// renewals   sent      sent      sent      (the gate fails at 2.5: no more)
/// fence      until 2   until 3   until 4   closed at 2.5
/// etcd       lease expires no sooner than 2 + 3 = 5; its lessor deletes it within 500 ms after
/// guard      leader-only work cut off at 2.5
/// ```
///
/// ```
/// use std::time::Duration;
/// use deadlines::Shutdown;
/// use deadlines_etcd::{LeaseKeeper, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let start = tokio::time::Instant::now();
/// let etcd = MemoryLeases::new();
/// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(etcd.clone(), &Shutdown::new()).await?;
/// let fence = lease.fence().clone();
/// assert_eq!(fence.until() - start, Duration::from_secs(2));
/// tokio::time::sleep(Duration::from_millis(1500)).await; // renewed at 1 s
/// assert_eq!(fence.until() - start, Duration::from_secs(3));
///
/// etcd.set_down(true); // etcd unreachable: every renewal fails from now on
/// let work = fence.guard(std::future::pending::<()>());
/// let closed = work.await.unwrap_err();
/// // Tries at 2.0, 2.4 and 2.8 s fail; the next (3.2 s) would come after the fence (3 s).
/// assert_eq!(closed.until() - start, Duration::from_millis(2800), "before the lease can lapse (at 4 s)");
/// # Ok(())
/// # }
/// ```
///
/// # Precision
///
/// Tokio's timer counts whole milliseconds, rounding up: a guard is cut off at the first poll
/// at or after the fence, never before. The margin is what pays for that lateness.
#[derive(Clone)]
pub struct Fence {
    watcher: watch::Receiver<State>,
}

impl Fence {
    pub(crate) fn new(watcher: watch::Receiver<State>) -> Self {
        Self { watcher }
    }

    pub(crate) fn state(&self) -> State {
        self.watcher.borrow().clone()
    }

    pub(crate) fn watcher(&self) -> watch::Receiver<State> {
        self.watcher.clone()
    }

    /// The fence as of now: the send time of the last granted renewal + TTL - margin, or the
    /// instant the keeper stopped renewing, if it has.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let start = tokio::time::Instant::now();
    /// let lease = LeaseKeeper::new(Duration::from_secs(15)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// assert_eq!(lease.fence().until(), start + Duration::from_secs(10));
    /// # Ok(())
    /// # }
    /// ```
    pub fn until(&self) -> Instant {
        self.watcher.borrow().until
    }

    /// Whether the fence lies ahead: the lease is surely held, with the margin to spare.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let shutdown = Shutdown::new();
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &shutdown).await?;
    /// assert!(lease.fence().is_open());
    /// shutdown.drain(Duration::from_secs(1)).await; // revokes: the fence closes first
    /// assert!(!lease.fence().is_open());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_open(&self) -> bool {
        Instant::now() < self.until()
    }

    /// A [`Deadline`] at the fence as of now. It does not follow later renewals: take a new
    /// one after each unit of work (or run the work under [`guard`](Self::guard), which
    /// follows them).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// let deadline = lease.fence().deadline();
    /// assert_eq!(deadline.deadline(), Some(lease.fence().until()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn deadline(&self) -> Deadline {
        Deadline::at(self.until())
    }

    /// Runs `future` under the fence: it resolves `Ok(output)` if the future completes while
    /// the fence is open, `Err(FenceClosed)` once the fence has passed (and the future is
    /// dropped with the returned [`Fenced`]). Each renewal moves its deadline later; a closing
    /// fence wakes it at once. The fence is checked before the future is polled, so a future
    /// under a closed fence never runs: `Watchdog::guard`, with a deadline that etcd moves.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    /// use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// let leader_only = async {
    ///     tokio::time::sleep(Duration::from_secs(10)).await; // renewals carry it past 2 s
    ///     "compacted"
    /// };
    /// assert_eq!(lease.fence().guard(leader_only).await, Ok("compacted"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn guard<F: Future>(&self, future: F) -> Fenced<F> {
        let mut watcher = self.watcher.clone();
        let until = watcher.borrow_and_update().until;
        Fenced {
            future,
            deadline: Deadline::at(until),
            changes: ReusableBoxFuture::new(next_change(watcher)),
            done: false,
        }
    }
}

impl fmt::Debug for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.watcher.borrow();
        f.debug_struct("Fence")
            .field("until", &state.until)
            .field("ended", &state.ended)
            .finish()
    }
}

/// Waits for the keeper to publish a change, and hands the watcher back; pending for ever once
/// the keeper is gone (its last state has been seen by then).
async fn next_change(mut watcher: watch::Receiver<State>) -> watch::Receiver<State> {
    if watcher.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
    watcher
}

pin_project! {
    /// A future run under a lease's [`Fence`]: made by [`Fence::guard`].
    ///
    /// Resolves `Ok(output)` if the future completes while the fence is open, `Err(FenceClosed)`
    /// once the fence has passed. Once it has resolved, polling it again returns `Pending`
    /// and polls nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Shutdown, Watchdog};
    /// use deadlines_etcd::{Fenced, LeaseKeeper, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let start = tokio::time::Instant::now();
    /// let worker = Watchdog::new(Duration::from_millis(1500)); // wedged from the start
    /// let lease = LeaseKeeper::new(Duration::from_secs(3))
    ///     .gate("worker", &worker)
    ///     .start(MemoryLeases::new(), &Shutdown::new())
    ///     .await?;
    /// let work: Fenced<_> = lease.fence().guard(std::future::pending::<()>());
    /// let closed = work.await.unwrap_err();
    /// assert_eq!(closed.until() - start, Duration::from_millis(1500), "cut off when the gate failed");
    /// # drop(worker);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the future; the fence is unchanged.
    ///
    /// # Precision
    ///
    /// Cut off at the first poll at or after the fence, on Tokio's millisecond timer.
    #[must_use = "a fenced future does nothing unless polled"]
    pub struct Fenced<F> {
        #[pin]
        future: F,
        #[pin]
        deadline: Deadline,
        changes: ReusableBoxFuture<'static, watch::Receiver<State>>,
        done: bool,
    }
}

impl<F: Future> Future for Fenced<F> {
    type Output = Result<F::Output, FenceClosed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if *this.done {
            return Poll::Pending;
        }
        // The fence first: each change the keeper published moves the deadline, later for a
        // renewal, to now when the fence closes (the keeper's send wakes this task).
        while let Poll::Ready(mut watcher) = this.changes.poll(cx) {
            let until = watcher.borrow_and_update().until;
            this.deadline.as_mut().reset_at(until);
            this.changes.set(next_change(watcher));
        }
        if let Poll::Ready(expired) = this.deadline.poll(cx) {
            *this.done = true;
            return Poll::Ready(Err(FenceClosed {
                until: expired.deadline(),
            }));
        }
        if let Poll::Ready(output) = this.future.poll(cx) {
            *this.done = true;
            return Poll::Ready(Ok(output));
        }
        Poll::Pending
    }
}

impl<F: Future> FusedFuture for Fenced<F> {
    /// `true` once it has resolved.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    /// use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// use futures_core::future::FusedFuture;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// let work = lease.fence().guard(async { 1 });
    /// tokio::pin!(work);
    /// assert!(!work.is_terminated());
    /// assert_eq!(work.as_mut().await, Ok(1));
    /// assert!(work.is_terminated());
    /// # Ok(())
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<F> fmt::Debug for Fenced<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fenced")
            .field("deadline", &self.deadline)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The fence passed before a [`Fenced`] future completed: the work was cut off.
///
/// ```
/// use std::time::Duration;
/// use deadlines::Shutdown;
/// use deadlines_etcd::{FenceClosed, LeaseKeeper, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let shutdown = Shutdown::new();
/// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &shutdown).await?;
/// shutdown.trigger();
/// let closed: FenceClosed = lease.fence().guard(std::future::pending::<()>()).await.unwrap_err();
/// assert_eq!(closed.to_string(), "the lease's fence closed: work that needs the lease was cut off");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FenceClosed {
    until: Instant,
}

impl FenceClosed {
    /// The fence that passed (the instant the deadline stood at).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let start = tokio::time::Instant::now();
    /// let shutdown = Shutdown::new();
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &shutdown).await?;
    /// tokio::time::sleep(Duration::from_millis(200)).await;
    /// shutdown.trigger();
    /// let closed = lease.fence().guard(std::future::pending::<()>()).await.unwrap_err();
    /// assert_eq!(closed.until() - start, Duration::from_millis(200));
    /// # Ok(())
    /// # }
    /// ```
    pub fn until(&self) -> Instant {
        self.until
    }
}

impl fmt::Display for FenceClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lease's fence closed: work that needs the lease was cut off")
    }
}

impl Error for FenceClosed {}
