//! Test support for deadlines-etcd: a real etcd server ([`etcd`]), a TCP proxy that can cut
//! the connection to it ([`proxy`]), and waits bounded by a deadline.
#![allow(dead_code)] // each test file uses a different part

#[cfg(feature = "etcd")]
pub mod etcd;
#[cfg(feature = "etcd")]
pub mod proxy;

use std::time::Duration;

use tokio::time::Instant;

/// Polls `condition` every 10 ms until it holds, and returns the instant it was first seen to
/// hold; `None` once `within` passed without it. Never a sleep-and-hope: the caller asserts
/// the instant against its bound.
pub async fn poll_until(
    within: Duration,
    mut condition: impl AsyncFnMut() -> bool,
) -> Option<Instant> {
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return Some(Instant::now());
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
