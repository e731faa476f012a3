//! Stress, on std threads and the real clock: the owner re-arms a watchdog in a tight loop
//! while another thread stops it through a heartbeat. A stop that returned `true` ends the
//! watchdog's life (contract, Watchdog rules 8 and 9): a `rearm` after it starts a new life,
//! and every heartbeat of the old one returns `false` from then on; a `rearm` before it only
//! restarted the window, so the stop then holds for the life the watchdog is in.

use std::pin::pin;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use deadlines::{Heartbeat, Watchdog};

const ROUNDS: usize = 20_000;

#[test]
fn a_rearm_never_undoes_a_stop() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _entered = runtime.enter();

    let (to_stopper, handles) = mpsc::channel::<Heartbeat>();
    let (report, reports) = mpsc::channel::<bool>();
    let stopper = thread::spawn(move || {
        for heartbeat in handles {
            report.send(heartbeat.stop()).unwrap();
        }
    });

    let mut cx = Context::from_waker(Waker::noop());
    let (mut undone, mut stopped_in_life, mut new_lives) = (0, 0, 0);
    for _ in 0..ROUNDS {
        let mut watchdog = pin!(Watchdog::new(Duration::from_secs(3_600)));
        let heartbeat = watchdog.heartbeat();
        to_stopper.send(heartbeat.clone()).unwrap();
        let prevented = loop {
            watchdog.as_mut().rearm(); // racing the stop
            if let Ok(prevented) = reports.try_recv() {
                break prevented;
            }
        };
        assert!(
            prevented,
            "the watchdog was live: the stop must prevent its expiry"
        );
        if heartbeat.beat() {
            undone += 1;
        }
        match watchdog.as_mut().poll(&mut cx) {
            // The stop landed after the last rearm: it holds for this life.
            Poll::Ready(Err(_)) => stopped_in_life += 1,
            // It landed before one: that rearm started a new life, which new heartbeats beat.
            Poll::Pending => {
                assert!(watchdog.heartbeat().beat(), "the new life is live");
                new_lives += 1;
            }
            Poll::Ready(Ok(expired)) => panic!("expired an hour early: {expired:?}"),
        }
    }
    drop(to_stopper);
    stopper.join().unwrap();
    assert_eq!(
        undone, 0,
        "a rearm undid a stop that returned true ({stopped_in_life} stops held in their life, \
         {new_lives} new lives)"
    );
    // Both orders happened, so both branches above were checked.
    assert!(
        stopped_in_life > 0 && new_lives > 0,
        "{stopped_in_life} / {new_lives}"
    );
}
