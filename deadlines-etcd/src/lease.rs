//! [`Lease`]: the lease a keeper started, its fence and how its keeping [`Ended`].

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::LeaseError;
use crate::fence::Fence;
use crate::schedule::Schedule;

/// A lease granted and kept by a [`LeaseKeeper`](crate::LeaseKeeper): its id (attach keys to it), its TTL, its
/// [`Fence`], and how the keeping [`ended`](Self::ended).
///
/// Cheap to clone; dropping every clone does not stop the keeper (the
/// [`Shutdown`](deadlines::Shutdown) does).
///
/// ```
/// use std::time::Duration;
/// use deadlines::Shutdown;
/// use deadlines_etcd::{LeaseKeeper, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let etcd = MemoryLeases::new();
/// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(etcd.clone(), &Shutdown::new()).await?;
/// assert!(lease.fence().is_open());
/// assert_eq!(lease.ended_now(), None);
/// assert_eq!(etcd.time_to_live(lease.id()), Some(Duration::from_secs(3)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Lease {
    id: i64,
    schedule: Schedule,
    fence: Fence,
}

impl Lease {
    pub(crate) fn new(id: i64, schedule: Schedule, fence: Fence) -> Self {
        Self {
            id,
            schedule,
            fence,
        }
    }

    /// The lease's id, to attach keys to (etcd-client's `PutOptions::new().with_lease(id)`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// # let etcd = MemoryLeases::new();
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(etcd.clone(), &Shutdown::new()).await?;
    /// etcd.put("online/bob", "node-2", lease.id())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The TTL etcd granted (the one asked for: the keeper refuses another).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// assert_eq!(lease.ttl(), Duration::from_secs(3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn ttl(&self) -> Duration {
        self.schedule.ttl
    }

    /// The schedule the keeper runs on.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// assert_eq!(lease.schedule().renew_every, Duration::from_secs(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// The lease's fence: open until the send time of the last granted renewal + TTL -
    /// margin, closed at once when the keeper stops renewing.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let start = tokio::time::Instant::now();
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// assert_eq!(lease.fence().until() - start, Duration::from_secs(2)); // 3 s - a 1 s margin
    /// # Ok(())
    /// # }
    /// ```
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// How the keeping ended, if it has. After [`Ended::Unhealthy`] it may change once more:
    /// a shutdown triggered before the lease has surely lapsed revokes it, and it reads
    /// [`Ended::Revoked`] (or [`Ended::RevokeFailed`]) from then on.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use deadlines::Shutdown;
    /// # use deadlines_etcd::{LeaseKeeper, MemoryLeases};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &Shutdown::new()).await?;
    /// assert!(lease.ended_now().is_none(), "still renewing");
    /// # Ok(())
    /// # }
    /// ```
    pub fn ended_now(&self) -> Option<Ended> {
        self.fence.state().ended
    }

    /// Waits until the keeping ends, and says how it ended first (what
    /// [`ended_now`](Self::ended_now) says at that moment). A keeper whose task was aborted
    /// (the drain's grace period ran out during the revoke, or the runtime shut down) gives
    /// [`Ended::Aborted`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Shutdown, Watchdog};
    /// use deadlines_etcd::{Ended, LeaseKeeper, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let start = tokio::time::Instant::now();
    /// let worker = Watchdog::new(Duration::from_millis(2500)); // nobody beats it
    /// let lease = LeaseKeeper::new(Duration::from_secs(3))
    ///     .gate("worker", &worker)
    ///     .start(MemoryLeases::new(), &Shutdown::new())
    ///     .await?;
    /// let Ended::Unhealthy { gate, at } = lease.ended().await else { panic!() };
    /// assert_eq!((gate.as_str(), at - start), ("worker", Duration::from_millis(2500)));
    /// # drop(worker);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only watches.
    pub async fn ended(&self) -> Ended {
        let mut watcher = self.fence.watcher();
        match watcher.wait_for(|state| state.ended.is_some()).await {
            Ok(state) => state.ended.clone().unwrap_or(Ended::Aborted),
            Err(_) => Ended::Aborted,
        }
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("id", &self.id)
            .field("schedule", &self.schedule)
            .field("fence", &self.fence)
            .finish()
    }
}

/// How a [`Lease`]'s keeping ended: what [`Lease::ended`] says.
///
/// ```
/// use std::time::Duration;
/// use deadlines::Shutdown;
/// use deadlines_etcd::{Ended, LeaseError, LeaseKeeper, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), LeaseError> {
/// let etcd = MemoryLeases::new();
/// let shutdown = Shutdown::new();
/// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(etcd.clone(), &shutdown).await?;
/// etcd.revoke_now(lease.id()); // an operator, from outside
/// let ended = lease.ended().await;
/// assert!(matches!(ended, Ended::Lost { error: LeaseError::LeaseNotFound { .. }, .. }));
/// assert!(shutdown.is_triggered());
/// assert_eq!(ended.to_string(), format!("lease lost: etcd has no lease {:#x}: it expired or was revoked", lease.id()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Ended {
    /// The gate `gate` was not healthy at `at`: no renewal went out from then on, and etcd
    /// expires the lease within its TTL. The shutdown was not triggered.
    ///
    /// Until the lease has surely lapsed (the answer to the last granted renewal + TTL), a
    /// triggered shutdown still revokes it, as a graceful stop must: the keeping then ends
    /// anew, as [`Revoked`](Self::Revoked) or [`RevokeFailed`](Self::RevokeFailed).
    Unhealthy {
        /// The gate's name, as given to `gate`, `gate_heartbeat` or `gate_with`.
        gate: String,
        /// When the keeper saw it.
        at: Instant,
    },
    /// The lease is lost: etcd refused a renewal (`error` is [`LeaseError::LeaseNotFound`]),
    /// or no renewal was granted in time (`error` is the last try's). The shutdown was
    /// triggered at `at`.
    Lost {
        /// Why.
        error: LeaseError,
        /// When the keeper gave up and triggered the shutdown.
        at: Instant,
    },
    /// The shutdown was triggered and the lease revoked: etcd deleted its keys at once.
    Revoked {
        /// When etcd confirmed the revoke.
        at: Instant,
    },
    /// The shutdown was triggered but the revoke failed: etcd expires the lease within its
    /// TTL instead.
    RevokeFailed {
        /// Why.
        error: LeaseError,
        /// When the revoke failed.
        at: Instant,
    },
    /// The keeper's task was aborted before it ended otherwise (a drain's grace period ran
    /// out, or the runtime shut down): etcd expires the lease within its TTL.
    Aborted,
}

impl PartialEq for Ended {
    /// Equal outcomes: errors compare by their message.
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string() && self.at() == other.at()
    }
}

impl Ended {
    /// When it ended (`None` for [`Aborted`](Self::Aborted)).
    ///
    /// ```
    /// use deadlines_etcd::Ended;
    ///
    /// assert_eq!(Ended::Aborted.at(), None);
    /// ```
    pub fn at(&self) -> Option<Instant> {
        match self {
            Self::Unhealthy { at, .. }
            | Self::Lost { at, .. }
            | Self::Revoked { at }
            | Self::RevokeFailed { at, .. } => Some(*at),
            Self::Aborted => None,
        }
    }
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unhealthy { gate, .. } => {
                write!(f, "lease renewals stopped: gate {gate:?} failed")
            }
            Self::Lost { error, .. } => write!(f, "lease lost: {error}"),
            Self::Revoked { .. } => f.write_str("lease revoked on shutdown"),
            Self::RevokeFailed { error, .. } => {
                write!(f, "lease revoke on shutdown failed: {error}")
            }
            Self::Aborted => f.write_str("lease keeper aborted"),
        }
    }
}
