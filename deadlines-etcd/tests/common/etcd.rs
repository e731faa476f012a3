//! A real etcd server for the tests and the `online_users` example: the binary that the
//! `etcd-bin-vendored` crate ships, started on 127.0.0.1 with free ports and a data directory
//! of its own, and killed (and its directory removed) when the guard is dropped, so that no
//! test leaks a process.
#![allow(dead_code)] // the example and each test use a different part

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use etcd_client::Client;

/// How long etcd may take to answer after it was started (it takes well under a second here).
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running etcd; dropping it kills the process and removes its data directory.
pub struct Etcd {
    child: Option<Child>,
    endpoint: String,
    data_dir: PathBuf,
}

/// A port nothing listens on right now: bound to 0, read, released. Another process could
/// take it before etcd binds it; `Etcd::start` then tries again with new ports.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a local address").port()
}

impl Etcd {
    /// Starts etcd and waits until it answers a request.
    ///
    /// # Panics
    ///
    /// If the platform has no vendored etcd, or etcd does not answer within 20 s (three
    /// tries with new ports).
    pub async fn start() -> Self {
        for _ in 0..3 {
            let mut etcd = Self::spawn();
            if etcd.wait_ready().await {
                return etcd;
            }
            etcd.kill();
        }
        panic!("etcd did not start");
    }

    fn spawn() -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let binary = etcd_bin_vendored::etcd_bin_path().expect("a vendored etcd for this platform");
        let (client, peer) = (free_port(), free_port());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        let data_dir = std::env::temp_dir().join(format!(
            "deadlines-etcd-{}-{}-{nanos}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let endpoint = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(binary)
            .arg("--name=test")
            .arg(format!("--data-dir={}", data_dir.display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=test={peer_url}"))
            // A test's data is thrown away: no fsync, and quiet.
            .arg("--unsafe-no-fsync")
            .arg("--log-level=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts");
        Self {
            child: Some(child),
            endpoint,
            data_dir,
        }
    }

    /// Polls etcd's status until it answers (`true`), the process exits or 20 s pass.
    async fn wait_ready(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        while tokio::time::Instant::now() < deadline {
            if let Some(child) = &mut self.child
                && let Ok(Some(_exited)) = child.try_wait()
            {
                return false;
            }
            let attempt = async {
                let mut client = Client::connect([&self.endpoint], None).await.ok()?;
                client.status().await.ok()
            };
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), attempt).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// The client URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("the endpoint ends with its port")
    }

    /// A client of this etcd.
    pub async fn client(&self) -> Client {
        Client::connect([&self.endpoint], None)
            .await
            .expect("a client of the test's etcd")
    }

    /// Kills etcd (SIGKILL) and waits for it: "etcd stopped mid-run".
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
