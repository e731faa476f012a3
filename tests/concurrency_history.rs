//! Beyond loom's small models (issue 12): std threads beat, stop, clone and drop heartbeats
//! while an owner thread re-inserts, removes, re-arms and polls, on a real (not paused) Tokio
//! clock. Every call is recorded, and each object's history (one key of a `Keepalives`, one
//! `Watchdog`) is checked against a sequential model of the contract (DESIGN.md, "Watchdog and
//! Heartbeat" rules 1 to 9, and "Keepalives") by a brute-force linearizability search.
//!
//! # The runs
//!
//! A, `Keepalives<u64>` (2 ms timeout): an owner thread holds the set, inside a current-thread
//! runtime with the time driver, and three heartbeat threads get heartbeats through channels.
//! Each round has a fresh key, so each key's history stays small. In the round's race the
//! owner re-inserts the key 32 times in a tight loop, putting each heartbeat it gets in a
//! mailbox, while a stopper thread takes the newest, stops it, and beats it when the stop
//! returned `true` (up to 8 times a round). That is the race this run is after: a re-insert
//! that finds the key live, then re-arms its word with a compare-exchange loop that clears the
//! terminal bits, erases a stop landing in between; the stopped heartbeat's beat then returns
//! `true`. Around the races the owner re-inserts, inserts and removes recent keys, hands
//! heartbeats out, and drains `poll_expired` until `Pending`; the threads beat, stop, clone
//! and drop what they hold, for as long as they like. At the end every key must expire.
//!
//! B, `Watchdog` (1 ms timeout): a fresh pinned watchdog each round. The owner hands out
//! heartbeats, polls, rearms (often right after an outcome), waits for an expiry by polling
//! while nobody beats, and races: rearm and `heartbeat()` in a tight loop while a stopper
//! stops the newest heartbeat. The threads beat, stop, clone and drop what they hold.
//!
//! Each run takes a few seconds of rounds (4 s and 3 s), then the check (a few seconds in a
//! debug build). A thread that sees `true` after its own `true` stop of the same heartbeat
//! ends the run early; the checker then decides.
//!
//! # How a history is recorded
//!
//! Each call is bracketed by two stamps of one `AtomicU64` (`fetch_add`, `SeqCst`), taken just
//! before it is invoked and just after it returns, and by two reads of Tokio's clock, just
//! before the first stamp and just after the second. Call A must be ordered before call B when
//! A's return stamp is below B's invocation stamp: the stamps' `SeqCst` read-modify-writes make
//! A's call happen-before B's. Each thread records into its own `Vec`; the owner polls with a
//! no-op waker in loops, outside any task, so Tokio's coop budget never interferes.
//!
//! # The sequential model
//!
//! An object has *lives*. A heartbeat belongs to the life in which `insert` or `heartbeat()`
//! handed it out (a clone to its original's). `beat` and `stop` return `true` exactly while
//! their life is open; a `stop` that returns `true` ends the life. `insert` of a key whose life
//! is open, and `rearm` of a watchdog whose life is open, keep that life and restart its
//! window; otherwise they start a new life, and every earlier heartbeat returns `false` from
//! then on (rule 8). `remove` and the yield of a key end its life; `Ok(Expired)` and `Err
//! (Stopped)` are delivered at most once a life, `Err(Stopped)` only after a `stop` of the
//! current life returned `true` (so a stop not yet observed when `rearm` runs is discarded),
//! `Ok(Expired)` only while the life is open. An expiry's deadline lies between the latest
//! clock read before any call that restarted the window (a `true` beat, the insert or rearm)
//! plus the timeout, and the latest clock read after one plus the timeout, and not after the
//! poll returned; a `Pending` poll is wrong when the open life's deadline had certainly
//! passed before the poll began. The search tries every order the stamps allow, so whether
//! an insert racing a stop kept the life or started a new one is left to the search.
//!
//! Before the search, one rule is checked directly, so that its failure is named plainly: a
//! `stop` that returned `true` is never undone (rule 9), so no later call on the same
//! heartbeat returns `true`.
//!
//! # What it cannot check
//!
//! - Real-time order from stamps is an approximation: a call's stamped interval is a little
//!   wider than the call, so the search forbids only the orders the stamps contradict, and may
//!   accept a history that a perfect clock would reject. Likewise the instants around a call
//!   bound, but do not give, the tick the library read inside it.
//! - A key stopped through a heartbeat stays in the set until its deadline, when a poll drops
//!   it without telling: so after a stop, `remove`'s result is not checked (either is allowed).
//! - `Pending` polls are thinned, as they are recorded and before the search (the last one
//!   between two other calls of the object is kept, and any that overlaps one): dropping a
//!   call that changes nothing keeps a history linearizable, so this weakens the check, never
//!   makes it wrong.
//! - Each key is checked on its own (linearizability is local: keys share no state in the
//!   model). A poll that yields another key says nothing about this one, so it is left out.
//! - Wakeups are not checked (the owner polls with a no-op waker), nor the timer wheel (never
//!   driven: the primitives read the clock at each poll), nor `set_timeout` and per-key
//!   timeouts. Those are pinned by the paused-clock tests and the loom models.
//! - It sees only the interleavings this machine happens to produce: a pass is evidence, not
//!   proof. The seed (`DEADLINES_SEED` to replay the choices, not the scheduling) is printed.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use deadlines::{Heartbeat, Keepalives, Watchdog};
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------------
// The checker.
// ---------------------------------------------------------------------------------------------

/// One completed call.
#[derive(Debug, Clone)]
struct Call<O> {
    /// 0 is the owner.
    thread: usize,
    /// The stamp taken just before the call.
    invoked: u64,
    /// The stamp taken just after it returned.
    returned: u64,
    /// Tokio's clock just before the call.
    at: Instant,
    /// Tokio's clock just after it returned.
    after: Instant,
    op: O,
}

/// A sequential specification: a state, and what each call does to it.
trait Spec: Clone + Eq + Hash {
    type Op;
    /// The state after `call`, or why its result is impossible in this state (naming the rule).
    fn apply(&self, call: &Call<Self::Op>) -> Result<Self, String>;
    /// The call, for a report, with instants in microseconds since the run began.
    fn describe(&self, op: &Self::Op) -> String;
    /// When the run began.
    fn origin(&self) -> Instant;
    /// `(heartbeat, is_stop, result)` when the call is a heartbeat's `beat` or `stop`.
    fn heartbeat_call(op: &Self::Op) -> Option<(u16, bool, bool)>;
}

/// A history no sequential order explains.
#[derive(Debug)]
struct Violation {
    /// The rule, as the first rejection found says it.
    reason: String,
    /// The whole history, marked with the deepest order the search could build.
    report: String,
}

/// The most (position, state) pairs one search visits before it gives up (and fails).
const SEARCH_BUDGET: usize = 1 << 20;

/// Checks `calls` against `initial`. Returns the number of states searched, or the violation.
fn check<S: Spec>(initial: &S, mut calls: Vec<Call<S::Op>>) -> Result<usize, Violation> {
    calls.sort_by_key(|call| call.invoked);
    if let Some(violation) = undone_stop(initial, &calls) {
        return Err(violation);
    }
    let threads = calls
        .iter()
        .map(|call| call.thread)
        .max()
        .map_or(0, |t| t + 1);
    let mut by_thread = vec![Vec::new(); threads];
    for (index, call) in calls.iter().enumerate() {
        by_thread[call.thread].push(index);
    }
    for chain in &by_thread {
        for pair in chain.windows(2) {
            assert!(
                calls[pair[0]].returned < calls[pair[1]].invoked,
                "one thread's calls overlap: a recording bug"
            );
        }
    }
    // First a depth-first search without memory, which finds most orders at once; if it
    // runs long, again with memory of the nodes that failed.
    let mut search = Search {
        calls: &calls,
        by_thread,
        seen: HashSet::default(),
        memo: false,
        visits: 0,
        budget: 4 * calls.len() + 64,
        order: Vec::new(),
        deepest: None,
    };
    let mut positions = vec![0u32; threads];
    let mut found = search.explore(&mut positions, initial);
    if found.is_none() {
        search.memo = true;
        search.visits = 0;
        search.budget = SEARCH_BUDGET;
        search.deepest = None;
        found = search.explore(&mut positions, initial);
    }
    match found {
        Some(true) => Ok(search.visits),
        Some(false) => {
            let deepest = search
                .deepest
                .take()
                .expect("a failed search rejected some call");
            let mut report = render(initial, &calls, &deepest.order);
            let _ = writeln!(
                report,
                "  after the {} calls marked [n] (in that order), every call that may come next is rejected:",
                deepest.order.len()
            );
            for (index, reason) in &deepest.rejected {
                let _ = writeln!(
                    report,
                    "    #{index} {}: {reason}",
                    initial.describe(&calls[*index].op)
                );
            }
            Err(Violation {
                reason: deepest.rejected[0].1.clone(),
                report,
            })
        }
        None => Err(Violation {
            reason: format!("the search gave up after {SEARCH_BUDGET} states"),
            report: render(initial, &calls, &[]),
        }),
    }
}

/// Rule 9, checked directly: once a heartbeat's `stop` returned `true`, no call on that
/// heartbeat (or a clone) that begins after it returns `true`, in any order.
fn undone_stop<S: Spec>(spec: &S, calls: &[Call<S::Op>]) -> Option<Violation> {
    for (s, stop) in calls.iter().enumerate() {
        let Some((token, true, true)) = S::heartbeat_call(&stop.op) else {
            continue;
        };
        for (later, call) in calls.iter().enumerate() {
            if call.invoked > stop.returned
                && S::heartbeat_call(&call.op).is_some_and(|(t, _, result)| t == token && result)
            {
                let reason = format!(
                    "rule 9 (a stop that returned true is never undone, not even by a later rearm \
                     or re-insert: rule 8): #{s} {} returned true, and strictly later #{later} \
                     {} on the same heartbeat returned true",
                    spec.describe(&stop.op),
                    spec.describe(&call.op)
                );
                let report = render(spec, calls, &[]);
                return Some(Violation { reason, report });
            }
        }
    }
    None
}

struct Search<'a, S: Spec> {
    calls: &'a [Call<S::Op>],
    /// Each thread's calls, in its program order.
    by_thread: Vec<Vec<usize>>,
    /// (how many calls of each thread are ordered, state): already explored, and failed.
    seen: HashSet<(Vec<u32>, S), BuildHasherDefault<Fx>>,
    /// Whether to remember failed nodes in `seen`.
    memo: bool,
    /// Nodes visited so far, and how many may be.
    visits: usize,
    budget: usize,
    /// The calls ordered so far.
    order: Vec<usize>,
    deepest: Option<Deepest>,
}

/// A fast hasher for the search's memo (the states are small; `SipHash` dominates the search
/// in a debug build otherwise). Quality only affects speed: the set compares keys.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

struct Deepest {
    order: Vec<usize>,
    rejected: Vec<(usize, String)>,
}

impl<S: Spec> Search<'_, S> {
    /// Whether the calls not yet ordered can follow in some order; `None` past the budget.
    /// (`seen` holds only failed nodes: a node that succeeds ends the search.)
    ///
    /// The ordered calls are always a prefix of each thread's calls (a thread's calls are
    /// ordered by the stamps), so the prefix lengths and the state name a search node.
    fn explore(&mut self, positions: &mut [u32], state: &S) -> Option<bool> {
        if self.order.len() == self.calls.len() {
            return Some(true);
        }
        if self.memo && !self.seen.insert((positions.to_vec(), state.clone())) {
            return Some(false);
        }
        self.visits += 1;
        if self.visits > self.budget {
            return None;
        }
        let candidates: Vec<(usize, usize)> = (0..positions.len())
            .filter_map(|t| {
                let index = self.by_thread[t].get(positions[t] as usize)?;
                Some((t, *index))
            })
            .collect();
        let first_return = candidates
            .iter()
            .map(|&(_, index)| self.calls[index].returned)
            .min()
            .expect("some call is not yet ordered");
        let mut rejected = Vec::new();
        for (t, index) in candidates {
            // A call may come next unless another call not yet ordered returned before it
            // was invoked.
            if self.calls[index].invoked > first_return {
                continue;
            }
            match state.apply(&self.calls[index]) {
                Ok(after) => {
                    positions[t] += 1;
                    self.order.push(index);
                    let found = self.explore(positions, &after);
                    self.order.pop();
                    positions[t] -= 1;
                    if found != Some(false) {
                        return found;
                    }
                }
                Err(reason) => rejected.push((index, reason)),
            }
        }
        if !rejected.is_empty()
            && self
                .deepest
                .as_ref()
                .is_none_or(|deepest| self.order.len() > deepest.order.len())
        {
            self.deepest = Some(Deepest {
                order: self.order.clone(),
                rejected,
            });
        }
        Some(false)
    }
}

/// The history, one call a line in invocation order; `[n]` marks the n-th call of `order`.
fn render<S: Spec>(spec: &S, calls: &[Call<S::Op>], order: &[usize]) -> String {
    let place: HashMap<usize, usize> = order.iter().enumerate().map(|(n, &i)| (i, n)).collect();
    let mut out = String::from(
        "  history (t0 is the owner; [invoked, returned] stamps; clock in us since the run began):\n",
    );
    for (index, call) in calls.iter().enumerate() {
        let mark = place
            .get(&index)
            .map_or(String::new(), |n| format!("[{n}]"));
        let _ = writeln!(
            out,
            "  {mark:>5} #{index:<3} t{} [{:>9}, {:>9}] {:>10} .. {:>10}  {}",
            call.thread,
            call.invoked,
            call.returned,
            micros(spec.origin(), call.at),
            micros(spec.origin(), call.after),
            spec.describe(&call.op)
        );
    }
    out
}

fn micros(origin: Instant, at: Instant) -> String {
    format!(
        "{:.1}",
        at.saturating_duration_since(origin).as_secs_f64() * 1e6
    )
}

/// The `Pending` polls worth checking against an object whose other calls have the stamps
/// `events` (sorted): the last poll in each gap between two stamps (or after the last), and
/// every poll that spans a stamp. `polls` are the owner's, so sorted both ways. A `Pending`
/// poll changes nothing, and dropping such a call keeps a linearizable history linearizable.
fn polls_to_keep(events: &[u64], polls: &[(u64, u64)]) -> Vec<usize> {
    let mut keep = Vec::new();
    let (Some(&first), Some(&last)) = (events.first(), events.last()) else {
        return keep;
    };
    // Polls over before the first event cannot see the object: skip them.
    let mut next = 0; // the first event not yet passed
    let mut in_gap = None; // the last poll wholly inside the current gap
    for (i, &(invoked, returned)) in polls
        .iter()
        .enumerate()
        .skip(polls.partition_point(|&(_, returned)| returned < first))
    {
        if invoked > last {
            // After every event: only the last poll of all is worth keeping.
            keep.extend(in_gap.take());
            keep.push(polls.len() - 1);
            return keep;
        }
        while next < events.len() && events[next] < invoked {
            keep.extend(in_gap.take());
            next += 1;
        }
        if next < events.len() && events[next] < returned {
            keep.extend(in_gap.take());
            keep.push(i);
            while next < events.len() && events[next] < returned {
                next += 1;
            }
        } else {
            in_gap = Some(i);
        }
    }
    keep.extend(in_gap);
    keep
}

// ---------------------------------------------------------------------------------------------
// The models.
// ---------------------------------------------------------------------------------------------

/// How a life ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum End {
    /// A `stop` returned `true`.
    Stopped,
    /// The expiry was decided: the key was yielded, the watchdog resolved `Ok(Expired)`.
    Expired,
    /// `remove` took the key out.
    Removed,
}

/// The lives of one object, and the life of each heartbeat handed out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Lives {
    origin: Instant,
    timeout: Duration,
    /// The current life; 0 before the first.
    life: u16,
    open: bool,
    /// How the current life ended, once it has.
    ended: Option<End>,
    /// The latest clock read just before a call that restarted the current life's window.
    earliest: Instant,
    /// The latest clock read just after one.
    latest: Instant,
    /// The life of each heartbeat, by number, run-length encoded: `(life, how many)`.
    /// Heartbeats are numbered in the order they are handed out, and lives only grow, so a
    /// handful of runs describe them all (and the search's states hash fast).
    heartbeats: Vec<(u16, u16)>,
}

impl Lives {
    fn new(origin: Instant, timeout: Duration) -> Self {
        Self {
            origin,
            timeout,
            life: 0,
            open: false,
            ended: None,
            earliest: origin,
            latest: origin,
            heartbeats: Vec::new(),
        }
    }

    fn us(&self, at: Instant) -> String {
        micros(self.origin, at)
    }

    /// A new life, whose window starts with `call`.
    fn begin<O>(&mut self, call: &Call<O>) {
        self.life += 1;
        self.open = true;
        self.ended = None;
        self.earliest = call.at;
        self.latest = call.after;
    }

    /// `call` restarted the open life's window.
    fn restart<O>(&mut self, call: &Call<O>) {
        self.earliest = self.earliest.max(call.at);
        self.latest = self.latest.max(call.after);
    }

    fn end(&mut self, how: End) {
        self.open = false;
        self.ended = Some(how);
    }

    /// Heartbeat `token` is handed out, in the current life.
    fn hand_out(&mut self, token: u16) -> Result<(), String> {
        let handed_out: u16 = self.heartbeats.iter().map(|&(_, n)| n).sum();
        if token != handed_out {
            return Err(format!(
                "heartbeat h{token} numbered out of order: a test bug"
            ));
        }
        match self.heartbeats.last_mut() {
            Some((life, n)) if *life == self.life => *n += 1,
            _ => self.heartbeats.push((self.life, 1)),
        }
        Ok(())
    }

    /// Checks a heartbeat's `beat` or `stop` result; returns whether it counted.
    fn heartbeat(&self, what: &str, token: u16, result: bool) -> Result<bool, String> {
        let mut before = token;
        let found = self.heartbeats.iter().find_map(|&(life, n)| {
            if before < n {
                return Some(life);
            }
            before -= n;
            None
        });
        let Some(life) = found else {
            return Err(format!(
                "{what} on h{token} before it was handed out: a test bug"
            ));
        };
        let open = life == self.life && self.open;
        if result == open {
            return Ok(result);
        }
        Err(if !result {
            format!(
                "{what} on h{token} returned false while its life {life} was open \
                 (rule 2: it counts; rule 3: a stop before the decision prevents the expiry)"
            )
        } else if life < self.life {
            format!(
                "{what} on h{token} of life {life} returned true after life {} began \
                 (rule 8: heartbeats of an earlier life return false forever)",
                self.life
            )
        } else {
            match self.ended {
                Some(End::Stopped) if what == "stop()" => format!(
                    "a second stop() returned true in life {life} \
                     (rule 3: one outcome per life; rule 9: a stop is never undone)"
                ),
                Some(End::Stopped) => format!(
                    "{what} on h{token} returned true after a stop() of its life {life} \
                     returned true (rule 9: a stop that returned true is never undone)"
                ),
                Some(End::Expired) => format!(
                    "{what} on h{token} returned true after the expiry of its life {life} \
                     was decided (rule 3: a beat or stop after the decision returns false)"
                ),
                Some(End::Removed) | None => {
                    format!("{what} on h{token} returned true after remove() ended its life {life}")
                }
            }
        })
    }

    /// Checks the deadline of an expiry delivered by a poll that is `call`.
    fn expiry<O>(&self, deadline: Instant, call: &Call<O>) -> Result<(), String> {
        let (low, high) = (self.earliest + self.timeout, self.latest + self.timeout);
        if deadline < low {
            return Err(format!(
                "the expiry's deadline {} is earlier than a counted beat, insert or rearm \
                 (begun at {}) plus the timeout (rule 3: a beat that returned true is seen by \
                 the expiry decision)",
                self.us(deadline),
                self.us(self.earliest)
            ));
        }
        if deadline > high {
            return Err(format!(
                "the expiry's deadline {} is later than every counted beat, insert or rearm \
                 (the last returned by {}) plus the timeout (rule 1)",
                self.us(deadline),
                self.us(self.latest)
            ));
        }
        if deadline > call.after {
            return Err(format!(
                "the expiry's deadline {} is later than the poll that delivered it (returned \
                 by {}): rule 1, never before the deadline",
                self.us(deadline),
                self.us(call.after)
            ));
        }
        Ok(())
    }

    /// Checks a `Pending` poll that is `call`: the open life cannot be certainly due.
    fn pending<O>(&self, call: &Call<O>) -> Result<(), String> {
        if self.open && self.latest + self.timeout <= call.at {
            return Err(format!(
                "a poll begun at {} returned Pending, though the open life's deadline (at most \
                 {} + the timeout) had passed (rule 1: it expires at the first poll at or after \
                 its deadline)",
                self.us(call.at),
                self.us(self.latest)
            ));
        }
        Ok(())
    }
}

/// One key's calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyOp {
    /// `insert(key)`, which handed out heartbeat `token`.
    Insert {
        token: u16,
    },
    Remove {
        result: bool,
    },
    Beat {
        token: u16,
        result: bool,
    },
    Stop {
        token: u16,
        result: bool,
    },
    /// `poll_expired` yielded this key.
    Yield {
        deadline: Instant,
    },
    /// `poll_expired` returned `Pending`.
    Pending,
}

/// Whether the key is in the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum InSet {
    No,
    Yes,
    /// Stopped: in the set until a poll drops it, unseen.
    Maybe,
}

/// The sequential model of one key of a `Keepalives`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct KeySpec {
    lives: Lives,
    in_set: InSet,
}

impl KeySpec {
    fn new(origin: Instant, timeout: Duration) -> Self {
        Self {
            lives: Lives::new(origin, timeout),
            in_set: InSet::No,
        }
    }
}

impl Spec for KeySpec {
    type Op = KeyOp;

    fn apply(&self, call: &Call<KeyOp>) -> Result<Self, String> {
        let mut next = self.clone();
        let lives = &mut next.lives;
        match call.op {
            KeyOp::Insert { token } => {
                // An open life is kept (its heartbeats go on working); otherwise a new one.
                if lives.open {
                    lives.restart(call);
                } else {
                    lives.begin(call);
                }
                lives.hand_out(token)?;
                next.in_set = InSet::Yes;
            }
            KeyOp::Beat { token, result } => {
                if lives.heartbeat("beat()", token, result)? {
                    lives.restart(call);
                }
            }
            KeyOp::Stop { token, result } => {
                if lives.heartbeat("stop()", token, result)? {
                    lives.end(End::Stopped);
                    next.in_set = InSet::Maybe;
                }
            }
            KeyOp::Remove { result } => {
                match (self.in_set, result) {
                    (InSet::Yes, false) => {
                        return Err("remove() returned false for a key in the set".into());
                    }
                    (InSet::No, true) => {
                        return Err("remove() returned true for a key not in the set".into());
                    }
                    _ => {}
                }
                if lives.open {
                    lives.end(End::Removed);
                }
                next.in_set = InSet::No;
            }
            KeyOp::Yield { deadline } => {
                if !lives.open {
                    return Err(match lives.ended {
                        None => "yielded a key that was never inserted".into(),
                        Some(End::Stopped) => "yielded a key whose life was ended by a stop() \
                            that returned true (rule 3: never both a yield and a stop)"
                            .into(),
                        Some(End::Expired) => "yielded twice in one life (rule 1)".into(),
                        Some(End::Removed) => {
                            "yielded after remove() returned (it never is)".into()
                        }
                    });
                }
                lives.expiry(deadline, call)?;
                lives.end(End::Expired);
                next.in_set = InSet::No;
            }
            KeyOp::Pending => lives.pending(call)?,
        }
        Ok(next)
    }

    fn describe(&self, op: &KeyOp) -> String {
        match *op {
            KeyOp::Insert { token } => format!("insert -> h{token}"),
            KeyOp::Remove { result } => format!("remove -> {result}"),
            KeyOp::Beat { token, result } => format!("h{token}.beat() -> {result}"),
            KeyOp::Stop { token, result } => format!("h{token}.stop() -> {result}"),
            KeyOp::Yield { deadline } => {
                format!(
                    "poll_expired -> yielded, deadline {}",
                    self.lives.us(deadline)
                )
            }
            KeyOp::Pending => "poll_expired -> Pending".into(),
        }
    }

    fn origin(&self) -> Instant {
        self.lives.origin
    }

    fn heartbeat_call(op: &KeyOp) -> Option<(u16, bool, bool)> {
        match *op {
            KeyOp::Beat { token, result } => Some((token, false, result)),
            KeyOp::Stop { token, result } => Some((token, true, result)),
            _ => None,
        }
    }
}

/// What one poll of a watchdog gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DogPoll {
    Pending,
    Expired(Instant),
    Stopped,
}

/// One watchdog's calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DogOp {
    New,
    /// `heartbeat()`, which handed out heartbeat `token`.
    HandOut {
        token: u16,
    },
    Rearm,
    Beat {
        token: u16,
        result: bool,
    },
    Stop {
        token: u16,
        result: bool,
    },
    Poll(DogPoll),
}

/// The sequential model of a `Watchdog`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DogSpec {
    lives: Lives,
    /// The current life's outcome was delivered by a poll.
    delivered: bool,
}

impl DogSpec {
    fn new(origin: Instant, timeout: Duration) -> Self {
        Self {
            lives: Lives::new(origin, timeout),
            delivered: false,
        }
    }
}

impl Spec for DogSpec {
    type Op = DogOp;

    fn apply(&self, call: &Call<DogOp>) -> Result<Self, String> {
        let mut next = self.clone();
        let lives = &mut next.lives;
        match call.op {
            DogOp::New => lives.begin(call),
            DogOp::HandOut { token } => lives.hand_out(token)?,
            DogOp::Rearm => {
                // Rule 8: during a life, a restart; after its outcome, a new life.
                if lives.open {
                    lives.restart(call);
                } else {
                    lives.begin(call);
                }
                next.delivered = false;
            }
            DogOp::Beat { token, result } => {
                if lives.heartbeat("beat()", token, result)? {
                    lives.restart(call);
                }
            }
            DogOp::Stop { token, result } => {
                if lives.heartbeat("stop()", token, result)? {
                    lives.end(End::Stopped);
                }
            }
            DogOp::Poll(DogPoll::Pending) => {
                if lives.ended == Some(End::Stopped) && !self.delivered {
                    return Err(
                        "a poll returned Pending though a stop() of the current life \
                                returned true and Err(Stopped) was not yet delivered (rule 1)"
                            .into(),
                    );
                }
                lives.pending(call)?;
            }
            DogOp::Poll(DogPoll::Expired(deadline)) => {
                if !lives.open {
                    return Err(match lives.ended {
                        Some(End::Stopped) => "Ok(Expired) in a life whose stop() returned \
                            true (rule 3: exactly one outcome per life)"
                            .into(),
                        _ => "Ok(Expired) twice in one life (rule 1: once per arming)".into(),
                    });
                }
                lives.expiry(deadline, call)?;
                lives.end(End::Expired);
                next.delivered = true;
            }
            DogOp::Poll(DogPoll::Stopped) => {
                if lives.ended != Some(End::Stopped) {
                    return Err(
                        "Err(Stopped) though no stop() of the current life returned \
                                true (rule 8: a stop not yet observed when rearm runs is \
                                discarded; rule 3: one outcome per life)"
                            .into(),
                    );
                }
                if self.delivered {
                    return Err("Err(Stopped) twice in one life (rule 1: once per arming)".into());
                }
                next.delivered = true;
            }
        }
        Ok(next)
    }

    fn describe(&self, op: &DogOp) -> String {
        match *op {
            DogOp::New => "Watchdog::new".into(),
            DogOp::HandOut { token } => format!("heartbeat() -> h{token}"),
            DogOp::Rearm => "rearm".into(),
            DogOp::Beat { token, result } => format!("h{token}.beat() -> {result}"),
            DogOp::Stop { token, result } => format!("h{token}.stop() -> {result}"),
            DogOp::Poll(DogPoll::Pending) => "poll -> Pending".into(),
            DogOp::Poll(DogPoll::Expired(deadline)) => {
                format!("poll -> Ok(Expired), deadline {}", self.lives.us(deadline))
            }
            DogOp::Poll(DogPoll::Stopped) => "poll -> Err(Stopped)".into(),
        }
    }

    fn origin(&self) -> Instant {
        self.lives.origin
    }

    fn heartbeat_call(op: &DogOp) -> Option<(u16, bool, bool)> {
        match *op {
            DogOp::Beat { token, result } => Some((token, false, result)),
            DogOp::Stop { token, result } => Some((token, true, result)),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Recording and running.
// ---------------------------------------------------------------------------------------------

/// A recorded call on `object` (a key, or a watchdog's round).
struct Rec<O> {
    object: u64,
    call: Call<O>,
}

/// One thread's record.
struct Recorder<O> {
    thread: usize,
    stamp: Arc<AtomicU64>,
    calls: Vec<Rec<O>>,
    /// Which calls are `Pending` polls.
    pending: fn(&O) -> bool,
}

impl<O: PartialEq> Recorder<O> {
    fn new(thread: usize, stamp: Arc<AtomicU64>, pending: fn(&O) -> bool) -> Self {
        Self {
            thread,
            stamp,
            calls: Vec::new(),
            pending,
        }
    }

    /// Runs `f`, recording it as `describe` says from its result.
    fn record<R>(&mut self, f: impl FnOnce() -> R, describe: impl FnOnce(&R) -> (u64, O)) -> R {
        let at = Instant::now();
        let invoked = self.stamp.fetch_add(1, SeqCst);
        let result = f();
        let returned = self.stamp.fetch_add(1, SeqCst);
        let after = Instant::now();
        let (object, op) = describe(&result);
        // A `Pending` poll right after another on the same object, with no stamp taken by
        // anyone in between, replaces it: the thinning before the check would drop it anyway.
        if (self.pending)(&op)
            && let Some(last) = self.calls.last()
            && last.object == object
            && last.call.op == op
            && last.call.returned + 1 == invoked
        {
            self.calls.pop();
        }
        self.calls.push(Rec {
            object,
            call: Call {
                thread: self.thread,
                invoked,
                returned,
                at,
                after,
                op,
            },
        });
        result
    }
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }
}

fn seed() -> u64 {
    std::env::var("DEADLINES_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(1, |now| now.as_nanos() as u64)
        })
}

/// The two runs each want both cores: they take turns.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn spin_until(mut done: impl FnMut() -> bool) {
    let mut spins = 0u32;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) {
            thread::yield_now(); // two cores: let the thread we wait for run
        } else {
            std::hint::spin_loop();
        }
    }
}

/// What a heartbeat thread holds: the heartbeat of `object`, numbered `token`.
struct Held {
    object: u64,
    token: u16,
    heartbeat: Heartbeat,
}

/// A heartbeat thread's record, and what it remembers to spot an undone stop early.
struct Worker<O> {
    rec: Recorder<O>,
    rng: Rng,
    held: Vec<Held>,
    stopped: HashSet<(u64, u16)>,
    alarm: Arc<AtomicBool>,
    make: fn(u16, bool, bool) -> O,
}

impl<O: PartialEq> Worker<O> {
    /// `beat` (`stop` if `stop`) on `held[i]`, recorded. A `true` after a stop of the same
    /// heartbeat returned `true` raises the alarm, which ends the run early (the checker
    /// still decides).
    fn call(&mut self, i: usize, stop: bool) -> bool {
        let Held {
            object,
            token,
            ref heartbeat,
        } = self.held[i];
        let make = self.make;
        let result = self.rec.record(
            || {
                if stop {
                    heartbeat.stop()
                } else {
                    heartbeat.beat()
                }
            },
            |&result| (object, make(token, stop, result)),
        );
        if result && self.stopped.contains(&(object, token)) {
            self.alarm.store(true, SeqCst);
        }
        if result && stop {
            self.stopped.insert((object, token));
        }
        result
    }

    /// The stopper's side of a race: while the owner's loop runs, take the newest heartbeat,
    /// spin a little (up to `spin` times, to vary where in the owner's call the stop lands),
    /// stop it and, if that returned `true`, beat it: a lost race shows as that beat's `true`.
    fn stop_race(&mut self, race: &Race, me: usize, round: u64, spin: u64) {
        spin_until(|| race.go.load(SeqCst) >= round);
        let mut stops = 0;
        while stops < RACE_STOPS && race.over.load(SeqCst) < round {
            let Some(held) = race.take() else {
                std::hint::spin_loop();
                continue;
            };
            for _ in 0..self.rng.below(spin + 1) {
                std::hint::spin_loop();
            }
            self.held.push(held);
            let i = self.held.len() - 1;
            if self.call(i, true) {
                self.call(i, false);
            }
            if self.rng.chance(3, 4) {
                self.held.pop(); // keep a few, for random calls later
            }
            stops += 1;
        }
        race.finished[me].store(round, SeqCst);
    }

    /// `n` random calls, clones and drops on what this thread holds.
    fn act(&mut self, n: u64) {
        for _ in 0..n {
            if self.held.is_empty() {
                return;
            }
            let i = self.rng.index(self.held.len());
            match self.rng.below(20) {
                0..=10 => {
                    self.call(i, false);
                }
                11..=13 => {
                    self.call(i, true);
                }
                14..=16 => {
                    let clone = Held {
                        heartbeat: self.held[i].heartbeat.clone(),
                        ..self.held[i]
                    };
                    self.held.push(clone);
                }
                _ => {
                    self.held.swap_remove(i);
                }
            }
        }
        if self.held.len() > 12 {
            self.held.drain(..self.held.len() - 12);
        }
    }
}

/// The most stops a stopper tries in one race.
const RACE_STOPS: u32 = 8;

/// Owner and heartbeat threads meet here for a round's race: the owner re-inserts a key (or
/// rearms a watchdog) in a tight loop, and a stopper thread stops the newest heartbeat.
struct Race {
    /// The round whose race may begin.
    go: AtomicU64,
    /// The round whose race is over, on the owner's side.
    over: AtomicU64,
    /// The heartbeat the owner's latest insert (or `heartbeat()` after its latest rearm)
    /// handed out: the stopper takes it, so each stop it tries is of the current life.
    latest: Mutex<Option<Held>>,
    /// The last round each heartbeat thread has finished its part of.
    finished: Vec<AtomicU64>,
    alarm: Arc<AtomicBool>,
}

impl Race {
    fn new(threads: usize) -> Self {
        Self {
            go: AtomicU64::new(0),
            over: AtomicU64::new(0),
            latest: Mutex::new(None),
            finished: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            alarm: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The owner's side of a race: `step` (re-insert, or rearm) `n` times, publishing the
    /// heartbeat each returns; then wait for `stopper`.
    fn run(&self, round: u64, stopper: usize, n: u64, mut step: impl FnMut() -> Held) {
        self.publish(Some(step()));
        self.go.store(round, SeqCst);
        for _ in 0..n {
            self.publish(Some(step()));
        }
        self.over.store(round, SeqCst);
        spin_until(|| self.finished[stopper].load(SeqCst) == round);
        self.publish(None);
    }

    fn publish(&self, held: Option<Held>) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = held;
    }

    fn take(&self) -> Option<Held> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// A check, on the owner's thread, of every object's history; panics with the first
/// violation's history. Returns (objects, the most states one search took).
fn check_all<S: Spec>(
    what: &str,
    seed: u64,
    spec: impl Fn() -> S,
    calls: Vec<Rec<S::Op>>,
    is_pending: impl Fn(&S::Op) -> bool,
) -> (usize, usize)
where
    S::Op: Clone,
{
    let mut objects: HashMap<u64, Vec<Call<S::Op>>> = HashMap::new();
    let mut pending: HashMap<u64, Vec<Call<S::Op>>> = HashMap::new();
    for Rec { object, call } in calls {
        let to = if is_pending(&call.op) {
            &mut pending
        } else {
            &mut objects
        };
        to.entry(object).or_default().push(call);
    }
    // Polls of a key's set are `Pending` for every key: `u64::MAX` stands for all.
    let everyone = pending.remove(&u64::MAX).unwrap_or_default();
    let spans = |polls: &[Call<S::Op>]| -> Vec<(u64, u64)> {
        polls
            .iter()
            .map(|call| (call.invoked, call.returned))
            .collect()
    };
    let everyone_spans = spans(&everyone);
    let mut keys: Vec<u64> = objects.keys().copied().collect();
    keys.sort_unstable();
    let mut most = 0;
    let mut violations = Vec::new();
    for key in &keys {
        let mut calls = objects.remove(key).expect("listed");
        let own = pending.remove(key).unwrap_or_default();
        let own_spans;
        let (polls, polls_spans) = if own.is_empty() {
            (&everyone[..], &everyone_spans[..])
        } else {
            own_spans = spans(&own);
            (&own[..], &own_spans[..])
        };
        let mut events: Vec<u64> = calls
            .iter()
            .flat_map(|call| [call.invoked, call.returned])
            .collect();
        events.sort_unstable();
        for index in polls_to_keep(&events, polls_spans) {
            calls.push(polls[index].clone());
        }
        let initial = spec();
        match check(&initial, calls) {
            Ok(states) => most = most.max(states),
            Err(violation) => violations.push((*key, violation)),
        }
    }
    if let Some((key, first)) = violations.first() {
        let mut message = format!(
            "{what}: {} of {} histories have no sequential explanation (seed {seed}).\n\
             {what} {key}: {}\n{}",
            violations.len(),
            keys.len(),
            first.reason,
            first.report
        );
        for (key, other) in violations.iter().skip(1).take(5) {
            let _ = writeln!(message, "also {what} {key}: {}", other.reason);
        }
        panic!("{message}");
    }
    (keys.len(), most)
}

// ---------------------------------------------------------------------------------------------
// A. Keepalives: re-inserts racing stops.
// ---------------------------------------------------------------------------------------------

const KEY_TIMEOUT: Duration = Duration::from_millis(2);
const KEY_THREADS: usize = 3;
/// Time spent running rounds (then the set is drained and the histories are checked).
const KEY_RUN: Duration = Duration::from_secs(4);
const KEY_ROUNDS: u64 = 40_000;
/// The re-inserts of a round's key while its stopper stops it.
const RACE_INSERTS: u64 = 32;

enum KeyMsg {
    /// While the owner re-inserts round `round`'s key, stop (then beat) its newest heartbeat,
    /// up to `RACE_STOPS` times, each after spinning up to `spin` times.
    Stop {
        round: u64,
        spin: u64,
    },
    /// Beat this heartbeat `beats` times, now.
    Beat {
        held: Held,
        beats: u64,
    },
    /// Keep this heartbeat, for random calls later.
    Give(Held),
    /// Make this many random calls on what you hold.
    Act(u64),
    Quit,
}

fn key_thread(
    me: usize,
    rx: mpsc::Receiver<KeyMsg>,
    race: Arc<Race>,
    stamp: Arc<AtomicU64>,
    seed: u64,
) -> Vec<Rec<KeyOp>> {
    let mut worker = Worker {
        rec: Recorder::new(me + 1, stamp, |op| *op == KeyOp::Pending),
        rng: Rng(seed),
        held: Vec::new(),
        stopped: HashSet::new(),
        alarm: race.alarm.clone(),
        make: |token, stop, result| {
            if stop {
                KeyOp::Stop { token, result }
            } else {
                KeyOp::Beat { token, result }
            }
        },
    };
    for message in rx {
        match message {
            KeyMsg::Stop { round, spin } => worker.stop_race(&race, me, round, spin),
            KeyMsg::Beat { held, beats } => {
                worker.held.push(held);
                let i = worker.held.len() - 1;
                for _ in 0..beats {
                    worker.call(i, false);
                }
            }
            KeyMsg::Give(held) => worker.held.push(held),
            KeyMsg::Act(n) => worker.act(n),
            KeyMsg::Quit => break,
        }
        if worker.rng.chance(1, 2) {
            worker.act(1);
        }
    }
    worker.rec.calls
}

/// Polls `set` until `Pending`, recording each poll: a yield on its key, `Pending` on all.
fn drain(owner: &mut Recorder<KeyOp>, set: &mut Keepalives<u64>) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    let mut yielded = 0;
    while owner
        .record(
            || set.poll_expired(&mut cx),
            |poll| match poll {
                Poll::Ready((key, expired)) => (
                    *key,
                    KeyOp::Yield {
                        deadline: expired.deadline(),
                    },
                ),
                Poll::Pending => (u64::MAX, KeyOp::Pending),
            },
        )
        .is_ready()
    {
        yielded += 1;
    }
    yielded
}

/// The owner's side: the set, and the numbering of each key's heartbeats.
struct KeyOwner {
    rec: Recorder<KeyOp>,
    set: Keepalives<u64>,
    tokens: HashMap<u64, u16>,
}

impl KeyOwner {
    fn insert(&mut self, key: u64) -> Held {
        let token = self.tokens.entry(key).or_insert(0);
        let this = *token;
        *token += 1;
        let set = &mut self.set;
        let heartbeat = self
            .rec
            .record(|| set.insert(key), |_| (key, KeyOp::Insert { token: this }));
        Held {
            object: key,
            token: this,
            heartbeat,
        }
    }

    fn remove(&mut self, key: u64) {
        let set = &mut self.set;
        self.rec.record(
            || set.remove(&key),
            |&result| (key, KeyOp::Remove { result }),
        );
    }
}

impl Held {
    fn duplicate(&self) -> Self {
        Self {
            heartbeat: self.heartbeat.clone(),
            ..*self
        }
    }
}

#[test]
fn keepalives_histories_are_linearizable() {
    let _serial = serial();
    let seed = seed();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let _enter = runtime.enter();
    let origin = Instant::now();
    let stamp = Arc::new(AtomicU64::new(0));
    let race = Arc::new(Race::new(KEY_THREADS));
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    for me in 0..KEY_THREADS {
        let (tx, rx) = mpsc::channel();
        senders.push(tx);
        let (race, stamp) = (race.clone(), stamp.clone());
        let seed = seed ^ ((me as u64 + 1) << 32);
        threads.push(thread::spawn(move || key_thread(me, rx, race, stamp, seed)));
    }
    let send = |to: usize, message: KeyMsg| senders[to].send(message).expect("thread alive");

    let mut owner = KeyOwner {
        rec: Recorder::new(0, stamp.clone(), |op| *op == KeyOp::Pending),
        set: Keepalives::new(KEY_TIMEOUT),
        tokens: HashMap::new(),
    };
    let mut rng = Rng(seed);
    let started = std::time::Instant::now();
    let mut rounds = 0;
    let mut yielded = 0;
    while rounds < KEY_ROUNDS && started.elapsed() < KEY_RUN && !race.alarm.load(SeqCst) {
        rounds += 1;
        let (round, key) = (rounds, rounds);
        let stopper = rng.index(KEY_THREADS);
        let beater = (stopper + 1 + rng.index(KEY_THREADS - 1)) % KEY_THREADS;
        send(
            stopper,
            KeyMsg::Stop {
                round,
                spin: rng.below(64),
            },
        );
        if rng.chance(1, 2) {
            let held = owner.insert(key);
            let beats = 1 + rng.below(3);
            send(beater, KeyMsg::Beat { held, beats });
        }
        // The race: re-insert the key in a tight loop while the stopper stops its newest
        // heartbeat, again and again.
        race.run(round, stopper, RACE_INSERTS, || {
            let held = owner.insert(key);
            if rng.chance(1, 8) {
                send(rng.index(KEY_THREADS), KeyMsg::Give(held.duplicate()));
            }
            held
        });
        // Random calls on this round's key and the last few rounds' keys.
        for _ in 0..rng.below(5) {
            let key = round.saturating_sub(rng.below(8)).max(1);
            match rng.below(10) {
                0..=2 => {
                    let held = owner.insert(key);
                    if rng.chance(1, 2) {
                        send(rng.index(KEY_THREADS), KeyMsg::Give(held));
                    }
                }
                3 | 4 => owner.remove(key),
                5..=7 => send(rng.index(KEY_THREADS), KeyMsg::Act(1 + rng.below(4))),
                _ => yielded += drain(&mut owner.rec, &mut owner.set),
            }
        }
        yielded += drain(&mut owner.rec, &mut owner.set);
    }
    let ran = started.elapsed();
    for to in 0..KEY_THREADS {
        send(to, KeyMsg::Quit);
    }
    let mut calls = Vec::new();
    for thread in threads {
        calls.extend(thread.join().expect("a heartbeat thread panicked"));
    }
    // Every key left must now expire (or be dropped, if stopped): poll until the set is empty.
    let draining = std::time::Instant::now();
    loop {
        yielded += drain(&mut owner.rec, &mut owner.set);
        if owner.set.is_empty() || draining.elapsed() > Duration::from_secs(2) {
            break;
        }
        thread::yield_now();
    }
    calls.append(&mut owner.rec.calls);

    // How often a stop that returned true overlapped a re-insert of its key: the race this
    // run is after.
    let mut inserts: HashMap<u64, Vec<(u64, u64)>> = HashMap::new();
    for rec in &calls {
        if let KeyOp::Insert { .. } = rec.call.op {
            inserts
                .entry(rec.object)
                .or_default()
                .push((rec.call.invoked, rec.call.returned));
        }
    }
    let overlapping = calls
        .iter()
        .filter(|rec| matches!(rec.call.op, KeyOp::Stop { result: true, .. }))
        .filter(|rec| {
            inserts.get(&rec.object).is_some_and(|spans| {
                spans
                    .iter()
                    .any(|&(i, r)| i < rec.call.returned && rec.call.invoked < r)
            })
        })
        .count();
    let recorded = calls.len();
    let checking = std::time::Instant::now();
    let (keys, states) = check_all(
        "key",
        seed,
        || KeySpec::new(origin, KEY_TIMEOUT),
        calls,
        |op| *op == KeyOp::Pending,
    );
    eprintln!(
        "keepalives: seed {seed}: {rounds} rounds in {ran:.2?}, {recorded} calls, {yielded} \
         yields, {overlapping} true stops overlapping a re-insert of their key; {keys} keys \
         checked in {:.2?}, at most {states} states a key",
        checking.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// B. Watchdog: rearms racing beats, stops and outcomes.
// ---------------------------------------------------------------------------------------------

const DOG_TIMEOUT: Duration = Duration::from_millis(1);
const DOG_THREADS: usize = 3;
const DOG_RUN: Duration = Duration::from_secs(3);
const DOG_ROUNDS: u64 = 20_000;

/// The rearms in a round's race.
const RACE_REARMS: u64 = 24;

enum DogMsg {
    /// Stop the newest heartbeat while the owner rearms (see [`Worker::stop_race`]).
    Stop {
        round: u64,
        spin: u64,
    },
    /// Keep this heartbeat, and make this many random calls.
    Give(Held, u64),
    /// Make this many random calls on what you hold.
    Act(u64),
    /// The round is over: drop everything and say so.
    End,
    Quit,
}

fn dog_thread(
    me: usize,
    rx: mpsc::Receiver<DogMsg>,
    done: mpsc::Sender<usize>,
    race: Arc<Race>,
    stamp: Arc<AtomicU64>,
    seed: u64,
) -> Vec<Rec<DogOp>> {
    let mut worker = Worker {
        rec: Recorder::new(me + 1, stamp, |op| *op == DogOp::Poll(DogPoll::Pending)),
        rng: Rng(seed),
        held: Vec::new(),
        stopped: HashSet::new(),
        alarm: race.alarm.clone(),
        make: |token, stop, result| {
            if stop {
                DogOp::Stop { token, result }
            } else {
                DogOp::Beat { token, result }
            }
        },
    };
    for message in rx {
        match message {
            DogMsg::Give(held, n) => {
                worker.held.push(held);
                worker.act(n);
            }
            DogMsg::Act(n) => worker.act(n),
            DogMsg::Stop { round, spin } => worker.stop_race(&race, me, round, spin),
            DogMsg::End => {
                worker.held.clear();
                done.send(me).expect("the owner waits");
            }
            DogMsg::Quit => break,
        }
    }
    worker.rec.calls
}

/// One poll of `dog`, recorded; whether it was ready.
fn poll_dog(owner: &mut Recorder<DogOp>, round: u64, dog: &mut Pin<Box<Watchdog>>) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    owner
        .record(
            || dog.as_mut().poll(&mut cx),
            |poll| {
                let poll = match poll {
                    Poll::Pending => DogPoll::Pending,
                    Poll::Ready(Ok(expired)) => DogPoll::Expired(expired.deadline()),
                    Poll::Ready(Err(_)) => DogPoll::Stopped,
                };
                (round, DogOp::Poll(poll))
            },
        )
        .is_ready()
}

fn rearm(owner: &mut Recorder<DogOp>, round: u64, dog: &mut Pin<Box<Watchdog>>) {
    owner.record(|| dog.as_mut().rearm(), |_| (round, DogOp::Rearm));
}

/// `heartbeat()`, recorded, numbered from `tokens`.
fn hand_out(owner: &mut Recorder<DogOp>, round: u64, dog: &Watchdog, tokens: &mut u16) -> Held {
    let token = *tokens;
    *tokens += 1;
    let heartbeat = owner.record(|| dog.heartbeat(), |_| (round, DogOp::HandOut { token }));
    Held {
        object: round,
        token,
        heartbeat,
    }
}

#[test]
fn watchdog_histories_are_linearizable() {
    let _serial = serial();
    let seed = seed();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let _enter = runtime.enter();
    let origin = Instant::now();
    let stamp = Arc::new(AtomicU64::new(0));
    let race = Arc::new(Race::new(DOG_THREADS));
    let (done_tx, done_rx) = mpsc::channel();
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    for me in 0..DOG_THREADS {
        let (tx, rx) = mpsc::channel();
        senders.push(tx);
        let (done, race, stamp) = (done_tx.clone(), race.clone(), stamp.clone());
        let seed = seed ^ ((me as u64 + 1) << 32);
        threads.push(thread::spawn(move || {
            dog_thread(me, rx, done, race, stamp, seed)
        }));
    }
    let send = |to: usize, message: DogMsg| senders[to].send(message).expect("thread alive");

    let mut owner = Recorder::new(0, stamp.clone(), |op| *op == DogOp::Poll(DogPoll::Pending));
    let mut rng = Rng(seed);
    let started = std::time::Instant::now();
    let mut rounds = 0;
    let (mut races, mut outcomes, mut rearmed_after) = (0, 0, 0);
    while rounds < DOG_ROUNDS && started.elapsed() < DOG_RUN && !race.alarm.load(SeqCst) {
        rounds += 1;
        let round = rounds;
        let mut dog = owner.record(
            || Box::pin(Watchdog::new(DOG_TIMEOUT)),
            |_| (round, DogOp::New),
        );
        let mut tokens = 0;
        // The outcome of the current life was delivered: only a rearm changes anything.
        let mut delivered = false;
        let mut raced = 0;
        for _ in 0..16 + rng.below(24) {
            match rng.below(22) {
                0..=4 => {
                    let held = hand_out(&mut owner, round, &dog, &mut tokens);
                    send(rng.index(DOG_THREADS), DogMsg::Give(held, rng.below(3)));
                }
                5..=9 => send(rng.index(DOG_THREADS), DogMsg::Act(1 + rng.below(4))),
                10..=12 => {
                    let ready = poll_dog(&mut owner, round, &mut dog);
                    if ready {
                        delivered = true;
                        outcomes += 1;
                        if rng.chance(7, 10) {
                            rearm(&mut owner, round, &mut dog);
                            (delivered, rearmed_after) = (false, rearmed_after + 1);
                        }
                    }
                }
                13..=15 => {
                    rearm(&mut owner, round, &mut dog);
                    rearmed_after += u64::from(delivered);
                    delivered = false;
                }
                20 | 21 if raced < 3 => {
                    // The race: rearm in a tight loop, handing out a heartbeat after each,
                    // while the stopper stops the newest.
                    raced += 1;
                    races += 1;
                    let stopper = rng.index(DOG_THREADS);
                    send(
                        stopper,
                        DogMsg::Stop {
                            round,
                            spin: rng.below(64),
                        },
                    );
                    let mut first = true;
                    race.run(round, stopper, RACE_REARMS, || {
                        if !std::mem::take(&mut first) {
                            rearm(&mut owner, round, &mut dog);
                        }
                        hand_out(&mut owner, round, &dog, &mut tokens)
                    });
                    delivered = false;
                }
                16..=19 if !delivered => {
                    // Quiet: nothing is sent, so the watchdog expires unless a stop came.
                    let waiting = std::time::Instant::now();
                    while !delivered && waiting.elapsed() < Duration::from_millis(20) {
                        delivered = poll_dog(&mut owner, round, &mut dog);
                    }
                    outcomes += u64::from(delivered);
                    if delivered && rng.chance(1, 2) {
                        rearm(&mut owner, round, &mut dog);
                        (delivered, rearmed_after) = (false, rearmed_after + 1);
                    }
                }
                _ => {}
            }
        }
        for to in 0..DOG_THREADS {
            send(to, DogMsg::End);
        }
        for _ in 0..DOG_THREADS {
            done_rx.recv().expect("a heartbeat thread ended the round");
        }
        drop(dog);
    }
    let ran = started.elapsed();
    for to in 0..DOG_THREADS {
        send(to, DogMsg::Quit);
    }
    let mut calls = owner.calls;
    for thread in threads {
        calls.extend(thread.join().expect("a heartbeat thread panicked"));
    }
    let recorded = calls.len();
    let checking = std::time::Instant::now();
    let (checked, states) = check_all(
        "watchdog",
        seed,
        || DogSpec::new(origin, DOG_TIMEOUT),
        calls,
        |op| *op == DogOp::Poll(DogPoll::Pending),
    );
    eprintln!(
        "watchdog: seed {seed}: {rounds} rounds in {ran:.2?}, {recorded} calls, {outcomes} \
         outcomes delivered, {rearmed_after} rearms after one, {races} races; {checked} \
         watchdogs checked in \
         {:.2?}, at most {states} states one",
        checking.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// The checker is not vacuous.
// ---------------------------------------------------------------------------------------------

/// One hand-written call: `(thread, invoked, returned, at_us, after_us, op)`.
type Line<O> = (usize, u64, u64, u64, u64, O);

/// A hand-written history.
fn history<O: Clone>(origin: Instant, calls: &[Line<O>]) -> Vec<Call<O>> {
    calls
        .iter()
        .map(|(thread, invoked, returned, at, after, op)| Call {
            thread: *thread,
            invoked: *invoked,
            returned: *returned,
            at: origin + Duration::from_micros(*at),
            after: origin + Duration::from_micros(*after),
            op: op.clone(),
        })
        .collect()
}

/// Short names for hand-written key calls.
mod key {
    use super::KeyOp;

    pub fn insert(token: u16) -> KeyOp {
        KeyOp::Insert { token }
    }

    pub fn beat(token: u16, result: bool) -> KeyOp {
        KeyOp::Beat { token, result }
    }

    pub fn stop(token: u16, result: bool) -> KeyOp {
        KeyOp::Stop { token, result }
    }

    pub fn remove(result: bool) -> KeyOp {
        KeyOp::Remove { result }
    }
}

/// Short names for hand-written watchdog calls.
mod dog {
    use super::{DogOp, DogPoll};

    pub const NEW: DogOp = DogOp::New;
    pub const REARM: DogOp = DogOp::Rearm;
    pub const PENDING: DogOp = DogOp::Poll(DogPoll::Pending);
    pub const STOPPED: DogOp = DogOp::Poll(DogPoll::Stopped);

    pub fn hand_out(token: u16) -> DogOp {
        DogOp::HandOut { token }
    }

    pub fn beat(token: u16, result: bool) -> DogOp {
        DogOp::Beat { token, result }
    }

    pub fn stop(token: u16, result: bool) -> DogOp {
        DogOp::Stop { token, result }
    }
}

/// Checks `calls` and returns the violation's reason, or `None` if some order explains them.
fn verdict<S: Spec>(spec: &S, calls: Vec<Call<S::Op>>) -> Option<String> {
    check(spec, calls).err().map(|violation| violation.reason)
}

#[test]
fn checker_rejects_impossible_key_histories() {
    let origin = Instant::now();
    let spec = KeySpec::new(origin, Duration::from_millis(2));
    let expired = |us: u64| KeyOp::Yield {
        deadline: origin + Duration::from_micros(us),
    };
    let rejects = |calls: &[Line<KeyOp>], rule: &str| {
        let reason = verdict(&spec, history(origin, calls)).expect("an impossible history");
        assert!(reason.contains(rule), "{reason}");
    };
    use key::*;
    // A stop returned true, then strictly later the same heartbeat's beat returned true.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (1, 2, 3, 2, 3, stop(0, true)),
            (1, 4, 5, 4, 5, beat(0, true)),
        ],
        "rule 9",
    );
    // The re-insert race as today's code loses it: a re-insert overlaps a stop that returned
    // true, and afterwards a clone of the stopped heartbeat (on another thread) still beats.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (1, 2, 5, 2, 5, stop(0, true)),
            (0, 3, 4, 3, 4, insert(1)),
            (2, 6, 7, 6, 7, beat(0, true)),
        ],
        "rule 9",
    );
    // Found by the search, not by the direct check: a re-insert overlaps a stop of h0, then
    // its heartbeat h1 is stopped, then the key is yielded. Had the re-insert come first, h1
    // shares h0's stopped life and its stop returns false; had it come after, h1's new life
    // was stopped and is never yielded.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (1, 2, 5, 2, 5, stop(0, true)),
            (0, 3, 4, 3, 4, insert(1)),
            (2, 6, 7, 6, 7, stop(1, true)),
            (0, 8, 9, 2_500, 2_600, expired(2_000)),
        ],
        "rule 3",
    );
    // Both outcomes in one life: a stop returned true and the key was yielded after it.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (1, 2, 3, 2, 3, stop(0, true)),
            (0, 4, 5, 2_500, 2_600, expired(2_000)),
        ],
        "rule 3",
    );
    // A heartbeat of an earlier life beat after the key was yielded and inserted again.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (0, 2, 3, 2_500, 2_600, expired(2_000)),
            (0, 4, 5, 2_700, 2_800, insert(1)),
            (1, 6, 7, 2_900, 3_000, beat(0, true)),
        ],
        "rule 8",
    );
    // The expiry missed a beat that returned true before it.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (1, 2, 3, 1_000, 1_001, beat(0, true)),
            (0, 4, 5, 2_500, 2_600, expired(2_000)),
        ],
        "rule 3",
    );
    // Yielded before its deadline.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (0, 2, 3, 1_500, 1_600, expired(2_000)),
        ],
        "rule 1",
    );
    // Pending long after the deadline, with nothing to explain it.
    rejects(
        &[
            (0, 0, 1, 0, 1, insert(0)),
            (0, 2, 3, 5_000, 5_001, KeyOp::Pending),
        ],
        "rule 1",
    );
    // remove() of a key in the set said it was not there.
    rejects(
        &[(0, 0, 1, 0, 1, insert(0)), (0, 2, 3, 2, 3, remove(false))],
        "remove() returned false",
    );
}

#[test]
fn checker_accepts_possible_key_histories() {
    let origin = Instant::now();
    let spec = KeySpec::new(origin, Duration::from_millis(2));
    let expired = |us: u64| KeyOp::Yield {
        deadline: origin + Duration::from_micros(us),
    };
    let accepts = |calls: &[Line<KeyOp>]| {
        if let Err(violation) = check(&spec, history(origin, calls)) {
            panic!("{}\n{}", violation.reason, violation.report);
        }
    };
    use key::*;
    // The beat overlaps the stop: it came first.
    accepts(&[
        (0, 0, 1, 0, 1, insert(0)),
        (1, 2, 5, 2, 5, stop(0, true)),
        (2, 3, 6, 3, 6, beat(0, true)),
        (2, 7, 8, 7, 8, beat(0, false)),
    ]);
    // A re-insert overlapping a stop came after it, so it started a new life, whose heartbeat
    // works and whose key is yielded; the old heartbeat stays stopped.
    accepts(&[
        (0, 0, 1, 0, 1, insert(0)),
        (1, 2, 5, 2, 5, stop(0, true)),
        (0, 3, 4, 3, 4, insert(1)),
        (1, 6, 7, 6, 7, beat(0, false)),
        (2, 8, 9, 1_000, 1_001, beat(1, true)),
        (0, 10, 11, 3_500, 3_600, expired(3_000)),
    ]);
    // The same, but the re-insert came first and kept the life the stop then ended; the
    // stopped key left the set unseen before remove().
    accepts(&[
        (0, 0, 1, 0, 1, insert(0)),
        (1, 2, 5, 2, 5, stop(0, true)),
        (0, 3, 4, 3, 4, insert(1)),
        (2, 6, 7, 6, 7, beat(1, false)),
        (0, 8, 9, 3_500, 3_600, remove(false)),
    ]);
    // A beat concurrent with the expiry came after it (false); nothing is due afterwards.
    accepts(&[
        (0, 0, 1, 0, 1, insert(0)),
        (0, 2, 5, 2_500, 2_600, expired(2_000)),
        (1, 3, 6, 2_550, 2_650, beat(0, false)),
        (0, 7, 8, 2_700, 2_800, KeyOp::Pending),
    ]);
    // A beat that overlaps a Pending poll after the old deadline came before it.
    accepts(&[
        (0, 0, 1, 0, 1, insert(0)),
        (1, 2, 5, 2_100, 2_200, beat(0, true)),
        (0, 3, 4, 2_150, 2_160, KeyOp::Pending),
        (0, 6, 7, 4_300, 4_400, expired(4_150)),
    ]);
}

#[test]
fn checker_rejects_impossible_watchdog_histories() {
    let origin = Instant::now();
    let spec = DogSpec::new(origin, Duration::from_millis(1));
    let expired = |us: u64| DogOp::Poll(DogPoll::Expired(origin + Duration::from_micros(us)));
    let rejects = |calls: &[Line<DogOp>], rule: &str| {
        let reason = verdict(&spec, history(origin, calls)).expect("an impossible history");
        assert!(reason.contains(rule), "{reason}");
    };
    use dog::*;
    // Rule 8: after the expiry and a rearm, the old heartbeat beats.
    rejects(
        &[
            (0, 0, 1, 0, 1, NEW),
            (0, 2, 3, 2, 3, hand_out(0)),
            (0, 4, 5, 1_500, 1_600, expired(1_000)),
            (0, 6, 7, 1_700, 1_800, REARM),
            (1, 8, 9, 1_900, 2_000, beat(0, true)),
        ],
        "rule 8",
    );
    // Rule 8: a stop not observed before the rearm is discarded: no Err(Stopped) after it.
    rejects(
        &[
            (0, 0, 1, 0, 1, NEW),
            (0, 2, 3, 2, 3, hand_out(0)),
            (1, 4, 5, 4, 5, stop(0, true)),
            (0, 6, 7, 6, 7, REARM),
            (0, 8, 9, 8, 9, STOPPED),
        ],
        "rule 8",
    );
    // Pending although a stop returned true and was not delivered.
    rejects(
        &[
            (0, 0, 1, 0, 1, NEW),
            (0, 2, 3, 2, 3, hand_out(0)),
            (1, 4, 5, 4, 5, stop(0, true)),
            (0, 6, 7, 6, 7, PENDING),
        ],
        "rule 1",
    );
    // Two outcomes in one life.
    rejects(
        &[
            (0, 0, 1, 0, 1, NEW),
            (0, 2, 3, 1_500, 1_600, expired(1_000)),
            (0, 4, 5, 1_700, 1_800, expired(1_000)),
        ],
        "rule 1",
    );
    // The rearm-versus-stop race lost: a stop overlapping a rearm returned true, a later
    // poll delivered nothing, the same heartbeat beats on.
    rejects(
        &[
            (0, 0, 1, 0, 1, NEW),
            (0, 2, 3, 2, 3, hand_out(0)),
            (1, 4, 7, 4, 7, stop(0, true)),
            (0, 5, 6, 5, 6, REARM),
            (1, 8, 9, 8, 9, beat(0, true)),
        ],
        "rule 9",
    );
}

#[test]
fn checker_accepts_possible_watchdog_histories() {
    let origin = Instant::now();
    let spec = DogSpec::new(origin, Duration::from_millis(1));
    let expired = |us: u64| DogOp::Poll(DogPoll::Expired(origin + Duration::from_micros(us)));
    let accepts = |calls: &[Line<DogOp>]| {
        if let Err(violation) = check(&spec, history(origin, calls)) {
            panic!("{}\n{}", violation.reason, violation.report);
        }
    };
    use dog::*;
    // A stop overlapping a rearm of the open life: the rearm came first, the stop ended the
    // life, the poll saw it, and a second rearm starts afresh for a new heartbeat only.
    accepts(&[
        (0, 0, 1, 0, 1, NEW),
        (0, 2, 3, 2, 3, hand_out(0)),
        (1, 4, 7, 4, 7, stop(0, true)),
        (0, 5, 6, 5, 6, REARM),
        (0, 8, 9, 8, 9, STOPPED),
        (0, 10, 11, 10, 11, REARM),
        (0, 12, 13, 12, 13, hand_out(1)),
        (1, 14, 15, 14, 15, beat(0, false)),
        (2, 16, 17, 500, 501, beat(1, true)),
        (0, 18, 19, 1_600, 1_700, expired(1_500)),
        (0, 20, 21, 1_800, 1_900, PENDING),
    ]);
    // A stop overlapping a rearm came before it: discarded, so a later poll is Pending, and
    // the stopped heartbeat stays stopped.
    accepts(&[
        (0, 0, 1, 0, 1, NEW),
        (0, 2, 3, 2, 3, hand_out(0)),
        (1, 4, 7, 4, 7, stop(0, true)),
        (0, 5, 6, 5, 6, REARM),
        (0, 8, 9, 8, 9, PENDING),
        (1, 10, 11, 10, 11, beat(0, false)),
    ]);
    // A heartbeat taken after the outcome belongs to the ended life, even before the rearm.
    accepts(&[
        (0, 0, 1, 0, 1, NEW),
        (0, 2, 3, 1_500, 1_600, expired(1_000)),
        (0, 4, 5, 1_700, 1_701, hand_out(0)),
        (1, 6, 7, 1_800, 1_801, beat(0, false)),
        (0, 8, 9, 1_900, 1_901, REARM),
        (1, 10, 11, 2_000, 2_001, beat(0, false)),
    ]);
}

#[test]
fn pending_polls_are_thinned_soundly() {
    // Events at 10 and 20; polls (1,2) before, (11,12) (13,14) in the gap, (19,21) spanning
    // 20, (30,31) (40,41) after.
    let polls = [(1, 2), (11, 12), (13, 14), (19, 21), (30, 31), (40, 41)];
    assert_eq!(polls_to_keep(&[10, 20], &polls), vec![2, 3, 5]);
    assert_eq!(polls_to_keep(&[10, 20], &polls[..4]), vec![2, 3]);
    assert_eq!(polls_to_keep(&[10, 20], &polls[..3]), vec![2]);
    assert_eq!(polls_to_keep(&[12, 20], &polls), vec![1, 2, 3, 5]);
    assert_eq!(polls_to_keep(&[], &polls), Vec::<usize>::new());
}
