//! Watches a directory and prints one line per settled burst of file-system events: notify's
//! events, bridged into a Tokio channel, through `debounce_batch`.
//!
//! ```sh
//! cargo run --example watch_dir -- DIR   # watch DIR until Ctrl-C
//! cargo run --example watch_dir          # a demo that ends by itself (a few seconds)
//! ```
//!
//! The demo watches a fresh temporary directory, writes three bursts of files into it with a
//! pause longer than the window between them, prints each batch, removes the directory and
//! exits. Saving one file raises several events (create, modify, close), and a burst of files
//! several dozen; each burst settles into one batch:
//!
//! ```text
//! watching /tmp/deadlines-watch-dir-4242 (window 300ms)
//! wrote burst 1: 5 files
//! batch 1: 15 events on 5 files: burst1-file1.txt burst1-file2.txt ...
//! ...
//! done: 3 bursts written, 3 batches
//! ```

use std::collections::BTreeSet;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::time::Duration;

use deadlines::stream::StreamDeadlineExt;
use futures_core::Stream;
use futures_util::StreamExt;
use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A burst has settled once no event came for this long. Generous, so that a busy machine
/// does not split a burst.
const WINDOW: Duration = Duration::from_millis(300);
/// The demo's bursts: how many files each writes.
const BURSTS: [usize; 3] = [5, 4, 3];
/// The demo's pause between bursts: well over the window.
const PAUSE: Duration = Duration::from_millis(1_200);

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    match std::env::args_os().nth(1) {
        Some(dir) => watch_until_ctrl_c(Path::new(&dir)).await,
        None => demo().await,
    }
}

/// The events of `dir`, as a stream. The watcher stops when it is dropped.
fn watch(dir: &Path) -> notify::Result<(RecommendedWatcher, impl Stream<Item = Event>)> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    // notify calls the handler on its own thread; an unbounded send never blocks it.
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).filter_map(
        |event: notify::Result<Event>| async move {
            event
                .inspect_err(|error| eprintln!("watch error: {error}"))
                .ok()
        },
    );
    Ok((watcher, events))
}

fn print_batch(number: usize, batch: &[Event]) {
    let files: BTreeSet<String> = batch
        .iter()
        .flat_map(|event| &event.paths)
        .filter_map(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    println!(
        "batch {number}: {} events on {} files: {}",
        batch.len(),
        files.len(),
        names.join(" ")
    );
}

async fn watch_until_ctrl_c(dir: &Path) -> Result<(), Box<dyn Error>> {
    let (_watcher, events) = watch(dir)?;
    println!(
        "watching {} (window {WINDOW:?}); Ctrl-C stops",
        dir.display()
    );
    let mut batches = pin!(events.debounce_batch(WINDOW));
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let mut seen = 0;
    loop {
        tokio::select! {
            Some(batch) = batches.next() => {
                seen += 1;
                print_batch(seen, &batch);
            }
            _ = &mut ctrl_c => break,
        }
    }
    println!("done: {seen} batches");
    Ok(())
}

async fn demo() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("deadlines-watch-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = run_demo(&dir).await;
    std::fs::remove_dir_all(&dir)?;
    outcome
}

async fn run_demo(dir: &Path) -> Result<(), Box<dyn Error>> {
    let (watcher, events) = watch(dir)?;
    println!("watching {} (window {WINDOW:?})", dir.display());
    let mut writer = pin!(tokio::spawn(write_bursts(dir.to_owned())));
    let mut batches = pin!(events.debounce_batch(WINDOW));
    let mut seen = 0;
    // Once the writer is done, the last burst has had `PAUSE` to settle; a loaded machine gets
    // a few more seconds before the demo gives up waiting.
    let grace = tokio::time::sleep(Duration::from_secs(3600));
    let mut grace = pin!(grace);
    let mut written = None;
    loop {
        tokio::select! {
            Some(batch) = batches.next() => {
                seen += 1;
                print_batch(seen, &batch);
                if written == Some(seen) {
                    break;
                }
            }
            done = &mut writer, if written.is_none() => {
                let bursts = done??;
                written = Some(bursts);
                if seen >= bursts {
                    break;
                }
                grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(5));
            }
            () = &mut grace => break,
        }
    }
    drop(watcher);
    println!(
        "done: {} bursts written, {seen} batches",
        written.unwrap_or(0)
    );
    Ok(())
}

/// Writes each burst of files at once, then pauses; returns how many bursts it wrote.
async fn write_bursts(dir: PathBuf) -> std::io::Result<usize> {
    for (burst, files) in BURSTS.iter().enumerate() {
        let burst = burst + 1;
        for file in 1..=*files {
            let path = dir.join(format!("burst{burst}-file{file}.txt"));
            tokio::fs::write(&path, format!("burst {burst}, file {file}\n")).await?;
        }
        println!("wrote burst {burst}: {files} files");
        tokio::time::sleep(PAUSE).await;
    }
    Ok(BURSTS.len())
}
