//! (m) The lock-free judge `Keepalives` uses: the owner judges a key's word with
//! `Word::judge` directly, with no lock (only the owner changes a key's timeout), while the
//! key's heartbeat beats or stops it. The same guarantees as models (a) and (b), on a slot of
//! a `Segment` instead of a watchdog's `State`. Two threads, exhaustive, each with twins.

use std::sync::Arc;

use loom::thread;

use crate::segment::Segment;
use crate::state::{Decision, Word};
use crate::support::*;

const TIMEOUT: u64 = 10;

fn shipped_beat(word: &Word, now: u64) -> bool {
    word.beat(now)
}

fn shipped_stop(word: &Word) -> bool {
    word.stop()
}

fn shipped_judge(word: &Word, timeout: u64, now: u64) -> Decision {
    word.judge(timeout, now)
}

/// A key armed at tick 0 in slot 0, and a heartbeat of it.
fn one_key() -> (Arc<Segment>, crate::segment::KeyRef) {
    let segment = Arc::new(Segment::new(1, TIMEOUT));
    segment.claim(0, 0, None);
    let heartbeat = segment.handle(0);
    (segment, heartbeat)
}

/// (m1) A beat at tick 5 through the key's heartbeat against the owner's judge at tick 10.
/// Either the beat counted and the judge saw it (due at 15), or the judge decided first and
/// the beat returned `false`.
fn keyed_beat_vs_judge(beat: WordBeat, judge: Judge) {
    loom::model(move || {
        let (segment, heartbeat) = one_key();
        let beater = thread::spawn(move || beat(heartbeat.word(), 5));
        let decision = judge(segment.word(0), segment.timeout(0), 10);
        let counted = beater.join().unwrap();
        match decision {
            Decision::Expired(10) => assert!(!counted, "a beat after the decision counted"),
            Decision::Pending(15) => {
                assert!(counted, "the judge saw a beat that did not count");
                assert_eq!(segment.word(0).judge(TIMEOUT, 15), Decision::Expired(15));
            }
            other => panic!("unexpected decision {other:?}"),
        }
    });
}

#[test]
fn m_keyed_beat_vs_judge() {
    keyed_beat_vs_judge(shipped_beat, shipped_judge);
}

#[test]
#[should_panic(expected = "a beat after the decision counted")]
fn m_keyed_beat_vs_judge_broken_beat_load_then_store() {
    keyed_beat_vs_judge(word_beat_load_then_store, shipped_judge);
}

/// The store erases the beat that landed after the judge's load: the beat counted, and the
/// expiry was decided as if it never happened.
#[test]
#[should_panic(expected = "a beat after the decision counted")]
fn m_keyed_beat_vs_judge_broken_judge_load_then_store() {
    keyed_beat_vs_judge(shipped_beat, judge_load_then_store);
}

/// (m2) A `stop` through the key's heartbeat against the owner's judge at the deadline:
/// exactly one outcome. The stop returns `true` exactly when the judge reports `Stopped`, and
/// a stopped key is never yielded.
fn keyed_stop_vs_judge(stop: WordStop, judge: Judge) {
    loom::model(move || {
        let (segment, heartbeat) = one_key();
        let stopper = thread::spawn(move || stop(heartbeat.word()));
        let decision = judge(segment.word(0), segment.timeout(0), 10);
        let prevented = stopper.join().unwrap();
        match decision {
            Decision::Expired(10) => assert!(!prevented, "both an expiry and a stop"),
            Decision::Stopped => assert!(prevented, "stopped, but no stop returned true"),
            other => panic!("unexpected decision {other:?}"),
        }
        assert!(!segment.word(0).stop(), "the outcome holds");
        assert!(!segment.word(0).beat(11));
    });
}

#[test]
fn m_keyed_stop_vs_judge() {
    keyed_stop_vs_judge(shipped_stop, shipped_judge);
}

#[test]
#[should_panic(expected = "both an expiry and a stop")]
fn m_keyed_stop_vs_judge_broken_stop_load_then_store() {
    keyed_stop_vs_judge(word_stop_load_then_store, shipped_judge);
}

#[test]
#[should_panic(expected = "both an expiry and a stop")]
fn m_keyed_stop_vs_judge_broken_judge_load_then_store() {
    keyed_stop_vs_judge(shipped_stop, judge_load_then_store);
}
