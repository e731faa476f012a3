//! [`LeaseApi`]: the three lease calls the keeper makes, so it runs on etcd and on a fake.

use std::future::Future;
use std::time::Duration;

use crate::error::LeaseError;

/// A lease granted by the server: its id and the TTL it was granted with.
///
/// ```
/// use std::time::Duration;
/// use deadlines_etcd::{Grant, LeaseApi, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
/// let mut etcd = MemoryLeases::new();
/// let Grant { id, ttl } = etcd.grant(Duration::from_secs(1)).await?;
/// assert_eq!(ttl, Duration::from_secs(2), "raised to the minimum, as etcd does");
/// # let _ = id;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The lease's id: attach keys to it (etcd's `PutOptions::with_lease`).
    pub id: i64,
    /// The TTL the server granted, which may be more than asked (etcd raises a TTL below its
    /// minimum).
    pub ttl: Duration,
}

/// The lease calls a [`LeaseKeeper`](crate::LeaseKeeper) makes: grant, one keep-alive round
/// trip, revoke.
///
/// Implemented by `EtcdLeases` on `etcd-client` (feature `etcd`) and by
/// [`MemoryLeases`](crate::MemoryLeases), an in-memory lessor on Tokio time that tests and
/// doctests run the keeper against on a paused clock. Implement it to run the keeper on another
/// store, or on a fake of your own.
///
/// The keeper bounds every call with a time-out of its own and drops a call that runs out: an
/// implementation must leave itself usable when one of its futures is dropped half-way (etcd's
/// keeps its keep-alive stream out of reach while a round trip is in flight, and opens a new
/// one at the next call if that call was dropped, so that no late answer is taken for the
/// answer to a later request).
///
/// ```
/// use std::time::Duration;
/// use deadlines_etcd::{LeaseApi, LeaseError, MemoryLeases};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), LeaseError> {
/// let mut etcd = MemoryLeases::new();
/// let lease = etcd.grant(Duration::from_secs(3)).await?;
/// assert_eq!(etcd.keep_alive(lease.id).await?, Duration::from_secs(3));
/// etcd.revoke(lease.id).await?;
/// assert_eq!(etcd.keep_alive(lease.id).await?, Duration::ZERO, "TTL 0: no such lease");
/// # Ok(())
/// # }
/// ```
pub trait LeaseApi: Send + 'static {
    /// Grants a lease of `ttl` (a whole number of seconds, at least one: the keeper checks).
    fn grant(&mut self, ttl: Duration) -> impl Future<Output = Result<Grant, LeaseError>> + Send;

    /// Sends one keep-alive for lease `id` and waits for its answer: the lease's TTL, counted
    /// again from when the server handled the request. `Duration::ZERO`, or
    /// [`LeaseError::LeaseNotFound`], means the server has no such lease.
    fn keep_alive(&mut self, id: i64) -> impl Future<Output = Result<Duration, LeaseError>> + Send;

    /// Revokes lease `id`: the server deletes every key attached to it at once.
    fn revoke(&mut self, id: i64) -> impl Future<Output = Result<(), LeaseError>> + Send;
}
