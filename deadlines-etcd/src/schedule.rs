//! [`Schedule`]: when the keeper renews, retries, and closes the fence, as plain arithmetic.

use std::time::Duration;

use tokio::time::Instant;

use crate::error::LeaseError;

/// "Effectively never": the 30 years Tokio's own `sleep` saturates to.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `now + d`, saturated to `now + 30 years` so that no `Duration` panics.
///
/// The one copy in this crate of `deadlines`' private `clock::saturating_after` (same cap,
/// same reason): `deadlines` keeps its clock arithmetic private, and exposes no "instant
/// plus a duration, saturated" for a given instant (`Deadline::after` counts from now), so
/// the keeper's schedule, its task and the in-memory lessor share this one.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now + d.min(FAR_FUTURE)
}

/// The keeper's timing: the lease's TTL, how often it renews, how long before the lease can
/// lapse the fence closes, and how soon a failed renewal is tried again.
///
/// The defaults are fractions of the TTL, taken from Kubernetes client-go's leader election
/// (lease 15 s, renew deadline 10 s, retry 2 s) and etcd's own Go client (a keep-alive every
/// TTL/3):
///
/// | | default | at TTL 15 s | at TTL 3 s | why |
/// |---|---|---|---|---|
/// | `renew_every` | TTL / 3 | 5 s | 1 s | etcd's clientv3 renews at TTL/3: two renewals can be lost before the lease lapses |
/// | `margin` | TTL / 3 | 5 s | 1 s | client-go's lease less its renew deadline (15 s - 10 s): the fence closes a third of the TTL before the lease can lapse |
/// | `retry_every` | TTL × 2 / 15 | 2 s | 400 ms | client-go's retry period over its lease duration |
///
/// So after a renewal sent at `s`, the next goes out at `s + TTL/3`, the fence stands at
/// `s + 2·TTL/3` and etcd cannot expire the lease before `s + TTL`: a renewal that fails is
/// retried every `retry_every` for the third of the TTL between the two.
///
/// ```
/// use std::time::Duration;
/// use deadlines_etcd::Schedule;
///
/// let schedule = Schedule::for_ttl(Duration::from_secs(15));
/// assert_eq!(schedule.renew_every, Duration::from_secs(5));
/// assert_eq!(schedule.margin, Duration::from_secs(5));
/// assert_eq!(schedule.retry_every, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Schedule {
    /// The lease's TTL, as asked of etcd (and granted: the keeper refuses another).
    pub ttl: Duration,
    /// The time from one renewal's send to the next's, and the most a renewal waits for its
    /// answer.
    pub renew_every: Duration,
    /// The fence closes `margin` before the earliest instant etcd could expire the lease.
    pub margin: Duration,
    /// After a renewal that failed (an error, not a refusal), the next try goes out this much
    /// later; one that timed out is retried at once.
    pub retry_every: Duration,
}

impl Schedule {
    /// The default schedule for `ttl` (the table above).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::Schedule;
    ///
    /// let schedule = Schedule::for_ttl(Duration::from_secs(3));
    /// assert_eq!(schedule.retry_every, Duration::from_millis(400));
    /// ```
    pub fn for_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            renew_every: ttl / 3,
            margin: ttl / 3,
            // Divided first: no TTL overflows (`Duration::MAX` too gets a schedule, which
            // `check` then refuses).
            retry_every: (ttl / 15).saturating_mul(2),
        }
    }

    /// The fence after a renewal sent at `sent` and granted `granted`: the earliest instant
    /// etcd could expire the lease (`sent + granted`, since etcd counts the TTL from when it
    /// handles the request, which is after it was sent) less the margin. Saturates: a margin
    /// longer than the TTL gives `sent`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::Schedule;
    /// use tokio::time::Instant;
    ///
    /// let schedule = Schedule::for_ttl(Duration::from_secs(15));
    /// let sent = Instant::now();
    /// assert_eq!(schedule.fence_after(sent, Duration::from_secs(15)), sent + Duration::from_secs(10));
    /// ```
    pub fn fence_after(&self, sent: Instant, granted: Duration) -> Instant {
        after(sent, granted.saturating_sub(self.margin))
    }

    /// Whether the keeper can run on this schedule: a TTL of whole seconds from 1 s to
    /// `i64::MAX` s, and a renewal that can go out before the fence closes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines_etcd::{LeaseError, Schedule};
    ///
    /// assert!(Schedule::for_ttl(Duration::from_secs(3)).check().is_ok());
    /// let fraction = Schedule::for_ttl(Duration::from_millis(2500)).check();
    /// assert!(matches!(fraction, Err(LeaseError::InvalidTtl(_))));
    /// ```
    ///
    /// # Errors
    ///
    /// [`LeaseError::InvalidTtl`] for a TTL etcd cannot be asked for,
    /// [`LeaseError::InvalidSchedule`] for periods that leave no time to renew.
    pub fn check(&self) -> Result<(), LeaseError> {
        let seconds = self.ttl.as_secs();
        if seconds == 0 || self.ttl.subsec_nanos() != 0 || i64::try_from(seconds).is_err() {
            return Err(LeaseError::InvalidTtl(self.ttl));
        }
        let room = self.ttl.saturating_sub(self.margin);
        if self.renew_every.is_zero() || self.retry_every.is_zero() || self.renew_every >= room {
            return Err(LeaseError::InvalidSchedule {
                ttl: self.ttl,
                renew_every: self.renew_every,
                margin: self.margin,
                retry_every: self.retry_every,
            });
        }
        Ok(())
    }
}
