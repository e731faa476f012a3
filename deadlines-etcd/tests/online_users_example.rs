//! Runs `examples/online_users.rs` (the demo, with its two node processes) against an etcd this
//! test starts, and checks each user's fate from etcd itself: a watch on `online/` records when
//! each user's key was put and deleted, on this test's clock, and each deletion is checked
//! against the instant the demo wedged, killed or stopped the user's node.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::etcd::Etcd;
use etcd_client::{EventType, WatchOptions};
use tokio::time::Instant;

/// The example's TTL and renew period, its worker's watchdog (which gates the renewals); the
/// first lines of its output are checked to say so.
const TTL: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(1);
const WORKER_TIMEOUT: Duration = Duration::from_millis(500);
/// etcd's lessor looks for expired leases every 500 ms (`runLoop` in etcd's
/// `server/lease/lessor.go`), so it deletes a lapsed lease's keys up to this late.
const LESSOR: Duration = Duration::from_millis(500);
/// How late a loaded 2-core machine may start the demo, run a task or deliver a watch event.
const SLACK: Duration = Duration::from_millis(250);
/// A revoke is one round trip to etcd: far less than this, which is far less than a lapse.
const REVOKE_WITHIN: Duration = Duration::from_millis(500);
/// What the demo must take (it takes about 8 s; `docs/cluster.md` has the runs).
const DEMO_WITHIN: Duration = Duration::from_secs(30);
/// When the test stops waiting for the demo: well past `DEMO_WITHIN`, so that a slow demo
/// fails the `DEMO_WITHIN` check with its output rather than this time-out.
const KILL_AFTER: Duration = Duration::from_secs(60);

/// Builds the example with the cargo that runs this test (a target filter such as
/// `--test online_users_example` builds no example), in the profile of this test's directory.
fn example() -> std::path::PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args([
        "build",
        "--quiet",
        "--features",
        "etcd",
        "--example",
        "online_users",
    ]);
    command.args([
        "--manifest-path",
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
    ]);
    let exe = std::env::current_exe().expect("the test executable has a path");
    if exe.components().any(|c| c.as_os_str() == "release") {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(
        status.success(),
        "cargo build --example online_users: {status}"
    );
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executables live in target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("online_users{}", std::env::consts::EXE_SUFFIX))
}

/// A user's key as etcd's watch saw it: when it was put (and the node it named), when deleted.
#[derive(Debug, Default, Clone)]
struct Fate {
    put: Vec<(Duration, String)>,
    deleted: Vec<Duration>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_users_fate_in_etcd_follows_their_nodes_wedge_sigkill_and_sigterm() {
    let binary = example();
    let etcd = Etcd::start().await;
    let mut watcher = etcd.client().await;
    let mut events = watcher
        .watch("online/", Some(WatchOptions::new().with_prefix()))
        .await
        .expect("a watch on online/");

    let started = Instant::now();
    let demo = tokio::task::spawn_blocking({
        let endpoint = etcd.endpoint().to_owned();
        move || {
            Command::new(binary)
                .args(["--etcd", &endpoint])
                .stdin(Stdio::null())
                .output()
                .expect("the example runs")
        }
    });
    // Every event until the demo ends, on this test's clock.
    let mut fates: std::collections::BTreeMap<String, Fate> = Default::default();
    let watching = async {
        while let Ok(Some(answer)) = events.message().await {
            let at = started.elapsed();
            for event in answer.events() {
                let Some(kv) = event.kv() else { continue };
                let user = kv
                    .key_str()
                    .unwrap()
                    .trim_start_matches("online/")
                    .to_owned();
                let fate = fates.entry(user).or_default();
                match event.event_type() {
                    EventType::Put => fate.put.push((at, kv.value_str().unwrap().to_owned())),
                    EventType::Delete => fate.deleted.push(at),
                }
            }
        }
    };
    let output = tokio::select! {
        output = tokio::time::timeout(KILL_AFTER, demo) => {
            output.expect("the demo ends by itself").expect("the demo's thread")
        }
        () = watching => panic!("the watch ended"),
    };
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the demo exited {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(elapsed < DEMO_WITHIN, "took {elapsed:?}\n{stdout}");
    assert!(
        stdout.contains(&format!(
            "(TTL {TTL:?}, renewed every {RENEW:?} while the worker is healthy)"
        )),
        "the example's TTL changed: update this test\n{stdout}"
    );

    // The demo's own instants, in ms since it started (a little after `started`).
    let at = |what: &str| -> Duration {
        stdout
            .lines()
            .filter_map(|line| line.strip_prefix("demo at "))
            .find(|line| line.contains(what))
            .and_then(|line| line.split(" ms: ").next()?.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or_else(|| panic!("no {what:?} in\n{stdout}"))
    };
    let (wedge, sigkill, sigterm) = (
        at("wedge sent to a"),
        at("SIGKILL sent to b"),
        at("SIGTERM sent to b"),
    );
    let fate = |user: &str| -> Fate {
        fates
            .get(user)
            .cloned()
            .unwrap_or_else(|| panic!("etcd never saw {user}\n{stdout}"))
    };
    let report = format!("{fates:#?}\n{stdout}");

    // Each lapse is bounded by what etcd guarantees: no sooner than the last granted
    // renewal + TTL, and no later than that + the lessor's 500 ms check (+ SLACK). The last
    // renewal came at most one renew period before the node stopped renewing (a wedge: when
    // the gate failed, the worker's timeout after the wedge; a SIGKILL: at once).
    //
    // Node a wedged: its users go when the lease lapses, no sooner than TTL - one renew period
    // after the wedge (no revoke: a lapse).
    for user in ["alice", "bob"] {
        let fate = fate(user);
        assert_eq!(fate.put.len(), 1, "{user}\n{report}");
        assert_eq!(fate.put[0].1, "a", "{user} was on node a\n{report}");
        assert!(fate.put[0].0 <= wedge + SLACK, "{report}");
        let [deleted] = fate.deleted[..] else {
            panic!("{user} deleted {:?}\n{report}", fate.deleted)
        };
        assert!(
            deleted >= wedge + TTL - RENEW,
            "{user} went {:?} after the wedge: too soon for a lapse\n{report}",
            deleted.saturating_sub(wedge)
        );
        assert!(
            deleted <= wedge + WORKER_TIMEOUT + TTL + LESSOR + SLACK,
            "{user} went {:?} after the wedge\n{report}",
            deleted - wedge
        );
    }
    // Node b, healthy meanwhile, kept carol and dave until it was killed; then they went
    // within TTL + the lessor's check of the SIGKILL, and not at once.
    for user in ["carol", "dave"] {
        let fate = fate(user);
        assert_eq!(fate.put.len(), 1, "{user}\n{report}");
        assert_eq!(fate.put[0].1, "b", "{user} was on node b\n{report}");
        let [deleted] = fate.deleted[..] else {
            panic!("{user} deleted {:?}\n{report}", fate.deleted)
        };
        assert!(
            deleted >= sigkill + TTL - RENEW - SLACK,
            "{user} went {:?} after the SIGKILL: too soon for a lapse\n{report}",
            deleted.saturating_sub(sigkill)
        );
        assert!(
            deleted <= sigkill + TTL + LESSOR + SLACK,
            "{user} went {:?} after the SIGKILL\n{report}",
            deleted - sigkill
        );
    }
    // Node b again, restarted after the SIGKILL and stopped with SIGTERM: erin, put once on
    // it in between, went at once (the revoke).
    let erin = fate("erin");
    let [(put, ref node)] = erin.put[..] else {
        panic!("erin put {:?}\n{report}", erin.put)
    };
    assert_eq!(node, "b", "{report}");
    assert!(
        put >= sigkill && put <= sigterm + SLACK,
        "erin put at {put:?}, not between the SIGKILL and the SIGTERM\n{report}"
    );
    let [deleted] = erin.deleted[..] else {
        panic!("erin deleted {:?}\n{report}", erin.deleted)
    };
    assert!(
        deleted >= sigterm && deleted <= sigterm + REVOKE_WITHIN + SLACK,
        "erin went {:?} after the SIGTERM\n{report}",
        deleted.saturating_sub(sigterm)
    );
    assert_eq!(fates.len(), 5, "{report}");
    eprintln!("the demo ran for {elapsed:?}");
}
