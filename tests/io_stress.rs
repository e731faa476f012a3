//! Stress, on two std threads: a threshold shortened from another thread while the IO's
//! pending read (or an events stream) is being polled is never missed. Each round polls a
//! fresh `IdleIo` once while the other thread shortens its threshold from an hour to 10 ms;
//! then either that poll parked its waker in time and the change woke it, or the poll read
//! the new threshold and set its timer for 10 ms. The third outcome, a poll that read the old
//! threshold and parked its waker only after the change had looked for it, waits an hour: a
//! lost wakeup. The paused clock is never advanced; each round's verdict is read from the
//! wakes and from whether one more poll moves the timer earlier.
//!
//! The race is in a window of a few loads, so the test finds it by numbers: before the fix
//! (`IdleIo` read the thresholds, then parked), about one read round in a hundred lost its
//! wakeup: 14 to 23 of 2,000 in each of three runs.
#![cfg(feature = "io")]

mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use common::idle::{Op, Watch};
use common::ms;
use deadlines::io::{IdleHandle, IdleIo, IdleKind::Read};
use tokio::io::{AsyncRead, ReadBuf};

const ROUNDS: u64 = 4_000;

/// An IO that never has a byte to read.
struct Silent;

impl AsyncRead for Silent {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

/// Spins until the round counter reaches `value`, yielding now and then to a busy machine.
fn wait_for(phase: &AtomicU64, value: u64) {
    let mut spins = 0u32;
    while phase.load(SeqCst) != value {
        spins += 1;
        if spins.is_multiple_of(256) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_threshold_shortened_during_a_poll_is_never_missed() {
    let phase = Arc::new(AtomicU64::new(0));
    let handoff: Arc<Mutex<Option<IdleHandle>>> = Arc::default();
    let setter = {
        let (phase, handoff) = (phase.clone(), handoff.clone());
        std::thread::spawn(move || {
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for round in 0..ROUNDS {
                wait_for(&phase, 2 * round + 1);
                let handle = handoff.lock().unwrap().take().unwrap();
                // A short random delay, so the change lands anywhere in the poll.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                for _ in 0..x % 24 {
                    std::hint::spin_loop();
                }
                handle.set_threshold(Read, Some(ms(10)));
                phase.store(2 * round + 2, SeqCst);
            }
        })
    };
    let (mut lost_reads, mut lost_events) = (0, 0);
    for round in 0..ROUNDS {
        let mut io = IdleIo::new(Silent)
            .read_idle(ms(3_600_000))
            .time_out_on(Read);
        *handoff.lock().unwrap() = Some(io.handle());
        if round % 2 == 0 {
            let mut read = Op::default();
            phase.store(2 * round + 1, SeqCst);
            assert!(read.read(&mut io, 8).is_pending());
            wait_for(&phase, 2 * round + 2);
            if read.wakes() == 0 {
                // Not woken: its timer must already be set for 10 ms, not moved by a poll.
                assert!(read.read(&mut io, 8).is_pending());
                if io.timer_resets() > 1 {
                    lost_reads += 1;
                }
            }
        } else {
            let mut events = Watch::new(io.events());
            phase.store(2 * round + 1, SeqCst);
            assert_eq!(events.poll(), None);
            wait_for(&phase, 2 * round + 2);
            if events.wakes() == 0 {
                assert_eq!(events.poll(), None);
                if events.get_ref().timer_resets() > 1 {
                    lost_events += 1;
                }
            }
        }
    }
    setter.join().unwrap();
    assert_eq!(
        (lost_reads, lost_events),
        (0, 0),
        "lost wakeups (reads, event streams) in {ROUNDS} rounds"
    );
}
