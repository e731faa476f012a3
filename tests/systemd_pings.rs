//! `systemd::Pinger` and `Notifier` against a real unix datagram socket bound in the
//! temporary directory: the exact datagrams, at the exact instants, on a paused clock; and
//! once on the real clock, in the soak test.
#![cfg(all(unix, feature = "systemd"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use common::systemd::{PING, Systemd, TRIGGER};
use common::{Probe, advance_to, ms};
use deadlines::systemd::{Disabled, Notifier, Pinger, Silenced};
use deadlines::{Keepalives, Shutdown, Watchdog};
use futures_core::future::FusedFuture;
use tokio::time::Instant;

fn notifier(systemd: &Systemd) -> Notifier {
    Notifier::connect(systemd.path()).expect("the socket is bound")
}

/// The gate's name, the instant and the trigger flag of an `Unhealthy` outcome.
fn unhealthy(poll: Poll<Silenced>) -> (String, Instant, bool) {
    match poll {
        Poll::Ready(Silenced::Unhealthy {
            gate,
            at,
            triggered,
        }) => (gate, at, triggered),
        Poll::Ready(other) => panic!("resolved {other:?}, not unhealthy"),
        Poll::Pending => panic!("still pending"),
    }
}

/// Advances to each of `instants` (ms from `start`), polls, and says which saw a ping.
async fn pings_at(
    probe: &mut Probe<Pinger>,
    systemd: &Systemd,
    start: Instant,
    instants: impl IntoIterator<Item = u64>,
) -> Vec<u64> {
    let mut pinged = Vec::new();
    for at in instants {
        advance_to(start, ms(at)).await;
        assert!(probe.poll().is_pending(), "resolved at {at} ms");
        match systemd.received().as_slice() {
            [] => {}
            [ping] if ping == PING => pinged.push(at),
            other => panic!("at {at} ms: {other:?}"),
        }
    }
    pinged
}

#[tokio::test(start_paused = true)]
async fn pings_at_the_first_poll_then_at_each_half_timeout() {
    let systemd = Systemd::bind("half");
    let start = Instant::now();
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)));
    assert!(
        systemd.received().is_empty(),
        "nothing before the first poll"
    );
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);

    for (before, at) in [(499, 500), (999, 1000), (1499, 1500), (1999, 2000)] {
        let wakes = pinger.wakes();
        advance_to(start, ms(before)).await;
        assert_eq!(pinger.wakes(), wakes, "no wakeup before {at} ms");
        assert!(pinger.poll().is_pending());
        assert!(systemd.received().is_empty(), "no ping at {before} ms");
        advance_to(start, ms(at)).await;
        assert_eq!(pinger.wakes(), wakes + 1, "woken at {at} ms");
        assert!(pinger.poll().is_pending());
        assert_eq!(systemd.received(), [PING], "a ping at {at} ms");
    }
}

#[tokio::test(start_paused = true)]
async fn a_beaten_gate_lets_every_ping_through() {
    let systemd = Systemd::bind("beaten");
    let start = Instant::now();
    let worker = Watchdog::new(ms(300));
    let heartbeat = worker.heartbeat();
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)).gate("worker", &worker));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    let mut pinged = Vec::new();
    for at in (100..=3000).step_by(100) {
        advance_to(start, ms(at)).await;
        assert!(heartbeat.beat());
        pinged.extend(pings_at(&mut pinger, &systemd, start, [at]).await);
    }
    assert_eq!(pinged, [500, 1000, 1500, 2000, 2500, 3000]);
}

#[tokio::test(start_paused = true)]
async fn no_ping_after_a_gate_expires_and_the_pinger_resolves_at_its_deadline() {
    // The module docs' timeline: beats every 100 ms until 1000, the gate's deadline at 1300.
    let systemd = Systemd::bind("wedge");
    let start = Instant::now();
    let worker = Watchdog::new(ms(300));
    let heartbeat = worker.heartbeat();
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)).gate("worker", &worker));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    let mut pinged = Vec::new();
    for at in (100..=1000).step_by(100) {
        advance_to(start, ms(at)).await;
        assert!(heartbeat.beat());
        pinged.extend(pings_at(&mut pinger, &systemd, start, [at]).await);
    }
    assert_eq!(pinged, [500, 1000]);

    // Wedged. The pinger slept to the deadline it saw at its last poll (1000 + 300).
    let wakes = pinger.wakes();
    advance_to(start, ms(1299)).await;
    assert_eq!(pinger.wakes(), wakes);
    assert!(
        pinger.poll().is_pending(),
        "1 ms before the deadline: healthy"
    );
    advance_to(start, ms(1300)).await;
    assert_eq!(pinger.wakes(), wakes + 1, "woken at the deadline itself");
    let (gate, at, triggered) = unhealthy(pinger.poll());
    assert_eq!(
        (gate.as_str(), at, triggered),
        ("worker", start + ms(1300), false)
    );
    assert!(systemd.received().is_empty(), "no trigger unless asked");
    assert!(pinger.get_ref().is_terminated());

    advance_to(start, ms(10_000)).await;
    assert_eq!(pinger.wakes(), wakes + 1, "nothing wakes a silenced pinger");
    assert!(pinger.poll().is_pending());
    assert!(systemd.received().is_empty(), "silent for good");
}

#[tokio::test(start_paused = true)]
async fn a_stale_gate_deadline_wakes_the_pinger_once_and_it_sleeps_on() {
    // The gate (200 ms) is shorter than the ping interval (500 ms): the pinger wakes at the
    // deadline it saw, finds the gate beaten since, and sleeps to the new one, sending nothing.
    let systemd = Systemd::bind("stale");
    let start = Instant::now();
    let worker = Watchdog::new(ms(200));
    let heartbeat = worker.heartbeat();
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)).gate("worker", &worker));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    advance_to(start, ms(150)).await;
    assert!(heartbeat.beat()); // the deadline moves from 200 to 350
    advance_to(start, ms(200)).await;
    assert_eq!(pinger.wakes(), 1);
    assert!(pinger.poll().is_pending());
    assert!(systemd.received().is_empty());
    advance_to(start, ms(349)).await;
    assert_eq!(pinger.wakes(), 1);
    advance_to(start, ms(350)).await;
    assert_eq!(pinger.wakes(), 2);
    let (gate, at, _) = unhealthy(pinger.poll());
    assert_eq!((gate.as_str(), at), ("worker", start + ms(350)));
    assert!(systemd.received().is_empty(), "the ping at 500 never comes");
}

#[tokio::test(start_paused = true)]
async fn a_gate_whose_deadline_is_a_ping_instant_stops_that_ping() {
    let systemd = Systemd::bind("same-instant");
    let start = Instant::now();
    let worker = Watchdog::new(ms(500));
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)).gate("worker", &worker));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    advance_to(start, ms(500)).await;
    let (_, at, _) = unhealthy(pinger.poll());
    assert_eq!(at, start + ms(500));
    assert!(
        systemd.received().is_empty(),
        "expired at 500: no ping at 500"
    );
}

#[tokio::test(start_paused = true)]
async fn a_gate_one_millisecond_short_of_its_deadline_still_pings() {
    let systemd = Systemd::bind("one-ms");
    let start = Instant::now();
    let worker = Watchdog::new(ms(501));
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)).gate("worker", &worker));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    advance_to(start, ms(500)).await;
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING], "1 ms left at 500: healthy");
    advance_to(start, ms(501)).await;
    let (_, at, _) = unhealthy(pinger.poll());
    assert_eq!(at, start + ms(501));
    assert!(systemd.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn watchdog_trigger_is_sent_the_moment_a_gate_fails_when_asked() {
    let systemd = Systemd::bind("trigger");
    let start = Instant::now();
    let worker = Watchdog::new(ms(700));
    let mut pinger = Probe::new(
        notifier(&systemd)
            .pinger(ms(1000))
            .gate("worker", &worker)
            .trigger_on_failure(true),
    );
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    assert_eq!(
        pings_at(&mut pinger, &systemd, start, [500, 699]).await,
        [500]
    );
    advance_to(start, ms(700)).await;
    let (gate, at, triggered) = unhealthy(pinger.poll());
    assert_eq!(
        (gate.as_str(), at, triggered),
        ("worker", start + ms(700), true)
    );
    assert_eq!(systemd.received(), [TRIGGER], "the trigger, and no ping");
    advance_to(start, ms(5000)).await;
    assert!(pinger.poll().is_pending());
    assert!(systemd.received().is_empty(), "one trigger only");
}

#[tokio::test(start_paused = true)]
async fn every_gate_must_be_healthy_and_the_failed_one_is_named() {
    let systemd = Systemd::bind("two-gates");
    let start = Instant::now();
    let (fast, slow) = (Watchdog::new(ms(300)), Watchdog::new(ms(1200)));
    let beat_fast = fast.heartbeat();
    let mut pinger = Probe::new(
        notifier(&systemd)
            .pinger(ms(1000))
            .gate("fast", &fast)
            .gate("slow", &slow),
    );
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    let mut pinged = Vec::new();
    for at in (100..=1100).step_by(100) {
        advance_to(start, ms(at)).await;
        assert!(beat_fast.beat());
        pinged.extend(pings_at(&mut pinger, &systemd, start, [at]).await);
    }
    assert_eq!(pinged, [500, 1000]);
    advance_to(start, ms(1200)).await;
    let (gate, at, _) = unhealthy(pinger.poll());
    assert_eq!((gate.as_str(), at), ("slow", start + ms(1200)));
    assert!(systemd.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_stopped_watchdog_fails_its_gate_by_the_next_ping() {
    let systemd = Systemd::bind("stopped");
    let start = Instant::now();
    let worker = Watchdog::new(ms(10_000));
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)).gate("worker", &worker));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    advance_to(start, ms(200)).await;
    assert!(worker.heartbeat().stop());
    advance_to(start, ms(500)).await;
    let (gate, at, _) = unhealthy(pinger.poll());
    assert_eq!((gate.as_str(), at), ("worker", start + ms(500)));
    assert!(systemd.received().is_empty(), "no ping at 500");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_watchdog_fails_its_gate_by_the_next_ping() {
    let systemd = Systemd::bind("dropped");
    let start = Instant::now();
    let worker = Watchdog::new(ms(10_000));
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)).gate("worker", &worker));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    assert_eq!(pings_at(&mut pinger, &systemd, start, [500]).await, [500]);
    drop(worker);
    advance_to(start, ms(1000)).await;
    let (_, at, _) = unhealthy(pinger.poll());
    assert_eq!(at, start + ms(1000));
    assert!(systemd.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_health_check_is_asked_before_every_ping_and_stops_them_when_false() {
    let systemd = Systemd::bind("health");
    let start = Instant::now();
    let healthy = Arc::new(AtomicBool::new(true));
    let calls = Arc::new(AtomicUsize::new(0));
    let (check, counted) = (healthy.clone(), calls.clone());
    let mut pinger = Probe::new(
        notifier(&systemd)
            .pinger(ms(1000))
            .gate_with("pool", move || {
                counted.fetch_add(1, Ordering::SeqCst);
                check.load(Ordering::SeqCst)
            }),
    );
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    assert_eq!(
        pings_at(&mut pinger, &systemd, start, [500, 1000]).await,
        [500, 1000]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3, "once per ping");
    advance_to(start, ms(1200)).await;
    healthy.store(false, Ordering::SeqCst);
    advance_to(start, ms(1500)).await;
    let (gate, at, _) = unhealthy(pinger.poll());
    assert_eq!((gate.as_str(), at), ("pool", start + ms(1500)));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert!(systemd.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_keepalives_key_gates_through_its_heartbeat() {
    let systemd = Systemd::bind("key");
    let start = Instant::now();
    let mut links = Keepalives::new(ms(800));
    let upstream = links.insert("upstream");
    let mut pinger = Probe::new(
        notifier(&systemd)
            .pinger(ms(1000))
            .gate_heartbeat("upstream", upstream.clone()),
    );
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    assert_eq!(pings_at(&mut pinger, &systemd, start, [500]).await, [500]);
    assert!(upstream.beat()); // the deadline moves from 800 to 1300
    advance_to(start, ms(800)).await;
    assert!(
        pinger.poll().is_pending(),
        "beaten: healthy at the old deadline"
    );
    assert_eq!(pings_at(&mut pinger, &systemd, start, [1000]).await, [1000]);
    advance_to(start, ms(1300)).await;
    let (gate, at, _) = unhealthy(pinger.poll());
    assert_eq!((gate.as_str(), at), ("upstream", start + ms(1300)));
    assert!(systemd.received().is_empty());
    drop(links);
}

#[tokio::test(start_paused = true)]
async fn a_late_poll_pings_once_and_the_grid_restarts_from_it() {
    let systemd = Systemd::bind("late");
    let start = Instant::now();
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    // A busy runtime: the pinger is not polled again until 1700.
    advance_to(start, ms(1700)).await;
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING], "one ping, not a burst of three");
    assert_eq!(
        pings_at(&mut pinger, &systemd, start, [2000, 2199, 2200, 2700]).await,
        [2200, 2700]
    );
}

#[tokio::test(start_paused = true)]
async fn a_ping_polled_a_little_late_stays_on_the_grid() {
    let systemd = Systemd::bind("grid");
    let start = Instant::now();
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    assert_eq!(pings_at(&mut pinger, &systemd, start, [620]).await, [620]);
    assert_eq!(
        pings_at(&mut pinger, &systemd, start, [999, 1000, 1500]).await,
        [1000, 1500]
    );
}

#[tokio::test(start_paused = true)]
async fn a_zero_timeout_is_disabled_and_a_tiny_one_pings_every_millisecond() {
    let systemd = Systemd::bind("tiny");
    let zero = notifier(&systemd).pinger(Duration::ZERO);
    assert_eq!(zero.disabled(), Some(&Disabled::ZeroTimeout));
    assert!(matches!(
        zero.await,
        Silenced::Disabled(Disabled::ZeroTimeout)
    ));

    let start = Instant::now();
    let mut pinger = Probe::new(notifier(&systemd).pinger(Duration::from_micros(1)));
    assert_eq!(pinger.get_ref().interval(), Some(ms(1)));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    assert_eq!(
        pings_at(&mut pinger, &systemd, start, [1, 2, 3]).await,
        [1, 2, 3]
    );
}

#[tokio::test(start_paused = true)]
async fn a_huge_timeout_pings_once_and_then_not_for_thirty_years() {
    let systemd = Systemd::bind("huge");
    let start = Instant::now();
    let mut pinger = Probe::new(notifier(&systemd).pinger(Duration::MAX));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    let year = Duration::from_secs(365 * 86_400);
    advance_to(start, year * 29).await;
    assert_eq!(pinger.wakes(), 0);
    assert!(pinger.poll().is_pending());
    assert!(systemd.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_disabled_pinger_resolves_at_its_first_poll_and_sends_nothing() {
    let mut pinger = Probe::new(Pinger::from_vars(None, None, None));
    match pinger.poll() {
        Poll::Ready(Silenced::Disabled(reason)) => assert_eq!(reason, Disabled::NoSocket),
        other => panic!("{other:?}"),
    }
    assert!(pinger.get_ref().is_terminated());
    assert!(pinger.poll().is_pending());
}

#[tokio::test(start_paused = true)]
async fn a_refused_ping_resolves_send_failed() {
    let mut systemd = Systemd::bind("refused");
    let start = Instant::now();
    let mut pinger = Probe::new(notifier(&systemd).pinger(ms(1000)));
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    systemd.close(); // systemd went away
    advance_to(start, ms(500)).await;
    match pinger.poll() {
        Poll::Ready(Silenced::SendFailed(error)) => {
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused)
        }
        other => panic!("{other:?}"),
    }
    assert!(pinger.get_ref().is_terminated());
}

#[tokio::test(start_paused = true)]
async fn ready_then_stopping_with_the_grace_in_microseconds_when_the_drain_starts() {
    let systemd = Systemd::bind("drain");
    let notifier = notifier(&systemd);
    assert!(notifier.ready().unwrap());
    assert_eq!(systemd.received(), ["READY=1\n"]);

    let shutdown = Shutdown::new();
    let token = shutdown.token();
    shutdown.spawn("flush", async move {
        token.cancelled().await;
        tokio::time::sleep(ms(300)).await;
    });
    shutdown.spawn("stubborn", std::future::pending::<()>());
    let start = Instant::now();
    let mut drain = Probe::new(notifier.drain(&shutdown, ms(2000)));
    assert!(drain.poll().is_pending());
    assert_eq!(
        systemd.received(),
        ["STOPPING=1\nEXTEND_TIMEOUT_USEC=2000000\n"],
        "sent as the drain starts, before it waits"
    );
    assert!(shutdown.is_triggered());
    let report = drain.get().await;
    assert_eq!(Instant::now() - start, ms(2000));
    assert_eq!(report.finished, ["flush"]);
    assert_eq!(report.aborted, ["stubborn"]);
    assert!(systemd.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_drain_runs_when_systemd_cannot_be_told() {
    let shutdown = Shutdown::new();
    shutdown.spawn("polite", shutdown.triggered());
    let report = Notifier::from_var(None).drain(&shutdown, ms(500)).await;
    assert_eq!(report.finished, ["polite"]);
}

#[test]
fn the_extension_rounds_up_to_the_microsecond_and_saturates() {
    let systemd = Systemd::bind("extend");
    let notifier = notifier(&systemd);
    for (extend, usec) in [
        (Duration::ZERO, 0u64),
        (Duration::from_nanos(1), 1),
        (Duration::from_nanos(1_001), 2),
        (Duration::from_secs(10), 10_000_000),
        (
            Duration::from_micros(u64::from(u32::MAX)),
            u64::from(u32::MAX),
        ),
        (
            Duration::from_micros(u64::from(u32::MAX) + 1),
            u64::from(u32::MAX),
        ),
        (Duration::MAX, u64::from(u32::MAX)),
    ] {
        assert!(notifier.stopping(extend).unwrap());
        assert_eq!(
            systemd.received(),
            [format!("STOPPING=1\nEXTEND_TIMEOUT_USEC={usec}\n")],
            "{extend:?}"
        );
    }
}

#[test]
fn a_pinger_is_built_without_a_runtime_and_runs_in_one() {
    let systemd = Systemd::bind("no-runtime");
    let worker = Watchdog::new(ms(700));
    let pinger = notifier(&systemd).pinger(ms(1000)).gate("worker", &worker);
    let runtime = common::paused_runtime();
    let start = runtime.block_on(async { Instant::now() });
    let silenced = runtime.block_on(pinger);
    let Silenced::Unhealthy { at, .. } = silenced else {
        panic!("{silenced:?}")
    };
    // The watchdog's window started at construction, before the runtime's paused clock read
    // its first instant: it fails no later than 700 ms into the run.
    assert!(at - start <= ms(700), "{:?}", at - start);
    assert_eq!(systemd.received(), [PING, PING]);
}

#[tokio::test(start_paused = true)]
async fn a_spawned_pinger_and_worker_on_a_paused_clock() {
    // The shape of a service: both spawned, the test only sleeps.
    let systemd = Systemd::bind("spawned");
    let notifier = notifier(&systemd);
    let worker = Watchdog::new(ms(300));
    let heartbeat = worker.heartbeat();
    let pinger = tokio::spawn(notifier.pinger(ms(1000)).gate("worker", &worker));
    let wedge = Arc::new(AtomicBool::new(false));
    let wedged = wedge.clone();
    tokio::spawn(async move {
        while !wedged.load(Ordering::SeqCst) {
            heartbeat.beat();
            tokio::time::sleep(ms(100)).await;
        }
        std::future::pending::<()>().await
    });
    let start = Instant::now();
    // The test looks 25 ms after each 50 ms mark, so that it never races a ping's instant.
    tokio::time::sleep(ms(25)).await;
    let mut seen = Vec::new();
    loop {
        let now = (Instant::now() - start).as_millis() as u64;
        seen.extend(systemd.received().into_iter().map(|d| (now, d)));
        if now == 2025 {
            wedge.store(true, Ordering::SeqCst);
        }
        if now >= 3025 {
            break;
        }
        tokio::time::sleep(ms(50)).await;
    }
    let Silenced::Unhealthy { gate, at, .. } = pinger.await.unwrap() else {
        panic!()
    };
    assert_eq!(gate, "worker");
    // The last beat was at 2000 (the worker sees the flag at 2100): the deadline is 2300.
    assert_eq!(at - start, ms(2300));
    let observed: Vec<u64> = seen.iter().map(|(t, _)| *t).collect();
    assert_eq!(observed, [25, 525, 1025, 1525, 2025], "{seen:?}");
    assert!(seen.iter().all(|(_, d)| d == PING));
}

/// The one test on the real clock: a 200 ms watchdog timeout (a ping every 100 ms), a worker
/// beating a 150 ms gate every 20 ms for a second, then wedged. Under 5 s.
#[tokio::test]
async fn soak_pings_on_the_real_clock_then_silence_and_the_trigger_after_the_wedge() {
    use std::time::Instant as Wall;
    let systemd = Systemd::bind("soak");
    let notifier = notifier(&systemd);
    let worker = Watchdog::new(ms(150));
    let heartbeat = worker.heartbeat();
    let began = Wall::now();
    let pinger = tokio::spawn(
        notifier
            .pinger(ms(200))
            .gate("worker", &worker)
            .trigger_on_failure(true),
    );
    let worked = tokio::spawn(async move {
        while began.elapsed() < ms(1000) {
            heartbeat.beat();
            tokio::time::sleep(ms(20)).await;
        }
        Wall::now() // the wedge
    });
    let mut arrivals: Vec<(Duration, String)> = Vec::new();
    let mut wedged_at = None;
    while began.elapsed() < ms(2000) {
        tokio::time::sleep(ms(5)).await;
        let now = began.elapsed();
        arrivals.extend(systemd.received().into_iter().map(|d| (now, d)));
        if wedged_at.is_none() && worked.is_finished() {
            wedged_at = Some(worked.await.unwrap() - began);
            break;
        }
    }
    // A pinger that ignored its gate would never resolve: the test fails instead of hanging.
    let silenced = tokio::time::timeout(ms(2000), pinger)
        .await
        .expect("the pinger resolves once the gate fails")
        .unwrap();
    let end = began.elapsed();
    arrivals.extend(systemd.received().into_iter().map(|d| (end, d)));
    let wedged_at = wedged_at.expect("the worker stopped");

    let Silenced::Unhealthy { triggered, .. } = silenced else {
        panic!("{silenced:?}")
    };
    assert!(triggered);
    let pings: Vec<Duration> = arrivals
        .iter()
        .filter(|(_, d)| d == PING)
        .map(|(t, _)| *t)
        .collect();
    // Generous slack for a loaded machine: every gap within twice the interval, and at
    // least half the expected pings in the second of work.
    assert!(pings.len() >= 5, "{arrivals:?}");
    for pair in pings.windows(2) {
        assert!(
            pair[1] - pair[0] <= ms(200),
            "a gap of {:?}: {arrivals:?}",
            pair[1] - pair[0]
        );
    }
    let last = *pings.last().unwrap();
    // Seen at most 5 ms (the test's polling) plus scheduling after it was sent.
    assert!(
        last <= wedged_at + ms(150) + ms(50),
        "a ping after the gate's deadline: {arrivals:?}"
    );
    assert_eq!(arrivals.last().unwrap().1, TRIGGER, "{arrivals:?}");
    assert!(arrivals.iter().filter(|(_, d)| d == TRIGGER).count() == 1);
    assert!(began.elapsed() < Duration::from_secs(5));
}
