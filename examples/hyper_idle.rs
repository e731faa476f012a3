//! A hyper 1 HTTP/1.1 server whose connections `IdleIo` closes when they go idle, and three
//! real clients on 127.0.0.1 that each meet a different fate.
//!
//! Every accepted `TcpStream` is wrapped in an `IdleIo` with a read-idle and an all-idle
//! threshold, both made to time out, and handed to hyper through hyper-util's `TokioIo`.
//! hyper has no idle timeout of its own between requests, and its `header_read_timeout`
//! needs a timer (none is set here): the `IdleIo` alone closes the connections below.
//!
//! - `keepalive` sends `GET /`, reads the answer and keeps its connection open, saying
//!   nothing: the server drops it once nothing was read for `READ`.
//! - `sse` reads `/events`, a server-sent-event stream that lasts longer than both
//!   thresholds. The client sends nothing while it listens, so the service lifts the read
//!   threshold of its connection while it streams (all-idle still guards it, since bytes
//!   are written), and the stream's keep-alive comments fill its long silence, which would
//!   otherwise reach the all-idle threshold.
//! - `slowloris` (a raw socket, not hyper) sends half a request head and stalls: the server
//!   drops it once nothing was read for `READ`.
//!
//! The server prints each connection's fate when `serve_connection` returns; the program
//! shuts the server down once the three clients are done and prints a summary. It runs on
//! the real clock, in about two seconds.
//!
//! Run: `cargo run --example hyper_idle`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadlines::io::{IdleHandle, IdleIo, IdleKind, IdleTimedOut};
use deadlines::stream::{KeepaliveItem, StreamDeadlineExt};
use futures_core::Stream;
use futures_util::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};

/// Read idle: a client that sends nothing for this long, between requests or in the middle
/// of a request head, is dropped. Short, so the example ends quickly; long enough that a
/// client on loopback, whose bytes take microseconds, is not cut for being descheduled a
/// while on a loaded machine. (A real server would give seconds.)
const READ: Duration = Duration::from_millis(300);
/// All idle: nothing read or written for this long. It guards the connections whose read
/// threshold is lifted (the SSE stream's): longer than `READ`, so it is never what closes a
/// silent client first, and over three times `KEEPALIVE`: an SSE stream writes a comment at
/// least that often, so only a machine over half a second late would let it reach `ALL`.
const ALL: Duration = Duration::from_millis(800);
/// The SSE stream's keep-alive period: a comment after this long without an event.
const KEEPALIVE: Duration = Duration::from_millis(250);
/// The SSE stream: `DATA_LINES` events `EVERY` apart, except for one silence of `PAUSE`
/// (longer than `ALL`: without the keep-alive comments it would time the stream out) before
/// event `PAUSE_BEFORE`. It lasts about 1.9 s, longer than both thresholds.
const DATA_LINES: usize = 10;
const EVERY: Duration = Duration::from_millis(100);
const PAUSE: Duration = Duration::from_millis(1_000);
const PAUSE_BEFORE: usize = 6;

/// The time since the program started, for every line it prints.
#[derive(Clone, Copy)]
struct Log(Instant);

impl Log {
    fn line(self, what: impl std::fmt::Display) {
        println!("{:>5} ms  {what}", self.0.elapsed().as_millis());
    }
}

/// Clients' local ports to their names, so the server can name the connections it accepts.
type Names = Arc<Mutex<HashMap<u16, &'static str>>>;

/// How each named connection ended, as the server saw it, in short for the summary.
type Fates = Arc<Mutex<HashMap<&'static str, String>>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let log = Log(Instant::now());
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    log.line(format_args!(
        "server listening on {addr}: read idle {READ:?}, all idle {ALL:?}, both time out"
    ));

    let names = Names::default();
    let fates = Fates::default();
    let (stop, stopped) = oneshot::channel();
    let server = tokio::spawn(serve(listener, log, names.clone(), fates.clone(), stopped));

    let (keepalive, sse, slowloris) = tokio::join!(
        keepalive_client(addr, log, names.clone()),
        sse_client(addr, log, names.clone()),
        slowloris_client(addr, log, names.clone()),
    );
    let (keepalive, sse, slowloris) = (keepalive?, sse?, slowloris?);

    let _ = stop.send(());
    server.await??;

    let fates = fates.lock().unwrap();
    let fate = |name| fates.get(name).map_or("no fate logged", String::as_str);
    println!();
    println!(
        "summary: keepalive closed by the server {} ms after its request ({}); \
         sse received {sse} of {DATA_LINES} data lines ({}); \
         slowloris closed by the server {} ms after its partial head ({}); \
         all done in {} ms",
        keepalive.as_millis(),
        fate("keepalive"),
        fate("sse"),
        slowloris.as_millis(),
        fate("slowloris"),
        log.0.elapsed().as_millis(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The server

/// Accepts connections until `stopped`, then waits for the open ones to end.
async fn serve(
    listener: TcpListener,
    log: Log,
    names: Names,
    fates: Fates,
    mut stopped: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = accepted?;
                let io = IdleIo::new(stream)
                    .read_idle(READ)
                    .all_idle(ALL)
                    .time_out_on(IdleKind::Read)
                    .time_out_on(IdleKind::All);
                let task = connection(io, peer, log, names.clone(), fates.clone());
                connections.spawn(task);
            }
            _ = &mut stopped => break,
        }
    }
    drop(listener);
    // Every client is done by now, so every connection has ended or is ending (the SSE
    // client hung up a moment ago): give them a second to say so.
    let drained = tokio::time::timeout(Duration::from_secs(1), async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        log.line(format_args!(
            "server: {} connections still open at shutdown: dropped",
            connections.len()
        ));
    }
    log.line("server: shut down");
    Ok(())
}

/// Serves one connection with hyper, then logs how it ended.
async fn connection(io: IdleIo<TcpStream>, peer: SocketAddr, log: Log, names: Names, fates: Fates) {
    let accepted = Instant::now();
    let handle = io.handle();
    let handle_after = io.handle();
    let service = hyper::service::service_fn(move |request| {
        let handle = handle.clone();
        async move { Ok::<_, Infallible>(respond(request, handle, log)) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;

    // The client registered its port before it sent a byte, so it is known by now.
    let name = names
        .lock()
        .unwrap()
        .get(&peer.port())
        .copied()
        .unwrap_or("unknown");
    let lived = accepted.elapsed().as_millis();
    // The fate in full for the log, and in short for the summary. On a keep-alive connection
    // idle between requests hyper takes a failed read for the peer's hang-up, not an error,
    // so the handle, not hyper's result, is what says the connection timed out; hyper's
    // error, when there is one, holds it too (`IdleTimedOut::find_in`).
    let hyper_says = match &served {
        Ok(()) => "no error".to_owned(),
        Err(error) => chain(error),
    };
    let timed_out = served
        .as_ref()
        .err()
        .and_then(|error| IdleTimedOut::find_in(error));
    let (fate, short) = match handle_after.timed_out() {
        Some(idle) => {
            assert!(timed_out.is_none_or(|found| found == idle));
            (
                format!(
                    "timed out, {} for {:?} (hyper: {hyper_says})",
                    idle.kind(),
                    idle.threshold()
                ),
                format!("timed out {}", idle.kind()),
            )
        }
        None if served.is_ok() => ("closed cleanly".to_owned(), "closed cleanly".to_owned()),
        None => (format!("failed: {hyper_says}"), "failed".to_owned()),
    };
    log.line(format_args!(
        "server: {name} connection ended after {lived} ms: {fate}"
    ));
    fates.lock().unwrap().insert(name, short);
}

/// An error and its sources, as one line.
fn chain(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(error) = next {
        line = format!("{line}: {error}");
        next = error.source();
    }
    line
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

fn respond(request: Request<Incoming>, handle: IdleHandle, log: Log) -> Response<Body> {
    match request.uri().path() {
        "/" => Response::new(Full::new(Bytes::from_static(b"hello\n")).boxed_unsync()),
        "/events" => {
            log.line("server: /events: read threshold lifted while the stream runs");
            let lifted = LiftedRead::new(handle, log);
            let frames = sse_events().map(move |event| {
                let _while_streaming = &lifted; // dropped with the body: restores the threshold
                Ok(Frame::data(Bytes::from(event)))
            });
            Response::builder()
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache")
                .body(StreamBody::new(frames).boxed_unsync())
                .expect("a valid response")
        }
        _ => {
            let mut response = Response::new(Empty::new().boxed_unsync());
            *response.status_mut() = hyper::StatusCode::NOT_FOUND;
            response
        }
    }
}

/// The SSE events: the source, with a keep-alive comment after each `KEEPALIVE` of silence.
/// `keepalive` marks the comments it injected (`KeepaliveItem::Injected`); on the wire both
/// are text, so the marks come off here.
fn sse_events() -> impl Stream<Item = String> + Send {
    sse_source()
        .keepalive(KEEPALIVE, || ": keep-alive\n\n".to_owned())
        .map(KeepaliveItem::into_inner)
}

/// `DATA_LINES` events, `EVERY` apart but for one `PAUSE`.
fn sse_source() -> impl Stream<Item = String> + Send {
    futures_util::stream::iter(1..=DATA_LINES).then(|n| async move {
        sleep(if n == PAUSE_BEFORE { PAUSE } else { EVERY }).await;
        format!("data: event {n}\n\n")
    })
}

/// The read threshold of a connection, lifted while its SSE stream runs and restored when
/// the stream's body is dropped (it ended, or the connection did).
struct LiftedRead {
    handle: IdleHandle,
    log: Log,
}

impl LiftedRead {
    fn new(handle: IdleHandle, log: Log) -> Self {
        // An SSE client sends nothing while it listens: a read threshold would cut it. The
        // all-idle threshold still guards the connection, since the stream writes bytes.
        handle.set_threshold(IdleKind::Read, None);
        Self { handle, log }
    }
}

impl Drop for LiftedRead {
    fn drop(&mut self) {
        // A threshold set where none was counts from now, not from the request read seconds
        // ago: the stream's time is not counted as silence.
        self.handle.set_threshold(IdleKind::Read, Some(READ));
        self.log.line(format_args!(
            "server: /events stream ended: read threshold restored, {READ:?} from now"
        ));
    }
}

// ---------------------------------------------------------------------------------------
// The clients

/// Connects, and registers the local port under `name` before sending anything.
async fn connect(
    addr: SocketAddr,
    name: &'static str,
    names: &Names,
) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    names
        .lock()
        .unwrap()
        .insert(stream.local_addr()?.port(), name);
    Ok(stream)
}

/// `GET /`, then silence on an open connection: returns how long after its request the
/// server closed it.
async fn keepalive_client(
    addr: SocketAddr,
    log: Log,
    names: Names,
) -> Result<Duration, Box<dyn Error + Send + Sync>> {
    let stream = connect(addr, "keepalive", &names).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await?;
    let mut connection = tokio::spawn(connection);

    let sent = Instant::now();
    let request = Request::get("/")
        .header("host", "localhost")
        .body(Empty::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    log.line(format_args!(
        "keepalive: GET / -> {status} {:?}; keeping the connection open, saying nothing",
        String::from_utf8_lossy(&body)
    ));

    // `sender` stays alive: dropping it would make the client close the connection itself.
    let ended = tokio::time::timeout(Duration::from_secs(5), &mut connection).await;
    let closed = sent.elapsed();
    match ended {
        Ok(ended) => {
            let how = match ended? {
                Ok(()) => "connection ended cleanly".to_owned(),
                Err(error) => format!("connection failed: {error}"),
            };
            log.line(format_args!(
                "keepalive: the server closed the idle connection {} ms after the request ({how})",
                closed.as_millis()
            ));
        }
        Err(_) => {
            log.line("keepalive: the server never closed the idle connection (gave up after 5 s)");
            connection.abort();
        }
    }
    drop(sender);
    Ok(closed)
}

/// `GET /events`, read to its end: returns how many data lines it held.
async fn sse_client(
    addr: SocketAddr,
    log: Log,
    names: Names,
) -> Result<usize, Box<dyn Error + Send + Sync>> {
    let stream = connect(addr, "sse", &names).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);

    let started = Instant::now();
    let request = Request::get("/events")
        .header("host", "localhost")
        .header("accept", "text/event-stream")
        .body(Empty::new())?;
    let mut body = sender.send_request(request).await?.into_body();
    let (mut text, mut data, mut comments) = (String::new(), 0, 0);
    let mut cut = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                cut = Some(error);
                break;
            }
        };
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        text.push_str(&String::from_utf8_lossy(&chunk));
        // An event ends with a blank line; a chunk may hold part of one, or several.
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if event.starts_with("data:") {
                data += 1;
            } else if event.starts_with(':') {
                comments += 1;
                log.line(format_args!(
                    "sse: keep-alive comment (after {data} data lines)"
                ));
            }
        }
    }
    let took = started.elapsed().as_millis();
    match cut {
        None => log.line(format_args!(
            "sse: body complete after {took} ms: {data} data lines, {comments} keep-alive comments"
        )),
        Some(error) => log.line(format_args!(
            "sse: body cut after {took} ms: {data} data lines, {comments} keep-alive comments: {error}"
        )),
    }
    drop(sender); // hangs up
    let _ = connection.await?;
    Ok(data)
}

/// Half a request head, then nothing: returns how long after it the server closed the
/// connection.
async fn slowloris_client(
    addr: SocketAddr,
    log: Log,
    names: Names,
) -> Result<Duration, Box<dyn Error + Send + Sync>> {
    let mut stream = connect(addr, "slowloris", &names).await?;
    let sent = Instant::now();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await?;
    log.line("slowloris: sent half a request head, stalling");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    let closed = sent.elapsed();
    let how = match read {
        Ok(Ok(0)) => "end of file".to_owned(),
        Ok(Ok(n)) => format!("{n} bytes, then end of file"),
        Ok(Err(error)) => format!("{error}"),
        Err(_) => {
            log.line("slowloris: the server never closed the connection (gave up after 5 s)");
            return Ok(closed);
        }
    };
    log.line(format_args!(
        "slowloris: the server closed the connection {} ms after the partial head ({how})",
        closed.as_millis()
    ));
    Ok(closed)
}
