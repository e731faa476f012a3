//! The `deadlines` core state machine, compiled against loom.
//!
//! `state` and `segment` are `../src/state.rs` and `../src/segment.rs` themselves, included by
//! path: the models check the code that ships, not a copy. They are written against
//! `crate::sync`, which here is loom's atomics, fence and mutex instead of std's. Tokio is not involved: it cannot be built under loom, and the core
//! does not need it (time is an explicit tick). The models are this crate's unit tests, so
//! `cargo test --workspace` runs them; `docs/guarantees.md` lists what each one proves.
// This crate is only the shared state and its models; the models exercise the protocol's
// operations, not every accessor (a `Keepalives` slot is the same `Word` under another owner).
#![allow(dead_code)]

/// Loom's versions of what `deadlines/src/sync.rs` exports from std.
pub(crate) mod sync {
    pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
    pub(crate) use loom::sync::{Mutex, MutexGuard};
    use std::sync::PoisonError;

    /// The twin of `lock` in `deadlines/src/sync.rs`, on loom's mutex.
    pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[path = "../../src/state.rs"]
pub(crate) mod state;

#[path = "../../src/segment.rs"]
pub(crate) mod segment;

#[cfg(test)]
mod support;

#[cfg(test)]
mod models;

#[cfg(test)]
mod linearizability;

#[cfg(test)]
mod slot_reuse;

#[cfg(test)]
mod lives;

#[cfg(test)]
mod keyed;

#[cfg(test)]
mod orderings;
