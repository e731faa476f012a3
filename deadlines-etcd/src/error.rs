//! [`LeaseError`]: why a lease could not be granted, renewed or revoked.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The error a client's call came back with, shared by every clone of a [`LeaseError`].
///
/// ```
/// use std::error::Error;
/// use std::sync::Arc;
/// use deadlines_etcd::{LeaseError, Source};
///
/// let source: Source = Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
/// let error = LeaseError::Unreachable(source.clone());
/// assert_eq!(error.source().unwrap().to_string(), source.to_string());
/// assert_eq!(error.to_string(), format!("cannot reach etcd: {source}"));
/// ```
pub type Source = Arc<dyn Error + Send + Sync + 'static>;

/// Why a lease could not be granted, renewed or revoked. Never a panic: every way a call to
/// etcd can go wrong ends here.
///
/// Cheap to clone (an `Arc` holds the client's error), so the keeper can publish it to every
/// [`Lease`](crate::Lease) handle.
///
/// ```
/// use std::time::Duration;
/// use deadlines_etcd::LeaseError;
///
/// let error = LeaseError::TtlBelowMinimum {
///     asked: Duration::from_secs(1),
///     granted: Duration::from_secs(2),
/// };
/// assert_eq!(
///     error.to_string(),
///     "etcd granted a 2s lease where 1s was asked (it raises a TTL below its minimum to the \
///      minimum): ask for at least 2s",
/// );
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LeaseError {
    /// The TTL cannot be asked of etcd, which counts whole seconds: it is zero, has a fraction
    /// of a second, or is more than `i64::MAX` seconds.
    InvalidTtl(Duration),
    /// The schedule leaves no room to renew before the fence closes: the renew period must be
    /// more than zero and shorter than the TTL less the margin, and the retry period more than
    /// zero.
    InvalidSchedule {
        /// The lease's TTL.
        ttl: Duration,
        /// How often the keeper renews.
        renew_every: Duration,
        /// How long before the lease can lapse the fence closes.
        margin: Duration,
        /// How soon a failed renewal is tried again.
        retry_every: Duration,
    },
    /// etcd granted a longer TTL than the one asked for. etcd raises a TTL below its minimum
    /// (with its default flags, 2 s) to that minimum without a word; the keeper refuses such a
    /// lease, because its renew period, margin and fence were computed for the TTL asked. The
    /// lease it was granted has been revoked (if etcd answered the revoke).
    TtlBelowMinimum {
        /// The TTL asked for.
        asked: Duration,
        /// The TTL etcd granted.
        granted: Duration,
    },
    /// The server granted a shorter TTL than the one asked for (etcd itself never does: it
    /// refuses a TTL above its maximum with an error; another [`LeaseApi`](crate::LeaseApi)
    /// may). The keeper refuses the lease, whose fence would stand past the instant it can
    /// lapse, and has revoked it (if the server answered the revoke).
    TtlShortened {
        /// The TTL asked for.
        asked: Duration,
        /// The TTL the server granted.
        granted: Duration,
    },
    /// etcd has no such lease: it answered a keep-alive with TTL 0, or a call with "lease not
    /// found". The lease expired, or someone revoked it.
    LeaseNotFound {
        /// The lease's id.
        id: i64,
    },
    /// No connection to etcd: nothing listens at the endpoint, the connection was refused,
    /// reset or closed, or the client's channel is gone.
    Unreachable(Source),
    /// etcd did not answer the call in time. An endpoint that accepts connections but does
    /// not answer (a wedged server, a partition) ends here; so may one that refuses them, on
    /// a client that keeps trying to connect until the call's time runs out.
    TimedOut {
        /// Which call: `"grant"`, `"keep-alive"` or `"revoke"`.
        call: &'static str,
        /// How long the keeper waited.
        after: Duration,
    },
    /// etcd answered with another error (a TTL too large, a request it does not accept, an
    /// authentication failure).
    Server(Source),
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidTtl(ttl) => write!(
                f,
                "a lease TTL is a whole number of seconds, at least 1s: {ttl:?} is not"
            ),
            Self::InvalidSchedule {
                ttl,
                renew_every,
                margin,
                retry_every,
            } => write!(
                f,
                "no room to renew the lease before its fence: renewing every {renew_every:?} \
                 (retrying every {retry_every:?}) needs a TTL of {ttl:?} less a margin of \
                 {margin:?} to be longer, and both periods more than zero"
            ),
            Self::TtlBelowMinimum { asked, granted } => write!(
                f,
                "etcd granted a {granted:?} lease where {asked:?} was asked (it raises a TTL \
                 below its minimum to the minimum): ask for at least {granted:?}"
            ),
            Self::TtlShortened { asked, granted } => write!(
                f,
                "the server granted a {granted:?} lease where {asked:?} was asked: the \
                 keeper's renewals and fence are computed for the TTL asked"
            ),
            Self::LeaseNotFound { id } => {
                write!(f, "etcd has no lease {id:#x}: it expired or was revoked")
            }
            Self::Unreachable(source) => write!(f, "cannot reach etcd: {source}"),
            Self::TimedOut { call, after } => {
                write!(f, "etcd did not answer the lease {call} within {after:?}")
            }
            Self::Server(source) => write!(f, "etcd refused the lease call: {source}"),
        }
    }
}

impl Error for LeaseError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Unreachable(source) | Self::Server(source) => Some(&**source),
            _ => None,
        }
    }
}
