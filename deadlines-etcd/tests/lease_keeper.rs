//! The keeper's pure parts on a paused clock, against the in-memory lessor: the renew grid,
//! the fence arithmetic, the gate decisions, retries, refusals, time-outs, the revoke, and the
//! errors. Every instant is exact; none of these needs etcd or protoc.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::ms;
use deadlines::{Shutdown, Watchdog};
use deadlines_etcd::{
    CallKind, Ended, FenceClosed, Grant, Lease, LeaseApi, LeaseError, LeaseKeeper, MemoryLeases,
    Schedule,
};
use tokio::time::{Instant, sleep_until};

const TTL: Duration = Duration::from_secs(3);

async fn start_with(etcd: &MemoryLeases, keeper: LeaseKeeper) -> (Lease, Shutdown) {
    let shutdown = Shutdown::new();
    let lease = keeper
        .start(etcd.clone(), &shutdown)
        .await
        .expect("granted");
    (lease, shutdown)
}

/// The instants of the keep-alives handled, from `start`.
fn renewals(etcd: &MemoryLeases, start: Instant) -> Vec<Duration> {
    etcd.calls()
        .iter()
        .filter(|call| call.kind == CallKind::KeepAlive)
        .map(|call| call.at - start)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn renewals_go_out_every_third_of_the_ttl_and_move_the_fence() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, _shutdown) = start_keeper(&etcd).await;
    assert_eq!(
        lease.fence().until() - start,
        ms(2000),
        "grant at 0 + 3 s - 1 s"
    );
    sleep_until(start + ms(4500)).await;
    assert_eq!(
        renewals(&etcd, start),
        [ms(1000), ms(2000), ms(3000), ms(4000)]
    );
    assert_eq!(
        lease.fence().until() - start,
        ms(6000),
        "sent at 4 s + 3 s - 1 s"
    );
    assert_eq!(etcd.time_to_live(lease.id()), Some(ms(2500)));
}

async fn start_keeper(etcd: &MemoryLeases) -> (Lease, Shutdown) {
    start_with(etcd, LeaseKeeper::new(TTL)).await
}

#[tokio::test(start_paused = true)]
async fn the_fence_counts_from_the_send_not_the_answer() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    etcd.set_latency(ms(300));
    let (lease, _shutdown) = start_keeper(&etcd).await;
    assert_eq!(
        lease.fence().until() - start,
        ms(2000),
        "the grant was sent at 0"
    );
    sleep_until(start + ms(1500)).await; // the renewal sent at 1 s was handled at 1.3 s
    assert_eq!(renewals(&etcd, start), [ms(1300)]);
    assert_eq!(
        lease.fence().until() - start,
        ms(3000),
        "sent at 1 s + 3 s - 1 s"
    );
    // etcd holds it until 1.3 + 3 = 4.3 s: the fence stands the margin and the latency before.
    assert_eq!(etcd.time_to_live(lease.id()), Some(ms(2800)));
}

#[tokio::test(start_paused = true)]
async fn a_failed_gate_stops_the_renewals_and_closes_the_fence_at_once() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let worker = Watchdog::new(ms(2500)); // never beaten: fails at 2.5 s
    let (lease, shutdown) = start_with(&etcd, LeaseKeeper::new(TTL).gate("worker", &worker)).await;
    etcd.put("online/alice", "n1", lease.id()).unwrap();
    let ended = lease.ended().await;
    assert_eq!(
        ended,
        Ended::Unhealthy {
            gate: "worker".into(),
            at: start + ms(2500)
        }
    );
    assert_eq!(lease.fence().until() - start, ms(2500));
    assert!(!shutdown.is_triggered());
    sleep_until(start + ms(10_000)).await;
    assert_eq!(
        renewals(&etcd, start),
        [ms(1000), ms(2000)],
        "none after 2.5 s"
    );
    // The last renewal, sent at 2 s, held it until 5 s.
    assert!(etcd.get("online/alice").is_none());
    drop(worker);
}

#[tokio::test(start_paused = true)]
async fn a_beaten_gate_is_judged_anew_and_the_keeper_sleeps_on() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let worker = Watchdog::new(ms(700));
    let heartbeat = worker.heartbeat();
    let (lease, _shutdown) = start_with(&etcd, LeaseKeeper::new(TTL).gate("worker", &worker)).await;
    for step in 1..=20 {
        sleep_until(start + ms(500) * step).await;
        heartbeat.beat();
    }
    // Beaten every 500 ms up to 10 s, then silent: fails at 10.7 s.
    let Ended::Unhealthy { at, .. } = lease.ended().await else {
        panic!()
    };
    assert_eq!(at - start, ms(10_700));
    assert_eq!(renewals(&etcd, start).len(), 10, "1 s to 10 s");
    drop(worker);
}

#[tokio::test(start_paused = true)]
async fn a_health_check_is_asked_before_each_renewal() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let healthy = Arc::new(AtomicBool::new(true));
    let check = healthy.clone();
    let keeper = LeaseKeeper::new(TTL).gate_with("disk", move || check.load(Ordering::SeqCst));
    let (lease, _shutdown) = start_with(&etcd, keeper).await;
    sleep_until(start + ms(1500)).await;
    healthy.store(false, Ordering::SeqCst);
    let Ended::Unhealthy { gate, at } = lease.ended().await else {
        panic!()
    };
    assert_eq!(
        (gate.as_str(), at - start),
        ("disk", ms(2000)),
        "seen at the next wake"
    );
    assert_eq!(renewals(&etcd, start), [ms(1000)]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_renewal_triggers_the_shutdown() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    sleep_until(start + ms(1200)).await;
    assert!(etcd.revoke_now(lease.id()));
    shutdown.triggered().await;
    assert_eq!(Instant::now() - start, ms(2000), "at the next renewal");
    let Some(Ended::Lost { error, at }) = lease.ended_now() else {
        panic!()
    };
    assert!(matches!(error, LeaseError::LeaseNotFound { id } if id == lease.id()));
    assert_eq!(at - start, ms(2000));
    assert!(!lease.fence().is_open());
}

#[tokio::test(start_paused = true)]
async fn failed_renewals_are_retried_until_no_try_fits_before_the_fence() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    sleep_until(start + ms(500)).await;
    etcd.set_down(true);
    shutdown.triggered().await;
    // Tries at 1.0, 1.4, 1.8 s; the next (2.2 s) would come after the fence (2 s).
    assert_eq!(renewals(&etcd, start), [ms(1000), ms(1400), ms(1800)]);
    let Some(Ended::Lost { error, at }) = lease.ended_now() else {
        panic!()
    };
    assert!(matches!(error, LeaseError::Unreachable(_)), "{error}");
    assert_eq!(at - start, ms(1800), "before the fence");
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_is_granted_restarts_the_grid() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, _shutdown) = start_keeper(&etcd).await;
    sleep_until(start + ms(900)).await;
    etcd.set_down(true);
    sleep_until(start + ms(1200)).await;
    etcd.set_down(false);
    sleep_until(start + ms(3500)).await;
    assert_eq!(
        renewals(&etcd, start),
        [ms(1000), ms(1400), ms(2400), ms(3400)]
    );
    assert_eq!(lease.fence().until() - start, ms(5400));
    assert!(lease.ended_now().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_hung_renewal_waits_until_the_fence_and_no_later() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    let fenced = tokio::spawn({
        let fence = lease.fence().clone();
        async move { fence.guard(std::future::pending::<()>()).await }
    });
    sleep_until(start + ms(500)).await;
    etcd.set_hung(true);
    shutdown.triggered().await;
    assert_eq!(
        Instant::now() - start,
        ms(2000),
        "the try sent at 1 s waited until the fence"
    );
    let Some(Ended::Lost { error, .. }) = lease.ended_now() else {
        panic!()
    };
    assert!(
        matches!(error, LeaseError::TimedOut { call: "keep-alive", after } if after == ms(1000)),
        "{error}"
    );
    let closed: FenceClosed = fenced.await.unwrap().unwrap_err();
    assert_eq!(closed.until() - start, ms(2000));
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_revokes_the_lease_at_once_and_the_drain_waits_for_it() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    etcd.set_latency(ms(50));
    let (lease, shutdown) = start_keeper(&etcd).await;
    etcd.put("online/alice", "n1", lease.id()).unwrap();
    sleep_until(start + ms(1500)).await;
    let report = shutdown.drain(ms(500)).await;
    assert_eq!(report.finished, ["lease keeper"]);
    assert_eq!(report.elapsed, ms(50), "one revoke's round trip");
    assert_eq!(
        lease.ended_now(),
        Some(Ended::Revoked {
            at: start + ms(1550)
        })
    );
    assert_eq!(etcd.get("online/alice"), None);
    assert_eq!(etcd.calls().last().unwrap().kind, CallKind::Revoke);
    assert!(!lease.fence().is_open());
}

#[tokio::test(start_paused = true)]
async fn a_revoke_etcd_does_not_answer_gives_up_after_a_renew_period() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    etcd.set_hung(true);
    shutdown.trigger();
    let Ended::RevokeFailed { error, at } = lease.ended().await else {
        panic!()
    };
    assert!(matches!(error, LeaseError::TimedOut { call: "revoke", .. }));
    assert_eq!(at - start, ms(1000));
}

#[tokio::test(start_paused = true)]
async fn a_drain_shorter_than_the_revoke_aborts_the_keeper() {
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    etcd.set_hung(true);
    let report = shutdown.drain(ms(100)).await;
    assert_eq!(report.aborted, ["lease keeper"]);
    assert_eq!(lease.ended().await, Ended::Aborted);
}

#[tokio::test(start_paused = true)]
async fn a_ttl_below_the_minimum_is_refused_and_the_lease_revoked() {
    let etcd = MemoryLeases::new();
    let keeper = LeaseKeeper::new(Duration::from_secs(1))
        .renew_every(ms(300))
        .margin(ms(300));
    let error = keeper
        .start(etcd.clone(), &Shutdown::new())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        LeaseError::TtlBelowMinimum { asked, granted }
            if asked == Duration::from_secs(1) && granted == Duration::from_secs(2)
    ));
    let kinds: Vec<CallKind> = etcd.calls().iter().map(|call| call.kind).collect();
    assert_eq!(kinds, [CallKind::Grant, CallKind::Revoke]);
    assert_eq!(etcd.time_to_live(etcd.calls()[0].id), None);
}

#[tokio::test(start_paused = true)]
async fn invalid_ttls_and_schedules_are_refused_before_any_call() {
    let etcd = MemoryLeases::new();
    for ttl in [Duration::ZERO, ms(2500), Duration::MAX] {
        let error = LeaseKeeper::new(ttl)
            .start(etcd.clone(), &Shutdown::new())
            .await
            .unwrap_err();
        assert!(
            matches!(error, LeaseError::InvalidTtl(t) if t == ttl),
            "{error}"
        );
    }
    refused(
        &etcd,
        [
            LeaseKeeper::new(TTL).margin(TTL),
            LeaseKeeper::new(TTL).renew_every(ms(2000)),
            LeaseKeeper::new(TTL).renew_every(Duration::ZERO),
            LeaseKeeper::new(TTL).retry_every(Duration::ZERO),
        ],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_grant_etcd_does_not_answer_times_out_and_an_unreachable_one_fails_at_once() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    etcd.set_hung(true);
    let error = LeaseKeeper::new(TTL)
        .start(etcd.clone(), &Shutdown::new())
        .await
        .unwrap_err();
    assert!(matches!(error, LeaseError::TimedOut { call: "grant", after } if after == ms(1000)));
    assert_eq!(Instant::now() - start, ms(1000));
    etcd.set_down(true);
    let error = LeaseKeeper::new(TTL)
        .start(etcd.clone(), &Shutdown::new())
        .await
        .unwrap_err();
    assert!(matches!(error, LeaseError::Unreachable(_)));
    assert_eq!(Instant::now() - start, ms(1000));
}

#[tokio::test(start_paused = true)]
async fn a_guard_follows_the_renewals_and_never_polls_under_a_closed_fence() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    // Past the first fence (2 s), carried by the renewals.
    let long = lease.fence().guard(tokio::time::sleep(ms(5000)));
    assert_eq!(long.await, Ok(()));
    assert_eq!(Instant::now() - start, ms(5000));

    shutdown.trigger();
    lease.ended().await;
    let polled = Arc::new(AtomicBool::new(false));
    let flag = polled.clone();
    let late = lease.fence().guard(async move {
        flag.store(true, Ordering::SeqCst);
    });
    assert!(late.await.is_err());
    assert!(
        !polled.load(Ordering::SeqCst),
        "a closed fence is never crossed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fence_deadline_is_a_snapshot() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, _shutdown) = start_keeper(&etcd).await;
    let deadline = lease.fence().deadline();
    sleep_until(start + ms(1500)).await;
    assert_eq!(deadline.deadline(), Some(start + ms(2000)));
    assert_eq!(lease.fence().until(), start + ms(3000));
}

#[tokio::test(start_paused = true)]
async fn the_defaults_are_the_documented_fractions() {
    let schedule = Schedule::for_ttl(Duration::from_secs(15));
    assert_eq!(
        (schedule.renew_every, schedule.margin, schedule.retry_every),
        (ms(5000), ms(5000), ms(2000))
    );
    let keeper = LeaseKeeper::new(Duration::from_secs(15));
    assert_eq!(keeper.schedule(), schedule);
    let now = Instant::now();
    assert_eq!(
        schedule.fence_after(now, Duration::from_secs(15)),
        now + ms(10_000)
    );
    assert_eq!(schedule.fence_after(now, ms(1000)), now, "saturates");
}

/// The calls handled, as (kind, instant from `start`).
fn calls(etcd: &MemoryLeases, start: Instant) -> Vec<(CallKind, Duration)> {
    etcd.calls()
        .iter()
        .map(|call| (call.kind, call.at - start))
        .collect()
}

/// A keeper gated on a watchdog nobody beats, failing at 2.5 s after renewals at 1 and 2 s
/// (the last holds the lease until 5 s), drained at `drain_at`: how the keeping ended then,
/// the calls etcd handled, and the tasks the drain saw finish.
async fn drain_after_a_failed_gate(
    drain_at: Duration,
) -> (Ended, Vec<(CallKind, Duration)>, Vec<String>) {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let worker = Watchdog::new(ms(2500));
    let (lease, shutdown) = start_with(&etcd, LeaseKeeper::new(TTL).gate("worker", &worker)).await;
    etcd.put("online/alice", "n1", lease.id()).unwrap();
    let unhealthy = Ended::Unhealthy {
        gate: "worker".into(),
        at: start + ms(2500),
    };
    assert_eq!(lease.ended().await, unhealthy);
    sleep_until(start + drain_at).await;
    let held = etcd.get("online/alice").is_some();
    assert_eq!(
        held,
        drain_at < ms(5000),
        "held until 5 s by the renewal sent at 2 s"
    );
    let report = shutdown.drain(ms(500)).await;
    assert_eq!(etcd.get("online/alice"), None);
    assert!(!lease.fence().is_open());
    drop(worker);
    let ended = lease.ended_now().expect("ended");
    (ended, calls(&etcd, start), report.finished)
}

#[tokio::test(start_paused = true)]
async fn a_drain_after_a_failed_gate_still_revokes_while_the_lease_can_be_held() {
    let start = Instant::now();
    let (ended, calls, finished) = drain_after_a_failed_gate(ms(3000)).await;
    assert_eq!(
        finished,
        ["lease keeper"],
        "the drain waited for the revoke"
    );
    assert_eq!(
        ended,
        Ended::Revoked {
            at: start + ms(3000)
        }
    );
    assert_eq!(
        calls.last(),
        Some(&(CallKind::Revoke, ms(3000))),
        "the keys went at 3 s, not at 5 s"
    );
    // The last instant the lease may still be held: a drain then still revokes.
    let start = Instant::now();
    let (ended, calls, _) = drain_after_a_failed_gate(ms(4999)).await;
    assert_eq!(
        ended,
        Ended::Revoked {
            at: start + ms(4999)
        }
    );
    assert_eq!(calls.last(), Some(&(CallKind::Revoke, ms(4999))));
}

#[tokio::test(start_paused = true)]
async fn once_the_lease_has_lapsed_a_failed_gates_keeper_ends_and_revokes_nothing() {
    for drain_at in [ms(5000), ms(8000)] {
        let (ended, calls, finished) = drain_after_a_failed_gate(drain_at).await;
        if drain_at > ms(5000) {
            assert!(
                finished.is_empty(),
                "the keeper's task ended at 5 s, before the drain"
            );
        }
        assert!(matches!(ended, Ended::Unhealthy { .. }), "{ended}");
        assert_eq!(
            calls.iter().map(|call| call.0).collect::<Vec<_>>(),
            [CallKind::Grant, CallKind::KeepAlive, CallKind::KeepAlive],
            "no revoke"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_wait_after_a_failed_gate_counts_from_the_answer_not_the_send() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let worker = Watchdog::new(ms(2500));
    let (lease, shutdown) = start_with(&etcd, LeaseKeeper::new(TTL).gate("worker", &worker)).await;
    etcd.put("online/alice", "n1", lease.id()).unwrap();
    etcd.set_latency(ms(300)); // renewals sent at 1 and 2 s, handled at 1.3 and 2.3 s
    lease.ended().await;
    assert_eq!(renewals(&etcd, start), [ms(1300), ms(2300)]);
    // Past the last send + TTL (5 s), before etcd's handling + TTL (5.3 s): still held.
    sleep_until(start + ms(5100)).await;
    assert!(etcd.get("online/alice").is_some());
    etcd.set_latency(Duration::ZERO);
    shutdown.drain(ms(500)).await;
    assert_eq!(
        lease.ended_now(),
        Some(Ended::Revoked {
            at: start + ms(5100)
        })
    );
    assert_eq!(etcd.get("online/alice"), None);
    drop(worker);
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_while_a_keep_alive_is_in_flight_revokes_at_once() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    etcd.set_latency(ms(300)); // the renewal sent at 1 s would be handled at 1.3 s
    sleep_until(start + ms(1100)).await;
    shutdown.trigger();
    assert_eq!(
        lease.ended().await,
        Ended::Revoked {
            at: start + ms(1400)
        }
    );
    assert_eq!(
        lease.fence().until() - start,
        ms(1100),
        "closed at the trigger"
    );
    assert_eq!(
        calls(&etcd, start),
        [(CallKind::Grant, ms(0)), (CallKind::Revoke, ms(1400))],
        "the keep-alive in flight was dropped, the revoke went out at 1.1 s"
    );
}

#[tokio::test(start_paused = true)]
async fn a_gate_failing_while_a_keep_alive_is_in_flight_ends_the_keeping_at_once() {
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let worker = Watchdog::new(ms(1100)); // fails at 1.1 s
    let (lease, shutdown) = start_with(&etcd, LeaseKeeper::new(TTL).gate("worker", &worker)).await;
    etcd.set_latency(ms(300)); // the renewal sent at 1 s would be handled at 1.3 s
    let ended = lease.ended().await;
    assert_eq!(
        ended,
        Ended::Unhealthy {
            gate: "worker".into(),
            at: start + ms(1100)
        }
    );
    assert_eq!(lease.fence().until() - start, ms(1100));
    assert!(!shutdown.is_triggered());
    assert_eq!(
        calls(&etcd, start),
        [(CallKind::Grant, ms(0))],
        "dropped in flight"
    );
    // The abandoned keep-alive counts as handled at 1.1 s, so a drain until 4.1 s still tries
    // to revoke; here etcd never got it and the lease lapsed at 3 s.
    sleep_until(start + ms(3500)).await;
    etcd.set_latency(Duration::ZERO);
    shutdown.drain(ms(500)).await;
    let Some(Ended::RevokeFailed { error, at }) = lease.ended_now() else {
        panic!("{:?}", lease.ended_now())
    };
    assert!(matches!(error, LeaseError::LeaseNotFound { .. }), "{error}");
    assert_eq!(at - start, ms(3500));
    drop(worker);
}

#[tokio::test(start_paused = true)]
async fn a_renewal_answered_at_the_fence_instant_is_too_late_and_one_a_millisecond_sooner_is_not() {
    // Answered a millisecond before the fence (2 s): granted, the fence moves to 3 s.
    let start = Instant::now();
    let etcd = MemoryLeases::new();
    let (lease, shutdown) = start_keeper(&etcd).await;
    etcd.set_latency(ms(999));
    sleep_until(start + ms(2500)).await;
    assert_eq!(renewals(&etcd, start), [ms(1999)]);
    assert_eq!(lease.fence().until() - start, ms(3000));
    assert!(!shutdown.is_triggered());

    // Answered at the fence itself, or within its millisecond (the timer wheel rounds the
    // latency's end up to it): too late. The lease is lost, the fence stays where it closed.
    for latency in [Duration::from_millis(1000), Duration::from_micros(999_500)] {
        let start = Instant::now();
        let etcd = MemoryLeases::new();
        let (lease, shutdown) = start_keeper(&etcd).await;
        etcd.set_latency(latency);
        tokio::time::timeout(ms(10_000), shutdown.triggered())
            .await
            .expect("the lease is lost at the fence");
        assert_eq!(renewals(&etcd, start), [ms(2000)], "{latency:?}");
        let Some(Ended::Lost { error, at }) = lease.ended_now() else {
            panic!("{:?}", lease.ended_now())
        };
        assert_eq!(at - start, ms(2000));
        assert!(
            matches!(error, LeaseError::TimedOut { call: "keep-alive", after } if after == ms(1000)),
            "{error}"
        );
        assert_eq!(lease.fence().until() - start, ms(2000));
        assert_eq!(
            etcd.time_to_live(lease.id()),
            Some(ms(3000)),
            "etcd did renew it"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn duration_max_periods_are_refused_or_mean_never() {
    let etcd = MemoryLeases::new();
    refused(
        &etcd,
        [
            LeaseKeeper::new(TTL).margin(Duration::MAX),
            LeaseKeeper::new(TTL).renew_every(Duration::MAX),
        ],
    )
    .await;

    // `retry_every(Duration::MAX)`: a failed renewal is never retried, so the first failure
    // leaves no try before the fence: the lease is lost then.
    let start = Instant::now();
    let keeper = LeaseKeeper::new(TTL).retry_every(Duration::MAX);
    let (lease, shutdown) = start_with(&etcd, keeper).await;
    sleep_until(start + ms(500)).await;
    etcd.set_down(true);
    shutdown.triggered().await;
    assert_eq!(renewals(&etcd, start), [ms(1000)]);
    let Some(Ended::Lost { error, at }) = lease.ended_now() else {
        panic!("{:?}", lease.ended_now())
    };
    assert!(matches!(error, LeaseError::Unreachable(_)), "{error}");
    assert_eq!(at - start, ms(1000));
}

/// A server that grants a second less than asked (etcd never does).
struct Shortening(MemoryLeases);

impl LeaseApi for Shortening {
    async fn grant(&mut self, ttl: Duration) -> Result<Grant, LeaseError> {
        let grant = self.0.grant(ttl).await?;
        Ok(Grant {
            ttl: grant.ttl.saturating_sub(ms(1000)),
            ..grant
        })
    }

    async fn keep_alive(&mut self, id: i64) -> Result<Duration, LeaseError> {
        self.0.keep_alive(id).await
    }

    async fn revoke(&mut self, id: i64) -> Result<(), LeaseError> {
        self.0.revoke(id).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_shorter_ttl_than_asked_is_refused_with_its_own_error_and_the_lease_revoked() {
    let etcd = MemoryLeases::new();
    let error = LeaseKeeper::new(TTL)
        .start(Shortening(etcd.clone()), &Shutdown::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, LeaseError::TtlShortened { asked, granted } if asked == TTL && granted == ms(2000)),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "the server granted a 2s lease where 3s was asked: the keeper's renewals and fence are \
         computed for the TTL asked"
    );
    let kinds: Vec<CallKind> = etcd.calls().iter().map(|call| call.kind).collect();
    assert_eq!(kinds, [CallKind::Grant, CallKind::Revoke]);
}

#[test]
fn every_public_type_has_debug() {
    fn debug<T: std::fmt::Debug>() {}
    debug::<LeaseKeeper>();
    debug::<Lease>();
    debug::<Ended>();
    debug::<LeaseError>();
    debug::<MemoryLeases>();
    debug::<deadlines_etcd::Fence>();
    debug::<deadlines_etcd::Fenced<std::future::Ready<()>>>();
    debug::<FenceClosed>();
    debug::<Schedule>();
    debug::<deadlines_etcd::Grant>();
    debug::<deadlines_etcd::MemoryCall>();
    debug::<CallKind>();
    let keeper = LeaseKeeper::new(TTL).gate_with("disk", || true);
    assert!(format!("{keeper:?}").contains("disk"));
}

/// Each keeper's `start` fails with `InvalidSchedule` before it calls etcd.
async fn refused(etcd: &MemoryLeases, keepers: impl IntoIterator<Item = LeaseKeeper>) {
    for keeper in keepers {
        let error = keeper
            .start(etcd.clone(), &Shutdown::new())
            .await
            .unwrap_err();
        assert!(
            matches!(error, LeaseError::InvalidSchedule { .. }),
            "{error}"
        );
    }
    assert!(etcd.calls().is_empty());
}
