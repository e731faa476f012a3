//! Watches a directory tree and settles its file-system events per file: notify's events,
//! bridged into a Tokio channel and flattened to one change per path, go through
//! `debounce_batch_by_key(WINDOW, |change| change.subject.clone()).max_wait(MAX_WAIT)`, so
//! each file's burst of events comes out as one batch once that file is quiet, however many
//! other files are busy at the same time.
//!
//! ```sh
//! cargo run --example watch_tree -- DIR   # watch DIR and everything under it until Ctrl-C
//! cargo run --example watch_tree          # a demo that ends by itself (about 3 seconds)
//! ```
//!
//! The demo makes a temporary tree (4 subdirectories), watches it recursively, and:
//!
//! 1. writes 40 files across the 4 subdirectories, each 3 times, interleaved (all 40 files
//!    once, then all again, then again): a single burst of events on 40 files, which settles
//!    into exactly one batch per file (one line each) and a summary;
//! 2. appends to one file every 20 ms for 2 s: that file never goes quiet for a window, yet
//!    `max_wait` makes it report every 600 ms while the appends go on, and once more when they
//!    stop;
//! 3. renames a file into another subdirectory and deletes it under its new name,
//!
//! then removes the tree and prints `done`. Its output:
//!
//! ```text
//! watching /tmp/deadlines-watch-tree-4242 (recursive, 4 subdirectories; window 200ms, max_wait 600ms)
//! burst: writing 40 files in 4 subdirectories, 3 times each, interleaved
//! writing sub0/: file00.txt file01.txt file02.txt file03.txt ... file09.txt
//! ...
//! settled sub0/file00.txt: created, written 3 times (7 events)
//! settled sub0/file01.txt: created, written 3 times (8 events)
//! ...
//! settled sub3/file09.txt: created, written 3 times (9 events)
//! burst: 40 files written, 40 settled, each once
//! appending: to sub3/log.txt every 20ms for 2.0s
//! appending: emission 1 at 0.60s: written 29 times (58 events)
//! appending: emission 2 at 1.20s: written 28 times (56 events)
//! appending: emission 3 at 1.80s: written 28 times (56 events)
//! appending: emission 4 at 2.19s: written 9 times (18 events)
//! appending: 4 emissions in 2.2s (max_wait 600ms)
//! renamed: sub1/a.txt -> sub2/b.txt
//! deleted: sub2/b.txt
//! done
//! ```
//!
//! A file's event count varies from run to run (7 to 9 here): inotify merges an event with an
//! identical one still queued before it, so a truncating write shows one `Modify` or two.
//!
//! # Choices
//!
//! **`debounce_batch_by_key`, not `debounce_by_key`.** `debounce_by_key` yields the latest
//! event of each file's burst: for a saved file that is a close-after-write, which says that
//! the file changed but not that it was created, or how often it was written; for a file
//! created and deleted within a window it is the deletion alone. The batch is the whole burst
//! of one file, so the report can say what the burst was. It holds every event of a burst,
//! which `max_wait` bounds in time (`max_items` could bound it in size).
//!
//! **Keys: one change per path, a rename per rename.** A notify `Event` can name several
//! paths. Each event is flattened (`flat_map`) into one `Change` per path, keyed by that
//! path (`Subject::File`), except renames: on Linux inotify reports a rename as
//! `Modify(Name(From))` on the old path, `Modify(Name(To))` on the new one and, when it saw
//! both halves, `Modify(Name(Both))` naming both, all three with the same tracker (inotify's
//! cookie). Those are keyed by the tracker (`Subject::Rename`), so a rename settles as one
//! batch and prints one line, with both names, rather than a line for each name, and a file
//! deleted right after its rename is reported as deleted under its new name, not mixed into
//! the rename's batch. A half without its partner is a move into or out of the tree. A
//! rename without a tracker (a watched directory moving, or a platform that gives none) stays
//! keyed by its path.
//!
//! **Access events are dropped**, except close-after-write: opening or reading a file changes
//! nothing (and notify's own walk of the tree, when it adds its watches, opens each
//! directory). Writes are counted by their close-after-write, one each, not by their
//! `Modify` events, which inotify may merge.
//!
//! **Window 200 ms, `max_wait` 600 ms.** One file's events in the burst come within a few
//! milliseconds of each other (the whole burst is 120 small writes from one thread), and
//! inotify delivers them within a millisecond or so: a 200 ms window leaves room for a loaded
//! 2-core machine to stall the writer or notify's thread for well over 100 ms without splitting
//! a file's burst, and is short enough that the demo waits little for each step to settle.
//! `max_wait` is three windows: far above any burst the demo means to settle once, and short
//! enough that 2 s of appends report 3 times before they stop. The whole demo takes about 3 s.

use std::collections::BTreeMap;
use std::error::Error;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::time::Duration;

use deadlines::stream::{DebounceBatchByKey, StreamDeadlineExt};
use futures_core::Stream;
use futures_util::StreamExt;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A file's burst has settled once no event came on it for this long.
const WINDOW: Duration = Duration::from_millis(200);
/// A file that never goes quiet for a window still reports this long after its burst began
/// (and after its previous report).
const MAX_WAIT: Duration = Duration::from_millis(600);
/// The demo's tree: this many subdirectories, with this many files each in the burst.
const SUBDIRS: usize = 4;
const FILES_PER_SUBDIR: usize = 10;
/// How many times the burst writes each file.
const WRITES_PER_FILE: usize = 3;
/// The demo's continuous appends: one every `APPEND_EVERY`, for `APPENDING`.
const APPEND_EVERY: Duration = Duration::from_millis(20);
const APPENDING: Duration = Duration::from_secs(2);
/// How long a step of the demo waits, once its writes are done, for what it expects to
/// settle, before it gives up (on a machine far too loaded for it).
const GIVE_UP: Duration = Duration::from_secs(3);

/// What a change is about: the key its events settle under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Subject {
    /// A file or directory: every event on its path but renames.
    File(PathBuf),
    /// A rename, by notify's tracker: its `From`, `To` and `Both` events.
    Rename(usize),
}

/// One event on one subject.
#[derive(Clone, Debug)]
struct Change {
    subject: Subject,
    kind: EventKind,
    /// The path, or for a rename the paths its event names.
    paths: Vec<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    match std::env::args_os().nth(1) {
        Some(dir) => watch_until_ctrl_c(&std::path::absolute(dir)?).await,
        None => demo().await,
    }
}

/// The changes under `dir`, recursively, as a stream. The watcher stops when it is dropped.
fn watch(dir: &Path) -> notify::Result<(RecommendedWatcher, impl Stream<Item = Change>)> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    // notify calls the handler on its own thread; an unbounded send never blocks it.
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })?;
    // Watches `dir` and every directory under it now (notify walks the tree before this
    // returns), and each directory created in it later, once notify sees it created.
    watcher.watch(dir, RecursiveMode::Recursive)?;
    let changes = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .filter_map(|event: notify::Result<Event>| async move {
            event
                .inspect_err(|error| eprintln!("watch error: {error}"))
                .ok()
        })
        .flat_map(|event| futures_util::stream::iter(changes(event)));
    Ok((watcher, changes))
}

/// One change per path of `event`, or one for a rename event with a tracker; none for an
/// access but close-after-write.
fn changes(event: Event) -> Vec<Change> {
    if event.need_rescan() {
        eprintln!("notify lost events (its queue overflowed): a rescan is needed");
    }
    let kind = event.kind;
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return Vec::new(),
        _ => {}
    }
    if let (EventKind::Modify(ModifyKind::Name(_)), Some(tracker)) = (kind, event.tracker()) {
        return vec![Change {
            subject: Subject::Rename(tracker),
            kind,
            paths: event.paths,
        }];
    }
    event
        .paths
        .into_iter()
        .map(|path| Change {
            subject: Subject::File(path.clone()),
            kind,
            paths: vec![path],
        })
        .collect()
}

/// `path` below `root`, as `sub1/a.txt`.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One line for one subject's settled batch.
fn describe(root: &Path, batch: &[Change]) -> String {
    match &batch[0].subject {
        Subject::Rename(_) => describe_rename(root, batch),
        Subject::File(path) => describe_file(root, path, batch),
    }
}

/// `renamed: OLD -> NEW`, from a rename's `From`, `To` and `Both` events.
fn describe_rename(root: &Path, batch: &[Change]) -> String {
    let (mut from, mut to) = (None, None);
    for change in batch {
        match (change.kind, change.paths.as_slice()) {
            (EventKind::Modify(ModifyKind::Name(RenameMode::Both)), [old, new]) => {
                (from, to) = (Some(old), Some(new));
            }
            (EventKind::Modify(ModifyKind::Name(RenameMode::From)), [old]) => from = Some(old),
            (EventKind::Modify(ModifyKind::Name(RenameMode::To)), [new]) => to = Some(new),
            _ => {}
        }
    }
    match (from, to) {
        (Some(old), Some(new)) => format!("renamed: {} -> {}", shown(root, old), shown(root, new)),
        (Some(old), None) => format!("moved out of the tree: {}", shown(root, old)),
        (None, Some(new)) => format!("moved into the tree: {}", shown(root, new)),
        (None, None) => format!("renamed: {} events", batch.len()),
    }
}

/// `settled PATH: created, written 3 times (10 events)`, or `deleted: PATH` if the burst
/// ended with the file's removal.
fn describe_file(root: &Path, path: &Path, batch: &[Change]) -> String {
    let count = |wanted: fn(&EventKind) -> bool| batch.iter().filter(|c| wanted(&c.kind)).count();
    let created = count(EventKind::is_create);
    let writes = count(|kind| {
        matches!(
            kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write))
        )
    });
    let metadata = count(|kind| matches!(kind, EventKind::Modify(ModifyKind::Metadata(_))));
    let renamed = count(|kind| matches!(kind, EventKind::Modify(ModifyKind::Name(_))));
    let mut parts = Vec::new();
    if created > 0 {
        parts.push("created".to_owned());
    }
    match writes {
        0 => {}
        1 => parts.push("written once".to_owned()),
        n => parts.push(format!("written {n} times")),
    }
    if metadata > 0 {
        parts.push("metadata changed".to_owned());
    }
    if renamed > 0 {
        parts.push("renamed".to_owned());
    }
    let path = shown(root, path);
    if batch.last().is_some_and(|change| change.kind.is_remove()) {
        if parts.is_empty() {
            format!("deleted: {path}")
        } else {
            format!("deleted: {path} (after: {})", parts.join(", "))
        }
    } else {
        if parts.is_empty() {
            parts.push("changed".to_owned());
        }
        let events = match batch.len() {
            1 => "1 event".to_owned(),
            n => format!("{n} events"),
        };
        format!("settled {path}: {} ({events})", parts.join(", "))
    }
}

async fn watch_until_ctrl_c(dir: &Path) -> Result<(), Box<dyn Error>> {
    let (_watcher, changes) = watch(dir)?;
    println!(
        "watching {} (recursive; window {WINDOW:?}, max_wait {MAX_WAIT:?}); Ctrl-C stops",
        dir.display()
    );
    let mut settled = pin!(
        changes
            .debounce_batch_by_key(WINDOW, |change: &Change| change.subject.clone())
            .max_wait(MAX_WAIT)
    );
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let mut seen = 0;
    loop {
        tokio::select! {
            Some(batch) = settled.next() => {
                seen += 1;
                println!("{}", describe(dir, &batch));
            }
            _ = &mut ctrl_c => break,
        }
    }
    println!("done: {seen} batches");
    Ok(())
}

async fn demo() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("deadlines-watch-tree-{}", std::process::id()));
    let outcome = run_demo(&dir).await;
    let removed = std::fs::remove_dir_all(&dir);
    outcome?;
    removed?;
    println!("done");
    Ok(())
}

async fn run_demo(root: &Path) -> Result<(), Box<dyn Error>> {
    // The tree is made before the watcher starts, so that notify watches all of it at once:
    // a directory made later is watched only once notify has seen it created, and a file
    // written into it before that would go unseen.
    let subdirs: Vec<PathBuf> = (0..SUBDIRS).map(|n| root.join(format!("sub{n}"))).collect();
    for subdir in &subdirs {
        std::fs::create_dir_all(subdir)?;
    }
    let log = subdirs[SUBDIRS - 1].join("log.txt");
    let (old, new) = (subdirs[1].join("a.txt"), subdirs[2].join("b.txt"));
    std::fs::write(&log, "")?;
    std::fs::write(&old, "to be renamed, then deleted\n")?;

    let (watcher, changes) = watch(root)?;
    println!(
        "watching {} (recursive, {SUBDIRS} subdirectories; window {WINDOW:?}, max_wait {MAX_WAIT:?})",
        root.display()
    );
    let mut settled = pin!(
        changes
            .debounce_batch_by_key(WINDOW, |change: &Change| change.subject.clone())
            .max_wait(MAX_WAIT)
    );

    burst(root, &subdirs, settled.as_mut()).await?;
    appending(root, &log, settled.as_mut()).await?;
    rename_and_delete(root, &old, &new, settled.as_mut()).await?;

    drop(watcher);
    Ok(())
}

/// Step 1: 40 files, each written 3 times, interleaved; each settles once.
async fn burst<S, F>(
    root: &Path,
    subdirs: &[PathBuf],
    settled: Pin<&mut DebounceBatchByKey<S, Subject, F>>,
) -> Result<(), Box<dyn Error>>
where
    S: Stream<Item = Change>,
    F: FnMut(&Change) -> Subject,
{
    let files: Vec<PathBuf> = subdirs
        .iter()
        .flat_map(|subdir| (0..FILES_PER_SUBDIR).map(|n| subdir.join(format!("file{n:02}.txt"))))
        .collect();
    println!(
        "burst: writing {} files in {SUBDIRS} subdirectories, {WRITES_PER_FILE} times each, interleaved",
        files.len()
    );
    for subdir in subdirs {
        let names: Vec<String> = (0..FILES_PER_SUBDIR)
            .map(|n| format!("file{n:02}.txt"))
            .collect();
        println!("writing {}/: {}", shown(root, subdir), names.join(" "));
    }
    let mut times: BTreeMap<PathBuf, usize> = files.iter().map(|f| (f.clone(), 0)).collect();
    let mut others = 0;
    let written = files.clone();
    // One blocking task writes the whole burst: 120 small writes take a few milliseconds.
    let writes = async move {
        tokio::task::spawn_blocking(move || {
            for round in 1..=WRITES_PER_FILE {
                for file in &written {
                    std::fs::write(file, format!("write {round}\n"))?;
                }
            }
            Ok(())
        })
        .await?
    };
    step(settled, writes, |batch| {
        println!("{}", describe(root, &batch));
        match &batch[0].subject {
            Subject::File(path) if times.contains_key(path) => *times.get_mut(path).unwrap() += 1,
            _ => others += 1,
        }
        times.values().all(|&n| n > 0)
    })
    .await?;
    let once = times.values().filter(|&&n| n == 1).count();
    let settled = times.values().filter(|&&n| n > 0).count();
    let again: Vec<String> = times
        .iter()
        .filter(|&(_, &n)| n > 1)
        .map(|(path, n)| format!("{} ({n} times)", shown(root, path)))
        .collect();
    let mut summary = format!("burst: {} files written, {settled} settled", files.len());
    if again.is_empty() && once == files.len() {
        summary.push_str(", each once");
    } else if !again.is_empty() {
        summary.push_str(&format!(", more than once: {}", again.join(" ")));
    }
    if others > 0 {
        summary.push_str(&format!("; {others} other batches"));
    }
    println!("{summary}");
    Ok(())
}

/// Step 2: one file appended to every 20 ms for 2 s reports every `max_wait`.
async fn appending<S, F>(
    root: &Path,
    log: &Path,
    settled: Pin<&mut DebounceBatchByKey<S, Subject, F>>,
) -> Result<(), Box<dyn Error>>
where
    S: Stream<Item = Change>,
    F: FnMut(&Change) -> Subject,
{
    println!(
        "appending: to {} every {APPEND_EVERY:?} for {:.1}s",
        shown(root, log),
        APPENDING.as_secs_f64()
    );
    let began = Instant::now();
    let path = log.to_owned();
    let appends = async move {
        while began.elapsed() < APPENDING {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
                file.write_all(b"one more line\n")
            })
            .await??;
            tokio::time::sleep(APPEND_EVERY).await;
        }
        Ok(())
    };
    let key = Subject::File(log.to_owned());
    let mut emissions = 0;
    let mut last = Duration::ZERO;
    step(settled, appends, |batch| {
        if batch[0].subject != key {
            println!("{}", describe(root, &batch));
            return emissions > 0;
        }
        emissions += 1;
        last = began.elapsed();
        let writes = batch
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    EventKind::Access(AccessKind::Close(AccessMode::Write))
                )
            })
            .count();
        println!(
            "appending: emission {emissions} at {:.2}s: written {writes} times ({} events)",
            last.as_secs_f64(),
            batch.len()
        );
        true
    })
    .await?;
    println!(
        "appending: {emissions} emissions in {:.1}s (max_wait {MAX_WAIT:?})",
        last.as_secs_f64()
    );
    Ok(())
}

/// Step 3: a file renamed into another subdirectory, then deleted under its new name.
async fn rename_and_delete<S, F>(
    root: &Path,
    old: &Path,
    new: &Path,
    settled: Pin<&mut DebounceBatchByKey<S, Subject, F>>,
) -> Result<(), Box<dyn Error>>
where
    S: Stream<Item = Change>,
    F: FnMut(&Change) -> Subject,
{
    let (from, to) = (old.to_owned(), new.to_owned());
    let moves = async move {
        tokio::fs::rename(&from, &to).await?;
        tokio::fs::remove_file(&to).await
    };
    let (mut renamed, mut deleted) = (false, false);
    let gone = Subject::File(new.to_owned());
    step(settled, moves, |batch| {
        println!("{}", describe(root, &batch));
        renamed |= matches!(batch[0].subject, Subject::Rename(_));
        deleted |= batch[0].subject == gone && batch.last().is_some_and(|c| c.kind.is_remove());
        renamed && deleted
    })
    .await
}

/// Drives `settled` while `writes` runs, handing each settled batch to `report`, which says
/// whether the step has seen all it waits for. Returns once `writes` is done, `report` said
/// so, and no key is left unsettled (`tracked() == 0`: so a late batch cannot spill into the
/// next step), or `GIVE_UP` after `writes` is done.
async fn step<S, F>(
    mut settled: Pin<&mut DebounceBatchByKey<S, Subject, F>>,
    writes: impl Future<Output = std::io::Result<()>>,
    mut report: impl FnMut(Vec<Change>) -> bool,
) -> Result<(), Box<dyn Error>>
where
    S: Stream<Item = Change>,
    F: FnMut(&Change) -> Subject,
{
    let mut writes = pin!(writes);
    let mut written = false;
    let mut complete = false;
    let give_up = tokio::time::sleep(Duration::MAX);
    let mut give_up = pin!(give_up);
    // A key can settle without a batch (its last items went out at `max_wait`, and its window
    // then passed): `tracked` is looked at again now and then.
    let mut recheck = tokio::time::interval(WINDOW / 2);
    loop {
        tokio::select! {
            Some(batch) = settled.next() => complete |= report(batch),
            done = &mut writes, if !written => {
                done?;
                written = true;
                give_up.as_mut().reset(Instant::now() + GIVE_UP);
            }
            () = &mut give_up => {
                eprintln!(
                    "gave up waiting, {GIVE_UP:?} after the writes, with {} keys unsettled",
                    settled.tracked()
                );
                return Ok(());
            }
            _ = recheck.tick() => {}
        }
        if written && complete && settled.tracked() == 0 {
            return Ok(());
        }
    }
}
