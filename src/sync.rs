//! The synchronization primitives the core state machine (`state.rs`, `segment.rs`) is written
//! against.
//!
//! This is the std side of the switch. The `loom-tests` crate compiles the very same
//! `src/state.rs` and `src/segment.rs` by `#[path]` next to its own `sync` module, which exports
//! loom's versions under these names, so the models check the code that ships. Tokio cannot be built under
//! loom, which is why the core names nothing from Tokio.

use std::sync::PoisonError;
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning: the one lock helper of the crate (`loom-tests` has its
/// twin, on loom's mutex).
///
/// A lock is poisoned when a thread panicked while holding it. No lock of this crate is held
/// across a step that can leave its data half-written: under the watchdog's slot (`state.rs`)
/// only a waker's `clone` can panic, under `segment.rs`'s tables only an allocation, and under
/// the locks of `Shutdown` and `TaskSet` only a key's `Hash`, `Eq` or `Clone`, whose panic
/// leaves a map merely incomplete. The data stays valid, so refusing it would only turn one
/// panic into many.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
