//! A TCP proxy on 127.0.0.1 between a client and etcd that can be partitioned: from then on it
//! forwards nothing and closes nothing, so the client's requests hang as across a network
//! partition, while etcd itself runs on (and expires leases) as usual.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    endpoint: String,
    partitioned: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to `upstream`.
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let partitioned = Arc::new(AtomicBool::new(false));
        let flag = partitioned.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(client_read, server_write, flag.clone()));
                tokio::spawn(forward(server_read, client_write, flag.clone()));
            }
        });
        Self {
            endpoint,
            partitioned,
            task,
        }
    }

    /// The proxy's URL, for the client to connect to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Cuts the link: bytes already read are dropped, nothing more is forwarded.
    pub fn partition(&self) {
        self.partitioned.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    partitioned: Arc<AtomicBool>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if partitioned.load(Ordering::SeqCst) {
            // Hold both sockets open and silent for as long as the test runs.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
