//! The lease keeper against a real etcd server (the binary etcd-bin-vendored ships, started
//! by each test on 127.0.0.1): real-clock tests by necessity, since etcd keeps its own clock.
//! Every wait is bounded; each condition is polled until it holds or its bound passes, and the
//! instant it held is asserted against the bound. TTL 3 s: renew every 1 s, margin 1 s, retry
//! every 400 ms; etcd's lessor looks for expired leases every 500 ms (`LESSOR`).

mod common;

use std::time::Duration;

use common::etcd::Etcd;
use common::proxy::Proxy;
use common::{ms, poll_until};
use deadlines::{Shutdown, Watchdog};
use deadlines_etcd::{Ended, EtcdLeases, Lease, LeaseError, LeaseKeeper};
use etcd_client::{Client, PutOptions};
use tokio::time::Instant;

const TTL: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(1);
const MARGIN: Duration = Duration::from_secs(1);
/// How late a loaded 2-core machine may run a task or deliver an answer: generous, and still
/// short of what each check tells apart.
const SLACK: Duration = Duration::from_millis(200);
/// etcd's lessor looks for expired leases every 500 ms (`runLoop` in etcd's
/// `server/lease/lessor.go`: `revokeExpiredLeases`, then `time.After(500 * time.Millisecond)`),
/// so it deletes a lapsed lease's keys up to this late.
const LESSOR: Duration = Duration::from_millis(500);
/// How long the observer's reads may take before a test gives up on etcd: far more than a
/// loaded machine needs (they take a few milliseconds), so that only a wedged etcd fails.
const READ_WITHIN: Duration = Duration::from_secs(10);

/// A worker that beats a 1 s watchdog every 100 ms until `for_how_long` passed, then wedges.
fn worker(for_how_long: Duration) -> Watchdog {
    let watchdog = Watchdog::new(Duration::from_secs(1));
    let heartbeat = watchdog.heartbeat();
    tokio::spawn(async move {
        let until = Instant::now().checked_add(for_how_long);
        while until.is_none_or(|until| Instant::now() < until) {
            heartbeat.beat();
            tokio::time::sleep(ms(100)).await;
        }
        std::future::pending::<()>().await;
    });
    watchdog
}

async fn start(etcd: &str, worker: &Watchdog, shutdown: &Shutdown) -> (Lease, Client) {
    let client = Client::connect([etcd], None).await.expect("a client");
    let lease = LeaseKeeper::new(TTL)
        .gate("worker", worker)
        .start(EtcdLeases::new(&client), shutdown)
        .await
        .expect("etcd grants the lease");
    (lease, client)
}

async fn put_online(client: &mut Client, user: &str, lease: &Lease) {
    client
        .put(
            format!("online/{user}"),
            "node-1",
            Some(PutOptions::new().with_lease(lease.id())),
        )
        .await
        .expect("put");
}

async fn present(client: &mut Client, key: &str) -> bool {
    match tokio::time::timeout(READ_WITHIN, client.get(key, None)).await {
        Ok(Ok(answer)) => !answer.kvs().is_empty(),
        Ok(Err(error)) => panic!("the observer's get of {key} failed: {error}"),
        Err(_) => panic!("the observer's get of {key} took over {READ_WITHIN:?}: etcd is wedged"),
    }
}

/// The lease's remaining TTL as etcd reports it (whole seconds, rounded down); `None` once
/// etcd has no such lease (it answers TTL -1).
async fn remaining(client: &mut Client, id: i64) -> Option<i64> {
    let answer = tokio::time::timeout(READ_WITHIN, client.lease_time_to_live(id, None))
        .await
        .unwrap_or_else(|_| panic!("lease_time_to_live took over {READ_WITHIN:?}"))
        .expect("time to live");
    (answer.ttl() >= 0).then_some(answer.ttl())
}

/// The highest fence the keeper published until its keeping ended: the send time of the last
/// granted renewal + TTL - margin (closing the fence only lowers it). Sampled every 5 ms; the
/// renewals come a second apart, and the tests check that the renewal it names came within a
/// renew period of the failure, so a sample missed would show.
fn highest_fence(lease: &Lease) -> tokio::task::JoinHandle<Instant> {
    let lease = lease.clone();
    tokio::spawn(async move {
        let mut highest = lease.fence().until();
        while lease.ended_now().is_none() {
            highest = highest.max(lease.fence().until());
            tokio::time::sleep(ms(5)).await;
        }
        highest
    })
}

#[tokio::test]
async fn real_etcd_renewals_keep_the_lease_ttl_up_while_the_gate_is_healthy() {
    let etcd = Etcd::start().await;
    let shutdown = Shutdown::new();
    let worker = worker(Duration::MAX);
    let (lease, mut client) = start(etcd.endpoint(), &worker, &shutdown).await;
    put_online(&mut client, "alice", &lease).await;
    let start = Instant::now();
    let first_fence = lease.fence().until();

    // Two TTLs: without renewals the lease would be gone halfway through.
    let mut lowest = i64::MAX;
    while start.elapsed() < TTL * 2 {
        let left = remaining(&mut client, lease.id())
            .await
            .expect("the lease is held");
        lowest = lowest.min(left);
        tokio::time::sleep(ms(100)).await;
    }
    // Renewed every second: never below TTL - renew period, rounded down (1 s).
    assert!(lowest >= 1, "the lease's TTL fell to {lowest} s");
    assert!(present(&mut client, "online/alice").await);
    assert!(lease.ended_now().is_none());
    assert!(
        lease.fence().until() >= first_fence + TTL * 2 - RENEW - SLACK,
        "the fence followed the renewals"
    );
    drop(worker);
}

#[tokio::test]
async fn real_etcd_keys_go_by_the_last_renewal_plus_ttl_once_the_gate_fails() {
    let etcd = Etcd::start().await;
    let shutdown = Shutdown::new();
    let worker = worker(ms(1500)); // then wedged: its 1 s watchdog fails at about 2.5 s
    let (lease, mut client) = start(etcd.endpoint(), &worker, &shutdown).await;
    let fence = highest_fence(&lease);
    put_online(&mut client, "alice", &lease).await;

    let ended = tokio::time::timeout(Duration::from_secs(5), lease.ended())
        .await
        .expect("the gate fails within 5 s");
    let Ended::Unhealthy { gate, at: failed } = ended else {
        panic!("{ended}")
    };
    assert_eq!(gate, "worker");
    assert!(!lease.fence().is_open(), "the fence closes with the gate");
    assert!(
        !shutdown.is_triggered(),
        "a wedged node is not shut down by the keeper"
    );
    let last_sent = fence.await.expect("the sampler ran") - (TTL - MARGIN);
    assert!(
        last_sent <= failed && failed - last_sent <= RENEW + SLACK,
        "the last granted renewal went out {:?} before the failure",
        failed - last_sent
    );

    // From the failure on, etcd's count of the lease's TTL only goes down: no renewal went out.
    // etcd handled the last one before the keeper saw its answer, before the failure, so each
    // reading is at most what is left of the TTL from the failure, in whole seconds.
    let mut previous = i64::MAX;
    let gone = poll_until(TTL + LESSOR + SLACK * 2, async || {
        let asked = Instant::now();
        let Some(left) = remaining(&mut client, lease.id()).await else {
            return true;
        };
        let most = (failed + TTL).saturating_duration_since(asked).as_secs();
        assert!(
            left <= previous && u64::try_from(left).unwrap() <= most,
            "etcd's TTL read {left} s (before: {previous} s, at most {most} s): renewed after the failure"
        );
        previous = left;
        false
    })
    .await
    .expect("the lease goes");
    assert!(!present(&mut client, "online/alice").await, "with its key");
    // etcd counts the TTL from when it handled the renewal, after its send; it deletes the
    // keys at its next lessor check.
    assert!(
        gone >= last_sent + TTL,
        "gone {:?} after the last renewal's send: the lease lapsed early",
        gone - last_sent
    );
    assert!(
        gone <= last_sent + TTL + LESSOR + SLACK,
        "gone {:?} after the last renewal's send",
        gone - last_sent
    );
    drop(worker);
}

#[tokio::test]
async fn real_etcd_a_drain_after_the_gate_failed_still_revokes_the_lease() {
    let etcd = Etcd::start().await;
    let shutdown = Shutdown::new();
    let worker = worker(ms(500)); // its 1 s watchdog fails at about 1.5 s
    let (lease, mut client) = start(etcd.endpoint(), &worker, &shutdown).await;
    put_online(&mut client, "alice", &lease).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), lease.ended())
        .await
        .expect("the gate fails within 5 s");
    assert!(matches!(ended, Ended::Unhealthy { .. }), "{ended}");

    // A wedged node stopped with SIGTERM: its users must not wait out the TTL.
    let report = shutdown.drain(Duration::from_secs(2)).await;
    assert_eq!(report.finished, ["lease keeper"]);
    assert!(
        matches!(lease.ended_now(), Some(Ended::Revoked { .. })),
        "{:?}",
        lease.ended_now()
    );
    assert!(!present(&mut client, "online/alice").await, "gone at once");
    assert_eq!(remaining(&mut client, lease.id()).await, None);
    drop(worker);
}

#[tokio::test]
async fn real_etcd_drain_revokes_the_lease_and_its_keys_at_once() {
    let etcd = Etcd::start().await;
    let shutdown = Shutdown::new();
    let worker = worker(Duration::MAX);
    let (lease, mut client) = start(etcd.endpoint(), &worker, &shutdown).await;
    put_online(&mut client, "alice", &lease).await;
    put_online(&mut client, "bob", &lease).await;
    tokio::time::sleep(ms(1500)).await; // a renewal in between

    let draining = Instant::now();
    let report = shutdown.drain(Duration::from_secs(2)).await;
    let drained = draining.elapsed();
    assert_eq!(report.finished, ["lease keeper"]);
    assert!(drained < ms(500), "the drain took {drained:?}");
    assert!(matches!(lease.ended_now(), Some(Ended::Revoked { .. })));
    // Gone at once: no poll, one look.
    assert!(!present(&mut client, "online/alice").await);
    assert!(!present(&mut client, "online/bob").await);
    assert_eq!(remaining(&mut client, lease.id()).await, None);
    drop(worker);
}

#[tokio::test]
async fn real_etcd_a_lease_revoked_from_outside_triggers_the_shutdown() {
    let etcd = Etcd::start().await;
    let shutdown = Shutdown::new();
    let worker = worker(Duration::MAX);
    let (lease, _) = start(etcd.endpoint(), &worker, &shutdown).await;
    tokio::time::sleep(ms(1200)).await;

    let mut operator = etcd.client().await;
    let revoked = Instant::now();
    operator.lease_revoke(lease.id()).await.expect("revoke");
    tokio::time::timeout(RENEW + SLACK * 2, shutdown.triggered())
        .await
        .expect("the next renewal is refused and triggers the shutdown");
    let triggered = revoked.elapsed();
    let ended = lease.ended_now().expect("ended");
    assert!(
        matches!(ended, Ended::Lost { error: LeaseError::LeaseNotFound { id }, .. } if id == lease.id()),
        "{ended}"
    );
    assert!(!lease.fence().is_open());
    assert!(
        triggered <= RENEW + SLACK,
        "triggered {triggered:?} after the revoke"
    );
    drop(worker);
}

#[tokio::test]
async fn real_etcd_stopped_mid_run_triggers_the_shutdown_within_the_fence() {
    let mut etcd = Etcd::start().await;
    let shutdown = Shutdown::new();
    let worker = worker(Duration::MAX);
    let (lease, _) = start(etcd.endpoint(), &worker, &shutdown).await;
    tokio::time::sleep(ms(1500)).await;

    let fence = lease.fence().until();
    etcd.kill();
    tokio::time::timeout(TTL, shutdown.triggered())
        .await
        .expect("the shutdown is triggered");
    let Some(Ended::Lost { error, at }) = lease.ended_now() else {
        panic!("{:?}", lease.ended_now())
    };
    // The keeper gives up when no try can go out before the fence: by the fence at the
    // latest, give or take how late a loaded machine runs the keeper's timer.
    assert!(
        at <= fence + SLACK,
        "triggered {:?} after the fence ({error})",
        at - fence
    );
    assert!(
        matches!(
            error,
            LeaseError::Unreachable(_) | LeaseError::TimedOut { .. }
        ),
        "{error}"
    );
    drop(worker);
}

#[tokio::test]
async fn real_etcd_partitioned_the_fence_cuts_work_off_before_the_lease_can_lapse() {
    let etcd = Etcd::start().await;
    let proxy = Proxy::start(etcd.port()).await;
    let shutdown = Shutdown::new();
    let worker = worker(Duration::MAX);
    // The keeper reaches etcd through the proxy; the observer directly.
    let (lease, mut keeper_client) = start(proxy.endpoint(), &worker, &shutdown).await;
    put_online(&mut keeper_client, "leader", &lease).await;
    let mut observer = etcd.client().await;
    let leader_only = tokio::spawn({
        let fence = lease.fence().clone();
        async move {
            let cut = fence.guard(std::future::pending::<()>()).await;
            (Instant::now(), cut)
        }
    });
    tokio::time::sleep(ms(1500)).await;

    proxy.partition(); // renewals hang from now on; etcd runs on
    let (cut_at, cut) = tokio::time::timeout(TTL, leader_only)
        .await
        .expect("the work is cut off")
        .expect("the task ran");
    assert!(cut.is_err());
    let gone = poll_until(TTL + Duration::from_secs(2), async || {
        !present(&mut observer, "online/leader").await
    })
    .await
    .expect("etcd expires the lease");
    let ahead = gone - cut_at;
    // The fence stands a margin before the earliest expiry.
    assert!(
        ahead >= MARGIN - SLACK,
        "work cut off only {ahead:?} before the lease lapsed"
    );
    assert!(
        shutdown.is_triggered(),
        "no renewal in time: the shutdown is triggered"
    );
    let Some(Ended::Lost { at, .. }) = lease.ended_now() else {
        panic!("{:?}", lease.ended_now())
    };
    assert!(at <= gone);
    drop(worker);
}

#[tokio::test]
async fn real_etcd_an_unreachable_endpoint_is_an_error_not_a_panic() {
    // A port bound and never listened on, for as long as the test runs: connects to it are
    // refused, and no parallel test's etcd can take it (a port freed again could be).
    let reserved = tokio::net::TcpSocket::new_v4().expect("a socket");
    reserved
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind 127.0.0.1:0");
    let port = reserved.local_addr().expect("a local address").port();
    let nobody = format!("http://127.0.0.1:{port}");
    let client = Client::connect([&nobody], None)
        .await
        .expect("a lazy client");
    let started = Instant::now();
    let error = LeaseKeeper::new(TTL)
        .start(EtcdLeases::new(&client), &Shutdown::new())
        .await
        .expect_err("nothing listens there");
    assert!(
        matches!(
            error,
            LeaseError::Unreachable(_) | LeaseError::TimedOut { call: "grant", .. }
        ),
        "{error}"
    );
    assert!(
        started.elapsed() <= RENEW + SLACK,
        "the grant waits one renew period at most"
    );
    eprintln!("unreachable endpoint: {error}");
    drop(reserved);
}

#[tokio::test]
async fn real_etcd_a_ttl_below_its_minimum_is_refused_and_the_lease_revoked() {
    let etcd = Etcd::start().await;
    let mut client = etcd.client().await;
    let error = LeaseKeeper::new(Duration::from_secs(1))
        .renew_every(ms(300))
        .margin(ms(300))
        .start(EtcdLeases::new(&client), &Shutdown::new())
        .await
        .expect_err("etcd raises a 1 s TTL");
    let LeaseError::TtlBelowMinimum { asked, granted } = error else {
        panic!("{error}")
    };
    assert_eq!(
        (asked, granted),
        (Duration::from_secs(1), Duration::from_secs(2))
    );
    let leases = client.leases().await.expect("leases");
    assert!(leases.leases().is_empty(), "the lease granted was revoked");
}
