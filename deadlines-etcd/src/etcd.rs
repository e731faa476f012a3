//! [`EtcdLeases`]: the keeper's [`LeaseApi`] on `etcd-client` (feature `etcd`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, Error, LeaseClient, LeaseKeepAliveStream, LeaseKeeper as Sender};

use crate::api::{Grant, LeaseApi};
use crate::error::LeaseError;

/// etcd's lease calls through `etcd-client`: a [`LeaseApi`] for [`LeaseKeeper`](crate::LeaseKeeper).
///
/// Keep-alives go over one bidirectional stream, as etcd's own clients send them, opened at
/// the first renewal and opened again after a renewal that failed or was dropped half-way (a
/// time-out): a late answer on the old stream can then never be taken for the answer to a
/// later request, which would move the fence past what etcd granted. `etcd-client` keeps
/// keep-alives manual; opening its stream sends one and checks its answer, which counts as
/// that renewal (at the TTL this lease was granted, which every keep-alive answer repeats).
///
/// Errors map to [`LeaseError`] as follows: a transport error, an I/O error, gRPC
/// `Unavailable` and a closed stream to [`Unreachable`](LeaseError::Unreachable); gRPC
/// `NotFound` ("requested lease not found") and a keep-alive answered with TTL 0 to
/// [`LeaseNotFound`](LeaseError::LeaseNotFound); the rest to [`Server`](LeaseError::Server).
///
/// `etcd-client` connects lazily, so an endpoint where nothing listens shows only at the
/// first call, and may show as [`TimedOut`](LeaseError::TimedOut) rather than
/// `Unreachable` when the client keeps trying to connect until the keeper gives up.
///
/// This doctest needs an etcd server on 127.0.0.1:2379, so it is only compiled (the tests in
/// `tests/lease_real_etcd.rs` run the same against a real etcd they start):
///
/// ```no_run
/// use std::time::Duration;
/// use deadlines::{Shutdown, Watchdog};
/// use deadlines_etcd::{EtcdLeases, LeaseKeeper};
/// use etcd_client::{Client, PutOptions};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut client = Client::connect(["http://127.0.0.1:2379"], None).await?;
/// let shutdown = Shutdown::new();
/// shutdown.listen_for_signals()?;
/// let worker = Watchdog::new(Duration::from_secs(5));
/// let lease = LeaseKeeper::new(Duration::from_secs(15))
///     .gate("worker", &worker)
///     .start(EtcdLeases::new(&client), &shutdown)
///     .await?;
/// client.put("online/alice", "node-1", Some(PutOptions::new().with_lease(lease.id()))).await?;
/// shutdown.triggered().await;
/// shutdown.drain(Duration::from_secs(5)).await; // the keeper revokes: alice is offline at once
/// # drop(worker);
/// # Ok(())
/// # }
/// ```
pub struct EtcdLeases {
    client: LeaseClient,
    /// The lease granted through this value, and its TTL.
    granted: Option<(i64, Duration)>,
    /// The keep-alive stream, out of this field while a round trip is in flight.
    stream: Option<(Sender, LeaseKeepAliveStream)>,
}

impl EtcdLeases {
    /// The lease calls of `client` (it clones the client's lease channel).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), etcd_client::Error> {
    /// let client = etcd_client::Client::connect(["http://127.0.0.1:2379"], None).await?;
    /// let leases = deadlines_etcd::EtcdLeases::new(&client);
    /// # drop(leases);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client) -> Self {
        Self::from_lease_client(client.lease_client())
    }

    /// The lease calls of a lease client.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), etcd_client::Error> {
    /// let client = etcd_client::Client::connect(["http://127.0.0.1:2379"], None).await?;
    /// let leases = deadlines_etcd::EtcdLeases::from_lease_client(client.lease_client());
    /// # drop(leases);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_lease_client(client: LeaseClient) -> Self {
        Self {
            client,
            granted: None,
            stream: None,
        }
    }
}

impl fmt::Debug for EtcdLeases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdLeases")
            .field("granted", &self.granted)
            .field("stream_open", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

/// A TTL in etcd's whole seconds (a negative one, which etcd answers for a lease it does not
/// have, as zero).
fn seconds(ttl: i64) -> Duration {
    Duration::from_secs(u64::try_from(ttl).unwrap_or(0))
}

/// gRPC's status codes for "unavailable" and "not found", fixed by the gRPC specification
/// (`tonic::Code::Unavailable` and `NotFound`; etcd-client re-exports tonic's `Status` but not
/// its `Code`, so they are compared as numbers).
const UNAVAILABLE: i32 = 14;
const NOT_FOUND: i32 = 5;

/// What an `etcd-client` error means for the keeper.
fn classify(error: Error, id: i64) -> LeaseError {
    match &error {
        Error::TransportError(_) | Error::IoError(_) => LeaseError::Unreachable(Arc::new(error)),
        Error::GRpcStatus(status) => match status.code() as i32 {
            UNAVAILABLE => LeaseError::Unreachable(Arc::new(error)),
            NOT_FOUND => LeaseError::LeaseNotFound { id },
            _ => LeaseError::Server(Arc::new(error)),
        },
        // What `LeaseClient::keep_alive` says when the stream's first answer has TTL 0.
        Error::LeaseKeepAliveError(message) if message == "lease not found" => {
            LeaseError::LeaseNotFound { id }
        }
        // The stream's request channel is closed, or it could not be opened: it is gone.
        Error::LeaseKeepAliveError(_) | Error::WatchError(_) => {
            LeaseError::Unreachable(Arc::new(error))
        }
        _ => LeaseError::Server(Arc::new(error)),
    }
}

/// A stream that ended: etcd (or the connection to it) closed it.
#[derive(Debug)]
struct StreamClosed;

impl fmt::Display for StreamClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the keep-alive stream was closed")
    }
}

impl std::error::Error for StreamClosed {}

impl LeaseApi for EtcdLeases {
    async fn grant(&mut self, ttl: Duration) -> Result<Grant, LeaseError> {
        let asked = i64::try_from(ttl.as_secs()).map_err(|_| LeaseError::InvalidTtl(ttl))?;
        let granted = self
            .client
            .grant(asked, None)
            .await
            .map_err(|error| classify(error, 0))?;
        let grant = Grant {
            id: granted.id(),
            ttl: seconds(granted.ttl()),
        };
        self.granted = Some((grant.id, grant.ttl));
        self.stream = None;
        Ok(grant)
    }

    async fn keep_alive(&mut self, id: i64) -> Result<Duration, LeaseError> {
        // Out of the field while in flight: a round trip dropped half-way leaves no stream.
        let (mut sender, mut stream) = match self.stream.take() {
            Some(open) => open,
            None => {
                let opened = self
                    .client
                    .keep_alive(id)
                    .await
                    .map_err(|error| classify(error, id))?;
                if let Some((granted, ttl)) = self.granted
                    && granted == id
                {
                    // Opening sent a keep-alive whose answer had a TTL above 0 (etcd-client
                    // checked it), and every answer repeats the TTL the lease was granted.
                    self.stream = Some(opened);
                    return Ok(ttl);
                }
                // A lease granted elsewhere: ask again, to learn its TTL.
                opened
            }
        };
        sender
            .keep_alive()
            .await
            .map_err(|error| classify(error, id))?;
        match stream.message().await {
            Ok(Some(answer)) => {
                self.stream = Some((sender, stream));
                Ok(seconds(answer.ttl()))
            }
            Ok(None) => Err(LeaseError::Unreachable(Arc::new(StreamClosed))),
            Err(error) => Err(classify(error, id)),
        }
    }

    async fn revoke(&mut self, id: i64) -> Result<(), LeaseError> {
        self.stream = None;
        self.client
            .revoke(id)
            .await
            .map(drop)
            .map_err(|error| classify(error, id))
    }
}
