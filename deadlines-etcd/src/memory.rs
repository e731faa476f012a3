//! [`MemoryLeases`]: etcd's lessor in memory, on Tokio time, for tests and docs.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::api::{Grant, LeaseApi};
use crate::error::LeaseError;
use crate::schedule::after;

/// An in-memory stand-in for etcd's lessor on Tokio time: leases with a TTL, keys attached to
/// them, and the faults a keeper must survive (etcd down, etcd hung, latency, a lease revoked
/// from outside). With it the keeper, its fence and code built on them run on a paused clock:
/// instant and exact, as the rest of `deadlines`.
///
/// It behaves as etcd does where the keeper can tell: a TTL below the minimum (2 s by default,
/// what etcd applies with its default flags) is raised to it; a keep-alive restarts the TTL
/// from when the request is handled and answers the TTL, or TTL 0 for a lease it does not
/// have; a lease expires its TTL after its last keep-alive and takes its keys along; a revoke
/// deletes them at once. Unlike etcd it expires a lease at that very instant (etcd's lessor
/// looks every 500 ms, so etcd deletes up to half a second later), keeps no revisions and
/// knows one member, so there is no leader to change.
///
/// Cheap to clone: every clone is the same lessor. Pass one clone to the keeper and keep one
/// to look, put keys, and inject faults.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{Shutdown, Watchdog};
/// use deadlines_etcd::{LeaseKeeper, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let start = tokio::time::Instant::now();
/// let etcd = MemoryLeases::new();
/// let worker = Watchdog::new(Duration::from_secs(1)); // wedged: nobody beats it
/// let lease = LeaseKeeper::new(Duration::from_secs(3))
///     .gate("worker", &worker)
///     .start(etcd.clone(), &Shutdown::new())
///     .await?;
/// etcd.put("online/alice", "node-1", lease.id())?;
/// lease.ended().await; // at 1 s: the gate failed, no renewal since the grant
/// tokio::time::sleep_until(start + Duration::from_millis(2999)).await;
/// assert!(etcd.get("online/alice").is_some());
/// tokio::time::sleep_until(start + Duration::from_secs(3)).await;
/// assert_eq!(etcd.get("online/alice"), None, "expired 3 s after the grant");
/// # drop(worker);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MemoryLeases {
    inner: Arc<Mutex<Memory>>,
}

#[derive(Default)]
struct Memory {
    min_ttl: Option<Duration>,
    next_id: i64,
    leases: HashMap<i64, Held>,
    keys: BTreeMap<String, (String, i64)>,
    latency: Duration,
    mode: Mode,
    calls: Vec<MemoryCall>,
}

struct Held {
    ttl: Duration,
    expires: Instant,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    #[default]
    Up,
    Down,
    Hung,
}

/// A call [`MemoryLeases`] handled (or refused): what [`MemoryLeases::calls`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryCall {
    /// When it was handled: after the latency, if any.
    pub at: Instant,
    /// Which call.
    pub kind: CallKind,
    /// The lease it named (the one granted, for a grant; 0 for one refused).
    pub id: i64,
    /// Whether it was answered without an error, with a TTL other than 0.
    pub ok: bool,
}

/// Which lease call a [`MemoryCall`] was.
///
/// ```
/// use std::time::Duration;
/// use deadlines_etcd::{CallKind, LeaseApi, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let mut etcd = MemoryLeases::new();
/// let lease = etcd.grant(Duration::from_secs(3)).await?;
/// etcd.revoke(lease.id).await?;
/// let kinds: Vec<CallKind> = etcd.calls().iter().map(|call| call.kind).collect();
/// assert_eq!(kinds, [CallKind::Grant, CallKind::Revoke]);
/// assert_eq!(format!("{:?}", CallKind::KeepAlive), "KeepAlive");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `grant`.
    Grant,
    /// `keep_alive`.
    KeepAlive,
    /// `revoke`.
    Revoke,
}

impl MemoryLeases {
    /// A lessor with no lease, a 2 s minimum TTL, no latency, up.
    ///
    /// ```
    /// use deadlines_etcd::MemoryLeases;
    ///
    /// assert!(MemoryLeases::new().calls().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        // A panic elsewhere leaves the maps whole: take them as they are.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Raises TTLs below `min_ttl` to it, as etcd does with its minimum (2 s by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseApi, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let mut etcd = MemoryLeases::new().with_min_ttl(Duration::from_secs(1));
    /// assert_eq!(etcd.grant(Duration::from_secs(1)).await?.ttl, Duration::from_secs(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_min_ttl(self, min_ttl: Duration) -> Self {
        self.lock().min_ttl = Some(min_ttl);
        self
    }

    /// From now on every call fails at once with [`LeaseError::Unreachable`] (`true`), as
    /// calls to an etcd that was stopped do; or they are answered again (`false`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseApi, LeaseError, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut etcd = MemoryLeases::new();
    /// etcd.set_down(true);
    /// let error = etcd.grant(Duration::from_secs(3)).await.unwrap_err();
    /// assert!(matches!(error, LeaseError::Unreachable(_)));
    /// # }
    /// ```
    pub fn set_down(&self, down: bool) {
        self.lock().mode = if down { Mode::Down } else { Mode::Up };
    }

    /// From now on no call is answered (`true`): each waits for ever, as calls across a
    /// partition do, until the caller gives up; or they are answered again (`false`; calls
    /// already waiting stay unanswered).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseApi, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut etcd = MemoryLeases::new();
    /// etcd.set_hung(true);
    /// let call = tokio::time::timeout(Duration::from_secs(60), etcd.grant(Duration::from_secs(3)));
    /// assert!(call.await.is_err(), "never answered");
    /// # }
    /// ```
    pub fn set_hung(&self, hung: bool) {
        self.lock().mode = if hung { Mode::Hung } else { Mode::Up };
    }

    /// Each call is handled `latency` after it was made, then answered at once: the time a
    /// request takes to reach etcd.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseApi, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let start = tokio::time::Instant::now();
    /// let mut etcd = MemoryLeases::new();
    /// etcd.set_latency(Duration::from_millis(300));
    /// etcd.grant(Duration::from_secs(3)).await?;
    /// assert_eq!(etcd.calls()[0].at - start, Duration::from_millis(300));
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Revokes lease `id` now, from outside the keeper (an operator, another process):
    /// `true` if there was such a lease. Its keys are deleted at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseApi, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let mut etcd = MemoryLeases::new();
    /// let lease = etcd.grant(Duration::from_secs(3)).await?;
    /// assert!(etcd.revoke_now(lease.id));
    /// assert!(!etcd.revoke_now(lease.id));
    /// # Ok(())
    /// # }
    /// ```
    pub fn revoke_now(&self, id: i64) -> bool {
        let mut memory = self.lock();
        memory.expire(Instant::now());
        memory.remove(id)
    }

    /// Puts `key` = `value` attached to lease `id`, as etcd's `put` with a lease.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseApi, LeaseError, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), LeaseError> {
    /// let mut etcd = MemoryLeases::new();
    /// let lease = etcd.grant(Duration::from_secs(3)).await?;
    /// etcd.put("online/carol", "node-1", lease.id)?;
    /// assert!(matches!(etcd.put("online/dave", "node-1", 42), Err(LeaseError::LeaseNotFound { id: 42 })));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`LeaseError::LeaseNotFound`] if there is no such lease (it expired, or was revoked).
    pub fn put(
        &self,
        key: impl Into<String>,
        value: impl Into<String>,
        id: i64,
    ) -> Result<(), LeaseError> {
        let mut memory = self.lock();
        memory.expire(Instant::now());
        if !memory.leases.contains_key(&id) {
            return Err(LeaseError::LeaseNotFound { id });
        }
        memory.keys.insert(key.into(), (value.into(), id));
        Ok(())
    }

    /// The value of `key`, if it is there (its lease not expired nor revoked).
    ///
    /// ```
    /// use deadlines_etcd::MemoryLeases;
    ///
    /// assert_eq!(MemoryLeases::new().get("online/erin"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<String> {
        let mut memory = self.lock();
        memory.expire(Instant::now());
        memory.keys.get(key).map(|(value, _)| value.clone())
    }

    /// Every key there is, in order.
    ///
    /// ```
    /// use deadlines_etcd::MemoryLeases;
    ///
    /// assert!(MemoryLeases::new().keys().is_empty());
    /// ```
    pub fn keys(&self) -> Vec<String> {
        let mut memory = self.lock();
        memory.expire(Instant::now());
        memory.keys.keys().cloned().collect()
    }

    /// The time lease `id` has left, as etcd's `lease_time_to_live` tells it; `None` if there
    /// is no such lease.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseApi, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let mut etcd = MemoryLeases::new();
    /// let lease = etcd.grant(Duration::from_secs(3)).await?;
    /// tokio::time::advance(Duration::from_millis(500)).await;
    /// assert_eq!(etcd.time_to_live(lease.id), Some(Duration::from_millis(2500)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn time_to_live(&self, id: i64) -> Option<Duration> {
        let now = Instant::now();
        let mut memory = self.lock();
        memory.expire(now);
        memory.leases.get(&id).map(|held| held.expires - now)
    }

    /// Every call handled so far, in order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{CallKind, LeaseApi, MemoryLeases};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
    /// let mut etcd = MemoryLeases::new();
    /// let lease = etcd.grant(Duration::from_secs(3)).await?;
    /// etcd.keep_alive(lease.id).await?;
    /// let kinds: Vec<CallKind> = etcd.calls().iter().map(|call| call.kind).collect();
    /// assert_eq!(kinds, [CallKind::Grant, CallKind::KeepAlive]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn calls(&self) -> Vec<MemoryCall> {
        self.lock().calls.clone()
    }

    /// Waits out the latency and the faults, then handles the call with `handle`.
    async fn call<T>(
        &self,
        kind: CallKind,
        id: i64,
        handle: impl FnOnce(&mut Memory, Instant) -> Result<T, LeaseError>,
        ok: impl Fn(&T) -> bool,
    ) -> Result<T, LeaseError> {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mode = self.lock().mode;
        match mode {
            Mode::Hung => std::future::pending().await,
            Mode::Down => {
                let now = Instant::now();
                self.lock().calls.push(MemoryCall {
                    at: now,
                    kind,
                    id,
                    ok: false,
                });
                Err(LeaseError::Unreachable(Arc::new(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "the in-memory lessor is down",
                ))))
            }
            Mode::Up => {
                let now = Instant::now();
                let mut memory = self.lock();
                memory.expire(now);
                let result = handle(&mut memory, now);
                let (id, ok) = match &result {
                    Ok(value) => (id, ok(value)),
                    Err(_) => (id, false),
                };
                memory.calls.push(MemoryCall {
                    at: now,
                    kind,
                    id,
                    ok,
                });
                result
            }
        }
    }
}

impl Memory {
    /// Drops the leases whose TTL ran out by `now`, and their keys.
    fn expire(&mut self, now: Instant) {
        let expired: Vec<i64> = self
            .leases
            .iter()
            .filter(|(_, held)| held.expires <= now)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: i64) -> bool {
        let found = self.leases.remove(&id).is_some();
        self.keys.retain(|_, (_, lease)| *lease != id);
        found
    }
}

impl LeaseApi for MemoryLeases {
    async fn grant(&mut self, ttl: Duration) -> Result<Grant, LeaseError> {
        let grant = self
            .call(
                CallKind::Grant,
                0,
                |memory, now| {
                    let ttl = ttl.max(memory.min_ttl.unwrap_or(Duration::from_secs(2)));
                    memory.next_id += 1;
                    let id = memory.next_id;
                    let expires = after(now, ttl);
                    memory.leases.insert(id, Held { ttl, expires });
                    Ok(Grant { id, ttl })
                },
                |_| true,
            )
            .await?;
        // The log names the lease granted.
        if let Some(call) = self.lock().calls.last_mut() {
            call.id = grant.id;
        }
        Ok(grant)
    }

    async fn keep_alive(&mut self, id: i64) -> Result<Duration, LeaseError> {
        self.call(
            CallKind::KeepAlive,
            id,
            |memory, now| {
                Ok(match memory.leases.get_mut(&id) {
                    Some(held) => {
                        held.expires = after(now, held.ttl);
                        held.ttl
                    }
                    None => Duration::ZERO,
                })
            },
            |ttl| !ttl.is_zero(),
        )
        .await
    }

    async fn revoke(&mut self, id: i64) -> Result<(), LeaseError> {
        self.call(
            CallKind::Revoke,
            id,
            |memory, _| {
                if memory.remove(id) {
                    Ok(())
                } else {
                    Err(LeaseError::LeaseNotFound { id })
                }
            },
            |_| true,
        )
        .await
    }
}

impl fmt::Debug for MemoryLeases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let memory = self.lock();
        let leases: Vec<i64> = memory.leases.keys().copied().collect();
        f.debug_struct("MemoryLeases")
            .field("leases", &leases)
            .field("keys", &memory.keys.len())
            .finish_non_exhaustive()
    }
}
