//! [`Gates`]: a named set of health gates, judged as one: is every part of the process that
//! must make progress making it?

use std::fmt;

use tokio::time::Instant;

use crate::heartbeat::Heartbeat;
use crate::watchdog::Watchdog;

/// A named set of health gates: [`Watchdog`]s (held through a [`Heartbeat`] of each), any
/// [`Heartbeat`] (a [`Keepalives`](crate::Keepalives) key's too), and health checks of your
/// own. [`judge`](Self::judge) says whether all of them are healthy, and if so, when the
/// first watchdog gate fails if nothing beats it.
///
/// It is what a pinger of an outside supervisor gates its pings on: `systemd::Pinger` (feature
/// `systemd`) pings systemd's watchdog, and the `deadlines-etcd` crate's lease keeper renews a
/// lease, only while its `Gates` are healthy. Use it for a health endpoint of your own the same
/// way: judge at each request, or sleep until the instant the judge returns and judge again.
///
/// The rules, for every gate in the order they were added:
///
/// 1. A watchdog gate ([`gate`](Self::gate), [`gate_heartbeat`](Self::gate_heartbeat)) is
///    healthy while the instant judged is before its deadline (last beat + timeout). At the
///    deadline itself it has failed, whether or not the watchdog's own task has observed the
///    expiry yet; a watchdog stopped, expired or dropped has failed too. The set holds a
///    heartbeat and never beats it.
/// 2. A check ([`gate_with`](Self::gate_with)) is called at each judge and is healthy while it
///    returns `true`.
/// 3. The judge stops at the first gate that is not healthy and returns its name: later gates
///    are not judged, and their checks not called.
///
/// A gate belongs to one life of its watchdog (see [`Watchdog::rearm`]): a watchdog rearmed
/// after an outcome is not the one gated, and a failed gate stays failed. That is the point: a
/// process that gave up on its work is restarted, or declared dead, from outside.
///
/// `Send` (a check needs only be `Send`), not `Sync`: one task judges. Building one needs no
/// runtime.
///
/// ```text
/// gate "worker": a 300 ms Watchdog, beaten every 100 ms until 1000 ms
///
/// time (ms)   0          500         1000       1200      1300
/// worker      beats every 100 ms ..... last beat
/// judge       Ok(Some(deadline)): the last beat + 300 ms   Err("worker") from 1300 on
/// ```
///
/// ```
/// use std::time::Duration;
/// use deadlines::{Gates, Watchdog};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let worker = Watchdog::new(Duration::from_millis(300));
/// let heartbeat = worker.heartbeat();
/// let mut gates = Gates::new().gate("worker", &worker).gate_with("disk", || true);
/// for _ in 0..10 {
///     heartbeat.beat(); // one beat per unit of work
///     tokio::time::sleep(Duration::from_millis(100)).await;
/// }
/// // The last beat at 900 ms: healthy until 1200 ms, unless beaten again.
/// let now = tokio::time::Instant::now();
/// assert_eq!(gates.judge(now), Ok(Some(start + Duration::from_millis(1200))));
/// tokio::time::sleep_until(start + Duration::from_millis(1200)).await;
/// assert_eq!(gates.judge(tokio::time::Instant::now()), Err("worker"));
/// # drop(worker);
/// # }
/// ```
///
/// # Panics
///
/// A [`gate_with`](Self::gate_with) check that panics panics the judge. No input panics: a
/// watchdog with a timeout past 30 years has its deadline 30 years ahead (effectively never).
///
/// # Precision
///
/// The judge compares the instant it is given with each deadline, to the nanosecond; a caller that sleeps until the instant it returned wakes at the first poll at or after it,
/// on Tokio's millisecond timer, and sees the gate failed then (unless it was beaten).
#[derive(Default)]
pub struct Gates {
    gates: Vec<Gate>,
}

struct Gate {
    name: String,
    check: Check,
}

enum Check {
    Heartbeat(Heartbeat),
    Health(Box<dyn FnMut() -> bool + Send>),
}

impl Gates {
    /// A set with no gate: always healthy, with no deadline.
    ///
    /// ```
    /// use deadlines::Gates;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut gates = Gates::new();
    /// assert_eq!(gates.judge(tokio::time::Instant::now()), Ok(None));
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a gate on `watchdog`: it fails when its deadline is reached, or when it is stopped
    /// or dropped. The set holds a [`Heartbeat`] of it and never beats it; the watchdog may be
    /// awaited by its owner as usual (or not at all).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Gates, Watchdog};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let worker = Watchdog::new(Duration::from_secs(5));
    /// let mut gates = Gates::new().gate("worker", &worker);
    /// assert_eq!(gates.judge(start), Ok(Some(start + Duration::from_secs(5))));
    /// drop(worker);
    /// assert_eq!(gates.judge(start), Err("worker"), "a dropped watchdog has failed");
    /// # }
    /// ```
    pub fn gate(self, name: impl Into<String>, watchdog: &Watchdog) -> Self {
        self.gate_heartbeat(name, watchdog.heartbeat())
    }

    /// Adds a gate on the watchdog (or [`Keepalives`](crate::Keepalives) key) that
    /// `heartbeat` belongs to, as [`gate`](Self::gate) does: healthy while its deadline lies
    /// ahead ([`Heartbeat::remaining`] is more than zero).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Gates, Keepalives};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut links = Keepalives::new(Duration::from_secs(5));
    /// let upstream = links.insert("upstream");
    /// let mut gates = Gates::new().gate_heartbeat("upstream link", upstream);
    /// tokio::time::sleep(Duration::from_secs(5)).await;
    /// assert_eq!(gates.judge(start + Duration::from_secs(5)), Err("upstream link"));
    /// # }
    /// ```
    pub fn gate_heartbeat(mut self, name: impl Into<String>, heartbeat: Heartbeat) -> Self {
        self.gates.push(Gate {
            name: name.into(),
            check: Check::Heartbeat(heartbeat),
        });
        self
    }

    /// Adds a health check: `healthy` is called at each [`judge`](Self::judge) that reaches
    /// it, and the gate fails the first time it returns `false`. Keep it quick and
    /// non-blocking (an atomic load, a `try_lock`): it runs in the judging task.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use deadlines::Gates;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let pool_ok = Arc::new(AtomicBool::new(true));
    /// let check = pool_ok.clone();
    /// let mut gates = Gates::new().gate_with("db pool", move || check.load(Ordering::Relaxed));
    /// let now = tokio::time::Instant::now();
    /// assert_eq!(gates.judge(now), Ok(None), "healthy; no deadline to wake at");
    /// pool_ok.store(false, Ordering::Relaxed);
    /// assert_eq!(gates.judge(now), Err("db pool"));
    /// # }
    /// ```
    pub fn gate_with<F>(mut self, name: impl Into<String>, healthy: F) -> Self
    where
        F: FnMut() -> bool + Send + 'static,
    {
        self.gates.push(Gate {
            name: name.into(),
            check: Check::Health(Box::new(healthy)),
        });
        self
    }

    /// Judges every gate at `now`, in the order they were added: `Err(name)` of the first that
    /// is not healthy, or `Ok` with the earliest deadline of the watchdog gates (`None` if
    /// there is none), the instant to judge again at if nothing beats them. A beat since moves
    /// that instant later; judging then finds the gate healthy and returns the new deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::{Gates, Watchdog};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let (fast, slow) = (Watchdog::new(Duration::from_secs(1)), Watchdog::new(Duration::from_secs(9)));
    /// let mut gates = Gates::new().gate("slow", &slow).gate("fast", &fast);
    /// assert_eq!(gates.judge(start), Ok(Some(start + Duration::from_secs(1))), "the earliest");
    /// let at_one = start + Duration::from_secs(1);
    /// assert_eq!(gates.judge(at_one - Duration::from_nanos(1)), Ok(Some(at_one)));
    /// assert_eq!(gates.judge(at_one), Err("fast"), "failed at its deadline itself");
    /// # drop((fast, slow));
    /// # }
    /// ```
    pub fn judge(&mut self, now: Instant) -> Result<Option<Instant>, &str> {
        let mut earliest: Option<Instant> = None;
        for gate in &mut self.gates {
            let healthy = match &mut gate.check {
                // `None`: expired, stopped or dropped.
                Check::Heartbeat(heartbeat) => match heartbeat.deadline() {
                    Some(deadline) if deadline > now => {
                        earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
                        true
                    }
                    _ => false,
                },
                Check::Health(healthy) => healthy(),
            };
            if !healthy {
                return Err(&gate.name);
            }
        }
        Ok(earliest)
    }

    /// The gates' names, in the order they were added.
    ///
    /// ```
    /// use deadlines::Gates;
    ///
    /// let gates = Gates::new().gate_with("disk", || true).gate_with("db pool", || true);
    /// assert_eq!(gates.names().collect::<Vec<_>>(), ["disk", "db pool"]);
    /// ```
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.gates.iter().map(|gate| gate.name.as_str())
    }
}

impl fmt::Debug for Gates {
    /// The gates' names.
    ///
    /// ```
    /// use deadlines::Gates;
    ///
    /// let gates = Gates::new().gate_with("disk", || true);
    /// assert_eq!(format!("{gates:?}"), r#"Gates(["disk"])"#);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.names().collect();
        f.debug_tuple("Gates").field(&names).finish()
    }
}
