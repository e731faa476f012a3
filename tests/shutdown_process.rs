//! The `graceful` example as a real process: a real TCP client, real signals sent with
//! `kill`. The example must have been built (`cargo test` builds examples; with a target
//! filter, run `cargo build --example graceful` first).
//!
//! This is the one place where tests wait on the wall clock: for the child's lines, each with
//! a generous timeout, so that a loaded machine slows the test down instead of failing it.
#![cfg(all(unix, feature = "shutdown"))]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Generous: the example itself ends within about 2 s of the signal.
const PATIENCE: Duration = Duration::from_secs(30);

/// The example's process; killed if the test fails before it exits.
struct Server {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(common::example_path("graceful"))
            .arg("--wait-for-signal")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the graceful example starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `wanted`, and returns it.
    fn wait_for_line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line {what} within {PATIENCE:?}; output: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the example ended before {what}; output: {:#?}", self.seen)
                }
            }
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("the kill binary runs");
        assert!(status.success(), "kill -{signal} failed: {status}");
    }

    /// Reads the rest of the output and the exit status.
    fn finish(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the example did not end; output: {:#?}", self.seen)
                }
            }
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting on the child") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the example closed its output but did not exit"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The value of the report line `key: value`.
    fn report(&self, key: &str) -> String {
        let prefix = format!("{key}:");
        let line = self
            .seen
            .iter()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in {:#?}", self.seen));
        line[prefix.len()..].trim().to_owned()
    }

    fn names(&self, key: &str) -> Vec<String> {
        let value = self.report(key);
        value
            .split(", ")
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the server, connects a user named `bob` and waits for the welcome.
fn server_with_bob() -> (Server, TcpStream, BufReader<TcpStream>) {
    let mut server = Server::start();
    let first = server.wait_for_line("`listening on ADDR`", |_| true);
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the first line is `listening on ADDR`, not {first:?}"));
    let mut client = TcpStream::connect(addr).expect("the server accepts");
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut from_server = BufReader::new(client.try_clone().unwrap());
    client.write_all(b"bob\nopened the app\n").unwrap();
    let mut welcome = String::new();
    from_server.read_line(&mut welcome).unwrap();
    assert_eq!(welcome, "welcome bob (1 online)\n");
    (server, client, from_server)
}

#[test]
fn sigterm_drains_aborts_the_slow_task_names_it_and_cleans_up_once() {
    let (mut server, _client, mut from_server) = server_with_bob();
    server.wait_for_line("recording bob's event", |line| {
        line.contains("recorded \"bob: opened the app\"")
    });

    server.signal("TERM");
    let mut goodbye = String::new();
    from_server.read_line(&mut goodbye).unwrap();
    assert_eq!(goodbye, "server shutting down\n", "clients are told");

    let status = server.finish();
    assert!(
        status.success(),
        "exit status {status}; output: {:#?}",
        server.seen
    );
    assert_eq!(server.names("aborted"), ["slow-exporter"]);
    let finished = server.names("finished");
    for task in ["acceptor", "event-recorder", "db-sync", "connection 1"] {
        assert!(
            finished.iter().any(|name| name == task),
            "{task} finished: {finished:?}"
        );
    }
    assert_eq!(server.report("forced"), "false");
    assert_eq!(
        server.names("offline"),
        ["bob"],
        "the cleanup marked bob offline"
    );
    assert_eq!(
        server
            .seen
            .iter()
            .filter(|line| line.starts_with("cleanup ran"))
            .collect::<Vec<_>>(),
        ["cleanup ran 1 time"]
    );
}

#[test]
fn a_second_signal_forces_the_drain() {
    let (mut server, _client, _from_server) = server_with_bob();

    server.signal("TERM");
    // The first signal has been received: the drain is waiting for the slow exporter.
    server.wait_for_line("`draining`", |line| line.contains("draining"));
    server.signal("TERM");

    let status = server.finish();
    assert!(
        status.success(),
        "exit status {status}; output: {:#?}",
        server.seen
    );
    assert_eq!(server.report("forced"), "true");
    assert!(
        server
            .names("aborted")
            .contains(&"slow-exporter".to_owned())
    );
    assert_eq!(server.names("offline"), ["bob"]);
    assert_eq!(
        server
            .seen
            .iter()
            .filter(|line| line.starts_with("cleanup ran"))
            .collect::<Vec<_>>(),
        ["cleanup ran 1 time"]
    );
}
