//! A heartbeat window on a real TCP connection: the server resets one `Deadline` on every
//! line it reads, the client pings a few times and falls silent, and the server's timeout
//! fires once. The loop does not spin afterwards: it waits, with the deadline disarmed,
//! until the client hangs up.
//!
//! Run: `cargo run --example tour` (ends by itself in about a second).

use std::time::Duration;

use deadlines::Deadline;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep};

const WINDOW: Duration = Duration::from_millis(300);
const PINGS: u32 = 5;
const PING_EVERY: Duration = Duration::from_millis(100);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let start = Instant::now();
    let log = move |who: &str, what: &str| {
        println!("{:>5} ms  {who:<6} {what}", start.elapsed().as_millis());
    };

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    log(
        "server",
        &format!("listening on {addr}, heartbeat window {WINDOW:?}"),
    );

    let client = tokio::spawn(async move {
        let stream = TcpStream::connect(addr).await?;
        let (read, mut write) = stream.into_split();
        for n in 1..=PINGS {
            sleep(PING_EVERY).await;
            write.write_all(format!("ping {n}\n").as_bytes()).await?;
            log("client", &format!("ping {n}"));
        }
        log("client", "falls silent (the connection stays open)");
        let mut verdict = String::new();
        BufReader::new(read).read_line(&mut verdict).await?;
        log("client", &format!("told: {}; hangs up", verdict.trim_end()));
        Ok::<_, std::io::Error>(())
    });

    let (stream, _) = listener.accept().await?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let deadline = Deadline::after(WINDOW);
    tokio::pin!(deadline);

    let (mut iterations, mut beats, mut timeouts) = (0, 0, 0);
    loop {
        iterations += 1;
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) => {
                    beats += 1;
                    deadline.as_mut().reset(WINDOW);
                    log("server", &format!("got {line:?}: deadline pushed to +{WINDOW:?}"));
                }
                None => {
                    log("server", "client hung up");
                    break;
                }
            },
            expired = &mut deadline => {
                timeouts += 1;
                let late = (Instant::now() - expired.deadline()).as_secs_f64() * 1e3;
                log("server", &format!("silent for {WINDOW:?}: timeout, observed {late:.1} ms after the deadline"));
                write.write_all(b"timed out\n").await?;
            }
        }
    }
    client.await??;

    println!();
    println!("heartbeats {beats}, timeouts {timeouts}, loop iterations {iterations}");
    assert_eq!((beats, timeouts), (PINGS, 1));
    assert_eq!(
        iterations,
        PINGS + 2,
        "one per heartbeat, one timeout, one hang-up: no spinning"
    );
    println!("the deadline fired once and the loop did not spin");
    Ok(())
}
