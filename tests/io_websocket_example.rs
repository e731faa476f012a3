//! Runs `examples/websocket.rs` (a tokio-tungstenite server and three clients on 127.0.0.1)
//! and checks each client's fate from its report.

mod common;

use std::time::Duration;

/// The report line of `client`, split into its numbers and its fate.
fn report<'a>(stdout: &'a str, client: &str) -> (u32, u32, u32, &'a str) {
    let prefix = format!("client {client}: ");
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no report of {client} in\n{stdout}"));
    let fields: Vec<&str> = line.splitn(4, ", ").collect();
    let number = |i: usize, unit: &str| -> u32 {
        let field = fields[i]
            .strip_suffix(unit)
            .unwrap_or_else(|| panic!("{line}"));
        field.trim().parse().unwrap_or_else(|_| panic!("{line}"))
    };
    (
        number(0, " messages"),
        number(1, " pings"),
        number(2, " pongs"),
        fields[3],
    )
}

#[test]
fn the_websocket_example_drops_the_client_that_stops_answering_pings_and_keeps_the_others() {
    let (stdout, elapsed) = common::run_example("websocket");

    // chatty talks every 100 ms: never quiet for the 300 ms interval, never pinged.
    let (messages, pings, _, fate) = report(&stdout, "chatty");
    assert!(messages >= 10, "{stdout}");
    assert_eq!((pings, fate), (0, "left"), "{stdout}");

    // quiet says nothing, but its websocket answers every ping: pinged every interval, kept.
    let (messages, pings, pongs, fate) = report(&stdout, "quiet");
    assert_eq!(messages, 1, "{stdout}");
    assert!(pings >= 3, "{stdout}");
    assert!(pongs + 1 >= pings && pongs <= pings, "{stdout}");
    assert_eq!(fate, "left", "{stdout}");

    // frozen stops reading: one ping, no pong, dropped at interval + timeout (500 ms) of
    // silence; the upper bound leaves room for a loaded machine.
    let (messages, pings, pongs, fate) = report(&stdout, "frozen");
    assert_eq!((messages, pings, pongs), (1, 1, 0), "{stdout}");
    let silent: u64 = fate
        .strip_prefix("dropped after ")
        .and_then(|rest| rest.strip_suffix(" ms of silence"))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("frozen was not dropped:\n{stdout}"));
    assert!(
        (500..800).contains(&silent),
        "dropped after {silent} ms:\n{stdout}"
    );

    assert_eq!(stdout.matches("dropped: ").count(), 1, "{stdout}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}
