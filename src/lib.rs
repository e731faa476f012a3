//! Resettable timer primitives for Tokio: "do X if nothing happened for a while".
//!
//! Keepalive timeouts, heartbeat watchdogs, debounced event streams and graceful shutdown all
//! need a timer that is pushed back by activity and fires once when activity stops. This crate
//! gives that timer exact, documented semantics: a reset and an expiry never race (once a reset
//! returns, the earlier arming can no longer fire), an expiry is delivered once and never
//! re-fires, and pushing a deadline later does not touch Tokio's timer wheel.
//!
//! Every primitive runs on Tokio time, so it obeys
//! [`tokio::time::pause`](https://docs.rs/tokio/1/tokio/time/fn.pause.html) and
//! `#[tokio::test(start_paused = true)]`: tests of code built on it are instant and exact.
//!
//! | primitive | what it is for |
//! |---|---|
//! | [`Deadline`] | a future over one `Sleep`: reset on every heartbeat, stop, re-arm; fires once |
//! | [`Watchdog`] + [`Heartbeat`] | a timeout that other tasks and threads extend with a wait-free beat |
//! | [`Watchdog::guard`] → [`Guarded`] | `tokio::time::timeout` with a deadline other tasks push back |
//! | [`Keepalives`] | a heartbeat deadline per key (a million sessions) on one timer; a beat costs no timer operation |
//! | [`Gates`] | named health gates (watchdogs, heartbeats, checks) judged as one: what `systemd::Pinger` and the `deadlines-etcd` lease keeper gate on |
//! | [`stream`] | `debounce` (leading, trailing, `max_wait`), `debounce_batch`, `idle_timeout`, `keepalive`, `ping_pong` |
//! | [`io::IdleIo`] | read, write and all idle on any Tokio IO: events, or `TimedOut` for hyper and tonic (feature `io`) |
//! | `Shutdown` | graceful shutdown: named tasks, a grace period, cleanup run once, on SIGTERM (feature `shutdown`) |
//! | `TaskSet` | stoppable tasks by key, each with its own cancellation token; `Shutdown::task_set` makes one the drain stops (feature `shutdown`) |
//! | `systemd::Pinger` | systemd's watchdog pinged only while gated watchdogs are healthy; `READY=1`, `STOPPING=1` with the drain's extension (feature `systemd`, unix only) |
//!
//! # Example
//!
//! A read loop that gives up on a peer silent for 5 seconds. The deadline is created once
//! and reset on every message, so it fires even under steady traffic that stops, and it fires
//! only once.
//!
//! ```
//! use std::time::Duration;
//! use deadlines::Deadline;
//! use tokio::sync::mpsc;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let (tx, mut rx) = mpsc::channel::<String>(16);
//! tokio::spawn(async move {
//!     for n in 0..10 {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         tx.send(format!("message {n}")).await.unwrap();
//!     }
//!     std::future::pending::<()>().await; // the peer falls silent
//! });
//!
//! let idle = Duration::from_secs(5);
//! let deadline = Deadline::after(idle);
//! tokio::pin!(deadline);
//! let mut received = Vec::new();
//! let silent_since = loop {
//!     tokio::select! {
//!         Some(message) = rx.recv() => {
//!             received.push(message);
//!             deadline.as_mut().reset(idle);
//!         }
//!         expired = &mut deadline => break expired.deadline() - idle,
//!     }
//! };
//! assert_eq!(received.len(), 10);
//! assert_eq!(tokio::time::Instant::now() - silent_since, idle);
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod clock;
mod deadline;
mod expired;
mod gates;
mod guard;
mod heartbeat;
#[cfg(feature = "io")]
pub mod io;
mod keepalive;
mod segment;
#[cfg(feature = "shutdown")]
mod shutdown;
mod state;
pub mod stream;
mod sync;
#[cfg(all(unix, feature = "systemd"))]
pub mod systemd;
mod timer;
mod watchdog;

pub use deadline::Deadline;
pub use expired::Expired;
pub use gates::Gates;
pub use guard::Guarded;
pub use heartbeat::Heartbeat;
pub use keepalive::Keepalives;
#[cfg(feature = "shutdown")]
pub use shutdown::{DrainReport, Shutdown, StopReport, TaskExit, TaskSet};
pub use watchdog::{Stopped, Watchdog};

// The README's examples run as doctests, so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
