//! Node liveness on etcd leases, kept alive only while the node is healthy.
//!
//! When one process is not enough, the question "is this server alive?" moves out of the
//! process: etcd holds a lease for each node, and every key attached to it (each connected
//! user's "online" record, a leader key, a service registration) goes away when the lease
//! expires. What users still write by hand is the part that makes that answer true: renew only
//! while the process is really healthy, stop leader-only work before the lease can lapse, and
//! shut down when the cluster refuses a renewal. This crate does that with the primitives of
//! [`deadlines`]:
//!
//! | item | what it is for |
//! |---|---|
//! | [`LeaseKeeper`] | grants a lease and renews it every TTL/3 while its gates (a [`Gates`](deadlines::Gates) set: [`Watchdog`](deadlines::Watchdog)s, [`Heartbeat`](deadlines::Heartbeat)s, health checks) are healthy; revokes it when the [`Shutdown`](deadlines::Shutdown) is triggered; triggers the shutdown when the lease is lost |
//! | [`Lease`] | the granted lease: its id (attach keys to it), its [`Fence`], how the keeping [`Ended`] |
//! | [`Fence`], [`Fenced`] | until when the lease is surely held (send time of the last granted renewal + TTL - margin), and work cut off when that passes |
//! | [`Schedule`] | TTL, renew period, margin and retry period, and why the defaults are what they are |
//! | [`LeaseError`] | an unreachable endpoint, a TTL other than asked (below etcd's minimum), a lease etcd no longer has, a call that timed out |
//! | [`LeaseApi`], `EtcdLeases`, [`MemoryLeases`] | the three lease calls the keeper makes; on `etcd-client` (feature `etcd`); in memory on Tokio time, for tests |
//!
//! ```text
//! TTL 3 s (renew every 1 s, margin 1 s); the gate "worker" is a Watchdog the worker beats
//!
//! time (s)    0        1        2        2.4                4.5    5.0
//! worker      beats every 100 ms ... last beat at 1.9 (wedged), the gate fails at 2.4
//! renewals    grant    sent     sent     none from 2.4
//! fence       until 2  until 3  until 4  closed at 2.4: leader-only work cut off
//! etcd                                   lease expires at 2 + 3 = 5.0 (its lessor deletes the
//!                                        keys within 500 ms after), unless renewed
//! shutdown    drain at any time before 5.0, the wedge's lapse too: the fence closes, the
//!             lease is revoked, the keys go at once
//! ```
//!
//! # Features
//!
//! `etcd` (off by default) adds `EtcdLeases`, on `etcd-client`. Its build compiles etcd's
//! protocol files with `protoc`, which a machine with only the Rust toolchain lacks (set
//! `PROTOC`, or install protobuf's compiler); without the feature the crate builds the keeper,
//! the fence and the in-memory lessor, all on `deadlines` and Tokio alone, so their tests run
//! wherever the workspace's `cargo test` does.
//!
//! # Examples
//!
//! A node whose "online" records stay in etcd while its worker is healthy, and go when it
//! wedges; here on [`MemoryLeases`] and a paused clock (the `online_users` example runs two
//! nodes against a real etcd):
//!
//! ```
//! use std::time::Duration;
//! use deadlines::{Shutdown, Watchdog};
//! use deadlines_etcd::{Ended, LeaseKeeper, MemoryLeases};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), deadlines_etcd::LeaseError> {
//! let start = tokio::time::Instant::now();
//! let etcd = MemoryLeases::new(); // with the feature `etcd`: EtcdLeases::new(&client)
//! let shutdown = Shutdown::new();
//! let worker = Watchdog::new(Duration::from_millis(500));
//! let heartbeat = worker.heartbeat();
//! tokio::spawn(async move {
//!     for _ in 0..20 {
//!         heartbeat.beat(); // one beat per unit of work, for 2 s
//!         tokio::time::sleep(Duration::from_millis(100)).await;
//!     }
//!     std::future::pending::<()>().await // wedged
//! });
//!
//! let lease = LeaseKeeper::new(Duration::from_secs(3))
//!     .gate("worker", &worker)
//!     .start(etcd.clone(), &shutdown)
//!     .await?;
//! etcd.put("online/alice", "node-1", lease.id())?;
//!
//! let Ended::Unhealthy { gate, at } = lease.ended().await else { panic!() };
//! assert_eq!((gate.as_str(), at - start), ("worker", Duration::from_millis(2400)));
//! assert!(!lease.fence().is_open(), "leader-only work stops at once");
//! tokio::time::sleep_until(start + Duration::from_millis(4999)).await;
//! assert!(etcd.get("online/alice").is_some(), "renewed at 2 s: held until 5 s");
//! tokio::time::sleep_until(start + Duration::from_secs(5)).await;
//! assert_eq!(etcd.get("online/alice"), None, "the cluster sees the node gone");
//! # drop(worker);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod api;
mod error;
#[cfg(feature = "etcd")]
mod etcd;
mod fence;
mod keeper;
mod lease;
mod memory;
mod schedule;

pub use api::{Grant, LeaseApi};
pub use error::{LeaseError, Source};
#[cfg(feature = "etcd")]
pub use etcd::EtcdLeases;
pub use fence::{Fence, FenceClosed, Fenced};
pub use keeper::{LeaseKeeper, TASK_NAME};
pub use lease::{Ended, Lease};
pub use memory::{CallKind, MemoryCall, MemoryLeases};
pub use schedule::Schedule;
