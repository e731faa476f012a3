//! Saturating arithmetic on Tokio time, so that no `Duration` or `Instant` input panics.
//!
//! Tokio caps a `sleep(duration)` at roughly 30 years from now, and its timer panics on an
//! instant within a millisecond of the largest representable one (it rounds the instant up to
//! the next millisecond with a plain `+`). These helpers apply the same cap everywhere.

use std::time::Duration;
use tokio::time::Instant;

/// How far "effectively never" lies: the same 30 years Tokio's own `sleep` saturates to
/// (1000 years overflows `Instant` on macOS, 100 years on FreeBSD).
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Tokio's timer granularity, the shortest period any primitive repeats at: a repeating event
/// (a keepalive item, a ping, an idle event) with a zero period would come at every poll, and
/// a consumer looping on it would never yield to its runtime.
pub(crate) const GRANULARITY: Duration = Duration::from_millis(1);

/// `now + d`, saturated to `now + FAR_FUTURE`.
pub(crate) fn saturating_after(now: Instant, d: Duration) -> Instant {
    now + d.min(FAR_FUTURE)
}

/// The instant to hand to `Sleep::reset` for a target instant.
///
/// Any instant is a valid target, but Tokio's timer adds just under a millisecond to it, which
/// overflows near the end of `Instant`'s range. Such a target is effectively never, so the timer
/// is set to the far future instead; the owner re-sleeps to the true target if that ever fires.
/// Costs no clock read unless the target is that extreme.
pub(crate) fn timer_instant(target: Instant) -> Instant {
    if target.checked_add(Duration::from_millis(1)).is_some() {
        target
    } else {
        saturating_after(Instant::now(), FAR_FUTURE)
    }
}

/// Nanoseconds from `origin` to `now` (zero if `now` is earlier), saturated to what the
/// shared state's word holds.
pub(crate) fn tick(origin: Instant, now: Instant) -> u64 {
    let nanos = now.saturating_duration_since(origin).as_nanos();
    u64::try_from(nanos)
        .unwrap_or(u64::MAX)
        .min(crate::state::MAX_TICK)
}

/// A duration as ticks, saturated to `FAR_FUTURE` as every duration input is.
pub(crate) fn ticks(d: Duration) -> u64 {
    // FAR_FUTURE in nanoseconds is below 2^60: the conversion cannot fail.
    u64::try_from(d.min(FAR_FUTURE).as_nanos()).unwrap_or(u64::MAX)
}

/// The instant of `tick` nanoseconds after `origin`. A tick past the range (the shared
/// state's `NEVER`), or one `Instant` cannot represent, is never reached: it reads as the far
/// future from now, so a timer set to it re-sleeps every 30 years instead of firing into a
/// decision that cannot be made.
pub(crate) fn instant_at(origin: Instant, tick: u64) -> Instant {
    if tick > crate::state::MAX_TICK {
        return saturating_after(Instant::now(), FAR_FUTURE);
    }
    origin
        .checked_add(Duration::from_nanos(tick))
        .unwrap_or_else(|| saturating_after(Instant::now(), FAR_FUTURE))
}
