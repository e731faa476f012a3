//! One `Keepalives` set for every session of a TCP server on 127.0.0.1.
//!
//! Each connection says `hello NAME`, then sends `ping` lines; its task beats the session's
//! `Heartbeat` on every line, with no lock and no message to the server loop. The server loop
//! owns the set: it yields sessions that fell silent for the timeout, and the server tells
//! those clients `timeout` and closes them. A client that hangs up is removed from the set.
//!
//! Four scripted clients: `fast` and `steady` ping at different rates and hang up cleanly,
//! `quitter` leaves early, `silent` stops pinging and is expired. The program prints a
//! timeline and a report line per session, and ends by itself in about a second and a half.
//!
//! Run: `cargo run --example sessions`.

use std::collections::HashMap;
use std::time::Duration;

use deadlines::Keepalives;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep};

const TIMEOUT: Duration = Duration::from_millis(300);

/// A client's script: ping `pings` times, `every` apart, then hang up or fall silent.
struct Script {
    name: &'static str,
    every: Duration,
    pings: u32,
    then_silent: bool,
}

const CLIENTS: [Script; 4] = [
    Script {
        name: "fast",
        every: Duration::from_millis(50),
        pings: 20,
        then_silent: false,
    },
    Script {
        name: "steady",
        every: Duration::from_millis(200),
        pings: 5,
        then_silent: false,
    },
    Script {
        name: "quitter",
        every: Duration::from_millis(100),
        pings: 2,
        then_silent: false,
    },
    Script {
        name: "silent",
        every: Duration::from_millis(100),
        pings: 3,
        then_silent: true,
    },
];

/// What a connection task tells the server loop.
enum Event {
    Hello {
        id: u64,
        name: String,
        evict: oneshot::Sender<()>,
    },
    Ping {
        id: u64,
    },
    HungUp {
        id: u64,
    },
}

#[derive(Debug, Default)]
struct Session {
    name: String,
    pings: u32,
    outcome: Option<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let start = Instant::now();
    let log = move |what: &str| println!("{:>5} ms  {what}", start.elapsed().as_millis());

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    log(&format!(
        "server listening on {addr}, session timeout {TIMEOUT:?}"
    ));

    let clients: Vec<_> = CLIENTS
        .iter()
        .map(|script| tokio::spawn(client(addr, script)))
        .collect();

    let (events_tx, mut events) = mpsc::channel::<Event>(64);
    let mut keepalives: Keepalives<u64> = Keepalives::new(TIMEOUT);
    let mut sessions: HashMap<u64, Session> = HashMap::new();
    let mut evictions: HashMap<u64, oneshot::Sender<()>> = HashMap::new();
    let mut next_id = 0;
    let mut ended = 0;

    while ended < CLIENTS.len() {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                next_id += 1;
                // The set is the loop's: the connection task gets the key's heartbeat only.
                let heartbeat = keepalives.insert(next_id);
                tokio::spawn(connection(next_id, stream, heartbeat, events_tx.clone()));
            }
            Some(event) = events.recv() => match event {
                Event::Hello { id, name, evict } => {
                    log(&format!("session {id} is {name}"));
                    sessions.insert(id, Session { name, ..Session::default() });
                    evictions.insert(id, evict);
                }
                Event::Ping { id } => {
                    if let Some(session) = sessions.get_mut(&id) {
                        session.pings += 1;
                    }
                }
                Event::HungUp { id } => {
                    if keepalives.remove(&id) {
                        let session = sessions.entry(id).or_default();
                        log(&format!("{} hung up: removed from the set", session.name));
                        session.outcome = Some("closed by client".into());
                        ended += 1;
                    }
                }
            },
            Some((id, expired)) = keepalives.next() => {
                let session = sessions.entry(id).or_default();
                log(&format!(
                    "{} silent for {TIMEOUT:?}: expired (deadline +{} ms, seen {:.1} ms late), disconnecting",
                    session.name,
                    (expired.deadline() - start).as_millis(),
                    expired.overdue().as_secs_f64() * 1e3,
                ));
                session.outcome = Some("expired".into());
                if let Some(evict) = evictions.remove(&id) {
                    let _ = evict.send(());
                }
                ended += 1;
            }
        }
    }
    for client in clients {
        client.await??;
    }

    println!();
    let mut report: Vec<_> = sessions.values().collect();
    report.sort_by_key(|session| session.name.clone());
    for session in &report {
        println!(
            "session {}: {} pings, {}",
            session.name,
            session.pings,
            session.outcome.as_deref().unwrap_or("still open")
        );
    }
    assert!(
        keepalives.is_empty(),
        "every session was expired or removed"
    );
    Ok(())
}

/// A server-side connection: beats the session on every line; on eviction says `timeout`.
async fn connection(
    id: u64,
    stream: TcpStream,
    heartbeat: deadlines::Heartbeat,
    events: mpsc::Sender<Event>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let (evict, mut evicted) = oneshot::channel();
    let mut evict = Some(evict);
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    heartbeat.beat(); // no lock, no message: one atomic operation
                    if let Some(name) = line.strip_prefix("hello ") {
                        if let Some(evict) = evict.take() {
                            let hello = Event::Hello { id, name: name.to_owned(), evict };
                            let _ = events.send(hello).await;
                        }
                    } else {
                        let _ = events.send(Event::Ping { id }).await;
                    }
                }
                _ => {
                    let _ = events.send(Event::HungUp { id }).await;
                    return;
                }
            },
            Ok(()) = &mut evicted => {
                let _ = write.write_all(b"timeout\n").await;
                return; // dropping the halves closes the connection
            }
        }
    }
}

/// A scripted client.
async fn client(addr: std::net::SocketAddr, script: &'static Script) -> std::io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("hello {}\n", script.name).as_bytes())
        .await?;
    for _ in 0..script.pings {
        sleep(script.every).await;
        write.write_all(b"ping\n").await?;
    }
    if script.then_silent {
        // Silent but connected: wait for the server's verdict, then the close.
        let mut lines = BufReader::new(read).lines();
        let verdict = lines.next_line().await?;
        assert_eq!(
            verdict.as_deref(),
            Some("timeout"),
            "{} was told",
            script.name
        );
        assert_eq!(lines.next_line().await?, None, "then disconnected");
    }
    Ok(()) // dropping the stream hangs up
}
