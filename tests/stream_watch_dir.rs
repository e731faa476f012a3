//! The `watch_dir` example runs to completion on a temporary directory, and each burst of
//! files it writes comes out as exactly one batch. Real files, real clock (inotify on Linux):
//! the example's pauses between bursts are four times its window.

mod common;

use std::path::Path;

#[test]
fn watch_dir_prints_one_batch_per_burst_and_cleans_up() {
    let (stdout, _) = common::run_example("watch_dir");

    let watched = stdout
        .lines()
        .find_map(|line| line.strip_prefix("watching "))
        .and_then(|rest| rest.split(" (window").next())
        .expect("a `watching DIR` line");
    assert!(!Path::new(watched).exists(), "{watched} was not removed");

    let bursts: Vec<usize> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("wrote burst "))
        .map(|rest| {
            rest.split(": ")
                .nth(1)
                .unwrap()
                .trim_end_matches(" files")
                .parse()
                .unwrap()
        })
        .collect();
    let batches: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("batch "))
        .collect();
    assert_eq!(bursts.len(), 3, "{stdout}");
    assert_eq!(
        batches.len(),
        bursts.len(),
        "one batch per burst:\n{stdout}"
    );

    for (index, (line, files)) in batches.iter().zip(&bursts).enumerate() {
        let burst = index + 1;
        // "batch 1: 15 events on 5 files: burst1-file1.txt ..."
        let (head, names) = line.split_once(" files: ").expect("a batch line");
        let names: Vec<&str> = names.split(' ').collect();
        assert_eq!(names.len(), *files, "{line}");
        assert!(
            names
                .iter()
                .all(|name| name.starts_with(&format!("burst{burst}-"))),
            "batch {burst} mixes bursts: {line}"
        );
        let events: usize = head
            .split(": ")
            .nth(1)
            .and_then(|counts| counts.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(events >= *files, "each file raised an event: {line}");
    }
    assert!(
        stdout.contains("done: 3 bursts written, 3 batches"),
        "{stdout}"
    );
}
