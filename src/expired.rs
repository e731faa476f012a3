//! [`Expired`]: what every timed primitive of the crate completes with.

use std::time::Duration;

use tokio::time::Instant;

/// The value a [`Deadline`](crate::Deadline) (and the other primitives of this crate) completes with: the
/// deadline that was reached, and when the expiry was observed.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{Deadline, Expired};
/// use tokio::time::Instant;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let at = Instant::now() + Duration::from_secs(5);
/// let expired: Expired = Deadline::at(at).await;
/// assert_eq!(expired.deadline(), at);
/// assert_eq!(expired.overdue(), Duration::ZERO);
/// assert_eq!(Instant::now(), at);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expired {
    deadline: Instant,
    observed: Instant,
}

impl Expired {
    pub(crate) fn new(deadline: Instant, observed: Instant) -> Self {
        Self { deadline, observed }
    }

    /// The deadline that was reached. The expiry was observed at or after this instant.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_millis(10));
    /// tokio::time::advance(Duration::from_millis(25)).await; // the owner was busy
    /// let expired = deadline.await;
    /// assert_eq!(Instant::now() - expired.deadline(), Duration::from_millis(15));
    /// # }
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How late the expiry was observed: from the deadline to the poll that delivered it
    /// (Tokio's millisecond timer and a busy task both add to it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let deadline = Deadline::after(Duration::from_millis(10));
    /// tokio::time::advance(Duration::from_millis(25)).await; // the owner was busy
    /// assert_eq!(deadline.await.overdue(), Duration::from_millis(15));
    /// # }
    /// ```
    pub fn overdue(&self) -> Duration {
        self.observed.saturating_duration_since(self.deadline)
    }
}
