//! `IdleIo` beside the two ways a connection's idle timeout is kept without it:
//! tokio-io-timeout's `TimeoutStream` (a `Sleep` reset around the operations, under
//! hyper-timeout and tonic) and a `Sleep::reset` per message in the read loop; the bare
//! stream is the floor.
//!
//! - `io_op`: one message through a `tokio::io::duplex`, polled by hand with a no-op waker.
//!   `pending_cycle` is what a server's read loop does: the read finds nothing and waits,
//!   the peer writes, the read takes the bytes (3 polls, 2 of which move bytes).
//!   `ready_cycle` is a write and a read that are both ready at once.
//! - `io_echo`: 10^4 loopback TCP connections echoing 64-byte messages to a server on a
//!   2-worker runtime that keeps an idle timeout per connection, pushed on every message.
//!   The clients run in a child process (this bench binary, started again with
//!   `DEADLINES_IO_ECHO_CLIENT` set), so neither process needs more than 10^4 descriptors;
//!   each iteration has every connection make `ROUNDS` round trips.
//!
//! Run: `cargo bench --bench io`, then `python3 scripts/bench_ratios.py io_op_pending bare` and
//! `python3 scripts/bench_ratios.py io_echo bare`.

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant as StdInstant};

use criterion::{Criterion, Throughput, criterion_group};
use deadlines::io::{IdleIo, IdleKind};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_io_timeout::TimeoutStream;

const TIMEOUT: Duration = Duration::from_secs(60);
const MESSAGE: usize = 64;
const CONNECTIONS: usize = 10_000;
const ROUNDS: usize = 5;
const CLIENT_ENV: &str = "DEADLINES_IO_ECHO_CLIENT";

fn idle_io<T>(io: T) -> IdleIo<T> {
    IdleIo::new(io).all_idle(TIMEOUT).time_out_on(IdleKind::All)
}

fn timeout_stream<T: AsyncRead + AsyncWrite>(io: T) -> TimeoutStream<T> {
    let mut stream = TimeoutStream::new(io);
    stream.set_read_timeout(Some(TIMEOUT));
    stream.set_write_timeout(Some(TIMEOUT));
    stream
}

/// One end of a duplex, wrapped or not, polled by hand.
struct Ends<R, W> {
    reader: Pin<Box<R>>,
    writer: Pin<Box<W>>,
    buf: [u8; MESSAGE],
}

impl<R: AsyncRead, W: AsyncWrite> Ends<R, W> {
    fn new(reader: R, writer: W) -> Self {
        Self {
            reader: Box::pin(reader),
            writer: Box::pin(writer),
            buf: [0; MESSAGE],
        }
    }

    fn read(&mut self, cx: &mut Context<'_>) -> Poll<usize> {
        let mut buf = ReadBuf::new(&mut self.buf);
        match self.reader.as_mut().poll_read(cx, &mut buf) {
            Poll::Ready(result) => {
                result.unwrap();
                Poll::Ready(buf.filled().len())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn write(&mut self, cx: &mut Context<'_>) {
        let sent = self.writer.as_mut().poll_write(cx, &[7; MESSAGE]);
        assert!(matches!(sent, Poll::Ready(Ok(MESSAGE))));
    }

    /// The read waits, the peer writes, the read takes the message.
    fn pending_cycle(&mut self, cx: &mut Context<'_>) {
        assert!(self.read(cx).is_pending());
        self.write(cx);
        assert_eq!(self.read(cx), Poll::Ready(MESSAGE));
    }

    fn ready_cycle(&mut self, cx: &mut Context<'_>) {
        self.write(cx);
        assert_eq!(self.read(cx), Poll::Ready(MESSAGE));
    }
}

fn bench_cycle<R: AsyncRead, W: AsyncWrite>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut ends: Ends<R, W>,
    cycle: fn(&mut Ends<R, W>, &mut Context<'_>),
) {
    let mut cx = Context::from_waker(Waker::noop());
    group.bench_function(name, |b| b.iter(|| cycle(black_box(&mut ends), &mut cx)));
}

/// A duplex pair: what is written into the second end is read from the first.
fn duplex() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(4 * MESSAGE)
}

fn io_op(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    for (name, pending) in [("io_op_pending", true), ("io_op_ready", false)] {
        let mut group = c.benchmark_group(name);
        let (r, w) = duplex();
        bench_cycle(&mut group, "bare", Ends::new(r, w), cycle(pending));
        let (r, w) = duplex();
        bench_cycle(
            &mut group,
            "idle_io",
            Ends::new(idle_io(r), idle_io(w)),
            cycle(pending),
        );
        let (r, w) = duplex();
        let ends = Ends::new(timeout_stream(r), timeout_stream(w));
        bench_cycle(&mut group, "tokio_io_timeout", ends, cycle(pending));
        group.finish();
    }
    // The clock read that activity costs, for scale: Tokio's `Instant::now()`.
    let mut group = c.benchmark_group("io_op_clock");
    group.bench_function("instant_now", |b| b.iter(Instant::now));
    group.bench_function("std_instant_now", |b| b.iter(StdInstant::now));
    group.finish();
    count_timer_operations();
}

fn cycle<R: AsyncRead, W: AsyncWrite>(pending: bool) -> fn(&mut Ends<R, W>, &mut Context<'_>) {
    if pending {
        Ends::pending_cycle
    } else {
        Ends::ready_cycle
    }
}

/// `IdleIo` sets no timer while it moves bytes: counted, not assumed.
fn count_timer_operations() {
    let (a, b) = duplex();
    let mut ends = Ends::new(idle_io(a), idle_io(b));
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..100_000 {
        ends.pending_cycle(&mut cx);
    }
    let sets = ends.reader.timer_resets() + ends.writer.timer_resets();
    eprintln!("IdleIo timer operations in 100000 pending cycles: {sets}");
    assert!(sets <= 1, "the timer is made once, then never set again");
}

/// How a server connection keeps its idle timeout.
#[derive(Clone, Copy, Debug)]
enum Variant {
    Bare,
    IdleIo,
    TokioIoTimeout,
    SleepReset,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Bare => "bare",
            Variant::IdleIo => "idle_io",
            Variant::TokioIoTimeout => "tokio_io_timeout",
            Variant::SleepReset => "sleep_reset",
        }
    }
}

/// Echoes until the peer closes (or the idle timeout passes, which it does not here).
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut buf = [0; MESSAGE];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// The read loop of a hand-written idle timeout: one `Sleep`, reset after every message.
async fn echo_sleep_reset(mut stream: TcpStream) {
    let mut buf = [0; MESSAGE];
    let idle = tokio::time::sleep(TIMEOUT);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => {
                let Ok(n @ 1..) = read else { break };
                if stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                idle.as_mut().reset(Instant::now() + TIMEOUT);
            }
            () = &mut idle => break,
        }
    }
}

async fn serve(listener: TcpListener, variant: Variant) {
    while let Ok((stream, _)) = listener.accept().await {
        stream.set_nodelay(true).unwrap();
        match variant {
            Variant::Bare => tokio::spawn(echo(stream)),
            Variant::IdleIo => tokio::spawn(echo(idle_io(stream))),
            Variant::TokioIoTimeout => tokio::spawn(echo(Box::pin(timeout_stream(stream)))),
            Variant::SleepReset => tokio::spawn(echo_sleep_reset(stream)),
        };
    }
}

/// A server on a 2-worker runtime and the client process connected to it.
struct EchoRun {
    _rt: tokio::runtime::Runtime,
    client: Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl EchoRun {
    fn start(variant: Variant) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(serve(listener, variant));
        let mut client = Command::new(std::env::current_exe().unwrap())
            .env(CLIENT_ENV, addr.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(client.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "connected");
        Self {
            _rt: rt,
            client,
            lines,
        }
    }

    /// `rounds` round trips on every connection; the wall time they took.
    fn round_trips(&mut self, rounds: u64) -> Duration {
        let stdin = self.client.stdin.as_mut().unwrap();
        let started = StdInstant::now();
        writeln!(stdin, "{rounds}").unwrap();
        stdin.flush().unwrap();
        assert_eq!(self.lines.next().unwrap().unwrap(), "done");
        started.elapsed()
    }
}

impl Drop for EchoRun {
    fn drop(&mut self) {
        drop(self.client.stdin.take()); // the client exits at the end of its input
        let _ = self.client.wait();
    }
}

fn io_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("io_echo");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements((CONNECTIONS * ROUNDS) as u64));
    for variant in [
        Variant::Bare,
        Variant::IdleIo,
        Variant::TokioIoTimeout,
        Variant::SleepReset,
    ] {
        let mut run = EchoRun::start(variant);
        group.bench_function(variant.name(), |b| {
            b.iter_custom(|iters| run.round_trips(iters * ROUNDS as u64))
        });
    }
    group.finish();
}

/// The client process: `CONNECTIONS` connections to `addr`; for each line `n` on stdin,
/// `n` round trips of one message on every connection at once, then `done` on stdout.
fn echo_client(addr: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut streams = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            streams.push(stream);
        }
        println!("connected");
        let mut input = std::io::stdin().lock().lines();
        while let Some(Ok(line)) = input.next() {
            let rounds: u64 = line.trim().parse().unwrap();
            let tasks: Vec<_> = streams
                .drain(..)
                .map(|mut stream| {
                    tokio::spawn(async move {
                        let mut buf = [0; MESSAGE];
                        for _ in 0..rounds {
                            stream.write_all(&[7; MESSAGE]).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                        }
                        stream
                    })
                })
                .collect();
            for task in tasks {
                streams.push(task.await.unwrap());
            }
            println!("done");
        }
    });
}

criterion_group!(benches, io_op, io_echo);

fn main() {
    if let Ok(addr) = std::env::var(CLIENT_ENV) {
        return echo_client(&addr);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
