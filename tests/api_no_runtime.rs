//! Every timed primitive can be built outside a Tokio runtime (in a struct's constructor,
//! before `#[tokio::main]` starts) and polled inside one: the Tokio timer is made at the first
//! poll. Each test builds its primitive in a plain `#[test]`, then starts a paused runtime.
//! (The stream adapters and `Shutdown`/`TaskSet` have their own such tests in
//! `stream_api.rs` and `shutdown_api.rs`; `IdleIo` has its below.)

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use common::paused_runtime;
use deadlines::{Deadline, Keepalives, Watchdog};
use futures_util::{FutureExt, StreamExt};
use tokio::time::{Instant, advance};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Whether `future` is ready at one poll, without waiting.
fn is_ready<F: Future + Unpin>(future: &mut F) -> bool {
    matches!(future.poll_unpin(&mut noop_context()), Poll::Ready(_))
}

fn noop_context() -> std::task::Context<'static> {
    std::task::Context::from_waker(std::task::Waker::noop())
}

/// What a server might hold, built before its runtime exists.
struct Server {
    idle: Deadline,
    spare: Deadline,
    watchdog: Watchdog,
    sessions: Keepalives<u64>,
}

impl Server {
    fn new() -> Self {
        Self {
            idle: Deadline::disarmed(),
            spare: Deadline::at(Instant::now() + ms(10)),
            watchdog: Watchdog::new(ms(1_000)),
            sessions: Keepalives::new(ms(100)),
        }
    }
}

#[test]
fn a_struct_of_primitives_is_built_before_the_runtime() {
    let server = Server::new(); // would panic here if any primitive made its timer in `new`
    paused_runtime().block_on(async move {
        let Server {
            idle,
            spare,
            watchdog,
            mut sessions,
        } = server;
        let mut idle = pin!(idle);
        let mut spare = pin!(spare);
        let heartbeat = watchdog.heartbeat();
        let mut watchdog = pin!(watchdog);
        let start = Instant::now();

        idle.as_mut().reset(ms(50));
        sessions.insert(7);
        assert!(!is_ready(&mut idle.as_mut()));
        assert!(!is_ready(&mut watchdog.as_mut()));
        assert!(heartbeat.beat());

        let (key, expired) = sessions.next().await.unwrap();
        assert_eq!((key, expired.deadline() - start), (7, ms(100)));
        assert_eq!(Instant::now() - start, ms(100));
        let expired = idle.as_mut().await;
        assert_eq!(expired.deadline() - start, ms(50));
        // Built before the runtime, with an instant read then: long past by now.
        assert!(is_ready(&mut spare.as_mut()));

        advance(ms(899)).await;
        assert!(
            !is_ready(&mut watchdog.as_mut()),
            "1 ms before the beat's window ends"
        );
        let expired = watchdog.await.unwrap();
        assert_eq!(expired.deadline() - start, ms(1_000));
    });
}

#[test]
fn a_deadline_built_outside_fires_at_its_instant_inside() {
    let at = Instant::now() + Duration::from_secs(3_600);
    let deadline = Deadline::at(at);
    assert_eq!(deadline.deadline(), Some(at));
    paused_runtime().block_on(async move {
        let mut deadline = pin!(deadline);
        assert!(!is_ready(&mut deadline.as_mut()));
        tokio::time::sleep_until(at - ms(1)).await;
        assert!(!is_ready(&mut deadline.as_mut()), "1 ms early");
        let expired = deadline.as_mut().await;
        assert_eq!(expired.deadline(), at);
        // The runtime's timer counts whole milliseconds from its own start, which the
        // instant read before it need not fall on.
        assert!(expired.overdue() < ms(1), "overdue {:?}", expired.overdue());
        assert!(!is_ready(&mut deadline.as_mut()), "fired once");
    });
}

#[test]
fn a_deadline_after_a_duration_built_outside_fires_inside() {
    let before = Instant::now();
    let deadline = Deadline::after(ms(200));
    let armed_at = deadline.deadline().unwrap();
    assert!(armed_at >= before + ms(200));
    paused_runtime().block_on(async move {
        let mut deadline = pin!(deadline);
        tokio::time::sleep_until(armed_at - ms(1)).await;
        assert!(!is_ready(&mut deadline.as_mut()));
        assert_eq!(deadline.await.deadline(), armed_at);
    });
}

#[test]
fn a_watchdog_built_outside_counts_beats_made_inside() {
    let watchdog = Watchdog::new(ms(300));
    let heartbeat = watchdog.heartbeat();
    paused_runtime().block_on(async move {
        let mut watchdog = pin!(watchdog);
        assert!(!is_ready(&mut watchdog.as_mut()));
        advance(ms(100)).await;
        assert!(heartbeat.beat());
        let beat_at = Instant::now();
        advance(ms(299)).await;
        assert!(
            !is_ready(&mut watchdog.as_mut()),
            "1 ms before last beat + timeout"
        );
        let expired = watchdog.await.unwrap();
        assert_eq!(expired.deadline(), beat_at + ms(300));
        assert_eq!(Instant::now(), beat_at + ms(300));
    });
}

#[test]
fn a_guarded_future_built_outside_times_out_inside() {
    let watchdog = Watchdog::new(ms(40));
    let heartbeat = watchdog.heartbeat();
    let guarded = watchdog.guard(std::future::pending::<()>());
    paused_runtime().block_on(async move {
        let start = Instant::now();
        assert!(heartbeat.beat());
        let expired = guarded.await.unwrap_err();
        assert_eq!(expired.deadline(), start + ms(40));
    });
}

#[test]
fn a_set_built_and_filled_outside_yields_inside() {
    let mut sessions = Keepalives::new(ms(100));
    let heartbeat = sessions.insert("outside");
    let inserted_at = sessions.deadline(&"outside").unwrap() - ms(100);
    assert!(
        heartbeat.beat(),
        "a beat outside any runtime reads the real clock"
    );
    paused_runtime().block_on(async move {
        let start = Instant::now();
        sessions.insert("inside");
        let mut first = sessions.next();
        assert!(!is_ready(&mut first));
        drop(first);
        // Both are due at the timer's first millisecond at or after the outside key's
        // deadline, and keys due at one poll come out in no particular order.
        let mut deadlines = std::collections::HashMap::new();
        for _ in 0..2 {
            let (key, expired) = sessions.next().await.unwrap();
            deadlines.insert(key, expired.deadline());
        }
        assert!(deadlines["outside"] >= inserted_at + ms(100));
        assert_eq!(deadlines["inside"], start + ms(100));
        assert_eq!(Instant::now(), start + ms(100));
    });
}

/// An `IdleIo`, its handle and its events stream, built and configured outside any runtime
/// (a duplex needs none), then used inside one: the stream and the read's time-out come a
/// threshold after the creation, which counted as activity.
#[cfg(feature = "io")]
#[test]
fn an_idle_io_built_outside_times_out_inside() {
    use deadlines::io::{IdleIo, IdleKind};
    use tokio::io::AsyncReadExt;

    let (client, _peer) = tokio::io::duplex(64);
    let mut io = IdleIo::new(client)
        .read_idle(ms(100))
        .all_idle(ms(300))
        .time_out_on(IdleKind::All);
    let handle = io.handle();
    handle.set_threshold(IdleKind::Write, Some(ms(200)));
    assert_eq!(io.threshold(IdleKind::Write), Some(ms(200)));
    assert_eq!(io.timer_resets(), 0);
    let mut events = io.events();
    let made = handle.last_read();
    assert_eq!(handle.last_write(), made);
    paused_runtime().block_on(async move {
        let start = Instant::now();
        assert!(!is_ready(&mut events.next()));
        let event = events.next().await.unwrap();
        assert_eq!((event.kind(), event.is_first()), (IdleKind::Read, true));
        // The instant read outside lies before the runtime's clock began: the event is due
        // less than 100 ms after it started, and comes at the timer's next millisecond.
        assert!(Instant::now() >= made + ms(100));
        assert!(Instant::now() - (made + ms(100)) < ms(1));
        assert!(Instant::now() - start <= ms(100));
        let error = io.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(io.timed_out().unwrap().kind(), IdleKind::All);
        assert!(Instant::now() >= made + ms(300));
        assert!(Instant::now() - (made + ms(300)) < ms(1));
        assert_eq!(io.timer_resets(), 1);
    });
}
