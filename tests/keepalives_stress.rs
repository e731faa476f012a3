//! Stress, on std threads and the real clock: the owner re-inserts a key in a tight loop while
//! another thread stops that key's heartbeat. A stop that returned `true` ends the key's life
//! (contract, Watchdog rules 8 and 9): no later re-insert may undo it, so every handle of
//! that life must return `false` from then on.
//!
//! The race window is the re-insert's own: between its liveness check and its re-arm of the
//! word. Each round hands a fresh key's heartbeat to the stopper, whose `stop` lands at a
//! random point of the owner's loop; the rounds are many so the window is hit often when the
//! protocol is wrong (before the fix, this test failed in every run: see `docs/guarantees.md`).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use deadlines::{Heartbeat, Keepalives};

const ROUNDS: u64 = 20_000;

#[test]
fn a_re_insert_never_undoes_a_stop() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let mut set = Keepalives::new(Duration::from_secs(3_600));

    let (to_stopper, handles) = mpsc::channel::<Heartbeat>();
    let (report, reports) = mpsc::channel::<bool>();
    let stopper = thread::spawn(move || {
        for heartbeat in handles {
            report.send(heartbeat.stop()).unwrap();
        }
    });

    let mut undone = Vec::new();
    for key in 0..ROUNDS {
        let heartbeat = set.insert(key);
        to_stopper.send(heartbeat.clone()).unwrap();
        let prevented = loop {
            drop(set.insert(key)); // a re-insert of the live key, racing the stop
            if let Ok(prevented) = reports.try_recv() {
                break prevented;
            }
        };
        assert!(
            prevented,
            "the key was live: the stop must prevent its expiry"
        );
        if heartbeat.beat() {
            undone.push(key);
        }
        assert!(set.remove(&key));
    }
    drop(to_stopper);
    stopper.join().unwrap();
    assert!(
        undone.is_empty(),
        "a re-insert undid a stop that returned true, in {} of {ROUNDS} rounds (keys {:?}...)",
        undone.len(),
        &undone[..undone.len().min(5)]
    );
}
