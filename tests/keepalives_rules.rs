//! `Keepalives` on a paused clock: each key's expiry at the exact instant, beats from the
//! owner and from heartbeats, removal, re-insertion, per-key timeouts, mass expiry, wakeups.

mod common;

use std::future::poll_fn;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use common::{advance_to, counting_waker, drain, ms};
use deadlines::Keepalives;
use futures_util::StreamExt;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn each_key_expires_at_its_exact_instant() {
    let start = Instant::now();
    let (waker, wakes) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    set.insert(1);
    advance_to(start, ms(30)).await;
    set.insert(2);
    assert!(drain(&mut set, &waker).is_empty());

    advance_to(start, ms(99)).await;
    assert_eq!(wakes(), 0);
    assert!(drain(&mut set, &waker).is_empty());
    advance_to(start, ms(100)).await;
    assert_eq!(wakes(), 1);
    assert_eq!(drain(&mut set, &waker), [(1, start + ms(100))]);
    advance_to(start, ms(129)).await;
    assert!(drain(&mut set, &waker).is_empty());
    advance_to(start, ms(130)).await;
    assert_eq!(drain(&mut set, &waker), [(2, start + ms(130))]);
    assert!(set.is_empty());
}

#[tokio::test(start_paused = true)]
async fn beats_by_key_and_by_heartbeat_both_postpone_the_expiry() {
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    set.insert("owner-beaten");
    let heartbeat = set.insert("self-beaten");
    set.insert("silent");
    advance_to(start, ms(60)).await;
    assert!(set.beat(&"owner-beaten"));
    assert!(heartbeat.beat());
    assert_eq!(set.deadline(&"owner-beaten"), Some(start + ms(160)));
    assert_eq!(heartbeat.remaining(), Some(ms(100)));

    advance_to(start, ms(100)).await;
    assert_eq!(drain(&mut set, &waker), [("silent", start + ms(100))]);
    advance_to(start, ms(159)).await;
    assert!(drain(&mut set, &waker).is_empty());
    advance_to(start, ms(160)).await;
    assert_eq!(
        drain(&mut set, &waker),
        [
            ("owner-beaten", start + ms(160)),
            ("self-beaten", start + ms(160))
        ]
    );
    assert!(!heartbeat.beat(), "the expired key's heartbeat is dead");
    assert_eq!(heartbeat.remaining(), None);
}

#[tokio::test(start_paused = true)]
async fn a_key_removed_before_or_after_its_instant_is_never_yielded() {
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    let early = set.insert("early");
    set.insert("late");
    set.insert("kept");
    advance_to(start, ms(50)).await;
    assert!(set.remove(&"early"));
    assert!(!early.beat());
    advance_to(start, ms(150)).await; // "late" is due, not yet polled
    assert!(set.remove(&"late"));
    assert!(!set.remove(&"late"));
    assert_eq!(drain(&mut set, &waker), [("kept", start + ms(100))]);
    advance_to(start, ms(10_000)).await;
    assert!(drain(&mut set, &waker).is_empty());
}

#[tokio::test(start_paused = true)]
async fn re_insert_replaces_the_deadline_and_keeps_the_heartbeats() {
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    let first = set.insert(7);
    advance_to(start, ms(80)).await;
    let second = set.insert(7);
    assert_eq!(set.len(), 1);
    assert_eq!(set.deadline(&7), Some(start + ms(180)));
    advance_to(start, ms(179)).await;
    assert!(drain(&mut set, &waker).is_empty());
    assert!(
        first.beat() && second.beat(),
        "a live key keeps its heartbeats"
    );
    advance_to(start, ms(279)).await;
    assert_eq!(drain(&mut set, &waker), [(7, start + ms(279))]);

    // After the expiry, a new life: the old heartbeats stay dead.
    let third = set.insert(7);
    assert!(!first.beat() && !second.beat());
    assert!(third.beat());
    advance_to(start, ms(379)).await;
    assert_eq!(drain(&mut set, &waker), [(7, start + ms(379))]);

    // After a removal, too.
    set.insert(7);
    set.remove(&7);
    let fifth = set.insert(7);
    assert!(fifth.beat());
    advance_to(start, ms(479)).await;
    assert_eq!(drain(&mut set, &waker), [(7, start + ms(479))]);
}

#[tokio::test(start_paused = true)]
async fn per_key_timeouts_interleave_with_the_set_wide_one() {
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    set.insert("default");
    set.insert_with_timeout("short", ms(30));
    set.insert_with_timeout("long", ms(250));
    advance_to(start, ms(10)).await;
    set.insert_with_timeout("later-short", ms(40));

    let mut seen = Vec::new();
    for t in [30, 50, 100, 250] {
        advance_to(start, ms(t)).await;
        seen.extend(drain(&mut set, &waker));
    }
    assert_eq!(
        seen,
        [
            ("short", start + ms(30)),
            ("later-short", start + ms(50)),
            ("default", start + ms(100)),
            ("long", start + ms(250)),
        ]
    );

    // Re-inserting with a shorter timeout moves the key earlier.
    set.insert("moved");
    set.insert_with_timeout("moved", ms(10));
    advance_to(start, ms(260)).await;
    assert_eq!(drain(&mut set, &waker), [("moved", start + ms(260))]);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_keys_due_at_one_millisecond_are_yielded_in_one_drain() {
    let start = Instant::now();
    let (waker, wakes) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    for key in 0..100_000u32 {
        set.insert(key);
    }
    assert!(drain(&mut set, &waker).is_empty());
    advance_to(start, ms(100)).await;
    assert_eq!(wakes(), 1, "one timer for the whole set");
    let yielded = drain(&mut set, &waker);
    assert_eq!(yielded.len(), 100_000);
    assert!(yielded.iter().all(|&(_, at)| at == start + ms(100)));
    assert_eq!(yielded.iter().map(|&(key, _)| key).max(), Some(99_999));
    assert!(set.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_stream_stays_pending_when_empty_and_wakes_on_insert() {
    let start = Instant::now();
    let (waker, wakes) = counting_waker();
    let mut set: Keepalives<u8> = Keepalives::new(ms(100));
    assert!(drain(&mut set, &waker).is_empty());
    advance_to(start, ms(10_000)).await;
    assert_eq!(wakes(), 0, "an empty set has nothing to wake for");
    set.insert(1);
    assert_eq!(wakes(), 1, "an insert wakes the owner");

    // The owner moved to another task (another waker): an insert wakes the one that polled
    // last.
    let (other, other_wakes) = counting_waker();
    let mut set: Keepalives<u8> = Keepalives::new(ms(100));
    assert!(drain(&mut set, &waker).is_empty());
    assert!(drain(&mut set, &other).is_empty());
    set.insert(2);
    assert_eq!(
        (wakes(), other_wakes()),
        (1, 1),
        "the task that polled last is woken"
    );

    // The same through the Stream impl, with the insert from another branch of a select.
    let start = Instant::now();
    let mut set: Keepalives<&str> = Keepalives::new(ms(100));
    let mut inserted = false;
    let (key, expired) = loop {
        tokio::select! {
            next = set.next() => break next.expect("the set never ends"),
            () = tokio::time::sleep(ms(5)), if !inserted => {
                set.insert("late");
                inserted = true;
            }
        }
    };
    assert_eq!((key, expired.deadline()), ("late", start + ms(105)));
}

#[tokio::test(start_paused = true)]
async fn a_stopped_key_is_never_yielded_and_leaves_at_its_deadline() {
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    let heartbeat = set.insert(1);
    set.insert(2);
    assert!(heartbeat.stop());
    assert!(!heartbeat.stop());
    assert!(!set.contains(&1));
    assert!(!set.beat(&1));
    assert_eq!(set.deadline(&1), None);
    assert_eq!(set.len(), 2, "counted until its deadline");
    advance_to(start, ms(100)).await;
    assert_eq!(drain(&mut set, &waker), [(2, start + ms(100))]);
    assert!(set.is_empty());

    // Re-inserting a stopped key gives it a fresh life.
    let old = set.insert(3);
    old.stop();
    let new = set.insert(3);
    assert!(set.contains(&3) && new.beat() && !old.beat());
}

#[tokio::test(start_paused = true)]
async fn keyed_heartbeats_refuse_set_timeout() {
    let mut set = Keepalives::new(ms(100));
    let heartbeat = set.insert(1);
    assert!(!heartbeat.set_timeout(ms(1)));
    assert_eq!(set.deadline(&1), Some(Instant::now() + ms(100)));
}

#[tokio::test(start_paused = true)]
async fn unknown_keys_and_a_dropped_set_are_defined() {
    let mut set: Keepalives<String> = Keepalives::new(ms(100));
    assert!(!set.beat(&"nobody".to_owned()));
    assert!(!set.remove(&"nobody".to_owned()));
    assert!(!set.contains(&"nobody".to_owned()));
    assert_eq!(set.deadline(&"nobody".to_owned()), None);
    let heartbeat = set.insert("x".to_owned());
    drop(set);
    assert!(!heartbeat.beat());
    assert!(!heartbeat.stop());
    assert_eq!(heartbeat.remaining(), None);
}

#[tokio::test(start_paused = true)]
async fn zero_and_huge_timeouts() {
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(Duration::ZERO);
    set.insert("now");
    set.insert_with_timeout("never", Duration::MAX);
    assert_eq!(drain(&mut set, &waker), [("now", start)]);
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert!(drain(&mut set, &waker).is_empty());
    assert!(set.contains(&"never"));
}

/// A number the set's `Debug` output shows, such as `queued_checks` or `slots`.
fn debug_field<K>(set: &Keepalives<K>, field: &str) -> usize {
    let debug = format!("{set:?}");
    debug
        .split(&format!("{field}: "))
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("Debug shows {field}: {debug}"))
}

#[tokio::test(start_paused = true)]
async fn memory_returns_after_mass_removal() {
    let mut set = Keepalives::new(ms(100));
    for key in 0..10_000u32 {
        set.insert(key);
    }
    assert!(debug_field(&set, "slots") >= 10_000);
    for key in 0..10_000u32 {
        set.remove(&key);
    }
    assert!(
        debug_field(&set, "queued_checks") <= 64,
        "stale checks were dropped"
    );
    assert_eq!(debug_field(&set, "slots"), 16, "only the first page stays");
}

#[tokio::test(start_paused = true)]
async fn every_key_stays_findable_while_the_index_grows_over_dense_and_sparse_pages() {
    // The index grows either by walking the pages (most slots hold keys) or by rehashing
    // itself (most slots are free, their pages kept by the few keys left): both must keep
    // every key, and only those.
    let start = Instant::now();
    let mut set = Keepalives::new(ms(100));
    for key in 0..5_000u32 {
        set.insert(key); // dense: grows by walking the pages
    }
    advance_to(start, ms(10)).await;
    for key in (0..5_000u32).filter(|key| key % 100 != 0) {
        assert!(set.remove(&key));
    }
    assert_eq!(set.len(), 50);
    assert!(debug_field(&set, "slots") >= 5_000, "pages with a key stay");
    for key in 10_000..13_000u32 {
        set.insert(key); // sparse at first, dense again by the end
    }
    assert_eq!(set.len(), 3_050);
    for key in 0..13_000u32 {
        let kept = key % 100 == 0 && key < 5_000;
        let added = key >= 10_000;
        let expected = if kept {
            Some(start + ms(100))
        } else if added {
            Some(start + ms(110))
        } else {
            None
        };
        assert_eq!(set.deadline(&key), expected, "key {key}");
        assert_eq!(set.contains(&key), expected.is_some(), "key {key}");
    }
    advance_to(start, ms(110)).await;
    let expired = drain(&mut set, std::task::Waker::noop());
    let mut expected: Vec<_> = (0..5_000u32)
        .step_by(100)
        .map(|key| (key, start + ms(100)))
        .chain((10_000..13_000u32).map(|key| (key, start + ms(110))))
        .collect();
    expected.sort();
    assert_eq!(expired, expected);
    assert!(set.is_empty());
}

#[tokio::test(start_paused = true)]
async fn slots_held_by_heartbeats_return_when_the_heartbeats_drop() {
    let mut set = Keepalives::new(ms(100));
    let heartbeats: Vec<_> = (0..10_000u32).map(|key| set.insert(key)).collect();
    for key in 0..10_000u32 {
        set.remove(&key);
    }
    assert!(
        debug_field(&set, "slots") >= 10_000,
        "a heartbeat still refers to each slot"
    );
    assert_eq!(debug_field(&set, "orphans"), 10_000);
    assert!(set.is_empty());
    assert!(heartbeats.iter().all(|heartbeat| !heartbeat.beat()));
    drop(heartbeats);
    // The set collects what the heartbeats returned at its next poll (or insert, or removal).
    let waker = std::task::Waker::noop();
    assert!(
        set.poll_expired(&mut std::task::Context::from_waker(waker))
            .is_pending()
    );
    assert_eq!(debug_field(&set, "slots"), 16);
    assert_eq!(
        debug_field(&set, "orphans"),
        0,
        "every orphan collected, counted once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slot_is_reused_once_the_last_heartbeat_of_its_old_key_drops() {
    let start = Instant::now();
    let mut set = Keepalives::new(ms(100));
    let old = set.insert(1u32);
    set.remove(&1);
    for key in 2..=16 {
        drop(set.insert(key)); // the other 15 slots of the first page
    }
    let clone = old.clone();
    drop(old);
    assert!(!clone.beat(), "a heartbeat of a removed key");
    drop(clone); // key 1's slot is free now: the next insert finds it
    advance_to(start, ms(10)).await;
    let new = set.insert(17);
    assert_eq!(debug_field(&set, "slots"), 16, "no second page");
    advance_to(start, ms(50)).await;
    assert!(new.beat());
    assert_eq!(set.deadline(&17), Some(start + ms(150)));
    assert_eq!(set.deadline(&16), Some(start + ms(100)));
    assert_eq!(set.len(), 16);
}

#[tokio::test(start_paused = true)]
async fn poll_expired_yields_a_key_and_its_lateness() {
    let start = Instant::now();
    let mut set = Keepalives::new(ms(100));
    set.insert("k");
    advance_to(start, ms(130)).await; // the owner was busy
    let (key, expired) = poll_fn(|cx| set.poll_expired(cx)).await;
    assert_eq!(key, "k");
    assert_eq!(expired.deadline(), start + ms(100));
    assert_eq!(expired.overdue(), ms(30));
}

#[tokio::test(start_paused = true)]
async fn a_check_that_outlived_its_dropped_page_is_ignored() {
    // Found by the widened model. Keys 76..96 fill pages 0 to 2; removing 58..96 halves the
    // set, so the emptied pages are dropped while the checks of their slots stay queued.
    // New keys then make a page at the same number with fewer slots handed out: the old
    // checks point past them, and must be ignored (before: an index out of bounds).
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(ms(10));
    for key in 58..96 {
        set.insert(key);
    }
    for key in 58..96 {
        assert!(set.remove(&key));
    }
    for key in 0..15 {
        set.insert(key);
    }
    set.insert(23);
    advance_to(start, ms(10)).await;
    set.insert(15);
    let mut expected: Vec<_> = (0..15).chain([23]).map(|k| (k, start + ms(10))).collect();
    expected.sort();
    assert_eq!(drain(&mut set, &waker), expected);
    assert_eq!(set.len(), 1, "15, inserted at 10 ms, is not yet due");
}

#[tokio::test(start_paused = true)]
async fn memory_returns_each_time_the_number_of_keys_halves() {
    // Pages of 16, 32, ..., 512 slots: 1008 keys fill six pages exactly, the last (page 5)
    // with keys 496..1008. The set looks for memory to return each time its keys halve
    // (504, then 252, ...), not at every removal: page 5 empties at 496 keys and is dropped
    // at the next look, at 252.
    let mut set = Keepalives::new(ms(100));
    for key in 0..1008u32 {
        set.insert(key);
    }
    assert_eq!(debug_field(&set, "slots"), 1008);
    for key in (496..1008u32).rev() {
        assert!(set.remove(&key));
    }
    assert_eq!(set.len(), 496);
    assert!(!set.is_empty());
    assert_eq!(
        debug_field(&set, "slots"),
        1008,
        "no look since the set halved at 504"
    );
    for key in (252..496u32).rev() {
        assert!(set.remove(&key));
    }
    assert_eq!(
        debug_field(&set, "slots"),
        1008 - 512,
        "the emptied page is dropped"
    );
    assert!((0..252u32).all(|key| set.contains(&key)));
}

#[tokio::test(start_paused = true)]
async fn stale_checks_are_dropped_once_they_outnumber_twice_the_keys_plus_64() {
    // Each key has one queued check; a removed key's check stays queued (stale) until the
    // queue holds more than 2 * len + 64 checks, when every stale one is dropped at once.
    // (Stale checks also go each time the number of keys halves, so ten keys stay in the set
    // while others come and go.)
    let mut set = Keepalives::new(ms(100));
    for key in 0..10u32 {
        set.insert(key);
    }
    for key in 10..84u32 {
        set.insert(key);
        assert!(set.remove(&key));
    }
    assert_eq!(set.len(), 10);
    assert_eq!(
        debug_field(&set, "queued_checks"),
        84,
        "84 is not more than 2 * 10 + 64"
    );
    set.insert(84);
    assert!(set.remove(&84));
    assert_eq!(
        debug_field(&set, "queued_checks"),
        10,
        "85 > 2 * 10 + 64: stale ones dropped"
    );
}

/// A key that records each time it is hashed, to see in which order the index reads keys.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Traced(u32);

thread_local! {
    static HASHED: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl std::hash::Hash for Traced {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        HASHED.with(|hashed| hashed.borrow_mut().push(self.0));
        self.0.hash(state);
    }
}

#[tokio::test(start_paused = true)]
async fn a_dense_index_grows_by_reading_the_keys_in_slot_order() {
    // Keys inserted in order take slots in order. When the index must grow and most slots
    // hold keys, the set rebuilds it by walking the pages: each key is hashed once, in slot
    // order (hashbrown's own growth would read them in bucket order, at random).
    let mut set = Keepalives::new(ms(100));
    let mut growths = 0;
    for key in 0..1_000u32 {
        let before = HASHED.with(|hashed| hashed.borrow().len());
        set.insert(Traced(key));
        let calls = HASHED.with(|hashed| hashed.borrow()[before..].to_vec());
        assert_eq!(calls[0], key, "the insert hashes its key first");
        if calls.len() > 1 {
            growths += 1;
            let in_slot_order: Vec<u32> = (0..key).collect();
            assert_eq!(calls[1..], in_slot_order, "growing at {key} keys");
        }
    }
    assert!(growths >= 8, "the index grew {growths} times");
}

#[tokio::test(start_paused = true)]
async fn the_stream_never_ends_and_promises_no_count() {
    use futures_core::Stream;
    use futures_core::stream::FusedStream;
    let mut set = Keepalives::new(ms(100));
    assert_eq!(
        set.size_hint(),
        (0, None),
        "keys may be inserted at any time"
    );
    assert!(!set.is_terminated());
    set.insert(1u32);
    let (waker, _) = counting_waker();
    advance_to(Instant::now(), ms(100)).await;
    assert_eq!(drain(&mut set, &waker).len(), 1);
    assert_eq!(set.size_hint(), (0, None));
    assert!(!set.is_terminated(), "empty, but an insert may come");
}

#[tokio::test(start_paused = true)]
async fn the_index_walks_the_pages_up_to_twice_the_keys_plus_one() {
    // Keys 0..30 leave while their heartbeats are held: their 30 slots stay handed out
    // (orphans), so keys 100.. take new slots, 30 onwards, in key order. The index then grows
    // at 3, 7, 14 and 28 keys; at 28 the slots handed out (30 + 28 = 58) are exactly twice the
    // keys plus one, the most for which the set still walks the pages (reading the 28 keys in
    // slot order) instead of letting the table rehash itself (earlier growths, sparser).
    let mut set = Keepalives::new(ms(100));
    let held: Vec<_> = (0..30u32).map(|key| set.insert(Traced(key))).collect();
    for key in 0..30u32 {
        assert!(set.remove(&Traced(key)));
    }
    let mut growths = Vec::new();
    for key in 100..129u32 {
        let before = HASHED.with(|hashed| hashed.borrow().len());
        set.insert(Traced(key));
        let calls = HASHED.with(|hashed| hashed.borrow()[before..].to_vec());
        if calls.len() > 1 {
            growths.push((key - 100, calls[1..].to_vec()));
        }
    }
    let (at, last) = growths.last().expect("the index grew");
    assert_eq!(
        *at,
        28,
        "grew at {:?}",
        growths.iter().map(|g| g.0).collect::<Vec<_>>()
    );
    assert_eq!(
        *last,
        (100..128).collect::<Vec<_>>(),
        "walked, in slot order"
    );
    assert_eq!(debug_field(&set, "orphans"), 30);
    drop(held);
}

#[tokio::test(start_paused = true)]
async fn an_expired_key_leaves_a_stale_index_entry_until_the_index_fills() {
    // An expiry does not take its key's entry out of the index (that would cost a cache miss
    // a key); the entry matches nothing, and the index drops such entries when it is rebuilt
    // from the slots: when it is full, or when the number of keys halves (which these ten
    // long-lived keys prevent).
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut set = Keepalives::new(ms(100));
    for key in 0..10u32 {
        set.insert_with_timeout(key, ms(10_000));
    }
    // Rounds of four keys that expire, each reusing the slots the last round freed, so the
    // stale entries point at later keys' slots.
    let mut stale_seen = 0;
    for r in 0..40u32 {
        let keys = 10 + 4 * r..14 + 4 * r;
        for key in keys.clone() {
            set.insert(key);
        }
        advance_to(start, ms(100 * u64::from(r + 1))).await;
        let expired: Vec<_> = drain(&mut set, &waker)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(expired, keys.collect::<Vec<_>>());
        assert_eq!(set.len(), 10);
        let entries = debug_field(&set, "index_entries");
        assert!(entries <= 4 * 14, "{entries} entries for at most 14 keys");
        stale_seen = stale_seen.max(entries - 10);
        for key in 10..14 + 4 * r {
            assert!(!set.contains(&key) && !set.beat(&key) && set.deadline(&key).is_none());
            assert!(!set.remove(&key));
        }
    }
    assert!(
        stale_seen >= 4,
        "expiries left {stale_seen} stale entries at most"
    );
    assert!((0..10u32).all(|key| set.contains(&key)));
}

/// A hasher that sends every key to the same hash: each lookup walks every key.
#[derive(Default)]
struct Colliding;

impl Hasher for Colliding {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, _: &[u8]) {}
}

#[tokio::test(start_paused = true)]
async fn a_hasher_that_collides_every_key_changes_only_the_speed() {
    // The same script on a set with the default hasher and on one whose every key collides,
    // across the index's growth (rebuilds from the slots), expiries (stale entries), removals
    // and re-inserts, and a shrink when the keys halve: the same keys at the same instants.
    let start = Instant::now();
    let (waker, _) = counting_waker();
    let mut plain = Keepalives::new(ms(100));
    let mut colliding =
        Keepalives::with_hasher(ms(100), BuildHasherDefault::<Colliding>::default());
    let mut yielded = (Vec::new(), Vec::new());
    for step in 0..40u64 {
        advance_to(start, ms(10 * step)).await;
        for key in step * 50..step * 50 + 50 {
            plain.insert(key);
            colliding.insert(key);
        }
        for key in (0..step * 50).step_by(7) {
            assert_eq!(plain.beat(&key), colliding.beat(&key), "beat {key}");
            assert_eq!(plain.remove(&(key + 3)), colliding.remove(&(key + 3)));
            assert_eq!(plain.deadline(&key), colliding.deadline(&key), "{key}");
        }
        yielded.0.extend(drain(&mut plain, &waker));
        yielded.1.extend(drain(&mut colliding, &waker));
        assert_eq!(plain.len(), colliding.len(), "at {step}");
    }
    advance_to(start, ms(10_000)).await;
    yielded.0.extend(drain(&mut plain, &waker));
    yielded.1.extend(drain(&mut colliding, &waker));
    assert!(colliding.is_empty());
    assert_eq!(yielded.0, yielded.1);
    // Not vacuous: most of the 2000 keys expired, the first at its exact instant.
    assert!(yielded.1.len() > 1000, "{}", yielded.1.len());
    assert_eq!(yielded.1[0], (1, start + ms(100)));
}
