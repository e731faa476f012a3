//! Websocket liveness with `ping_pong`: a tokio-tungstenite server on 127.0.0.1 pings each
//! client after a quiet interval and drops the ones that do not answer in time.
//!
//! The server reads each connection through `ping_pong(INTERVAL, TIMEOUT)`: after `INTERVAL`
//! with nothing from the client it yields `Liveness::Ping` and the server sends a websocket
//! ping; if nothing arrives within `TIMEOUT` after it, it yields `PeerDead` and the server
//! closes the connection. Any frame counts as a sign of life: a message or the pong that
//! tungstenite sends by itself when it reads a ping.
//!
//! Three clients: `chatty` sends a message every 100 ms; `quiet` sends nothing but keeps
//! reading, so its websocket answers every ping; `frozen` stops reading after its first
//! message (a peer whose event loop hung), so it never answers, and the server drops it
//! within `INTERVAL + TIMEOUT` of its last frame. The others stay until they leave. The
//! program prints a line per event and one report line per client, and ends by itself in
//! about two seconds.
//!
//! Run: `cargo run --example websocket`.

use std::time::Duration;

use deadlines::stream::{Liveness, StreamDeadlineExt};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{accept_async, client_async};

const INTERVAL: Duration = Duration::from_millis(300);
const TIMEOUT: Duration = Duration::from_millis(200);
/// How long `chatty` and `quiet` stay connected.
const STAY: Duration = Duration::from_millis(1_500);
/// The most the whole example may take.
const LIMIT: Duration = Duration::from_secs(8);

#[tokio::main]
async fn main() {
    let start = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut connections = Vec::new();
        for _ in 0..3 {
            let (tcp, _) = listener.accept().await.unwrap();
            connections.push(tokio::spawn(serve(tcp, start)));
        }
        let mut reports = Vec::new();
        for connection in connections {
            reports.push(connection.await.unwrap());
        }
        reports
    });

    let clients = [
        tokio::spawn(chatty(addr, start)),
        tokio::spawn(quiet(addr, start)),
        tokio::spawn(frozen(addr, start)),
    ];
    // Ends by itself: whatever the connections do, the example stops after `LIMIT`.
    let run = async {
        for client in clients {
            client.await.unwrap();
        }
        server.await.unwrap()
    };
    let Ok(mut reports) = tokio::time::timeout(LIMIT, run).await else {
        println!("gave up after {LIMIT:?}: a connection did not end");
        std::process::exit(1);
    };
    reports.sort();
    for report in reports {
        println!("{report}");
    }
    println!("done in {} ms", start.elapsed().as_millis());
}

fn ms(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

/// One connection: the first text message names the client; pings when it is quiet, and a
/// close when it stays quiet after a ping.
async fn serve(tcp: TcpStream, start: Instant) -> String {
    let ws = accept_async(tcp).await.unwrap();
    let (mut tx, rx) = ws.split();
    let mut rx = Box::pin(rx.ping_pong(INTERVAL, TIMEOUT));
    let mut name = String::from("?");
    let (mut messages, mut pings, mut pongs) = (0, 0, 0);
    let mut last_life = Instant::now();
    let fate = loop {
        match rx.next().await {
            Some(Ok(Liveness::Ping)) => {
                pings += 1;
                println!(
                    "{:>5} ms  server: nothing from {name} for {INTERVAL:?}: ping",
                    ms(start)
                );
                let _ = tx.send(Message::Ping(Default::default())).await;
            }
            Some(Ok(Liveness::Item(Ok(Message::Text(text))))) => {
                if messages == 0 {
                    name = text.to_string();
                }
                messages += 1;
                last_life = Instant::now();
            }
            Some(Ok(Liveness::Item(Ok(Message::Pong(_))))) => {
                pongs += 1;
                last_life = Instant::now();
            }
            Some(Ok(Liveness::Item(Ok(Message::Close(_))))) | None => {
                break "left".to_string();
            }
            Some(Ok(Liveness::Item(Ok(_)))) => last_life = Instant::now(),
            Some(Ok(Liveness::Item(Err(error)))) => break format!("failed: {error}"),
            Some(Err(dead)) => {
                let silent = last_life.elapsed().as_millis();
                println!("{:>5} ms  server: {name} dropped: {dead}", ms(start));
                let _ = tx.close().await;
                break format!("dropped after {silent} ms of silence");
            }
        }
    };
    format!("client {name}: {messages} messages, {pings} pings, {pongs} pongs, {fate}")
}

async fn connect(
    addr: std::net::SocketAddr,
    name: &str,
) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = client_async(format!("ws://{addr}/"), tcp).await.unwrap();
    ws.send(Message::text(name)).await.unwrap();
    ws
}

/// Sends a message every 100 ms: never quiet long enough to be pinged.
async fn chatty(addr: std::net::SocketAddr, start: Instant) {
    let mut ws = connect(addr, "chatty").await;
    while start.elapsed() < STAY {
        sleep(Duration::from_millis(100)).await;
        ws.send(Message::text("news")).await.unwrap();
    }
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
}

/// Sends nothing, but reads: tungstenite answers each ping with a pong by itself.
async fn quiet(addr: std::net::SocketAddr, start: Instant) {
    let mut ws = connect(addr, "quiet").await;
    let _ = tokio::time::timeout_at(start + STAY, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
}

/// Stops reading after its first message: pings go unanswered.
async fn frozen(addr: std::net::SocketAddr, start: Instant) {
    let mut ws = connect(addr, "frozen").await;
    println!("{:>5} ms  frozen: stops reading", ms(start));
    sleep(STAY).await;
    // Thawed: it finds its connection closed by the server (or, were the server not to drop
    // it, reads for a moment and leaves, so the example ends either way).
    let _ = tokio::time::timeout(Duration::from_millis(300), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    let _ = ws.close(None).await;
}
