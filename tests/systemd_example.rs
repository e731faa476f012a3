//! Runs `examples/systemd.rs` (a service process under a supervisor that plays systemd: a
//! real notify socket, a real SIGTERM, the real clock) and checks the supervisor's log: ready,
//! regular pings, silence within one period of the wedge, then stopping with the extension.
#![cfg(all(unix, feature = "systemd", feature = "shutdown"))]

mod common;

use std::time::Duration;

/// The example's `WATCHDOG_USEC` (a ping every half of it), its worker's watchdog and its
/// grace period, as `examples/systemd.rs` sets them; the first line is checked to say so.
const WATCHDOG_USEC: Duration = Duration::from_millis(500);
const WORKER_TIMEOUT: Duration = Duration::from_millis(200);
const GRACE: Duration = Duration::from_millis(500);
/// How late the loaded 2-core machine may deliver a ping or schedule the worker: generous,
/// and still short of what each check tells apart.
const SLACK: Duration = Duration::from_millis(150);

/// The supervisor's lines: (ms since it started, what it logged).
fn supervisor_log(stdout: &str) -> Vec<(Duration, &str)> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("supervisor at "))
        .map(|rest| {
            let (ms, what) = rest.split_once(" ms: ").expect("`<ms> ms: <what>`");
            (
                Duration::from_millis(ms.parse().expect("milliseconds")),
                what,
            )
        })
        .collect()
}

#[test]
fn the_supervisor_sees_ready_pings_silence_after_the_wedge_and_stopping_with_the_extension() {
    let (stdout, elapsed) = common::run_example("systemd");
    let log = supervisor_log(&stdout);
    let at = |what: &str| -> Duration {
        log.iter()
            .find(|(_, line)| line.starts_with(what))
            .unwrap_or_else(|| panic!("no {what:?} in\n{stdout}"))
            .0
    };
    assert!(
        log[0]
            .1
            .ends_with(&format!("WATCHDOG_USEC={}", WATCHDOG_USEC.as_micros())),
        "the example's timeout changed: update this test\n{stdout}"
    );

    // Ready, then a ping every half period while the worker is healthy.
    let ready = at("READY=1");
    let wedge = at("wedge sent");
    let pings: Vec<Duration> = log
        .iter()
        .filter(|(_, line)| *line == "WATCHDOG=1")
        .map(|(t, _)| *t)
        .collect();
    let healthy: Vec<Duration> = pings.iter().copied().filter(|t| *t <= wedge).collect();
    assert!(
        healthy.len() >= 4,
        "a second of pings every 250 ms\n{stdout}"
    );
    assert!(
        healthy[0] <= ready + SLACK,
        "the first ping comes at once\n{stdout}"
    );
    for pair in healthy.windows(2) {
        assert!(
            pair[1] - pair[0] <= WATCHDOG_USEC / 2 + SLACK,
            "a gap of {:?} between pings\n{stdout}",
            pair[1] - pair[0]
        );
    }

    // Wedged: the pings stop within one period (in fact within the worker's own timeout),
    // the trigger follows, and the supervisor then heard nothing for a whole period.
    let last = *pings.last().unwrap();
    assert!(
        last <= wedge + WORKER_TIMEOUT + SLACK,
        "a ping {:?} after the wedge\n{stdout}",
        last.saturating_sub(wedge)
    );
    assert!(last < wedge + WATCHDOG_USEC, "{stdout}");
    let trigger = at("WATCHDOG=trigger");
    assert!(
        trigger > last && trigger <= wedge + WORKER_TIMEOUT + SLACK,
        "{stdout}"
    );
    let silent = at("silent: no ping for 500 ms");
    assert!(silent >= last + WATCHDOG_USEC, "{stdout}");
    assert!(
        log.iter()
            .filter(|(t, _)| *t > trigger)
            .all(|(_, line)| *line != "WATCHDOG=1" && *line != "WATCHDOG=trigger"),
        "nothing but the stop after the trigger\n{stdout}"
    );

    // SIGTERM: STOPPING=1 with the grace period as the extension, then a clean exit.
    let sigterm = at("SIGTERM sent");
    let stopping = at(&format!(
        "STOPPING=1 EXTEND_TIMEOUT_USEC={}",
        GRACE.as_micros()
    ));
    assert!(
        stopping >= sigterm && stopping <= sigterm + SLACK,
        "{stdout}"
    );
    let exited = at("service exited: exit status: 0");
    assert!(
        exited >= stopping + GRACE - SLACK,
        "the wedged worker held the drain to its grace\n{stdout}"
    );
    assert!(
        stdout.contains("service: drained: finished [], aborted [\"worker\"]"),
        "{stdout}"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "took {elapsed:?}\n{stdout}"
    );
}
