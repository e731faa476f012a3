//! A stand-in for systemd's notify socket: a real `UnixDatagram` bound in the temporary
//! directory, read without blocking, so that a paused-clock test sees exactly the datagrams
//! sent by the time it looks.

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A path in the temporary directory no other test (or test process) uses; nothing is made
/// there. Short enough for `sun_path` (108 bytes) under the usual `TMPDIR`s.
pub fn unique_path(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("deadlines-{tag}-{}-{n}.sock", std::process::id()))
}

/// The receiving end; its file is removed when it is dropped.
pub struct Systemd {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Systemd {
    pub fn bind(tag: &str) -> Self {
        let path = unique_path(tag);
        let socket = UnixDatagram::bind(&path).expect("binding the notify socket");
        socket.set_nonblocking(true).unwrap();
        Self { socket, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every datagram received since the last call, in order.
    pub fn received(&self) -> Vec<String> {
        let mut buffer = [0u8; 4096];
        let mut datagrams = Vec::new();
        loop {
            match self.socket.recv(&mut buffer) {
                Ok(n) => datagrams.push(String::from_utf8(buffer[..n].to_vec()).unwrap()),
                Err(error) if error.kind() == ErrorKind::WouldBlock => return datagrams,
                Err(error) => panic!("reading the notify socket: {error}"),
            }
        }
    }

    /// Closes the socket, so that the next send is refused; the file stays until drop.
    pub fn close(&mut self) {
        let (a, _b) = UnixDatagram::pair().unwrap();
        self.socket = a;
    }
}

impl Drop for Systemd {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub const PING: &str = "WATCHDOG=1\n";
pub const TRIGGER: &str = "WATCHDOG=trigger\n";
