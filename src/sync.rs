//! The synchronization primitives the core state machine (`state.rs`, `segment.rs`) is written
//! against.
//!
//! This is the std side of the switch. The `loom-tests` crate compiles the very same
//! `src/state.rs` and `src/segment.rs` by `#[path]` next to its own `sync` module, which exports
//! loom's versions under these names, so the models check the code that ships. Tokio cannot be built under
//! loom, which is why the core names nothing from Tokio.

pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
pub(crate) use std::sync::{Mutex, MutexGuard, PoisonError};
