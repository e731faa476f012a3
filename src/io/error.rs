//! [`IdleTimedOut`]: what an [`IdleIo`](super::IdleIo) fails with once a time-out is reached.

use std::fmt;
use std::io;
use std::time::Duration;

use super::IdleKind;

/// The error inside the [`io::Error`] of kind [`TimedOut`](io::ErrorKind::TimedOut) that an
/// [`IdleIo`](super::IdleIo) fails with once a threshold of
/// [`time_out_on`](super::IdleIo::time_out_on) is reached.
///
/// Its `Display` is lowercase, without trailing punctuation, so it composes into larger
/// messages.
///
/// ```
/// use std::time::Duration;
/// use deadlines::io::{IdleIo, IdleKind, IdleTimedOut};
/// use tokio::io::AsyncReadExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (client, _server) = tokio::io::duplex(64);
/// let mut io = IdleIo::new(client)
///     .read_idle(Duration::from_secs(30))
///     .time_out_on(IdleKind::Read);
/// let error = io.read(&mut [0; 8]).await.unwrap_err();
/// let idle: &IdleTimedOut = error.get_ref().unwrap().downcast_ref().unwrap();
/// assert_eq!(idle.kind(), IdleKind::Read);
/// assert_eq!(idle.threshold(), Duration::from_secs(30));
/// assert_eq!(error.to_string(), "connection idle: no bytes read for 30s");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdleTimedOut {
    kind: IdleKind,
    threshold: Duration,
}

impl IdleTimedOut {
    pub(super) fn new(kind: IdleKind, threshold: Duration) -> Self {
        Self { kind, threshold }
    }

    /// The threshold that was reached.
    ///
    /// ```
    /// # use deadlines::io::{IdleKind, IdleTimedOut};
    /// # fn check(idle: IdleTimedOut) {
    /// if idle.kind() == IdleKind::Write {
    ///     // the peer stopped reading
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> IdleKind {
        self.kind
    }

    /// Finds the time-out in an error's chain: in `error` itself, or in the
    /// [`io::Error`] of any error its [`source`](std::error::Error::source)s lead to (hyper
    /// wraps the IO's error in its own). `io::Error::source` skips the error it wraps, so
    /// walking the sources alone never meets it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind, IdleTimedOut};
    /// use tokio::io::AsyncReadExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, _server) = tokio::io::duplex(64);
    /// let mut io = IdleIo::new(client)
    ///     .all_idle(Duration::from_secs(60))
    ///     .time_out_on(IdleKind::All);
    /// let error = io.read(&mut [0; 8]).await.unwrap_err();
    /// let idle = IdleTimedOut::find_in(&error).unwrap();
    /// assert_eq!(idle.kind(), IdleKind::All);
    /// assert_eq!(IdleTimedOut::find_in(&std::io::Error::other("reset")), None);
    /// # }
    /// ```
    pub fn find_in(error: &(dyn std::error::Error + 'static)) -> Option<IdleTimedOut> {
        std::iter::successors(Some(error), |error| error.source()).find_map(|error| {
            let inner = match error.downcast_ref::<io::Error>() {
                Some(io) => io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static)),
                None => Some(error),
            };
            inner
                .and_then(|inner| inner.downcast_ref::<IdleTimedOut>())
                .copied()
        })
    }

    /// Its length, as it was when it was reached.
    ///
    /// ```
    /// # use deadlines::io::IdleTimedOut;
    /// # fn log(idle: IdleTimedOut) {
    /// eprintln!("closing after {:?} of silence", idle.threshold());
    /// # }
    /// ```
    pub fn threshold(&self) -> Duration {
        self.threshold
    }
}

impl fmt::Display for IdleTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let silence = self.kind.silence();
        write!(
            f,
            "connection idle: no bytes {silence} for {:?}",
            self.threshold
        )
    }
}

impl std::error::Error for IdleTimedOut {}

impl From<IdleTimedOut> for io::Error {
    fn from(idle: IdleTimedOut) -> Self {
        io::Error::new(io::ErrorKind::TimedOut, idle)
    }
}
