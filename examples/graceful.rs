//! A TCP server that stops gracefully on SIGTERM with [`Shutdown`].
//!
//! The server counts its connected users and records what they do: each connection is a
//! named task, an `event-recorder` writes events in batches, `db-sync` saves the presence
//! table periodically, and a `slow-exporter` starts a long export when the shutdown begins,
//! which cannot finish within the grace period. On shutdown the server stops accepting, tells
//! its clients goodbye, lets the background work finish within the grace period, aborts the
//! slow exporter and names it, runs its cleanup (marking every connected user offline)
//! exactly once although two tasks call `drain`, prints the report and exits 0.
//!
//! Run:
//! - `cargo run --example graceful`: a built-in client connects and sends a few events, and
//!   the server triggers its own shutdown after 1 s (ends in about 2.5 s).
//! - `cargo run --example graceful -- --wait-for-signal`: no built-in client and no timer; it
//!   waits for SIGINT, SIGTERM, SIGHUP or SIGQUIT (Ctrl-C elsewhere). A second signal during
//!   the drain forces it. Try `nc 127.0.0.1 PORT`, type a name, then events, then
//!   `kill -TERM <pid>`.
//!
//! Protocol: a client sends its name as the first line and gets `welcome NAME (N online)`;
//! every further line is an event. On shutdown the server writes `server shutting down`.
//!
//! Output: the first line is `listening on ADDR`; then a timeline (ms since start), in which
//! the cleanup prints `offline: USER, ...`; then the report, one `key: value` line each, for
//! scripts (`tests/shutdown_process.rs` reads them):
//!
//! ```text
//! finished: acceptor, event-recorder, db-sync, connection 1
//! panicked:
//! aborted: slow-exporter
//! abandoned: 0
//! forced: false
//! elapsed: 1503 ms
//! cleanup ran 1 time
//! ```
//!
//! With a second signal during the drain, `forced: true`, and the report comes as soon as
//! the signal does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadlines::{DrainReport, Shutdown};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

/// How long the background work gets to finish once the shutdown is triggered.
const GRACE: Duration = Duration::from_millis(1500);
/// Without `--wait-for-signal`, the server triggers its own shutdown after this long.
const RUN_FOR: Duration = Duration::from_secs(1);
/// The event recorder's last write.
const FINAL_WRITE: Duration = Duration::from_millis(100);
/// db-sync's final save.
const FINAL_SYNC: Duration = Duration::from_millis(50);
/// The export the slow exporter starts on shutdown: far longer than the grace period.
const EXPORT: Duration = Duration::from_secs(10);

/// Who is online: the "users" table of a database.
type Presence = Arc<Mutex<BTreeMap<String, bool>>>;

#[derive(Clone, Copy)]
struct Log(Instant);

impl Log {
    fn say(self, who: &str, what: &str) {
        println!("{:>5} ms  {who:<14} {what}", self.0.elapsed().as_millis());
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wait_for_signal = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--wait-for-signal") => true,
        Some(other) => {
            return Err(format!("unknown argument {other:?}; see the doc comment").into());
        }
    };
    let log = Log(Instant::now());

    let shutdown = Shutdown::new();
    // Before the first line: once a test reads "listening", SIGTERM no longer kills us.
    shutdown.listen_for_signals()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");

    let presence = Presence::default();
    let (events, recorded) = mpsc::channel(1024);
    shutdown.spawn(
        "acceptor",
        accept(shutdown.clone(), listener, presence.clone(), events, log),
    );
    shutdown.spawn(
        "event-recorder",
        record_events(shutdown.clone(), recorded, log),
    );
    shutdown.spawn(
        "db-sync",
        sync_presence(shutdown.clone(), presence.clone(), log),
    );
    shutdown.spawn("slow-exporter", export(shutdown.clone(), log));

    // The cleanup: mark every connected user offline, in one batch. It must run once.
    let cleanups = Arc::new(AtomicUsize::new(0));
    shutdown.on_cleanup({
        let (presence, cleanups) = (presence.clone(), cleanups.clone());
        move || async move {
            cleanups.fetch_add(1, Ordering::SeqCst);
            let mut users = presence.lock().unwrap();
            let online: Vec<String> = users
                .iter()
                .filter(|(_, on)| **on)
                .map(|(u, _)| u.clone())
                .collect();
            for user in &online {
                users.insert(user.clone(), false);
            }
            log.say(
                "cleanup",
                &format!("marked {} user(s) offline: {online:?}", online.len()),
            );
            print_names("offline", &online);
        }
    });

    // A second task that drains too, as a metrics flusher might: it gets the same report,
    // and the cleanup still runs once.
    let second_drain = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown.triggered().await;
            shutdown.drain(GRACE).await
        }
    });

    if wait_for_signal {
        log.say("server", "waiting for a signal (a second one forces)");
    } else {
        tokio::spawn(demo_client(addr, log));
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            sleep(RUN_FOR).await;
            log.say("timer", "triggering the shutdown");
            shutdown.trigger();
        });
    }

    shutdown.triggered().await;
    log.say(
        "server",
        &format!("shutdown triggered: draining, grace {GRACE:?}"),
    );
    let report = shutdown.drain(GRACE).await;
    log.say("server", "drained");
    let other = second_drain.await?;

    println!();
    print_report(&report);
    let ran = cleanups.load(Ordering::SeqCst);
    println!("cleanup ran {ran} time{}", if ran == 1 { "" } else { "s" });

    assert_eq!(other, report, "every drain call gets the one report");
    assert_eq!(ran, 1, "the cleanup ran exactly once");
    assert!(report.aborted.iter().any(|name| name == "slow-exporter"));
    assert!(presence.lock().unwrap().values().all(|online| !online));
    Ok(())
}

fn print_report(report: &DrainReport) {
    print_names("finished", &report.finished);
    print_names("panicked", &report.panicked);
    print_names("aborted", &report.aborted);
    println!("abandoned: {}", report.abandoned);
    println!("forced: {}", report.forced);
    println!("elapsed: {} ms", report.elapsed.as_millis());
}

/// `key: a, b, c`, or `key:` alone when there are none.
fn print_names(key: &str, names: &[String]) {
    if names.is_empty() {
        println!("{key}:");
    } else {
        println!("{key}: {}", names.join(", "));
    }
}

/// Accepts connections until the shutdown, each as a named task; then stops accepting.
async fn accept(
    shutdown: Shutdown,
    listener: TcpListener,
    presence: Presence,
    events: mpsc::Sender<String>,
    log: Log,
) {
    let mut connections = 0;
    loop {
        tokio::select! {
            () = shutdown.triggered() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections += 1;
                    let name = format!("connection {connections}");
                    log.say("acceptor", &format!("{name} from {peer}"));
                    let task = serve(shutdown.clone(), stream, presence.clone(), events.clone(), log);
                    shutdown.spawn(name, task);
                }
                Err(error) => log.say("acceptor", &format!("accept failed: {error}")),
            },
        }
    }
    drop(listener);
    log.say(
        "acceptor",
        &format!("stopped accepting after {connections} connection(s)"),
    );
}

/// One client: a name, then events, until it hangs up or the server shuts down.
async fn serve(
    shutdown: Shutdown,
    stream: TcpStream,
    presence: Presence,
    events: mpsc::Sender<String>,
    log: Log,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let triggered = shutdown.triggered();
    tokio::pin!(triggered);
    let mut user = None;
    loop {
        tokio::select! {
            () = &mut triggered => {
                // Presence is left to the cleanup hook, which marks everyone offline at once.
                let _ = write.write_all(b"server shutting down\n").await;
                break;
            }
            line = lines.next_line() => match (line, &user) {
                (Ok(Some(name)), None) => {
                    let online = {
                        let mut users = presence.lock().unwrap();
                        users.insert(name.clone(), true);
                        users.values().filter(|on| **on).count()
                    };
                    log.say("server", &format!("{name} connected ({online} online)"));
                    let _ = write.write_all(format!("welcome {name} ({online} online)\n").as_bytes()).await;
                    user = Some(name);
                }
                (Ok(Some(event)), Some(name)) => {
                    let _ = events.send(format!("{name}: {event}")).await;
                }
                (Ok(None) | Err(_), _) => {
                    if let Some(name) = &user {
                        presence.lock().unwrap().insert(name.clone(), false);
                        log.say("server", &format!("{name} disconnected"));
                    }
                    break;
                }
            },
        }
    }
}

/// Records events in batches; on shutdown, writes what is buffered and stops.
async fn record_events(shutdown: Shutdown, mut events: mpsc::Receiver<String>, log: Log) {
    let mut written = 0;
    loop {
        tokio::select! {
            () = shutdown.triggered() => break,
            event = events.recv() => match event {
                Some(event) => {
                    written += 1;
                    log.say("event-recorder", &format!("recorded {event:?}"));
                }
                None => break,
            },
        }
    }
    let mut last_batch = 0;
    while events.try_recv().is_ok() {
        last_batch += 1;
    }
    sleep(FINAL_WRITE).await;
    log.say(
        "event-recorder",
        &format!(
            "final write of {last_batch} buffered event(s) done; {} in all",
            written + last_batch
        ),
    );
}

/// Saves the presence table every 250 ms; on shutdown, saves once more and stops.
async fn sync_presence(shutdown: Shutdown, presence: Presence, log: Log) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    while shutdown
        .token()
        .run_until_cancelled(every.tick())
        .await
        .is_some()
    {
        let _snapshot = presence.lock().unwrap().clone(); // "UPDATE users ..."
    }
    sleep(FINAL_SYNC).await;
    log.say("db-sync", "final save done");
}

/// Starts a long export when the shutdown begins; the drain has to abort it.
async fn export(shutdown: Shutdown, log: Log) {
    struct Interrupted(Log);
    impl Drop for Interrupted {
        fn drop(&mut self) {
            self.0.say("slow-exporter", "dropped mid-export (aborted)");
        }
    }
    shutdown.triggered().await;
    log.say(
        "slow-exporter",
        &format!("exporting the day's report, needs {EXPORT:?}"),
    );
    let interrupted = Interrupted(log);
    sleep(EXPORT).await;
    std::mem::forget(interrupted);
    log.say("slow-exporter", "export done");
}

/// Without `--wait-for-signal`: a user who connects and sends a few events.
async fn demo_client(addr: std::net::SocketAddr, log: Log) -> std::io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"alice\n").await?;
    if let Some(welcome) = lines.next_line().await? {
        log.say("client", &format!("told: {welcome}"));
    }
    for event in ["opened the app", "liked a post", "added a comment"] {
        sleep(Duration::from_millis(200)).await;
        write.write_all(format!("{event}\n").as_bytes()).await?;
    }
    while let Some(line) = lines.next_line().await? {
        log.say("client", &format!("told: {line}"));
    }
    log.say("client", "connection closed by the server");
    Ok(())
}
