//! A service whose systemd watchdog pings stop when its worker wedges, under a small
//! supervisor that plays systemd: real processes, a real notify socket, a real SIGTERM.
//!
//! The *service* (`--service`) runs a worker that beats a 200 ms [`Watchdog`] every 50 ms; a
//! [`Pinger`] gated on that watchdog pings systemd every half `WATCHDOG_USEC`; `READY=1` once
//! it is up. When a line `wedge` arrives on its standard input the worker stops beating (and
//! stops heeding the shutdown): the pings stop and `WATCHDOG=trigger` goes out. On SIGTERM it
//! sends `STOPPING=1` with `EXTEND_TIMEOUT_USEC` and drains with a 500 ms grace period, which
//! aborts the wedged worker.
//!
//! The *supervisor* (no argument) binds a datagram socket in the temporary directory, starts
//! this same program with `--service` and `NOTIFY_SOCKET` and `WATCHDOG_USEC=500000` in its
//! environment, logs every datagram with the time it came, sends `wedge` after a second of
//! pings, waits until no ping came for one `WATCHDOG_USEC` (when systemd would act), sends
//! SIGTERM with `kill`, and logs the stop and the service's exit.
//!
//! Run: `cargo run --example systemd` (ends by itself in about 2 s; the dev-dependency on the
//! crate itself turns the `systemd` feature on for examples and tests, and
//! `tests/systemd_example.rs` checks this log). Under a real systemd, run the service alone from a unit with
//! `Type=notify`, `WatchdogSec=` and `ExecStart=/path/to/systemd --service`.
//!
//! Output: the service's lines start with `service:`; the supervisor's with
//! `supervisor at <ms> ms:`, for scripts:
//!
//! ```text
//! supervisor at 0 ms: notify socket /tmp/deadlines-example-systemd-9260.sock, WATCHDOG_USEC=500000
//! service: ready, pinging every 250ms while the worker is healthy
//! supervisor at 2 ms: READY=1
//! supervisor at 2 ms: WATCHDOG=1
//! supervisor at 252 ms: WATCHDOG=1
//! supervisor at 503 ms: WATCHDOG=1
//! supervisor at 753 ms: WATCHDOG=1
//! supervisor at 1003 ms: WATCHDOG=1
//! supervisor at 1003 ms: wedge sent
//! service: the worker is wedged
//! service: the worker's watchdog expired
//! service: pings stopped: systemd watchdog pings stopped: gate "worker" failed (WATCHDOG=trigger sent)
//! supervisor at 1177 ms: WATCHDOG=trigger
//! supervisor at 1523 ms: silent: no ping for 500 ms since the last one, at 1003 ms (0 ms before the wedge)
//! supervisor at 1527 ms: SIGTERM sent
//! service: SIGTERM: draining, grace 500ms
//! supervisor at 1527 ms: STOPPING=1 EXTEND_TIMEOUT_USEC=500000
//! service: drained: finished [], aborted ["worker"]
//! supervisor at 2039 ms: service exited: exit status: 0
//! ```

use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use deadlines::systemd::Pinger;
use deadlines::{Shutdown, Watchdog};

/// What the supervisor passes as `WATCHDOG_USEC`: a ping every 250 ms.
const WATCHDOG_USEC: Duration = Duration::from_millis(500);
/// The worker's watchdog, and how often the healthy worker beats it.
const WORKER_TIMEOUT: Duration = Duration::from_millis(200);
const BEAT_EVERY: Duration = Duration::from_millis(50);
/// The drain's grace period, which the service asks systemd to wait for.
const GRACE: Duration = Duration::from_millis(500);
/// How long the supervisor lets the healthy service ping before it wedges the worker.
const HEALTHY_FOR: Duration = Duration::from_secs(1);
/// How long the supervisor waits for anything before it gives up and kills the service.
const PATIENCE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--service") {
        return service();
    }
    match supervise() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("supervisor: {error}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn service() -> ExitCode {
    let shutdown = Shutdown::new();
    if let Err(error) = shutdown.listen_for_signals() {
        eprintln!("service: cannot listen for signals: {error}");
        return ExitCode::FAILURE;
    }
    let watchdog = Watchdog::new(WORKER_TIMEOUT);
    let heartbeat = watchdog.heartbeat();
    let pinger = Pinger::from_env()
        .gate("worker", &watchdog)
        .trigger_on_failure(true);
    if let Some(reason) = pinger.disabled() {
        eprintln!("service: no systemd watchdog: {reason}");
        return ExitCode::FAILURE;
    }
    let interval = pinger.interval().expect("enabled");
    let notifier = pinger.notifier().clone();

    // The worker: one beat per unit of work, until it is told to wedge.
    let wedged = Arc::new(AtomicBool::new(false));
    let wedge = wedged.clone();
    let token = shutdown.token();
    shutdown.spawn("worker", async move {
        loop {
            if wedge.load(Ordering::SeqCst) {
                println!("service: the worker is wedged");
                std::future::pending::<()>().await; // stuck, and deaf to the shutdown
            }
            heartbeat.beat();
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(BEAT_EVERY) => {}
            }
        }
    });
    // The supervisor's messages, one a line on standard input, read by a thread of its own
    // (a blocking read in Tokio's pool would hold the runtime's shutdown until the pipe closes).
    std::thread::spawn(move || {
        for line in io::stdin().lines() {
            let Ok(line) = line else { break };
            if line.trim() == "wedge" {
                wedged.store(true, Ordering::SeqCst);
            }
        }
    });
    // The pinger, and what became of it.
    tokio::spawn(async move {
        let silenced = pinger.await;
        println!("service: pings stopped: {silenced}");
    });
    // The watchdog's owner: it holds the watchdog for as long as the service runs (dropping
    // it would fail the gate) and can act on the expiry too.
    let watched = tokio::spawn(async move {
        tokio::pin!(watchdog);
        if watchdog.as_mut().await.is_ok() {
            println!("service: the worker's watchdog expired");
        }
        std::future::pending::<()>().await
    });

    if let Err(error) = notifier.ready() {
        eprintln!("service: cannot notify systemd: {error}");
    }
    println!("service: ready, pinging every {interval:?} while the worker is healthy");

    shutdown.triggered().await;
    println!("service: SIGTERM: draining, grace {GRACE:?}");
    let report = notifier.drain(&shutdown, GRACE).await;
    println!(
        "service: drained: finished {:?}, aborted {:?}",
        report.finished, report.aborted
    );
    watched.abort();
    ExitCode::SUCCESS
}

/// The supervisor's side: the notify socket, the service process, and the log.
struct Supervisor {
    socket: UnixDatagram,
    start: Instant,
    child: Child,
    stdin: Option<ChildStdin>,
}

fn supervise() -> io::Result<()> {
    let path = std::env::temp_dir().join(format!(
        "deadlines-example-systemd-{}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path)?;
    let start = Instant::now();
    let usec = WATCHDOG_USEC.as_micros().to_string();
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--service")
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", &usec)
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take();
    let mut supervisor = Supervisor {
        socket,
        start,
        child,
        stdin,
    };
    supervisor.log(&format!(
        "notify socket {}, WATCHDOG_USEC={usec}",
        path.display()
    ));
    let outcome = supervisor.run();
    let _ = std::fs::remove_file(&path);
    if outcome.is_err() {
        let _ = supervisor.child.kill();
        let _ = supervisor.child.wait();
    }
    outcome
}

impl Supervisor {
    fn run(&mut self) -> io::Result<()> {
        // Up, then healthy.
        self.wait_for("READY=1")?;
        let wedge_at = self.elapsed() + HEALTHY_FOR;
        let mut last_ping = None;
        while let Some(message) = self.next(wedge_at)? {
            if message == "WATCHDOG=1" {
                last_ping = Some(self.elapsed());
            }
        }

        // Wedged: the pings must stop; wait one WATCHDOG_USEC of silence, as systemd would.
        let mut stdin = self.stdin.take().expect("stdin is piped");
        stdin.write_all(b"wedge\n")?;
        drop(stdin); // the service reads to the end
        let wedged = self.elapsed();
        self.log("wedge sent");
        let give_up = wedged + PATIENCE;
        loop {
            let last = last_ping.unwrap_or(wedged);
            match self.next((last + WATCHDOG_USEC).min(give_up))? {
                Some(message) if message == "WATCHDOG=1" => last_ping = Some(self.elapsed()),
                Some(_) => {}
                None if self.elapsed() >= give_up => {
                    return Err(io::Error::other("the pings did not stop"));
                }
                None => break,
            }
        }
        let last = last_ping.unwrap_or(wedged);
        let relative = if last >= wedged {
            format!("{} ms after the wedge", (last - wedged).as_millis())
        } else {
            format!("{} ms before the wedge", (wedged - last).as_millis())
        };
        self.log(&format!(
            "silent: no ping for {} ms since the last one, at {} ms ({relative})",
            WATCHDOG_USEC.as_millis(),
            last.as_millis()
        ));

        // Stopped: a real SIGTERM, then STOPPING=1 and the extension, then the exit.
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!("kill -TERM: {status}")));
        }
        self.log("SIGTERM sent");
        self.wait_for("STOPPING=1")?;
        let give_up = self.elapsed() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.log(&format!("service exited: {status}"));
                return if status.success() {
                    Ok(())
                } else {
                    Err(io::Error::other("the service failed"))
                };
            }
            if self.elapsed() >= give_up {
                return Err(io::Error::other("the service did not exit"));
            }
            // Anything the service still sends is logged while it exits.
            self.next(self.elapsed() + Duration::from_millis(10))?;
        }
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn log(&self, what: &str) {
        println!("supervisor at {} ms: {what}", self.elapsed().as_millis());
    }

    /// The next datagram before `until` (time since start), logged with its lines joined by a
    /// space; `None` once `until` has passed.
    fn next(&self, until: Duration) -> io::Result<Option<String>> {
        let left = until.saturating_sub(self.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        self.socket.set_read_timeout(Some(left))?;
        let mut buffer = [0u8; 4096];
        match self.socket.recv(&mut buffer) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buffer[..n]);
                let message = text.lines().collect::<Vec<_>>().join(" ");
                self.log(&message);
                Ok(Some(message))
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Logs datagrams until one starts with `what`.
    fn wait_for(&self, what: &str) -> io::Result<()> {
        let give_up = self.elapsed() + PATIENCE;
        while let Some(message) = self.next(give_up)? {
            if message.starts_with(what) {
                return Ok(());
            }
        }
        Err(io::Error::other(format!("no {what} within {PATIENCE:?}")))
    }
}
