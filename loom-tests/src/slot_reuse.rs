//! (h) The life of a `Keepalives` slot: the set lets go of a key while two heartbeats of it
//! beat, one is cloned, and all are dropped, on three threads. Then the slot is armed for a
//! new key. Asserted: the slot is freed exactly once, by the set or by the last heartbeat
//! (never both, never neither), and never while a heartbeat of the old key can still beat
//! it: no beat of the old key counts for the new one.
//!
//! To make a stale beat visible, the new key is armed at tick 1 and the old heartbeats beat
//! at ticks 5 and 6 (a real clock never runs back; the model's ticks need not).

use std::sync::Arc;

use loom::thread;

use crate::segment::Segment;
use crate::sync::Ordering::SeqCst;

const TIMEOUT: u64 = 10;
const NEW_KEY_ARMED_AT: u64 = 1;

/// How the set lets go of a slot: the shipped `leave`, or a broken twin.
type Leave = fn(&Segment, u32) -> bool;

fn shipped_leave(segment: &Segment, offset: u32) -> bool {
    segment.leave(offset)
}

/// Broken: frees the slot when the key leaves, whatever heartbeats remain (as if the set
/// owned the slot alone). A heartbeat still held beats the slot's next key.
fn leave_ignoring_heartbeats(segment: &Segment, offset: u32) -> bool {
    segment.meta(offset).swap(0, SeqCst);
    true
}

fn slot_reuse(leave: Leave) {
    loom::model(move || {
        let segment = Arc::new(Segment::new(1, TIMEOUT));
        segment.claim(0, 0, None);
        let first = segment.handle(0);
        let second = segment.handle(0);
        let cloner = thread::spawn(move || {
            let clone = first.clone();
            drop(first);
            clone.word().beat(5);
        });
        let beater = thread::spawn(move || {
            second.word().beat(6);
        });

        // The set: the key leaves (its word made terminal first), then, if the slot is free,
        // a new key is armed in it at once.
        segment.word(0).close();
        let freed_by_set = leave(&segment, 0);
        if freed_by_set {
            segment.claim(0, NEW_KEY_ARMED_AT, None);
        }
        cloner.join().unwrap();
        beater.join().unwrap();

        let mut returned = Vec::new();
        segment.collect(|offset| returned.push(offset));
        match (freed_by_set, returned.as_slice()) {
            (true, []) => {}
            (false, [0]) => drop(segment.claim(0, NEW_KEY_ARMED_AT, None)),
            (true, [..]) => panic!("the slot was freed twice"),
            (false, _) => panic!("the slot was never freed: {returned:?}"),
        }
        assert_eq!(
            segment.word(0).last_beat(),
            Some(NEW_KEY_ARMED_AT),
            "a beat of the old key counted for the new one"
        );
    });
}

#[test]
fn h_slot_reuse() {
    slot_reuse(shipped_leave);
}

#[test]
#[should_panic(expected = "a beat of the old key counted for the new one")]
fn h_slot_reuse_broken_leave_ignoring_heartbeats() {
    slot_reuse(leave_ignoring_heartbeats);
}

/// Memory returns: a slot freed with its own timeout leaves no entry in the segment's table,
/// whether the set frees it or its last heartbeat does; a key re-timed to the set's timeout
/// leaves none either. (One thread: this checks the bookkeeping, not a race.)
#[test]
fn h_a_freed_slot_leaves_no_timeout_behind() {
    loom::model(|| {
        let segment = Arc::new(Segment::new(2, TIMEOUT));
        segment.claim(0, 0, Some(30));
        segment.claim(1, 0, Some(40));
        assert_eq!(segment.custom_len(), 2);
        segment.retime(1, None);
        assert_eq!(segment.custom_len(), 1, "re-timed to the set's timeout");
        assert_eq!(segment.timeout(1), TIMEOUT);

        let heartbeat = segment.handle(0);
        segment.word(0).close();
        assert!(!segment.leave(0), "a heartbeat still holds the slot");
        assert_eq!(
            segment.custom_len(),
            1,
            "kept while the heartbeat may read it"
        );
        drop(heartbeat);
        segment.collect(|_| {});
        assert_eq!(segment.custom_len(), 0, "freed by its last heartbeat");

        segment.claim(0, 0, Some(50));
        segment.word(0).close();
        assert!(segment.leave(0));
        assert_eq!(segment.custom_len(), 0, "freed by the set");
    });
}

/// A key with the set's timeout never takes the table's lock: with the lock held by the set's
/// thread throughout, another thread reads the key's timeout and deadline, re-times it to the
/// set's timeout, and the key leaves and its slot is freed. If any of them took the lock, the
/// two threads would wait on each other, and loom reports the deadlock.
#[test]
fn h_keys_with_the_set_timeout_take_no_lock() {
    loom::model(|| {
        let segment = Arc::new(Segment::new(1, TIMEOUT));
        segment.claim(0, 0, None);
        let held = segment.lock_custom();
        let other = {
            let segment = segment.clone();
            thread::spawn(move || {
                assert_eq!(segment.timeout(0), TIMEOUT);
                assert_eq!(segment.deadline(0), Some(TIMEOUT));
                assert!(segment.rearm(0, 5, None));
                segment.word(0).close();
                assert!(segment.leave(0), "no heartbeat holds it: freed at once");
            })
        };
        other.join().unwrap();
        drop(held);
    });
}
