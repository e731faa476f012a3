//! The first seed's server: "mark a server's users offline when the server dies", with etcd as
//! the service that notices, and two real nodes against a real etcd.
//!
//! A *node* (`node --etcd URL --name NAME`) holds a lease of 3 s, kept by a [`LeaseKeeper`]
//! gated on its worker's 500 ms [`Watchdog`] (the worker beats it every 100 ms). Users connect
//! over TCP on 127.0.0.1 and send their name; the node puts `online/<name>` = its own name in
//! etcd, attached to its lease (under the lease's fence), and answers `online <name>`. A user
//! who hangs up is deleted at once. A line `wedge` on the node's standard input stops the
//! worker's beats: the gate fails within 500 ms, the renewals stop, and etcd deletes the node's
//! users when the lease lapses. On SIGTERM (or when its standard input closes) the node drains:
//! the keeper revokes the lease and etcd deletes its users at once. Killed with SIGKILL, it
//! does nothing at all, and etcd deletes its users when the lease lapses.
//!
//! The *demo* (no argument, or `--etcd URL` to use a running etcd instead of starting the one
//! the `etcd-bin-vendored` dev-dependency ships) starts nodes `a` and `b`, connects alice and
//! bob to `a`, carol and dave to `b`, and then, watching etcd itself:
//!
//! 1. wedges `a`: alice and bob go within the TTL, while carol and dave, on the healthy `b`,
//!    stay;
//! 2. kills `b` with SIGKILL: carol and dave go within the TTL;
//! 3. starts `b` again, connects erin, and sends it SIGTERM: erin goes at once;
//! 4. stops the wedged `a` with SIGTERM, and ends.
//!
//! Run: `cargo run -p deadlines-etcd --features etcd --example online_users` (needs `PROTOC`,
//! see the README; ends by itself in about 8 s, half a second of it starting etcd: the runs
//! in `docs/cluster.md`, "Measured here"). `tests/online_users_example.rs` runs it against an
//! etcd of its own and checks each user's fate from etcd's own watch.
//!
//! Output: the nodes' lines start with `node <name>:`, the demo's with `demo at <ms> ms:`:
//!
//! ```text
//! demo at 549 ms: etcd at http://127.0.0.1:44115
//! node a: listening on 127.0.0.1:38687, lease 0x11ea23ae7104e03 (TTL 3s, renewed every 1s while the worker is healthy)
//! node b: listening on 127.0.0.1:37339, lease 0x11ea23ae7104e05 (TTL 3s, renewed every 1s while the worker is healthy)
//! demo at 580 ms: online: alice@a bob@a carol@b dave@b
//! demo at 580 ms: wedge sent to a
//! node a: the worker is wedged
//! node a: lease renewals stopped: gate "worker" failed
//! demo at 4050 ms: alice and bob gone, 3470 ms after the wedge; online: carol@b dave@b
//! demo at 4051 ms: SIGKILL sent to b
//! demo at 7037 ms: carol and dave gone, 2985 ms after the SIGKILL; online: none
//! node b: listening on 127.0.0.1:46277, lease 0x11ea23ae7104f25 (TTL 3s, renewed every 1s while the worker is healthy)
//! demo at 7050 ms: online: erin@b
//! demo at 7057 ms: SIGTERM sent to b
//! node b: draining: lease revoked on shutdown
//! demo at 7085 ms: erin gone, 28 ms after the SIGTERM; online: none
//! demo at 7088 ms: SIGTERM sent to a
//! node a: draining: lease renewals stopped: gate "worker" failed
//! demo at 8099 ms: done
//! ```

use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadlines::{Shutdown, Watchdog};
use deadlines_etcd::{EtcdLeases, Lease, LeaseKeeper};
use etcd_client::{Client, GetOptions, PutOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

// The demo uses the part that starts and stops etcd (the file allows the rest unused).
#[path = "../tests/common/etcd.rs"]
mod etcd;

/// The lease's TTL: renewed every 1 s, fence 1 s before it can lapse.
const TTL: Duration = Duration::from_secs(3);
/// The worker's watchdog, which gates the renewals, and how often the healthy worker beats it.
const WORKER_TIMEOUT: Duration = Duration::from_millis(500);
const BEAT_EVERY: Duration = Duration::from_millis(100);
/// The drain's grace period.
const GRACE: Duration = Duration::from_secs(1);
/// How long the demo waits for a fate before it calls it wrong: the gate's timeout, the TTL,
/// etcd's 500 ms lessor check, and room for a loaded machine.
const FATE_WITHIN: Duration = Duration::from_secs(6);

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("node") => node(flag(&args, "--etcd"), flag(&args, "--name")).await,
        _ => demo(flag(&args, "--etcd")).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("online_users: {error}");
            ExitCode::FAILURE
        }
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    let at = args.iter().position(|arg| arg == name)?;
    args.get(at + 1).cloned()
}

// ---------------------------------------------------------------------------------------------
// A node.

async fn node(etcd: Option<String>, name: Option<String>) -> Result<(), Error> {
    let etcd = etcd.ok_or("node: --etcd URL is missing")?;
    let name = name.ok_or("node: --name NAME is missing")?;
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals()?;

    // The worker: one beat per unit of work, until a `wedge` line arrives.
    let worker = Watchdog::new(WORKER_TIMEOUT);
    let heartbeat = worker.heartbeat();
    let wedged = Arc::new(AtomicBool::new(false));
    shutdown.spawn("worker", {
        let wedged = wedged.clone();
        let token = shutdown.token();
        async move {
            while !wedged.load(Ordering::SeqCst) {
                heartbeat.beat();
                if token
                    .run_until_cancelled(tokio::time::sleep(BEAT_EVERY))
                    .await
                    .is_none()
                {
                    return;
                }
            }
            std::future::pending::<()>().await // wedged: no beats, and deaf to the shutdown
        }
    });
    // Standard input: `wedge`, or its end (the demo is gone), which stops the node. A thread of
    // its own: a runtime that shuts down waits for a blocking read of Tokio's stdin.
    std::thread::spawn({
        let (name, shutdown) = (name.clone(), shutdown.clone());
        move || control(&name, &wedged, &shutdown)
    });

    let client = Client::connect([etcd.as_str()], None).await?;
    let lease = LeaseKeeper::new(TTL)
        .gate("worker", &worker)
        .start(EtcdLeases::new(&client), &shutdown)
        .await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "node {name}: listening on {}, lease {:#x} (TTL {TTL:?}, renewed every {:?} while the worker is healthy)",
        listener.local_addr()?,
        lease.id(),
        lease.schedule().renew_every,
    );
    tokio::spawn({
        let (name, lease) = (name.clone(), lease.clone());
        async move {
            let ended = lease.ended().await;
            println!("node {name}: {ended}");
        }
    });

    let triggered = shutdown.triggered();
    tokio::pin!(triggered);
    loop {
        tokio::select! {
            () = &mut triggered => break,
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let user = User { stream, client: client.clone(), lease: lease.clone(), node: name.clone() };
                shutdown.spawn("user", user.serve(shutdown.triggered()));
            }
        }
    }
    let report = shutdown.drain(GRACE).await;
    let ended = lease
        .ended_now()
        .map_or("the keeper is gone".into(), |e| e.to_string());
    println!("node {name}: draining: {ended}");
    drop(report);
    drop(worker);
    Ok(())
}

/// Reads the node's standard input: `wedge` stops the worker's beats; the end of the input
/// (the demo is gone) triggers the shutdown, so that no node outlives the demo.
fn control(name: &str, wedged: &AtomicBool, shutdown: &Shutdown) {
    use std::io::BufRead;
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        if line.trim() == "wedge" {
            wedged.store(true, Ordering::SeqCst);
            println!("node {name}: the worker is wedged");
        }
    }
    shutdown.trigger();
}

/// One connected user.
struct User {
    stream: TcpStream,
    client: Client,
    lease: Lease,
    node: String,
}

impl User {
    /// Reads the user's name, marks them online (attached to the lease, under its fence),
    /// then waits: a user who hangs up is deleted at once; at shutdown the revoke deletes
    /// everyone, so nothing is done here.
    async fn serve(mut self, shutdown: impl std::future::Future<Output = ()>) {
        let (read, mut write) = self.stream.split();
        let mut lines = BufReader::new(read).lines();
        let Ok(Some(name)) = lines.next_line().await else {
            return;
        };
        let key = format!("online/{}", name.trim());
        let put = self.client.put(
            key.as_bytes(),
            self.node.as_bytes(),
            Some(PutOptions::new().with_lease(self.lease.id())),
        );
        let answer = match self.lease.fence().guard(put).await {
            Ok(Ok(_)) => format!("online {}\n", name.trim()),
            Ok(Err(error)) => format!("refused {}: {error}\n", name.trim()),
            Err(closed) => format!("refused {}: {closed}\n", name.trim()),
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        tokio::select! {
            () = shutdown => {}
            _ = lines.next_line() => {
                let _ = self.client.delete(key.as_bytes(), None).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The demo.

/// A node process, killed if it is still running when dropped.
struct Node {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    address: String,
}

impl Node {
    async fn start(name: &'static str, etcd: &str) -> Result<Self, Error> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["node", "--etcd", etcd, "--name", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // Pass the node's lines on, and pick its address from the first.
        let (address, found) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut address = Some(address);
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                println!("{line}");
                if let Some(rest) = line.split("listening on ").nth(1)
                    && let Some(sender) = address.take()
                {
                    let _ = sender.send(rest.split(',').next().unwrap_or_default().to_owned());
                }
            }
        });
        let address = tokio::time::timeout(FATE_WITHIN, found).await??;
        Ok(Self {
            name,
            child,
            stdin,
            address,
        })
    }

    /// Connects `user` and waits for `online <user>`.
    async fn connect(&self, user: &str) -> Result<TcpStream, Error> {
        let mut stream = TcpStream::connect(&self.address).await?;
        stream.write_all(format!("{user}\n").as_bytes()).await?;
        let mut line = String::new();
        BufReader::new(&mut stream).read_line(&mut line).await?;
        if line.trim() != format!("online {user}") {
            return Err(format!("{user} on {}: {line:?}", self.name).into());
        }
        Ok(stream)
    }

    fn wedge(&mut self) -> Result<(), Error> {
        use std::io::Write;
        let stdin = self.stdin.as_mut().ok_or("no stdin")?;
        stdin.write_all(b"wedge\n")?;
        stdin.flush()?;
        Ok(())
    }

    fn sigterm(&self) -> Result<(), Error> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("kill -TERM: {status}").into());
        }
        Ok(())
    }

    fn sigkill(&mut self) -> Result<(), Error> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    async fn wait(mut self) -> Result<(), Error> {
        let deadline = Instant::now() + FATE_WITHIN;
        while self.child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                return Err(format!("node {} did not exit", self.name).into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Who is online, as etcd says: `user@node`, in order.
async fn online(client: &mut Client) -> Result<Vec<String>, Error> {
    let answer = client
        .get("online/", Some(GetOptions::new().with_prefix()))
        .await?;
    let mut users = Vec::new();
    for kv in answer.kvs() {
        let user = kv.key_str()?.trim_start_matches("online/");
        users.push(format!("{user}@{}", kv.value_str()?));
    }
    Ok(users)
}

fn listed(users: &[String]) -> String {
    if users.is_empty() {
        "none".into()
    } else {
        users.join(" ")
    }
}

/// Polls etcd until none of `gone` is online, checking that every one of `kept` stays; returns
/// who is online then.
async fn until_gone(
    client: &mut Client,
    gone: &[&str],
    kept: &[&str],
) -> Result<Vec<String>, Error> {
    let deadline = Instant::now() + FATE_WITHIN;
    loop {
        let users = online(client).await?;
        let has = |user: &str| users.iter().any(|u| u.split('@').next() == Some(user));
        if let Some(lost) = kept.iter().find(|user| !has(user)) {
            return Err(format!("{lost} went offline, but their node is healthy").into());
        }
        if !gone.iter().any(|user| has(user)) {
            return Ok(users);
        }
        if Instant::now() >= deadline {
            return Err(format!("still online after {FATE_WITHIN:?}: {}", listed(&users)).into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn demo(etcd: Option<String>) -> Result<(), Error> {
    let start = Instant::now();
    let log = |what: String| println!("demo at {} ms: {what}", start.elapsed().as_millis());
    // An etcd of its own unless one was named.
    let (own, endpoint) = match etcd {
        Some(endpoint) => (None, endpoint),
        None => {
            let etcd = etcd::Etcd::start().await;
            let endpoint = etcd.endpoint().to_owned();
            (Some(etcd), endpoint)
        }
    };
    log(format!("etcd at {endpoint}"));
    let mut client = Client::connect([endpoint.as_str()], None).await?;

    let mut a = Node::start("a", &endpoint).await?;
    let mut b = Node::start("b", &endpoint).await?;
    let users = [
        a.connect("alice").await?,
        a.connect("bob").await?,
        b.connect("carol").await?,
        b.connect("dave").await?,
    ];
    log(format!("online: {}", listed(&online(&mut client).await?)));

    // 1. A wedged node: its worker starves its watchdog, the renewals stop, the lease lapses.
    a.wedge()?;
    let wedged = Instant::now();
    log("wedge sent to a".into());
    let left = until_gone(&mut client, &["alice", "bob"], &["carol", "dave"]).await?;
    log(format!(
        "alice and bob gone, {} ms after the wedge; online: {}",
        wedged.elapsed().as_millis(),
        listed(&left)
    ));

    // 2. A killed node: nothing runs any more, the lease lapses.
    b.sigkill()?;
    let killed = Instant::now();
    log("SIGKILL sent to b".into());
    let left = until_gone(&mut client, &["carol", "dave"], &[]).await?;
    log(format!(
        "carol and dave gone, {} ms after the SIGKILL; online: {}",
        killed.elapsed().as_millis(),
        listed(&left)
    ));
    drop(users);

    // 3. A node stopped gracefully: the drain revokes the lease at once.
    let b = Node::start("b", &endpoint).await?;
    let erin = b.connect("erin").await?;
    log(format!("online: {}", listed(&online(&mut client).await?)));
    b.sigterm()?;
    let terminated = Instant::now();
    log("SIGTERM sent to b".into());
    let left = until_gone(&mut client, &["erin"], &[]).await?;
    log(format!(
        "erin gone, {} ms after the SIGTERM; online: {}",
        terminated.elapsed().as_millis(),
        listed(&left)
    ));
    b.wait().await?;
    drop(erin);

    // 4. The wedged node, stopped too.
    a.sigterm()?;
    log("SIGTERM sent to a".into());
    a.wait().await?;
    log("done".into());
    drop(own);
    Ok(())
}
