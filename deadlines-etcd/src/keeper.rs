//! [`LeaseKeeper`] (what to grant and what to gate it on) and the task that renews the
//! [`Lease`] it starts: the heart of the crate.

use std::fmt;
use std::time::Duration;

use deadlines::{Gates, Heartbeat, Shutdown, Watchdog};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::api::LeaseApi;
use crate::error::LeaseError;
use crate::fence::{Fence, State};
use crate::lease::{Ended, Lease};
use crate::schedule::{Schedule, after};

/// The name of the keeper's task among the [`Shutdown`]'s, as a drain report lists it.
///
/// ```
/// use std::time::Duration;
/// use deadlines::Shutdown;
/// use deadlines_etcd::{LeaseKeeper, MemoryLeases, TASK_NAME};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let shutdown = Shutdown::new();
/// let _lease = LeaseKeeper::new(Duration::from_secs(3)).start(MemoryLeases::new(), &shutdown).await?;
/// let report = shutdown.drain(Duration::from_secs(1)).await;
/// assert_eq!(TASK_NAME, "lease keeper");
/// assert_eq!(report.finished, [TASK_NAME]);
/// # Ok(())
/// # }
/// ```
pub const TASK_NAME: &str = "lease keeper";

/// What to grant and what to gate it on: a TTL, a [`Schedule`], and gates. Build it, then
/// [`start`](Self::start) it, which grants the lease and spawns the task that renews it.
///
/// The gates are a [`Gates`] set, judged by its rules, as `deadlines::systemd::Pinger` judges
/// its own: [`gate`](Self::gate) (a [`Watchdog`]: healthy while its deadline lies ahead),
/// [`gate_heartbeat`](Self::gate_heartbeat) (any [`Heartbeat`], also a `Keepalives` key's),
/// [`gate_with`](Self::gate_with) (a health check of your own). With no gate it renews for as
/// long as the process runs, as etcd's own clients do.
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
    gates: Gates,
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
            gates: Gates::new(),
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
    /// ([`start`](Self::start) checks, and refuses a longer one, `Duration::MAX` too, with
    /// [`LeaseError::InvalidSchedule`]).
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

    /// Closes the fence `margin` before the lease can lapse instead of TTL/3. The TTL less the
    /// margin must be longer than the renew period: [`start`](Self::start) refuses a longer
    /// margin, `Duration::MAX` too, with [`LeaseError::InvalidSchedule`].
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

    /// Tries a failed renewal again after `period` instead of TTL × 2/15 (more than zero:
    /// [`start`](Self::start) checks). A period that reaches past the fence, `Duration::MAX`
    /// for one, means no retry: the first renewal that fails loses the lease
    /// ([`Ended::Lost`], the shutdown triggered) at once.
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
    pub fn gate(mut self, name: impl Into<String>, watchdog: &Watchdog) -> Self {
        self.gates = self.gates.gate(name, watchdog);
        self
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
        self.gates = self.gates.gate_heartbeat(name, heartbeat);
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
        self.gates = self.gates.gate_with(name, healthy);
        self
    }

    /// Grants the lease through `api` and spawns the task that keeps it, as the named task
    /// [`TASK_NAME`] of `shutdown`. Returns once etcd granted the lease.
    ///
    /// From then on the task renews every `renew_every` while every gate is healthy, and ends
    /// in one of the ways [`Ended`] lists:
    ///
    /// 1. A gate fails (also while a renewal is in flight: the keeper stops waiting for it):
    ///    no renewal goes out from then on, the fence closes at once, and etcd expires the
    ///    lease (and deletes every key attached to it) within the TTL of the last renewal. The
    ///    shutdown is *not* triggered: like systemd's watchdog, the lease is how the cluster
    ///    learns a node is wedged; what the wedged process does is its own affair. But until
    ///    the lease has surely lapsed (the answer to the last granted renewal + TTL; a renewal
    ///    abandoned in flight counts as answered when it was abandoned), the task waits on the
    ///    shutdown, and a drain in that time still revokes the lease at once, as in 4.
    /// 2. etcd answers a renewal with TTL 0 or "lease not found" (the lease was revoked from
    ///    outside, or expired): the fence closes and the shutdown is triggered.
    /// 3. No renewal is granted in time: a renewal that fails is tried again every
    ///    `retry_every` (one that timed out, at once), each try waiting at most until the
    ///    fence; when no try can go out before the fence, or the fence is reached, the fence
    ///    closes and the shutdown is triggered. So the trigger comes at the latest at the fence.
    ///    An answer that arrives at the fence instant itself is too late: the fence has
    ///    passed (work under it was cut off), and a closed fence never opens again.
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
    /// [`LeaseError::TtlBelowMinimum`] when etcd granted more than asked (it raised a TTL
    /// below its minimum), [`LeaseError::TtlShortened`] when it granted less (either lease is
    /// revoked);
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
        let (asked, granted) = (schedule.ttl, grant.ttl);
        if granted != asked {
            // Documented: the lease we refuse is revoked, if etcd answers in time.
            let _ = timeout(wait, api.revoke(grant.id)).await;
            return Err(if granted > asked {
                LeaseError::TtlBelowMinimum { asked, granted }
            } else {
                LeaseError::TtlShortened { asked, granted }
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
            held_until: after(Instant::now(), grant.ttl),
            last_error: None,
        };
        shutdown.spawn(TASK_NAME, task.run());
        Ok(Lease::new(grant.id, schedule, Fence::new(watcher)))
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

/// The keeper's task: everything `run` needs.
struct Task<A> {
    api: A,
    id: i64,
    schedule: Schedule,
    gates: Gates,
    shutdown: Shutdown,
    state: watch::Sender<State>,
    /// When the next renewal goes out (a retry's instant after a failure).
    next_renewal: Instant,
    /// Until when etcd may still hold the lease, as far as the keeper can tell: the answer to
    /// the last granted renewal + TTL (etcd handled it before it answered), or a renewal
    /// abandoned unanswered + TTL (as if etcd handled it just then), whichever is later.
    held_until: Instant,
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
        let ended = self.keep(&token).await;
        let unhealthy = matches!(ended, Ended::Unhealthy { .. });
        self.publish(ended);
        if unhealthy {
            self.linger(&token).await;
        }
    }

    /// Renews until the keeping ends, and says how.
    async fn keep(&mut self, token: &CancellationToken) -> Ended {
        loop {
            let now = Instant::now();
            let gate_deadline = match self.gates.judge(now).map_err(str::to_owned) {
                Ok(deadline) => deadline,
                Err(gate) => return self.unhealthy(gate, now),
            };
            let fence = self.state.borrow().until;
            if now >= fence || self.next_renewal >= fence {
                // No renewal was granted in time, or none can go out before the fence.
                return self.lost(now);
            }
            if now < self.next_renewal {
                let wake = gate_deadline.map_or(self.next_renewal, |g| g.min(self.next_renewal));
                tokio::select! {
                    biased;
                    () = token.cancelled() => return self.revoke().await,
                    () = sleep_until(wake) => continue,
                }
            }
            // The send instant is read before the request goes out: the fence counts from it.
            let sent = now;
            let limit = after(sent, self.schedule.renew_every).min(fence);
            let renewal = self.renew(sent, limit, gate_deadline, token).await;
            let now = Instant::now();
            match renewal {
                Ok(Renewal::Granted(ttl)) if !ttl.is_zero() => {
                    self.held_until = self.held_until.max(after(now, ttl));
                    if now >= fence {
                        // Answered at the fence instant itself (the try's limit): too late,
                        // the fence has passed and stays closed.
                        self.last_error = Some(LeaseError::TimedOut {
                            call: "keep-alive",
                            after: now - sent,
                        });
                        return self.lost(now);
                    }
                    self.state.send_modify(|state| {
                        state.until = self.schedule.fence_after(sent, ttl);
                    });
                    self.next_renewal = after(sent, self.schedule.renew_every);
                    self.last_error = None;
                }
                Ok(Renewal::Granted(_)) | Ok(Renewal::Failed(LeaseError::LeaseNotFound { .. })) => {
                    self.last_error = Some(LeaseError::LeaseNotFound { id: self.id });
                    return self.lost(now);
                }
                Ok(Renewal::Failed(error)) => {
                    // A try that timed out is retried at once (on a new stream); an error
                    // after `retry_every`.
                    self.next_renewal = if matches!(error, LeaseError::TimedOut { .. }) {
                        self.abandoned(now);
                        now
                    } else {
                        after(now, self.schedule.retry_every)
                    };
                    self.last_error = Some(error);
                }
                Err(Woken::Shutdown) => return self.revoke().await,
                Err(Woken::Unhealthy(gate, at)) => {
                    self.abandoned(at);
                    return self.unhealthy(gate, at);
                }
            }
        }
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
                    match self.gates.judge(now) {
                        Ok(deadline) => gate_deadline = deadline,
                        Err(gate) => return Err(Woken::Unhealthy(gate.to_owned(), now)),
                    }
                }
            }
        }
    }

    /// A keep-alive was given up on unanswered at `at`: etcd may have handled it by then.
    fn abandoned(&mut self, at: Instant) {
        self.held_until = self.held_until.max(after(at, self.schedule.ttl));
    }

    /// After a gate failed: until the lease has surely lapsed, a triggered shutdown still
    /// revokes it (its keys go at once, not a TTL later); then the task ends.
    async fn linger(&mut self, token: &CancellationToken) {
        tokio::select! {
            () = token.cancelled() => {}
            () = sleep_until(self.held_until) => return,
        }
        // Woken by the shutdown in the same poll as the lapse: nothing left to revoke.
        if Instant::now() < self.held_until {
            let ended = self.revoke().await;
            self.publish(ended);
        }
    }

    fn publish(&self, ended: Ended) {
        self.state.send_modify(|state| state.ended = Some(ended));
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
