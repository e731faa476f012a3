//! The `watch_tree` example runs to completion on a temporary directory tree, watched
//! recursively by notify and settled per file with `debounce_batch_by_key(..).max_wait(..)`:
//! each file of a burst across 40 files settles exactly once, a file appended to without a
//! pause still reports every `max_wait`, a rename and a delete are reported, the tree is
//! removed, and it all takes a few seconds. Real files, real clock (inotify on Linux).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// The duration in `text`, as the example prints it: `600ms` or `2.0s`.
fn duration(text: &str) -> Duration {
    if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.parse().unwrap())
    } else {
        Duration::from_secs_f64(text.strip_suffix('s').unwrap().parse().unwrap())
    }
}

#[test]
fn watch_tree_settles_each_file_once_and_reports_every_max_wait() {
    let (stdout, took) = common::run_example("watch_tree");
    let lines: Vec<&str> = stdout.lines().collect();

    // "watching /tmp/deadlines-watch-tree-4242 (recursive, 4 subdirectories; window 200ms,
    // max_wait 600ms)"
    let watching = lines
        .iter()
        .find_map(|line| line.strip_prefix("watching "))
        .expect("a `watching DIR` line");
    let (watched, options) = watching.split_once(" (").unwrap();
    assert!(!Path::new(watched).exists(), "{watched} was not removed");
    let max_wait = duration(
        options
            .split("max_wait ")
            .nth(1)
            .and_then(|rest| rest.strip_suffix(')'))
            .expect("max_wait in the `watching` line"),
    );

    // The burst: "writing sub0/: file00.txt file01.txt ..." for each subdirectory, then one
    // "settled sub0/file00.txt: created, written 3 times (9 events)" per file.
    let written: BTreeSet<String> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("writing "))
        .flat_map(|rest| {
            let (dir, names) = rest.split_once(": ").unwrap();
            names.split(' ').map(move |name| format!("{dir}{name}"))
        })
        .collect();
    assert_eq!(written.len(), 40, "{stdout}");
    let mut settled: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &lines {
        if let Some(rest) = line.strip_prefix("settled ") {
            let (name, what) = rest.split_once(": ").unwrap();
            *settled.entry(name).or_default() += 1;
            if written.contains(name) {
                assert!(
                    what.starts_with("created, written 3 times ("),
                    "one batch holds the whole burst of its file: {line}\n{stdout}"
                );
            }
        }
    }
    let names: BTreeSet<String> = settled.keys().map(|name| name.to_string()).collect();
    assert_eq!(names, written, "each file written settled:\n{stdout}");
    let again: Vec<_> = settled.iter().filter(|&(_, &n)| n != 1).collect();
    assert!(
        again.is_empty(),
        "settled more than once: {again:?}\n{stdout}"
    );
    assert!(
        lines.contains(&"burst: 40 files written, 40 settled, each once"),
        "{stdout}"
    );

    // "appending: to sub3/log.txt every 20ms for 2.0s", then
    // "appending: emission 1 at 0.60s: written 29 times (58 events)" ...
    let appending = lines
        .iter()
        .find_map(|line| line.strip_prefix("appending: to "))
        .and_then(|rest| rest.split(" for ").nth(1))
        .map(duration)
        .expect("an `appending: to` line");
    let emissions = lines
        .iter()
        .filter(|line| line.starts_with("appending: emission "))
        .count();
    // One every max_wait while the appends go on, and the last when they stop: 4 for 2 s and
    // 600 ms. A loaded machine that stalls the appender for over a window splits a burst and
    // adds one; dropping max_wait leaves one.
    let most = (appending.as_secs_f64() / max_wait.as_secs_f64()) as usize + 2;
    assert!(
        (3..=most).contains(&emissions),
        "{emissions} emissions, not 3 to {most}:\n{stdout}"
    );
    let summary = format!("appending: {emissions} emissions in ");
    assert!(
        lines.iter().any(|line| line.starts_with(&summary)),
        "{stdout}"
    );

    assert!(
        lines.contains(&"renamed: sub1/a.txt -> sub2/b.txt"),
        "{stdout}"
    );
    assert!(lines.contains(&"deleted: sub2/b.txt"), "{stdout}");
    assert_eq!(lines.last(), Some(&"done"), "{stdout}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
