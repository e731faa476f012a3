//! Test support: a future polled by hand with a waker that counts its wakeups.
#![allow(dead_code)] // each test file uses a different part

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::time::Instant;

/// A pinned future with a counting waker, polled only when the test says so.
pub struct Probe<F> {
    future: Pin<Box<F>>,
    wakes: Arc<WakeCounter>,
}

#[derive(Default)]
struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl<F: Future> Probe<F> {
    pub fn new(future: F) -> Self {
        Self {
            future: Box::pin(future),
            wakes: Arc::default(),
        }
    }

    pub fn poll(&mut self) -> Poll<F::Output> {
        let waker = Waker::from(self.wakes.clone());
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }

    /// How many times the future woke its task so far.
    pub fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    pub fn get(&mut self) -> Pin<&mut F> {
        self.future.as_mut()
    }

    pub fn get_ref(&self) -> &F {
        &self.future
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Advances the paused clock to `start + offset` and lets the timer driver fire what is due.
pub async fn advance_to(start: Instant, offset: Duration) {
    let target = start + offset;
    let now = Instant::now();
    assert!(target >= now, "advance_to goes forward only");
    tokio::time::advance(target - now).await;
    assert_eq!(Instant::now(), target);
}

/// The largest instant `Instant` can represent from here (found by bisection).
pub fn max_instant() -> Instant {
    let now = Instant::now();
    let (mut lo, mut hi) = (0u64, u64::MAX);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if now.checked_add(Duration::from_secs(mid)).is_some() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut max = now + Duration::from_secs(lo);
    let mut step = Duration::from_millis(500);
    while step > Duration::ZERO {
        if let Some(later) = max.checked_add(step) {
            max = later;
        } else {
            step /= 2;
        }
    }
    max
}
