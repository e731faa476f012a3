//! [`Heartbeat`]: the handle other tasks and threads beat with, for a [`Watchdog`](crate::Watchdog) or for one
//! key of a [`Keepalives`](crate::Keepalives) set.
//!
//! It stands between the core and the runtime layer: it holds a reference to a core word
//! (a watchdog's [`State`], or a key's slot) and reads Tokio's clock, and both runtime types
//! hand it out, so neither of them imports the other.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::clock::{instant_at, tick, ticks};
use crate::segment::KeyRef;
use crate::state::{State, Word};

/// A handle that beats, stops or re-times a [`Watchdog`](crate::Watchdog) from any task or thread.
///
/// `Clone + Send + Sync + 'static`; cloning is a reference-count increment. Every method is
/// safe to call after the watchdog expired, was stopped or was dropped: they return `false`
/// (or `None`) and change nothing.
///
/// ```
/// use std::time::Duration;
/// use deadlines::Watchdog;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let watchdog = Watchdog::new(Duration::from_secs(1));
/// let heartbeat = watchdog.heartbeat();
/// assert!(heartbeat.beat());
/// drop(watchdog);
/// assert!(!heartbeat.beat(), "nobody is watching any more");
/// # }
/// ```
#[derive(Clone)]
pub struct Heartbeat {
    target: Target,
}

/// What a heartbeat beats: a watchdog, or one key of a [`Keepalives`](crate::Keepalives) set.
/// Each holds the instant its ticks count from where it is shared, so a heartbeat is one
/// pointer and a slot offset: 16 bytes (a test asserts it).
#[derive(Clone)]
enum Target {
    Watchdog(Arc<Life>),
    Key(KeyRef<Instant>),
}

/// One life of a watchdog: its shared state, and the instant its ticks count from. A
/// watchdog re-armed after its life ended starts a new `Life`, so the heartbeats of the old
/// one stay ended.
#[derive(Debug)]
pub(crate) struct Life {
    pub(crate) state: State,
    pub(crate) origin: Instant,
}

impl Heartbeat {
    /// A heartbeat for a watchdog's life.
    pub(crate) fn for_watchdog(life: Arc<Life>) -> Self {
        Self {
            target: Target::Watchdog(life),
        }
    }

    /// A heartbeat for one key of a `Keepalives` set.
    pub(crate) fn for_key(key: KeyRef<Instant>) -> Self {
        Self {
            target: Target::Key(key),
        }
    }

    /// The instant this heartbeat's ticks count from.
    fn origin(&self) -> Instant {
        match &self.target {
            Target::Watchdog(life) => life.origin,
            Target::Key(key) => *key.origin(),
        }
    }

    fn word(&self) -> &Word {
        match &self.target {
            Target::Watchdog(life) => life.state.pulse(),
            Target::Key(key) => key.word(),
        }
    }

    /// Records a beat: the window restarts from now. Returns `true` when the beat counted,
    /// `false` when the watchdog had already expired, been stopped or been dropped.
    ///
    /// One read of Tokio's clock and one atomic read-modify-write (`fetch_max`) on one word;
    /// it never blocks and wakes nobody. It is wait-free where the CPU has an atomic maximum
    /// (AArch64 with LSE) and a short compare-exchange loop elsewhere (x86-64).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let watchdog = Watchdog::new(Duration::from_millis(100));
    /// let heartbeat = watchdog.heartbeat();
    /// tokio::time::advance(Duration::from_millis(70)).await;
    /// assert!(heartbeat.beat());
    /// let expired = watchdog.await.unwrap();
    /// assert_eq!(expired.deadline() - start, Duration::from_millis(170));
    /// assert!(!heartbeat.beat());
    /// # }
    /// ```
    ///
    /// # Precision
    ///
    /// Under a paused test clock, beat from tasks of that runtime. A thread outside every
    /// runtime reads the real clock, which a paused clock does not follow.
    pub fn beat(&self) -> bool {
        self.word().beat(tick(self.origin(), Instant::now()))
    }

    /// Stops the watchdog, which then resolves `Err(Stopped)`. Returns `true` exactly when
    /// this call prevented the expiry: `false` if the expiry was already decided, another
    /// `stop` came first, or the watchdog was dropped. Wakes the watchdog task.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Stopped, Watchdog};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_secs(1));
    /// let heartbeat = watchdog.heartbeat();
    /// assert!(heartbeat.stop());
    /// assert!(!heartbeat.stop(), "only the first stop prevents anything");
    /// assert!(watchdog.await.is_err());
    /// # }
    /// ```
    pub fn stop(&self) -> bool {
        match &self.target {
            Target::Watchdog(life) => life.state.stop(),
            // The set's owner finds the key stopped when its deadline comes, and drops it.
            Target::Key(key) => key.word().stop(),
        }
    }

    /// Sets the timeout, measured from the last beat; it may shorten or lengthen the window.
    /// Returns `true` if it applied, `false` (changing nothing) if the watchdog had already
    /// expired, been stopped or been dropped. A shorter timeout wakes the watchdog task; if
    /// last beat + the new timeout has already passed, it expires at that poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let watchdog = Watchdog::new(Duration::from_secs(60));
    /// let heartbeat = watchdog.heartbeat();
    /// tokio::time::advance(Duration::from_secs(1)).await;
    /// assert!(heartbeat.set_timeout(Duration::from_secs(5)));
    /// let expired = watchdog.await.unwrap();
    /// assert_eq!(expired.deadline() - start, Duration::from_secs(5));
    /// # }
    /// ```
    pub fn set_timeout(&self, timeout: Duration) -> bool {
        match &self.target {
            Target::Watchdog(life) => life.state.set_timeout(ticks(timeout)),
            Target::Key(_) => false,
        }
    }

    /// The time left before the watchdog expires if no beat comes (zero once the instant has
    /// passed but the watchdog task has not yet observed it), or `None` once an outcome is in
    /// or the watchdog was dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let watchdog = Watchdog::new(Duration::from_secs(10));
    /// let heartbeat = watchdog.heartbeat();
    /// tokio::time::advance(Duration::from_secs(4)).await;
    /// assert_eq!(heartbeat.remaining(), Some(Duration::from_secs(6)));
    /// drop(watchdog);
    /// assert_eq!(heartbeat.remaining(), None);
    /// # }
    /// ```
    pub fn remaining(&self) -> Option<Duration> {
        Some(self.deadline()?.saturating_duration_since(Instant::now()))
    }

    /// The instant the watchdog (or key) expires at if no beat comes, or `None` once an
    /// outcome is in or it was dropped: what [`remaining`](Self::remaining) counts down to,
    /// and what [`Gates`](crate::Gates) judges.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let deadline = match &self.target {
            Target::Watchdog(life) => life.state.deadline()?,
            Target::Key(key) => key.deadline()?,
        };
        Some(instant_at(self.origin(), deadline))
    }
}

impl fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_state(f, "Heartbeat", self.word(), self.origin())
    }
}

pub(crate) fn debug_state(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    word: &Word,
    origin: Instant,
) -> fmt::Result {
    let (last_beat, phase) = word.snapshot();
    f.debug_struct(name)
        .field("state", &format_args!("{phase}"))
        .field("last_beat", &instant_at(origin, last_beat))
        .finish()
}
