//! `IdleIo` against a plain model of its three thresholds, on random schedules: reads and
//! writes that move bytes (and some that move none), threshold changes, and the events stream
//! polled either at random instants or whenever it wakes. The model gives each event (its
//! instant, kind and `first` flag) and the time-out (instant, kind, threshold) for the
//! configured `time_out_on`; a real `IdleIo` over a duplex on a paused clock must give the
//! same. All instants are whole milliseconds.
#![cfg(feature = "io")]

mod common;

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::paused_runtime;
use deadlines::io::{IdleEvent, IdleIo, IdleKind};
use futures_core::Stream;
use proptest::prelude::*;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, sleep_until};

const KINDS: [IdleKind; 3] = [IdleKind::Read, IdleKind::Write, IdleKind::All];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// The peer sends a byte, which the IO's pending read takes at once: read activity.
    PeerSends,
    /// The IO writes a byte: write activity.
    Write,
    /// A read into a buffer with no room: no activity.
    ZeroRead,
    /// A write of no bytes: no activity.
    ZeroWrite,
    /// `IdleHandle::set_threshold(kind, ms)`.
    Set(IdleKind, Option<u64>),
    /// Polls the events stream until it waits (only when it is not polled on its wakes).
    PollEvents,
}

#[derive(Debug, Clone)]
struct Case {
    thresholds: [Option<u64>; 3],
    /// Bits `1 << kind as u8`.
    time_out_on: u8,
    /// The events stream is polled whenever it wakes, not only at `PollEvents`.
    continuous: bool,
    /// In time order; several may share an instant, and then run in this order.
    steps: Vec<(u64, Step)>,
    end: u64,
}

#[derive(Debug, Default, PartialEq)]
struct Outcome {
    /// (instant, kind, first)
    events: Vec<(u64, IdleKind, bool)>,
    /// (instant, kind, threshold)
    timed_out: Option<(u64, IdleKind, u64)>,
}

// ---- the model -----------------------------------------------------------------------------

/// One kind's idle stretch as the events stream sees it.
#[derive(Debug, Clone, Copy)]
struct Stretch {
    /// The activity it counts from.
    since: u64,
    /// When the stream last yielded one of its events.
    last_event: Option<u64>,
}

struct Model {
    thresholds: [Option<u64>; 3],
    /// When each threshold was last set where none was (creation for the first).
    armed: [u64; 3],
    /// The last read and the last write that moved bytes (creation counts as both).
    last_read: u64,
    last_write: u64,
    stretches: [Stretch; 3],
    time_out_on: u8,
    out: Outcome,
}

/// A threshold as the IO holds it: below a millisecond, a millisecond.
fn raised(threshold: Option<u64>) -> Option<u64> {
    threshold.map(|t| t.max(1))
}

impl Model {
    fn new(case: &Case) -> Self {
        Self {
            thresholds: case.thresholds.map(raised),
            armed: [0; 3],
            last_read: 0,
            last_write: 0,
            stretches: [Stretch {
                since: 0,
                last_event: None,
            }; 3],
            time_out_on: case.time_out_on,
            out: Outcome::default(),
        }
    }

    /// What `kind`'s threshold counts from: its last activity, or the moment the threshold
    /// was set where none was, if that is later.
    fn activity(&self, kind: IdleKind) -> u64 {
        let last = match kind {
            IdleKind::Read => self.last_read,
            IdleKind::Write => self.last_write,
            IdleKind::All => self.last_read.max(self.last_write),
        };
        last.max(self.armed[kind as usize])
    }

    /// When `kind`'s next event is due: a threshold after the activity its stretch counts
    /// from, or after the stretch's last event. Activity since starts a new stretch.
    fn event_due(&mut self, kind: IdleKind) -> Option<u64> {
        let activity = self.activity(kind);
        let stretch = &mut self.stretches[kind as usize];
        let Some(threshold) = self.thresholds[kind as usize] else {
            // No threshold: the stretch is forgotten.
            *stretch = Stretch {
                since: activity,
                last_event: None,
            };
            return None;
        };
        if stretch.since != activity {
            *stretch = Stretch {
                since: activity,
                last_event: None,
            };
        }
        Some(stretch.last_event.unwrap_or(activity) + threshold)
    }

    /// The stream polled at `now` until it waits: each due event, read before write before
    /// all, the first of its stretch `first`.
    fn poll_events(&mut self, now: u64) {
        'again: loop {
            for kind in KINDS {
                if self.event_due(kind).is_some_and(|due| due <= now) {
                    let stretch = &mut self.stretches[kind as usize];
                    let first = stretch.last_event.replace(now).is_none();
                    self.out.events.push((now, kind, first));
                    continue 'again;
                }
            }
            return;
        }
    }

    fn next_event(&mut self) -> Option<u64> {
        KINDS.into_iter().filter_map(|k| self.event_due(k)).min()
    }

    /// The earliest instant a time-out kind's threshold is reached: its activity plus its
    /// threshold; ties go to the kind first in read, write, all.
    fn time_out_due(&self) -> Option<(u64, IdleKind)> {
        let mut earliest: Option<(u64, IdleKind)> = None;
        for kind in KINDS {
            if self.time_out_on & 1 << kind as u8 == 0 {
                continue;
            }
            if let Some(threshold) = self.thresholds[kind as usize] {
                let due = self.activity(kind) + threshold;
                if earliest.is_none_or(|(e, _)| due < e) {
                    earliest = Some((due, kind));
                }
            }
        }
        earliest
    }

    /// The read, pending all along, is polled at `now`.
    fn poll_read(&mut self, now: u64) {
        if self.out.timed_out.is_some() {
            return;
        }
        if let Some((due, kind)) = self.time_out_due()
            && due <= now
        {
            let threshold = self.thresholds[kind as usize].unwrap();
            self.out.timed_out = Some((now, kind, threshold));
        }
    }

    fn apply(&mut self, now: u64, step: Step, continuous: bool) {
        let open = self.out.timed_out.is_none();
        match step {
            Step::PeerSends if open => self.last_read = now,
            Step::Write if open => self.last_write = now,
            Step::PeerSends | Step::Write | Step::ZeroRead | Step::ZeroWrite => {}
            Step::Set(kind, threshold) => {
                if self.thresholds[kind as usize].is_none() && threshold.is_some() {
                    self.armed[kind as usize] = now;
                }
                self.thresholds[kind as usize] = raised(threshold);
            }
            Step::PollEvents => {
                if !continuous {
                    self.poll_events(now);
                }
            }
        }
    }
}

/// What the model says happens: time moves from instant to instant (each step's, each
/// event's due, the time-out's due); at each, the pending read and (when it is polled on its
/// wakes) the stream are polled, then each step of the instant runs, with the read and the
/// stream polled again after it.
fn model(case: &Case) -> Outcome {
    let mut m = Model::new(case);
    let mut steps = case.steps.iter().peekable();
    let mut now = 0;
    loop {
        m.poll_read(now);
        if case.continuous {
            m.poll_events(now);
        }
        while let Some(&&(at, step)) = steps.peek()
            && at == now
        {
            steps.next();
            m.apply(now, step, case.continuous);
            m.poll_read(now);
            if case.continuous {
                m.poll_events(now);
            }
        }
        if now == case.end {
            return m.out;
        }
        let mut next = steps.peek().map_or(case.end, |&&(at, _)| at);
        if case.continuous {
            next = m.next_event().map_or(next, |due| due.min(next));
        }
        if m.out.timed_out.is_none()
            && let Some((due, _)) = m.time_out_due()
        {
            next = next.min(due);
        }
        assert!(next > now, "the model stands still at {now} ms");
        now = next;
    }
}

// ---- the real IdleIo -------------------------------------------------------------------------

enum Happened {
    Read(usize),
    TimedOut(std::io::Error),
    Event(Option<IdleEvent>),
    Step,
}

fn whole_ms(start: Instant) -> u64 {
    let elapsed = Instant::now() - start;
    assert_eq!(
        elapsed.subsec_nanos() % 1_000_000,
        0,
        "not a whole millisecond"
    );
    elapsed.as_millis() as u64
}

fn by_hand() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

async fn real(case: &Case) -> Outcome {
    let start = Instant::now();
    let (client, mut peer) = tokio::io::duplex(1 << 16);
    let mut io = IdleIo::new(client);
    for (kind, threshold) in KINDS.into_iter().zip(case.thresholds) {
        if let Some(t) = threshold {
            let t = Duration::from_millis(t);
            io = match kind {
                IdleKind::Read => io.read_idle(t),
                IdleKind::Write => io.write_idle(t),
                IdleKind::All => io.all_idle(t),
            };
        }
    }
    for kind in KINDS {
        if case.time_out_on & 1 << kind as u8 != 0 {
            io = io.time_out_on(kind);
        }
    }
    let handle = io.handle();
    let mut events = io.events();
    let mut out = Outcome::default();
    let mut steps = case.steps.iter();
    let mut next = steps.next().copied();
    let mut wait = Box::pin(sleep_until(start + Duration::from_millis(case.end)));
    if let Some((at, _)) = next {
        wait.as_mut().reset(start + Duration::from_millis(at));
    }
    let mut bytes = [0; 64];
    loop {
        let timed_out = out.timed_out.is_some();
        let happened = poll_fn(|cx| {
            if !timed_out {
                let mut buf = ReadBuf::new(&mut bytes);
                match Pin::new(&mut io).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) => return Poll::Ready(Happened::Read(buf.filled().len())),
                    Poll::Ready(Err(error)) => return Poll::Ready(Happened::TimedOut(error)),
                    Poll::Pending => {}
                }
            }
            if case.continuous
                && let Poll::Ready(event) = Pin::new(&mut events).poll_next(cx)
            {
                return Poll::Ready(Happened::Event(event));
            }
            wait.as_mut().poll(cx).map(|()| Happened::Step)
        })
        .await;
        let now = whole_ms(start);
        match happened {
            Happened::Read(n) => assert_eq!(n, 1, "a read at {now} ms"),
            Happened::TimedOut(error) => {
                let idle = error
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<deadlines::io::IdleTimedOut>())
                    .expect("an IdleTimedOut");
                let threshold = idle.threshold().as_millis() as u64;
                out.timed_out = Some((now, idle.kind(), threshold));
            }
            Happened::Event(event) => {
                let event = event.expect("the stream ended");
                out.events.push((now, event.kind(), event.is_first()));
            }
            Happened::Step => {
                let Some((_, step)) = next else {
                    return out; // the end
                };
                let run = Run {
                    io: &mut io,
                    peer: &mut peer,
                    events: &mut events,
                    handle: &handle,
                };
                run.step(now, step, case, &mut out).await;
                next = steps.next().copied();
                let at = next.map_or(case.end, |(at, _)| at);
                wait.as_mut().reset(start + Duration::from_millis(at));
            }
        }
    }
}

/// What a step acts on.
struct Run<'a> {
    io: &'a mut IdleIo<tokio::io::DuplexStream>,
    peer: &'a mut tokio::io::DuplexStream,
    events: &'a mut deadlines::io::IdleEvents,
    handle: &'a deadlines::io::IdleHandle,
}

impl Run<'_> {
    async fn step(self, now: u64, step: Step, case: &Case, out: &mut Outcome) {
        let Run {
            io,
            peer,
            events,
            handle,
        } = self;
        let open = out.timed_out.is_none();
        let cx = &mut by_hand();
        match step {
            Step::PeerSends => peer.write_all(b"r").await.unwrap(),
            Step::Write => {
                let written = Pin::new(io).poll_write(cx, b"w");
                assert!(matches!(written, Poll::Ready(Ok(1))) == open, "{written:?}");
            }
            Step::ZeroRead => {
                let read = Pin::new(io).poll_read(cx, &mut ReadBuf::new(&mut []));
                assert!(matches!(read, Poll::Ready(Ok(()))) == open, "{read:?}");
            }
            Step::ZeroWrite => {
                let written = Pin::new(io).poll_write(cx, b"");
                assert!(matches!(written, Poll::Ready(Ok(0))) == open, "{written:?}");
            }
            Step::Set(kind, threshold) => {
                handle.set_threshold(kind, threshold.map(Duration::from_millis));
            }
            Step::PollEvents => {
                if !case.continuous {
                    let before = out.events.len();
                    while let Poll::Ready(event) = Pin::new(&mut *events).poll_next(cx) {
                        let event = event.expect("the stream ended");
                        assert!(out.events.len() - before < 10, "the stream spins");
                        out.events.push((now, event.kind(), event.is_first()));
                    }
                }
            }
        }
    }
}

// ---- the property ------------------------------------------------------------------------------

fn threshold() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(0)),
        10 => (2..=120u64).prop_map(Some),
    ]
}

fn kind() -> impl Strategy<Value = IdleKind> {
    prop_oneof![
        Just(IdleKind::Read),
        Just(IdleKind::Write),
        Just(IdleKind::All)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::PeerSends),
        4 => Just(Step::Write),
        1 => Just(Step::ZeroRead),
        1 => Just(Step::ZeroWrite),
        2 => (kind(), threshold()).prop_map(|(k, t)| Step::Set(k, t)),
        3 => Just(Step::PollEvents),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        [threshold(), threshold(), threshold()],
        0..8u8,
        any::<bool>(),
        prop::collection::vec((0..=400u64, step()), 0..24),
    )
        .prop_map(|(thresholds, time_out_on, continuous, mut steps)| {
            steps.sort_by_key(|&(at, _)| at);
            // A zero threshold in a stream polled on its wakes gives an event a millisecond:
            // a short horizon keeps such cases cheap.
            let end = steps.last().map_or(0, |&(at, _)| at) + 200;
            Case {
                thresholds,
                time_out_on,
                continuous,
                steps,
                end,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn idle_io_matches_the_model(case in case()) {
        let expected = model(&case);
        // Unconstrained: Tokio's cooperative budget would make a ready read or write wait.
        let got = paused_runtime().block_on(tokio::task::unconstrained(real(&case)));
        prop_assert_eq!(got, expected, "{:?}", case);
    }
}
