//! The keeper's gates: what must be healthy for a renewal to go out.

use std::fmt;

use deadlines::Heartbeat;
use tokio::time::Instant;

pub(crate) struct Gate {
    pub(crate) name: String,
    pub(crate) check: Check,
}

pub(crate) enum Check {
    Heartbeat(Heartbeat),
    Health(Box<dyn FnMut() -> bool + Send>),
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The first gate that is not healthy at `now` (its name), or the earliest instant a watchdog
/// gate fails at if nothing beats it (`None` if no gate has one), as `systemd::Pinger` judges.
pub(crate) fn judge(gates: &mut [Gate], now: Instant) -> Result<Option<Instant>, String> {
    let mut earliest: Option<Instant> = None;
    for gate in gates {
        match &mut gate.check {
            Check::Heartbeat(heartbeat) => match heartbeat.remaining() {
                Some(left) if !left.is_zero() => {
                    let deadline = crate::schedule::after(now, left);
                    earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
                }
                // Zero: the deadline is reached; `None`: expired, stopped or dropped.
                _ => return Err(gate.name.clone()),
            },
            Check::Health(healthy) => {
                if !healthy() {
                    return Err(gate.name.clone());
                }
            }
        }
    }
    Ok(earliest)
}
