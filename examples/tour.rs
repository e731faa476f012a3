//! The tour: every primitive of `deadlines` at work in one small TCP server on 127.0.0.1,
//! with scripted clients, on the real clock.
//!
//! - The server tracks its sessions with one [`Keepalives`] set: each connection task beats its
//!   session's [`Heartbeat`] on every line it reads, and the server loop disconnects the
//!   sessions that fall silent.
//! - Each connection's outgoing side is a stream of lines with
//!   [`keepalive`](StreamDeadlineExt::keepalive): after a period with nothing to say, it writes
//!   `: keep-alive`. Live clients answer `pong`; a hung client does not, and expires.
//! - Configuration changes arrive in bursts; [`debounce_batch`](StreamDeadlineExt::debounce_batch)
//!   applies each burst once, when it has settled.
//! - A metrics flusher is supervised by a [`Watchdog`]: it hangs once, the watchdog fires, the
//!   supervisor retires it, re-arms the watchdog and starts a new one.
//! - Background tasks run in a [`TaskSet`] of the shutdown; the operator stops the indexer by
//!   key, with a grace period, and gets its [`TaskExit`]; the drain stops the rest.
//! - Every service task is spawned through a [`Shutdown`]; at the end the operator drains it
//!   with a grace period: the tasks wind down, the `slow-exporter` (which ignores its token) is
//!   aborted and named, and a cleanup hook runs once.
//! - A [`Deadline`] bounds the whole run: should anything hang, the tour fails loudly.
//!
//! Four scripted clients exercise each path: `healthy` pings and leaves cleanly, `silent`
//! pings a few times then hangs (expired by `Keepalives`), `bursty` sends a burst of
//! configuration changes, and `idle` says nothing of its own but answers the keep-alive lines
//! until the server shuts down.
//!
//! The program prints a timeline (milliseconds since start, who acted, and in brackets the
//! primitive that decided it), then `summary:` lines, one per path, that
//! `tests/tour_example.rs` checks. It checks its own story with assertions, and ends by itself
//! in about 3 seconds. A progress line goes to stderr every second.
//!
//! Run: `cargo run --example tour`.

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::fmt::Display;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadlines::stream::{KeepaliveItem, StreamDeadlineExt};
use deadlines::{
    Deadline, DrainReport, Expired, Heartbeat, Keepalives, Shutdown, TaskExit, TaskSet, Watchdog,
};
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

// Every two timings whose order matters are at least 3x apart, so that a loaded machine
// delays the story without changing it.

/// A session expires once no line came from its client for this long (`Keepalives`).
const SESSION_TIMEOUT: Duration = Duration::from_millis(600);
/// A connection writes `: keep-alive` after this long with nothing to say (`.keepalive`).
const KEEPALIVE_PERIOD: Duration = Duration::from_millis(200);
/// What the server writes to a quiet connection; live clients answer `pong`.
const KEEP_ALIVE: &str = ": keep-alive";
/// The healthy client pings this often, this many times, then says bye.
const PING_EVERY: Duration = Duration::from_millis(100);
const HEALTHY_PINGS: u32 = 15;
/// The silent client pings this many times, then hangs.
const SILENT_PINGS: u32 = 3;
/// The bursty client sends its configuration changes at this point, this far apart.
const BURST_AT: Duration = Duration::from_millis(400);
const CHANGE_EVERY: Duration = Duration::from_millis(15);
const CHANGES: [&str; 6] = [
    "log_level=debug",
    "pool_size=8",
    "log_level=trace",
    "pool_size=16",
    "search=on",
    "log_level=info",
];
/// A burst of configuration changes has settled once none came for this long
/// (`.debounce_batch`).
const CONFIG_SETTLE: Duration = Duration::from_millis(250);
/// The metrics flusher flushes, and beats its watchdog, this often.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// The watchdog fires once the flusher has not beaten for this long.
const WATCHDOG_TIMEOUT: Duration = Duration::from_millis(400);
/// The first flusher hangs after this many flushes.
const HANG_AFTER: u32 = 6;
/// The background tasks' rhythms, and the indexer's wind-down (saving a checkpoint).
const INDEX_EVERY: Duration = Duration::from_millis(50);
const REPORT_EVERY: Duration = Duration::from_millis(250);
const CHECKPOINT: Duration = Duration::from_millis(50);
/// When the operator stops the indexer, and how long it gives a background task to stop.
const INDEXER_STOP_AT: Duration = Duration::from_millis(1300);
const TASK_GRACE: Duration = Duration::from_millis(500);
/// When the operator shuts the server down (once healthy, silent and bursty are done).
const SHUTDOWN_AT: Duration = Duration::from_millis(2400);
/// How long the service tasks get to wind down once the shutdown is triggered.
const GRACE: Duration = Duration::from_millis(600);
/// The slow exporter works in chunks of this long, and never looks at its token.
const EXPORT_CHUNK: Duration = Duration::from_millis(300);
/// How long a connection the server closes waits for its client to hang up.
const CLOSE_LINGER: Duration = Duration::from_millis(200);
/// The tour fails loudly if it is still running after this long.
const RUN_LIMIT: Duration = Duration::from_secs(9);

/// Who is online: the "users" table of a database.
type Presence = Arc<Mutex<BTreeMap<String, bool>>>;
/// The background tasks: keyed by name, each returns a line about what it did.
type Background = TaskSet<&'static str, String>;

/// The timeline: milliseconds since the start, who acted or which primitive decided, what.
#[derive(Clone, Copy)]
struct Log(Instant);

impl Log {
    fn say(self, who: &str, what: impl Display) {
        println!("{:>5} ms  {who:<18} {what}", self.0.elapsed().as_millis());
    }

    /// An expiry, as the timeline shows it: its deadline and how late it was observed.
    fn expiry(self, expired: &Expired) -> String {
        format!(
            "deadline +{} ms, seen {:.1} ms late",
            (expired.deadline() - self.0).as_millis(),
            expired.overdue().as_secs_f64() * 1e3
        )
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let log = Log(Instant::now());
    // Every wait of the tour is bounded by its story; this bounds the whole, should one hang.
    let limit = Deadline::after(RUN_LIMIT);
    tokio::select! {
        result = tour(log) => result,
        expired = limit => {
            let hangs = format!("the tour hangs: still running at {}", log.expiry(&expired));
            Err(hangs.into())
        }
    }
}

async fn tour(log: Log) -> Result<(), Box<dyn Error>> {
    println!("deadlines tour: a server on 127.0.0.1, four scripted clients, every primitive");
    println!("(ms since start, who acted or, in brackets, the primitive that decided)");
    println!();

    // The service: every task spawned through one `Shutdown`.
    let shutdown = Shutdown::new();
    // A service would also call `shutdown.listen_for_signals()?` here, to drain on SIGTERM
    // (see examples/graceful.rs); the tour triggers its own shutdown.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    log.say(
        "server",
        format!("listening on {addr}; sessions expire after {SESSION_TIMEOUT:?} without a line"),
    );
    let presence = Presence::default();
    let open = Arc::new(AtomicUsize::new(0));
    let (changes, changes_rx) = mpsc::unbounded_channel();
    let (notices, notices_rx) = mpsc::unbounded_channel();
    let server = Server::new(presence.clone(), open.clone(), log);
    let server = shutdown.spawn(
        "server",
        server.run(shutdown.clone(), listener, changes, notices_rx),
    );
    let config = shutdown.spawn(
        "config",
        apply_config(shutdown.clone(), changes_rx, notices, log),
    );
    let (restarted, flusher_restarted) = oneshot::channel();
    let supervisor = shutdown.spawn(
        "metrics-supervisor",
        supervise_metrics(shutdown.clone(), restarted, log),
    );
    // A set of the shutdown: the drain stops what is left of it, within the same grace.
    let tasks: Background = shutdown.task_set("background");
    tasks.spawn("reporter", reporter);
    tasks.spawn("indexer", indexer);
    log.say(
        "operator",
        "background tasks reporter and indexer started in a TaskSet",
    );
    shutdown.spawn("slow-exporter", export(log));
    let cleanups = mark_offline_on_cleanup(&shutdown, presence.clone(), log);

    // The clients.
    let progress = tokio::spawn(progress(open, log));
    let healthy = tokio::spawn(healthy(addr, log));
    let silent = tokio::spawn(silent(addr, log));
    let bursty = tokio::spawn(bursty(addr, log));
    let idle = tokio::spawn(idle(addr, log));

    // The operator: stops the indexer by key, then, once the scripted clients are done and
    // the flusher was restarted, shuts the service down.
    sleep_until(log.0 + INDEXER_STOP_AT).await;
    log.say(
        "operator",
        format!("stops the indexer by key: stop_and_wait(\"indexer\", grace {TASK_GRACE:?})"),
    );
    let asked = Instant::now();
    let indexer = tasks
        .stop_and_wait("indexer", TASK_GRACE)
        .await
        .ok_or("the indexer was not running")?;
    log.say(
        "[TaskSet]",
        format!(
            "indexer wound down within its grace period: {indexer:?} after {} ms",
            asked.elapsed().as_millis()
        ),
    );
    let (healthy, silent, bursty) = (healthy.await??, silent.await??, bursty.await??);
    flusher_restarted.await?;
    sleep_until(log.0 + SHUTDOWN_AT).await;
    log.say(
        "operator",
        format!("shutting down, as on SIGTERM: drain with a grace period of {GRACE:?}"),
    );
    let drained = shutdown.drain(GRACE).await;
    log.say(
        "[Shutdown]",
        format!(
            "drained in {} ms: finished [{}], aborted [{}]",
            drained.elapsed.as_millis(),
            drained.finished.join(", "),
            drained.aborted.join(", ")
        ),
    );
    let idle = idle.await??;
    progress.abort();

    // What each task saw: the drain waited for them, so they are done.
    let outcome = Outcome {
        server: server.await?,
        batches: config.await?,
        supervision: supervisor.await?,
        indexer,
        drained,
        cleanups: cleanups.load(Ordering::SeqCst),
        clients: [healthy, silent, bursty, idle],
    };
    println!();
    outcome.print_summary();
    outcome.check();
    assert!(presence.lock().unwrap().values().all(|online| !online));
    println!();
    println!(
        "the tour ended by itself after {:.1} s; every path checked",
        log.0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Registers the cleanup: mark every user still connected offline, in one batch. It must run
/// once; the returned counter says how many times it ran.
fn mark_offline_on_cleanup(shutdown: &Shutdown, presence: Presence, log: Log) -> Arc<AtomicUsize> {
    let cleanups = Arc::new(AtomicUsize::new(0));
    let runs = cleanups.clone();
    shutdown.on_cleanup(move || async move {
        runs.fetch_add(1, Ordering::SeqCst);
        let online: Vec<String> = {
            let mut users = presence.lock().unwrap();
            let online: Vec<String> = users
                .iter()
                .filter(|(_, on)| **on)
                .map(|(user, _)| user.clone())
                .collect();
            for user in &online {
                users.insert(user.clone(), false);
            }
            online
        };
        log.say(
            "[Shutdown]",
            format!(
                "cleanup hook: marked {} user(s) offline: {}",
                online.len(),
                online.join(", ")
            ),
        );
    });
    cleanups
}

/// What every part of the tour saw.
struct Outcome {
    server: ServerReport,
    /// The size of each configuration batch applied.
    batches: Vec<usize>,
    supervision: Supervision,
    indexer: TaskExit<String>,
    drained: DrainReport,
    cleanups: usize,
    /// healthy, silent, bursty, idle.
    clients: [ClientReport; 4],
}

impl Outcome {
    /// One line per path, for `tests/tour_example.rs`.
    fn print_summary(&self) {
        let Self {
            server,
            batches,
            supervision,
            drained,
            ..
        } = self;
        println!("summary: keepalives expired {}", server.expired.join(", "));
        for name in &server.left_cleanly {
            println!("summary: {name} left cleanly");
        }
        println!(
            "summary: watchdog fired {} time{}, worker {}",
            supervision.fired,
            plural(supervision.fired),
            if supervision.restarts > 0 {
                "restarted"
            } else {
                "not restarted"
            }
        );
        let sizes: Vec<String> = batches.iter().map(usize::to_string).collect();
        println!(
            "summary: debounce applied {} config batch{} of {} changes",
            batches.len(),
            if batches.len() == 1 { "" } else { "es" },
            sizes.join(" + ")
        );
        println!(
            "summary: keepalive sent {} lines to idle",
            self.sent_to("idle")
        );
        println!("summary: task_set stopped indexer: {:?}", self.indexer);
        println!(
            "summary: shutdown drained: finished [{}], aborted [{}], cleanup ran {} time{}",
            drained.finished.join(", "),
            drained.aborted.join(", "),
            self.cleanups,
            plural(self.cleanups)
        );
    }

    /// The story, checked.
    fn check(&self) {
        let Self {
            server,
            supervision,
            drained,
            clients: [healthy, silent, bursty, idle],
            ..
        } = self;
        assert_eq!(server.expired, ["silent"], "only the silent client expired");
        assert_eq!(server.left_cleanly, ["bursty", "healthy"]);
        assert_eq!(server.closed_at_shutdown, ["idle"]);
        assert_eq!(server.sessions_left, 0, "every session left the set");
        assert_eq!(silent.received.last().map(String::as_str), Some("timeout"));
        assert!(
            bursty
                .received
                .iter()
                .any(|l| l.starts_with("config applied")),
            "bursty was told its config was applied"
        );
        assert_eq!(
            idle.received.last().map(String::as_str),
            Some("shutting down")
        );
        assert!(self.sent_to("idle") >= 1, "idle was sent keep-alive lines");
        assert_eq!(
            idle.keepalives,
            self.sent_to("idle"),
            "and received each one"
        );
        assert!(healthy.keepalives <= self.sent_to("healthy"));
        assert_eq!(
            (supervision.fired, supervision.restarts),
            (1, 1),
            "the watchdog fired once, on the hung flusher"
        );
        assert!(
            supervision.stopped_cleanly,
            "flusher #2 stopped its watchdog"
        );
        assert_eq!(self.batches, [CHANGES.len()], "one burst, applied once");
        assert!(self.indexer.is_finished(), "the indexer stopped in time");
        assert_eq!(
            drained.finished,
            [
                "server",
                "config",
                "metrics-supervisor",
                "background[\"reporter\"]",
                "metrics-flusher"
            ]
        );
        assert_eq!(drained.aborted, ["slow-exporter"]);
        assert!(drained.panicked.is_empty() && !drained.forced);
        assert_eq!(
            (drained.hooks_run, self.cleanups),
            (1, 1),
            "the cleanup ran once"
        );
    }

    /// How many keep-alive lines the server sent to a client.
    fn sent_to(&self, name: &str) -> u32 {
        self.server.keepalives_sent.get(name).copied().unwrap_or(0)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Every second, one line on stderr, so that a slow machine shows it is not stuck.
async fn progress(open: Arc<AtomicUsize>, log: Log) {
    let mut every =
        tokio::time::interval_at(log.0 + Duration::from_secs(1), Duration::from_secs(1));
    loop {
        every.tick().await;
        eprintln!(
            "        ... {:.0} s: {} session(s) open",
            log.0.elapsed().as_secs_f64(),
            open.load(Ordering::Relaxed)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The server: one Keepalives set for every session, owned by the server loop.

/// What a connection task tells the server loop.
enum Event {
    Hello { id: u64, name: String },
    Bye { id: u64 },
    Ended { id: u64, keepalives: u32 },
}

/// A configuration change, from a client to the config task.
struct Change {
    from: String,
    setting: String,
}

struct Session {
    name: String,
    /// The connection's outgoing lines; dropping it closes the connection.
    outgoing: Option<mpsc::UnboundedSender<String>>,
    said_bye: bool,
    expired: bool,
}

/// What the server saw, returned by its task.
#[derive(Default)]
struct ServerReport {
    expired: Vec<String>,
    /// Sorted by name.
    left_cleanly: Vec<String>,
    closed_at_shutdown: Vec<String>,
    keepalives_sent: BTreeMap<String, u32>,
    sessions_left: usize,
}

struct Server {
    keepalives: Keepalives<u64>,
    sessions: HashMap<u64, Session>,
    next_id: u64,
    report: ServerReport,
    presence: Presence,
    open: Arc<AtomicUsize>,
    log: Log,
}

impl Server {
    fn new(presence: Presence, open: Arc<AtomicUsize>, log: Log) -> Self {
        Self {
            keepalives: Keepalives::new(SESSION_TIMEOUT),
            sessions: HashMap::new(),
            next_id: 0,
            report: ServerReport::default(),
            presence,
            open,
            log,
        }
    }

    async fn run(
        mut self,
        shutdown: Shutdown,
        listener: TcpListener,
        changes: mpsc::UnboundedSender<Change>,
        mut notices: mpsc::UnboundedReceiver<String>,
    ) -> ServerReport {
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let mut triggered = pin!(shutdown.triggered());
        loop {
            tokio::select! {
                () = &mut triggered => break,
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        self.accept(stream, events_tx.clone(), changes.clone());
                    }
                }
                Some(event) = events.recv() => self.on_event(event),
                Some((id, expired)) = self.keepalives.next() => self.expire(id, &expired),
                Some(notice) = notices.recv() => self.broadcast(&notice),
            }
        }

        // Shut down: stop accepting, tell every client, wait for their connections to close.
        drop(listener);
        drop(events_tx);
        let mut told = Vec::new();
        for session in self.sessions.values_mut() {
            if let Some(outgoing) = session.outgoing.take() {
                let _ = outgoing.send("shutting down".to_owned());
                told.push(session.name.clone());
            }
        }
        self.log.say(
            "[Shutdown]",
            format!(
                "server stops accepting; tells {} \"shutting down\"",
                told.join(", ")
            ),
        );
        while !self.sessions.is_empty() {
            match events.recv().await {
                Some(event) => self.on_event(event),
                None => break,
            }
        }
        self.report.left_cleanly.sort();
        self.report.sessions_left = self.keepalives.len();
        self.report
    }

    /// A new connection: a key in the set, and a task that beats it.
    fn accept(
        &mut self,
        stream: TcpStream,
        events: mpsc::UnboundedSender<Event>,
        changes: mpsc::UnboundedSender<Change>,
    ) {
        self.next_id += 1;
        let id = self.next_id;
        // The set is the loop's; the connection task gets its key's heartbeat.
        let heartbeat = self.keepalives.insert(id);
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        let session = Session {
            name: format!("session {id}"),
            outgoing: Some(outgoing),
            said_bye: false,
            expired: false,
        };
        self.sessions.insert(id, session);
        let connection = Connection {
            id,
            name: format!("session {id}"),
            heartbeat,
            events,
            changes,
            keepalives: 0,
            log: self.log,
        };
        tokio::spawn(connection.run(stream, outgoing_rx));
    }

    /// A line for every client still connected.
    fn broadcast(&self, notice: &str) {
        for session in self.sessions.values() {
            if let Some(outgoing) = &session.outgoing {
                let _ = outgoing.send(notice.to_owned());
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Hello { id, name } => {
                if let Some(session) = self.sessions.get_mut(&id) {
                    self.log.say("server", format!("session {id} is {name}"));
                    self.presence.lock().unwrap().insert(name.clone(), true);
                    session.name = name;
                }
            }
            Event::Bye { id } => {
                if let Some(session) = self.sessions.get_mut(&id) {
                    session.said_bye = true;
                    self.presence
                        .lock()
                        .unwrap()
                        .insert(session.name.clone(), false);
                }
            }
            Event::Ended { id, keepalives } => {
                let in_set = self.keepalives.remove(&id);
                let Some(session) = self.sessions.remove(&id) else {
                    return;
                };
                let how = if session.said_bye {
                    self.report.left_cleanly.push(session.name.clone());
                    "said bye and hung up"
                } else if session.expired {
                    "closed after expiring"
                } else if session.outgoing.is_none() {
                    self.report.closed_at_shutdown.push(session.name.clone());
                    "closed at shutdown"
                } else {
                    "hung up without a bye"
                };
                let removed = if in_set {
                    "; removed from the Keepalives set"
                } else {
                    ""
                };
                self.log.say(
                    "server",
                    format!(
                        "{} {how}{removed} ({keepalives} keep-alive lines were sent to it)",
                        session.name
                    ),
                );
                self.report.keepalives_sent.insert(session.name, keepalives);
            }
        }
        self.open.store(self.sessions.len(), Ordering::Relaxed);
    }

    /// A session fell silent: tell its client, and close the connection.
    fn expire(&mut self, id: u64, expired: &Expired) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        session.expired = true;
        self.report.expired.push(session.name.clone());
        self.presence
            .lock()
            .unwrap()
            .insert(session.name.clone(), false);
        // The outgoing stream ends after this line, and the connection closes.
        if let Some(outgoing) = session.outgoing.take() {
            let _ = outgoing.send("timeout".to_owned());
        }
        self.log.say(
            "[Keepalives]",
            format!(
                "session {} expired: no line for {SESSION_TIMEOUT:?} ({}); disconnecting",
                session.name,
                self.log.expiry(expired)
            ),
        );
    }
}

/// The server side of one client.
struct Connection {
    id: u64,
    /// `session N` until the client says hello.
    name: String,
    heartbeat: Heartbeat,
    events: mpsc::UnboundedSender<Event>,
    changes: mpsc::UnboundedSender<Change>,
    /// Keep-alive lines written.
    keepalives: u32,
    log: Log,
}

impl Connection {
    /// Reads lines (each beats the session) and writes the server's lines, with a keep-alive
    /// line after each quiet period, until the client hangs up or the server closes.
    async fn run(mut self, stream: TcpStream, mut outgoing: mpsc::UnboundedReceiver<String>) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        // Each line comes out marked: the server's (`Source`) or a keep-alive (`Injected`).
        let outgoing = futures_util::stream::poll_fn(move |cx| outgoing.poll_recv(cx))
            .keepalive(KEEPALIVE_PERIOD, || KEEP_ALIVE.to_owned());
        let mut outgoing = pin!(outgoing);
        let closed_by_server = loop {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => self.on_line(line),
                    _ => break false, // the client hung up
                },
                out = outgoing.next() => {
                    let Some(out) = out else {
                        break true; // the server closed the session
                    };
                    let line = self.render(out);
                    if write_line(&mut write, &line).await.is_err() {
                        break false;
                    }
                }
            }
        };
        if closed_by_server {
            // A graceful close: end our side, then read until the client ends its side, so
            // that no unread line turns the close into a reset that loses our last line.
            let _ = write.shutdown().await;
            let _ = tokio::time::timeout(CLOSE_LINGER, async {
                while let Ok(Some(_)) = lines.next_line().await {}
            })
            .await;
        }
        let (id, keepalives) = (self.id, self.keepalives);
        let _ = self.events.send(Event::Ended { id, keepalives });
    }

    fn on_line(&mut self, line: String) {
        self.heartbeat.beat(); // no lock, no message: one atomic operation
        if let Some(name) = line.strip_prefix("hello ") {
            self.name = name.to_owned();
            let hello = Event::Hello {
                id: self.id,
                name: self.name.clone(),
            };
            let _ = self.events.send(hello);
        } else if let Some(setting) = line.strip_prefix("config ") {
            let change = Change {
                from: self.name.clone(),
                setting: setting.to_owned(),
            };
            let _ = self.changes.send(change);
        } else if line == "bye" {
            let _ = self.events.send(Event::Bye { id: self.id });
        } // `ping` and `pong` only keep the session alive
    }

    fn render(&mut self, out: KeepaliveItem<String>) -> String {
        match out {
            KeepaliveItem::Source(line) => line,
            KeepaliveItem::Injected(line) => {
                self.keepalives += 1;
                if self.keepalives == 1 {
                    let name = &self.name;
                    let why = format!("nothing else for it in {KEEPALIVE_PERIOD:?}");
                    let what = format!("first {KEEP_ALIVE:?} to {name}: {why}");
                    self.log.say("[.keepalive]", what);
                }
                line
            }
        }
    }
}

async fn write_line(write: &mut OwnedWriteHalf, line: &str) -> io::Result<()> {
    write.write_all(format!("{line}\n").as_bytes()).await
}

// ---------------------------------------------------------------------------------------------
// Configuration: bursts of changes, applied once each burst has settled.

async fn apply_config(
    shutdown: Shutdown,
    mut changes: mpsc::UnboundedReceiver<Change>,
    notices: mpsc::UnboundedSender<String>,
    log: Log,
) -> Vec<usize> {
    let changes = futures_util::stream::poll_fn(move |cx| changes.poll_recv(cx));
    let mut batches = pin!(changes.debounce_batch(CONFIG_SETTLE));
    let mut triggered = pin!(shutdown.triggered());
    let mut config = BTreeMap::new();
    let mut applied = Vec::new();
    loop {
        tokio::select! {
            () = &mut triggered => break,
            Some(batch) = batches.next() => {
                let settled = apply(&mut config, &batch);
                let mut from: Vec<&str> = batch.iter().map(|change| change.from.as_str()).collect();
                from.dedup();
                log.say("[.debounce_batch]", format!(
                    "{} changes from {} settled ({CONFIG_SETTLE:?} quiet): applied once: {settled}",
                    batch.len(),
                    from.join(", "),
                ));
                applied.push(batch.len());
                let _ = notices.send(format!("config applied: {settled}"));
            }
        }
    }
    applied
}

/// Applies a batch of `key=value` changes in order; returns the resulting configuration.
fn apply(config: &mut BTreeMap<String, String>, batch: &[Change]) -> String {
    for change in batch {
        let (key, value) = change
            .setting
            .split_once('=')
            .unwrap_or((&change.setting, ""));
        config.insert(key.to_owned(), value.to_owned());
    }
    let settings: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    settings.join(" ")
}

// ---------------------------------------------------------------------------------------------
// The metrics flusher, under a watchdog.

/// What the supervisor saw, returned by its task.
struct Supervision {
    fired: usize,
    restarts: usize,
    stopped_cleanly: bool,
}

async fn supervise_metrics(
    shutdown: Shutdown,
    restarted: oneshot::Sender<()>,
    log: Log,
) -> Supervision {
    let mut watchdog = pin!(Watchdog::new(WATCHDOG_TIMEOUT));
    let mut generation = 1;
    let flush = flush_metrics(
        generation,
        watchdog.heartbeat(),
        Some(HANG_AFTER),
        shutdown.token(),
        log,
    );
    let mut flusher = shutdown.spawn("metrics-flusher", flush);
    log.say(
        "metrics-supervisor",
        format!("flusher #1 started, watched by a Watchdog of {WATCHDOG_TIMEOUT:?}"),
    );
    let mut restarted = Some(restarted);
    let mut supervision = Supervision {
        fired: 0,
        restarts: 0,
        stopped_cleanly: false,
    };
    loop {
        match watchdog.as_mut().await {
            Ok(expired) => {
                supervision.fired += 1;
                log.say(
                    "[Watchdog]",
                    format!(
                        "flusher #{generation} silent for {WATCHDOG_TIMEOUT:?}: fired ({})",
                        log.expiry(&expired)
                    ),
                );
                // Retire the hung flusher before re-arming. Its heartbeat belongs to the life
                // that just ended and can no longer hold the new window open, but the task
                // itself would still run.
                flusher.abort();
                let _ = (&mut flusher).await;
                watchdog.as_mut().rearm();
                generation += 1;
                let flush = flush_metrics(
                    generation,
                    watchdog.heartbeat(),
                    None,
                    shutdown.token(),
                    log,
                );
                flusher = shutdown.spawn("metrics-flusher", flush);
                supervision.restarts += 1;
                log.say(
                    "metrics-supervisor",
                    format!(
                        "aborted flusher #{}, re-armed the watchdog, started flusher #{generation}",
                        generation - 1
                    ),
                );
                if let Some(restarted) = restarted.take() {
                    let _ = restarted.send(());
                }
            }
            Err(_stopped) => {
                supervision.stopped_cleanly = true;
                log.say(
                    "[Watchdog]",
                    format!(
                        "resolved Err(Stopped): flusher #{generation} stopped it on its way out"
                    ),
                );
                break;
            }
        }
    }
    let _ = flusher.await;
    supervision
}

/// Flushes metrics and beats after each flush; hangs after `hang_after` flushes, if given. On
/// shutdown, flushes once more and stops its watchdog.
async fn flush_metrics(
    generation: u32,
    heartbeat: Heartbeat,
    hang_after: Option<u32>,
    token: CancellationToken,
    log: Log,
) -> u32 {
    let mut flushes = 0;
    let mut every = tokio::time::interval(FLUSH_EVERY);
    while token.run_until_cancelled(every.tick()).await.is_some() {
        flushes += 1;
        heartbeat.beat();
        if hang_after == Some(flushes) {
            log.say(
                "metrics-flusher",
                format!("#{generation}: flush {flushes} done, then stuck on a lock: no more beats"),
            );
            std::future::pending::<()>().await;
        }
    }
    flushes += 1;
    let stopped = heartbeat.stop();
    log.say(
        "metrics-flusher",
        format!(
            "#{generation}: shutdown: final flush ({flushes} in all), heartbeat.stop() -> {stopped}"
        ),
    );
    flushes
}

// ---------------------------------------------------------------------------------------------
// Background tasks, stoppable by key.

async fn reporter(token: CancellationToken) -> String {
    let mut reports = 0;
    let mut every = tokio::time::interval(REPORT_EVERY);
    while token.run_until_cancelled(every.tick()).await.is_some() {
        reports += 1;
    }
    format!("sent {reports} reports")
}

async fn indexer(token: CancellationToken) -> String {
    let mut documents = 0;
    let mut every = tokio::time::interval(INDEX_EVERY);
    while token.run_until_cancelled(every.tick()).await.is_some() {
        documents += 1;
    }
    sleep(CHECKPOINT).await; // winds down: saves a checkpoint
    format!("checkpoint saved at document {documents}")
}

/// Exports in chunks for ever, and never looks at the shutdown: the drain has to abort it.
async fn export(log: Log) {
    struct Exporting {
        chunks: u32,
        log: Log,
    }
    impl Drop for Exporting {
        fn drop(&mut self) {
            self.log.say(
                "[Shutdown]",
                format!(
                    "slow-exporter aborted after {} chunks of its export: it ignores its token",
                    self.chunks
                ),
            );
        }
    }
    let mut exporting = Exporting { chunks: 0, log };
    loop {
        sleep(EXPORT_CHUNK).await;
        exporting.chunks += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// The scripted clients.

/// What a client received, returned by its task.
struct ClientReport {
    /// Keep-alive lines received.
    keepalives: u32,
    /// Every other line received.
    received: Vec<String>,
}

/// A client connection: reads what the server sends while it waits, and answers keep-alive
/// lines with `pong` unless it is hung.
struct Client {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    answers_keepalives: bool,
    report: ClientReport,
}

impl Client {
    async fn connect(addr: SocketAddr, name: &str, answers_keepalives: bool) -> io::Result<Self> {
        let (read, write) = TcpStream::connect(addr).await?.into_split();
        let mut client = Self {
            lines: BufReader::new(read).lines(),
            write,
            answers_keepalives,
            report: ClientReport {
                keepalives: 0,
                received: Vec::new(),
            },
        };
        client.send(&format!("hello {name}")).await?;
        Ok(client)
    }

    async fn send(&mut self, line: &str) -> io::Result<()> {
        write_line(&mut self.write, line).await
    }

    /// Waits `duration`, reading (and answering) what the server sends meanwhile.
    async fn pause(&mut self, duration: Duration) -> io::Result<()> {
        let mut until = pin!(sleep(duration));
        loop {
            tokio::select! {
                () = &mut until => return Ok(()),
                line = self.lines.next_line() => match line? {
                    Some(line) => self.on_line(line).await?,
                    None => return Err(io::ErrorKind::UnexpectedEof.into()),
                },
            }
        }
    }

    /// Reads (and answers) until a line that starts with `prefix`.
    async fn wait_for(&mut self, prefix: &str) -> io::Result<String> {
        loop {
            match self.lines.next_line().await? {
                Some(line) if line.starts_with(prefix) => {
                    self.report.received.push(line.clone());
                    return Ok(line);
                }
                Some(line) => self.on_line(line).await?,
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
            }
        }
    }

    async fn on_line(&mut self, line: String) -> io::Result<()> {
        if line == KEEP_ALIVE {
            self.report.keepalives += 1;
            if self.answers_keepalives {
                self.send("pong").await?;
            }
        } else {
            self.report.received.push(line);
        }
        Ok(())
    }

    /// Says bye and closes: ends its side, then reads until the server ends its side.
    async fn leave(mut self) -> io::Result<ClientReport> {
        self.send("bye").await?;
        self.write.shutdown().await?;
        self.until_closed().await
    }

    /// Reads, answering nothing, until the server closes the connection; then hangs up.
    async fn until_closed(mut self) -> io::Result<ClientReport> {
        while let Some(line) = self.lines.next_line().await? {
            if line == KEEP_ALIVE {
                self.report.keepalives += 1;
            } else {
                self.report.received.push(line);
            }
        }
        Ok(self.report)
    }
}

/// Pings regularly, then says bye.
async fn healthy(addr: SocketAddr, log: Log) -> io::Result<ClientReport> {
    let mut client = Client::connect(addr, "healthy", true).await?;
    log.say(
        "healthy",
        format!("connected: pings every {PING_EVERY:?}, {HEALTHY_PINGS} times, then leaves"),
    );
    for _ in 0..HEALTHY_PINGS {
        client.pause(PING_EVERY).await?;
        client.send("ping").await?;
    }
    log.say("healthy", "done pinging: says bye and hangs up");
    client.leave().await
}

/// Pings a few times, then hangs: no more pings, no answer to keep-alive lines.
async fn silent(addr: SocketAddr, log: Log) -> io::Result<ClientReport> {
    let mut client = Client::connect(addr, "silent", false).await?;
    log.say(
        "silent",
        format!("connected: pings {SILENT_PINGS} times, then hangs"),
    );
    for _ in 0..SILENT_PINGS {
        client.pause(PING_EVERY).await?;
        client.send("ping").await?;
    }
    log.say(
        "silent",
        "hangs: stops pinging and answers no keep-alive line",
    );
    let report = client.until_closed().await?;
    log.say(
        "silent",
        format!(
            "told {:?}, then disconnected by the server",
            report.received.last().map_or("", String::as_str)
        ),
    );
    Ok(report)
}

/// Sends a burst of configuration changes, waits until they are applied, then says bye.
async fn bursty(addr: SocketAddr, log: Log) -> io::Result<ClientReport> {
    let mut client = Client::connect(addr, "bursty", true).await?;
    log.say(
        "bursty",
        "connected: will send a burst of configuration changes",
    );
    client.pause(BURST_AT).await?;
    log.say(
        "bursty",
        format!(
            "sends {} config changes, {CHANGE_EVERY:?} apart: {}",
            CHANGES.len(),
            CHANGES.join(" ")
        ),
    );
    for (n, change) in CHANGES.iter().enumerate() {
        if n > 0 {
            client.pause(CHANGE_EVERY).await?;
        }
        client.send(&format!("config {change}")).await?;
    }
    let applied = client.wait_for("config applied").await?;
    log.say("bursty", format!("told {applied:?}: says bye and hangs up"));
    client.leave().await
}

/// Says nothing of its own; answers keep-alive lines until the server shuts down.
async fn idle(addr: SocketAddr, log: Log) -> io::Result<ClientReport> {
    let mut client = Client::connect(addr, "idle", true).await?;
    log.say(
        "idle",
        "connected: says nothing more, only answers keep-alive lines with pong",
    );
    let told = client.wait_for("shutting down").await?;
    log.say(
        "idle",
        format!(
            "told {told:?} after {} keep-alive lines: hangs up",
            client.report.keepalives
        ),
    );
    client.until_closed().await
}
