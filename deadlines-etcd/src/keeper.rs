//! [`LeaseKeeper`] (what to grant and what to gate it on), the [`Lease`] it starts, and the
//! task that renews it: the heart of the crate.

use std::fmt;
use std::time::Duration;

use deadlines::{Heartbeat, Shutdown, Watchdog};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::api::LeaseApi;
use crate::error::LeaseError;
use crate::fence::{Fence, State};
use crate::gate::{Check, Gate, judge};
use crate::schedule::{Schedule, after};

/// The name of the keeper's task among the [`Shutdown`]'s, as a drain report lists it.
pub const TASK_NAME: &str = "lease keeper";

/// What to grant and what to gate it on: a TTL, a [`Schedule`], and gates. Build it, then
/// [`start`](Self::start) it, which grants the lease and spawns the task that renews it.
///
/// Gates mirror `deadlines::systemd::Pinger`'s: [`gate`](Self::gate) (a [`Watchdog`]: healthy
/// while its deadline lies ahead), [`gate_heartbeat`](Self::gate_heartbeat) (any
/// [`Heartbeat`], also a `Keepalives` key's), [`gate_with`](Self::gate_with) (a health check of
/// your own). With no gate it renews for as long as the process runs, as etcd's own clients do.
///
/// Building one needs no runtime.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{Shutdown, Watchdog};
/// use deadlines_etcd::{LeaseKeeper, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let etcd = MemoryLeases::new(); // with the feature `etcd`: EtcdLeases::new(&client)
/// let shutdown = Shutdown::new();
/// let worker = Watchdog::new(Duration::from_secs(2));
/// let lease = LeaseKeeper::new(Duration::from_secs(15))
///     .gate("worker", &worker)
///     .start(etcd.clone(), &shutdown)
///     .await?;
/// etcd.put("online/alice", "node-1", lease.id())?;
/// assert_eq!(lease.ttl(), Duration::from_secs(15));
/// # drop(worker);
/// # Ok(())
/// # }
/// ```
#[must_use = "a keeper grants nothing until started"]
pub struct LeaseKeeper {
    schedule: Schedule,
    gates: Vec<Gate>,
}

impl LeaseKeeper {
    /// A keeper for a lease of `ttl` (whole seconds, at least etcd's minimum: 2 s with its
    /// default flags) on the default [`Schedule`] for it, with no gate.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let keeper = LeaseKeeper::new(Duration::from_secs(15));
    /// assert_eq!(keeper.schedule().renew_every, Duration::from_secs(5));
    /// ```
    pub fn new(ttl: Duration) -> Self {
        Self {
            schedule: Schedule::for_ttl(ttl),
            gates: Vec::new(),
        }
    }

    /// The schedule the keeper will run on.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let keeper = LeaseKeeper::new(Duration::from_secs(3)).margin(Duration::from_millis(500));
    /// assert_eq!(keeper.schedule().margin, Duration::from_millis(500));
    /// ```
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// Renews every `period` instead of TTL/3: the time from one renewal's send to the next's,
    /// and the most one waits for its answer. It must be shorter than the TTL less the margin
    /// ([`start`](Self::start) checks).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let keeper = LeaseKeeper::new(Duration::from_secs(10)).renew_every(Duration::from_secs(2));
    /// assert_eq!(keeper.schedule().renew_every, Duration::from_secs(2));
    /// ```
    pub fn renew_every(mut self, period: Duration) -> Self {
        self.schedule.renew_every = period;
        self
    }

    /// Closes the fence `margin` before the lease can lapse instead of TTL/3.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let keeper = LeaseKeeper::new(Duration::from_secs(10)).margin(Duration::from_secs(2));
    /// assert_eq!(keeper.schedule().margin, Duration::from_secs(2));
    /// ```
    pub fn margin(mut self, margin: Duration) -> Self {
        self.schedule.margin = margin;
        self
    }

    /// Tries a failed renewal again after `period` instead of TTL × 2/15.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let keeper = LeaseKeeper::new(Duration::from_secs(15)).retry_every(Duration::from_secs(1));
    /// assert_eq!(keeper.schedule().retry_every, Duration::from_secs(1));
    /// ```
    pub fn retry_every(mut self, period: Duration) -> Self {
        self.schedule.retry_every = period;
        self
    }

    /// Gates the renewals on `watchdog`: they stop when its deadline is reached, or when it is
    /// stopped or dropped. The keeper holds a [`Heartbeat`] of it and never beats it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let worker = Watchdog::new(Duration::from_secs(5));
    /// let keeper = LeaseKeeper::new(Duration::from_secs(15)).gate("worker", &worker);
    /// # drop(keeper);
    /// ```
    pub fn gate(self, name: impl Into<String>, watchdog: &Watchdog) -> Self {
        self.gate_heartbeat(name, watchdog.heartbeat())
    }

    /// Gates the renewals on the watchdog (or `Keepalives` key) that `heartbeat` belongs to,
    /// as [`gate`](Self::gate) does: healthy while [`Heartbeat::remaining`] is more than zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let mut links = Keepalives::new(Duration::from_secs(5));
    /// let upstream = links.insert("upstream");
    /// let keeper = LeaseKeeper::new(Duration::from_secs(15)).gate_heartbeat("upstream", upstream);
    /// # drop(keeper);
    /// ```
    pub fn gate_heartbeat(mut self, name: impl Into<String>, heartbeat: Heartbeat) -> Self {
        self.gates.push(Gate {
            name: name.into(),
            check: Check::Heartbeat(heartbeat),
        });
        self
    }

    /// Gates the renewals on a health check: `healthy` is called at every wake of the keeper,
    /// hence before every renewal, and the renewals stop the first time it returns `false`.
    /// Keep it quick and non-blocking (an atomic load): it runs in the keeper's task.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::time::Duration;
    /// use deadlines_etcd::LeaseKeeper;
    ///
    /// let disk_ok = Arc::new(AtomicBool::new(true));
    /// let check = disk_ok.clone();
    /// let keeper = LeaseKeeper::new(Duration::from_secs(15))
    ///     .gate_with("disk", move || check.load(Ordering::Relaxed));
    /// # drop(keeper);
    /// ```
    pub fn gate_with<F>(mut self, name: impl Into<String>, healthy: F) -> Self
    where
        F: FnMut() -> bool + Send + 'static,
    {
        self.gates.push(Gate {
            name: name.into(),
            check: Check::Health(Box::new(healthy)),
        });
        self
    }

    /// Grants the lease through `api` and spawns the task that keeps it, as the named task
    /// [`TASK_NAME`] of `shutdown`. Returns once etcd granted the lease.
    ///
    /// From then on the task renews every `renew_every` while every gate is healthy, and ends
    /// in one of the ways [`Ended`] lists:
    ///
    /// 1. A gate fails: no renewal goes out from then on, the fence closes at once, and etcd
    ///    expires the lease (and deletes every key attached to it) within the TTL of the last
    ///    renewal. The shutdown is *not* triggered: like systemd's watchdog, the lease is how
    ///    the cluster learns a node is wedged; what the wedged process does is its own affair.
    /// 2. etcd answers a renewal with TTL 0 or "lease not found" (the lease was revoked from
    ///    outside, or expired): the fence closes and the shutdown is triggered.
    /// 3. No renewal is granted in time: a renewal that fails is tried again every
    ///    `retry_every` (one that timed out, at once), each try waiting at most until the
    ///    fence; when no try can go out before the fence, or the fence is reached, the fence
    ///    closes and the shutdown is triggered. So the trigger comes at the latest at the fence.
    /// 4. The shutdown is triggered (a drain, a signal, [`Shutdown::trigger`]): the fence
    ///    closes and the lease is revoked at once, so etcd deletes its keys at once rather than
    ///    within the TTL. The drain waits for the revoke (up to its grace period), since it
    ///    waits for the keeper's task.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    /// use deadlines_etcd::{Ended, LeaseKeeper, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let etcd = MemoryLeases::new();
    /// let shutdown = Shutdown::new();
    /// let lease = LeaseKeeper::new(Duration::from_secs(3)).start(etcd.clone(), &shutdown).await?;
    /// etcd.put("online/alice", "node-1", lease.id())?;
    /// tokio::time::sleep(Duration::from_secs(60)).await; // renewed every second
    /// assert_eq!(etcd.get("online/alice").as_deref(), Some("node-1"));
    ///
    /// let report = shutdown.drain(Duration::from_secs(1)).await;
    /// assert_eq!(report.finished, ["lease keeper"]);
    /// assert!(matches!(lease.ended().await, Ended::Revoked { .. }));
    /// assert_eq!(etcd.get("online/alice"), None, "revoked at once");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`LeaseError::InvalidTtl`] or [`LeaseError::InvalidSchedule`] before any call;
    /// [`LeaseError::TtlBelowMinimum`] when etcd granted another TTL (that lease is revoked);
    /// [`LeaseError::TimedOut`] when etcd did not answer within `renew_every`;
    /// [`LeaseError::Unreachable`] or [`LeaseError::Server`] as the client reports them.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it returns spawns no keeper: a lease etcd granted meanwhile
    /// is not renewed, and expires within its TTL.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with the time driver enabled, as [`Shutdown::spawn`] and
    /// [`tokio::time::timeout`] do.
    ///
    /// # Precision
    ///
    /// Tokio's timer counts whole milliseconds, rounding up: a renewal goes out at the first
    /// poll at or after its instant, never before, and a gate's failure is seen at the first
    /// poll at or after its watchdog's deadline. The send instant is read as the renewal goes
    /// out, so a late wake moves the fence later only by what etcd granted later.
    pub async fn start<A: LeaseApi>(
        self,
        mut api: A,
        shutdown: &Shutdown,
    ) -> Result<Lease, LeaseError> {
        let Self { schedule, gates } = self;
        schedule.check()?;
        let wait = schedule.renew_every;
        let sent = Instant::now();
        let grant =
            timeout(wait, api.grant(schedule.ttl))
                .await
                .map_err(|_| LeaseError::TimedOut {
                    call: "grant",
                    after: wait,
                })??;
        if grant.ttl != schedule.ttl {
            // Documented: the lease we refuse is revoked, if etcd answers in time.
            let _ = timeout(wait, api.revoke(grant.id)).await;
            return Err(LeaseError::TtlBelowMinimum {
                asked: schedule.ttl,
                granted: grant.ttl,
            });
        }
        let (state, watcher) = watch::channel(State {
            until: schedule.fence_after(sent, grant.ttl),
            ended: None,
        });
        let task = Task {
            api,
            id: grant.id,
            schedule,
            gates,
            shutdown: shutdown.clone(),
            state,
            next_renewal: after(sent, schedule.renew_every),
            last_error: None,
        };
        shutdown.spawn(TASK_NAME, task.run());
        Ok(Lease {
            id: grant.id,
            schedule,
            fence: Fence::new(watcher),
        })
    }
}

impl fmt::Debug for LeaseKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseKeeper")
            .field("schedule", &self.schedule)
            .field("gates", &self.gates)
            .finish()
    }
}

/// A lease granted and kept by a [`LeaseKeeper`]: its id (attach keys to it), its TTL, its
/// [`Fence`], and how the keeping [`ended`](Self::ended).
///
/// Cheap to clone; dropping every clone does not stop the keeper (the [`Shutdown`] does).
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

    /// How the keeping ended, if it has.
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

    /// Waits until the keeping ends, and says how. A keeper whose task was aborted (the
    /// drain's grace period ran out during the revoke, or the runtime shut down) gives
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

/// The keeper's task: everything `run` needs.
struct Task<A> {
    api: A,
    id: i64,
    schedule: Schedule,
    gates: Vec<Gate>,
    shutdown: Shutdown,
    state: watch::Sender<State>,
    /// When the next renewal goes out (a retry's instant after a failure).
    next_renewal: Instant,
    /// The error of the last failed try since the last granted renewal.
    last_error: Option<LeaseError>,
}

/// What a wait of the task was cut short by.
enum Woken {
    Shutdown,
    Unhealthy(String, Instant),
}

/// How one renewal went.
enum Renewal {
    Granted(Duration),
    Failed(LeaseError),
}

impl<A: LeaseApi> Task<A> {
    async fn run(mut self) {
        let token = self.shutdown.token();
        let ended = loop {
            let now = Instant::now();
            let gate_deadline = match judge(&mut self.gates, now) {
                Ok(deadline) => deadline,
                Err(gate) => break self.unhealthy(gate, now),
            };
            let fence = self.state.borrow().until;
            if now >= fence || self.next_renewal >= fence {
                // No renewal was granted in time, or none can go out before the fence.
                break self.lost(now);
            }
            if now < self.next_renewal {
                let wake = gate_deadline.map_or(self.next_renewal, |g| g.min(self.next_renewal));
                tokio::select! {
                    biased;
                    () = token.cancelled() => break self.revoke().await,
                    () = sleep_until(wake) => continue,
                }
            }
            // The send instant is read before the request goes out: the fence counts from it.
            let sent = now;
            let limit = after(sent, self.schedule.renew_every).min(fence);
            match self.renew(sent, limit, gate_deadline, &token).await {
                Ok(Renewal::Granted(ttl)) if !ttl.is_zero() => {
                    self.state.send_modify(|state| {
                        state.until = self.schedule.fence_after(sent, ttl);
                    });
                    self.next_renewal = after(sent, self.schedule.renew_every);
                    self.last_error = None;
                }
                Ok(Renewal::Granted(_)) | Ok(Renewal::Failed(LeaseError::LeaseNotFound { .. })) => {
                    self.last_error = Some(LeaseError::LeaseNotFound { id: self.id });
                    break self.lost(Instant::now());
                }
                Ok(Renewal::Failed(error)) => {
                    let now = Instant::now();
                    // A try that timed out is retried at once (on a new stream); an error
                    // after `retry_every`.
                    self.next_renewal = if matches!(error, LeaseError::TimedOut { .. }) {
                        now
                    } else {
                        after(now, self.schedule.retry_every)
                    };
                    self.last_error = Some(error);
                }
                Err(Woken::Shutdown) => break self.revoke().await,
                Err(Woken::Unhealthy(gate, at)) => break self.unhealthy(gate, at),
            }
        };
        self.state.send_modify(|state| state.ended = Some(ended));
    }

    /// One keep-alive round trip, waiting until `limit` at most, cut short by the shutdown
    /// or a gate's failure.
    async fn renew(
        &mut self,
        sent: Instant,
        limit: Instant,
        mut gate_deadline: Option<Instant>,
        token: &CancellationToken,
    ) -> Result<Renewal, Woken> {
        let attempt = timeout_at(limit, self.api.keep_alive(self.id));
        tokio::pin!(attempt);
        loop {
            let far = after(limit, Duration::from_secs(1));
            tokio::select! {
                biased;
                () = token.cancelled() => return Err(Woken::Shutdown),
                answer = &mut attempt => {
                    return Ok(match answer {
                        Ok(Ok(ttl)) => Renewal::Granted(ttl),
                        Ok(Err(error)) => Renewal::Failed(error),
                        Err(_) => Renewal::Failed(LeaseError::TimedOut {
                            call: "keep-alive",
                            after: limit - sent,
                        }),
                    });
                }
                () = sleep_until(gate_deadline.unwrap_or(far)) => {
                    let now = Instant::now();
                    match judge(&mut self.gates, now) {
                        Ok(deadline) => gate_deadline = deadline,
                        Err(gate) => return Err(Woken::Unhealthy(gate, now)),
                    }
                }
            }
        }
    }

    fn close_fence(&self, now: Instant) {
        self.state
            .send_modify(|state| state.until = state.until.min(now));
    }

    fn unhealthy(&self, gate: String, at: Instant) -> Ended {
        self.close_fence(at);
        Ended::Unhealthy { gate, at }
    }

    fn lost(&mut self, at: Instant) -> Ended {
        self.close_fence(at);
        self.shutdown.trigger();
        let error = self.last_error.take().unwrap_or(LeaseError::TimedOut {
            call: "keep-alive",
            after: self.schedule.renew_every,
        });
        Ended::Lost { error, at }
    }

    async fn revoke(&mut self) -> Ended {
        self.close_fence(Instant::now());
        let wait = self.schedule.renew_every;
        let result = timeout(wait, self.api.revoke(self.id)).await;
        let at = Instant::now();
        match result {
            Ok(Ok(())) => Ended::Revoked { at },
            Ok(Err(error)) => Ended::RevokeFailed { error, at },
            Err(_) => Ended::RevokeFailed {
                error: LeaseError::TimedOut {
                    call: "revoke",
                    after: wait,
                },
                at,
            },
        }
    }
}
