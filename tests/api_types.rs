//! Every public type is nameable from the crate, `Debug`, and `Send`/`Sync` as documented.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use deadlines::{Deadline, Expired, Gates, Guarded, Heartbeat, Keepalives, Stopped, Watchdog};
use futures_core::future::FusedFuture;

fn is_send_sync<T: Send + Sync + 'static>() {}
fn is_debug<T: Debug>() {}

// Each type named in a signature, the way a user stores it in a struct or returns it.
fn pinned_deadline() -> std::pin::Pin<Box<Deadline>> {
    Box::pin(Deadline::after(Duration::from_secs(1)))
}
fn takes_expired(expired: Expired) -> tokio::time::Instant {
    expired.deadline()
}
fn fused<F: FusedFuture<Output = Expired>>(future: F) -> F {
    future
}
fn pinned_watchdog(timeout: Duration) -> std::pin::Pin<Box<Watchdog>> {
    Box::pin(Watchdog::new(timeout))
}
fn heartbeat_of(watchdog: &Watchdog) -> Heartbeat {
    watchdog.heartbeat()
}
fn outcome_of(outcome: Result<Expired, Stopped>) -> Option<Stopped> {
    outcome.err()
}
fn guarded<F: Future>(watchdog: Watchdog, future: F) -> Guarded<F> {
    watchdog.guard(future)
}

#[test]
fn public_types_are_send_sync_and_debug() {
    is_send_sync::<Deadline>();
    is_send_sync::<Expired>();
    is_send_sync::<Watchdog>();
    is_send_sync::<Heartbeat>();
    is_send_sync::<Stopped>();
    is_send_sync::<Guarded<std::future::Pending<()>>>();
    is_debug::<Deadline>();
    is_debug::<Expired>();
    is_debug::<Watchdog>();
    is_debug::<Heartbeat>();
    is_debug::<Stopped>();
    is_debug::<Guarded<std::future::Pending<()>>>();
    is_send_sync::<Keepalives<String>>();
    // `Keepalives` is `Debug` whatever its key type.
    struct NotDebug;
    is_debug::<Keepalives<NotDebug>>();
    fn is_stream<S: futures_core::stream::FusedStream<Item = (String, Expired)> + Unpin>() {}
    is_stream::<Keepalives<String>>();
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<Stopped>();
    fn is_clone<T: Clone>() {}
    is_clone::<Heartbeat>();
}

#[tokio::test(start_paused = true)]
async fn debug_output_names_the_type_and_its_deadline() {
    let d = Deadline::disarmed();
    assert_eq!(format!("{d:?}"), "Deadline { deadline: None }");
    let armed = pinned_deadline();
    assert!(format!("{armed:?}").starts_with("Deadline { deadline: Some("));

    let expired = fused(armed).await;
    assert!(format!("{expired:?}").starts_with("Expired { deadline: "));
    assert_eq!(takes_expired(expired), expired.deadline());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_can_be_spawned() {
    fn spawnable<F: Future + Send + 'static>(future: F) -> F {
        future
    }
    let start = tokio::time::Instant::now();
    let expired = tokio::spawn(spawnable(Deadline::after(Duration::from_millis(5))))
        .await
        .unwrap();
    assert_eq!(expired.deadline(), start + Duration::from_millis(5));
}

#[tokio::test(start_paused = true)]
async fn expired_is_a_copy_value_compared_by_its_instants() {
    fn is_copy<T: Copy>() {}
    fn is_eq_hash<T: Eq + std::hash::Hash>() {}
    is_copy::<Expired>();
    is_eq_hash::<Expired>();

    let start = tokio::time::Instant::now();
    let at_5 = Deadline::after(Duration::from_millis(5)).await;
    // Another deadline for the same instant, observed at the same poll: an equal value.
    let also_at_5 = Deadline::at(start + Duration::from_millis(5)).await;
    let at_10 = Deadline::after(Duration::from_millis(5)).await;
    assert_eq!(at_5, also_at_5);
    assert_ne!(at_5, at_10, "different deadlines");
    // Same deadline, observed later: `overdue` differs, and so does the value.
    let deadline = Deadline::at(start + Duration::from_millis(10));
    tokio::time::advance(Duration::from_millis(3)).await;
    let late_10 = deadline.await;
    assert_eq!(late_10.deadline(), at_10.deadline());
    assert_ne!(late_10, at_10, "observed 3 ms late");
}

#[tokio::test(start_paused = true)]
async fn watchdog_types_debug_and_compose() {
    let mut watchdog = pinned_watchdog(Duration::from_millis(5));
    let heartbeat = heartbeat_of(&watchdog);
    assert!(format!("{watchdog:?}").starts_with("Watchdog { state: armed, last_beat: "));
    assert!(format!("{heartbeat:?}").starts_with("Heartbeat { state: armed, last_beat: "));
    assert!(heartbeat.stop());
    let stopped = outcome_of(watchdog.as_mut().await).unwrap();
    assert_eq!(format!("{stopped:?}"), "Stopped(())");
    assert_eq!(stopped.to_string(), "watchdog stopped");
    assert!(format!("{heartbeat:?}").contains("stopped"));

    let g = guarded(
        Watchdog::new(Duration::from_millis(5)),
        std::future::pending::<()>(),
    );
    assert!(format!("{g:?}").contains("Guarded"));
    assert!(g.await.is_err());
}

fn keepalives_of(timeout: Duration) -> Keepalives<u64> {
    Keepalives::new(timeout)
}

#[tokio::test(start_paused = true)]
async fn keepalives_debug_names_its_state() {
    let mut set = keepalives_of(Duration::from_millis(5));
    let heartbeat: Heartbeat = set.insert(1);
    assert!(format!("{set:?}").starts_with("Keepalives { len: 1, queued_checks: 1, "));
    assert!(format!("{heartbeat:?}").starts_with("Heartbeat { state: armed"));
    // No timer before the first poll; then the one the set waits on, at the key's check.
    assert!(format!("{set:?}").ends_with("next_check: None }"));
    let check = tokio::time::Instant::now() + Duration::from_millis(5);
    let waker = std::task::Waker::noop();
    assert!(
        set.poll_expired(&mut std::task::Context::from_waker(waker))
            .is_pending()
    );
    assert!(
        format!("{set:?}").ends_with(&format!("next_check: Some({check:?}) }}")),
        "{set:?}"
    );
}

fn gates_of(watchdog: &Watchdog) -> Gates {
    Gates::new().gate("worker", watchdog)
}

#[tokio::test(start_paused = true)]
async fn gates_are_nameable_send_default_and_debug() {
    // A `Gates` holds the health checks it was given, which need only be `Send`.
    fn is_send<T: Send + 'static>() {}
    fn is_default<T: Default>() {}
    is_send::<Gates>();
    is_default::<Gates>();
    is_debug::<Gates>();
    let watchdog = Watchdog::new(Duration::from_secs(1));
    let gates = gates_of(&watchdog).gate_with("disk", || true);
    assert_eq!(format!("{gates:?}"), r#"Gates(["worker", "disk"])"#);
    assert_eq!(format!("{:?}", Gates::default()), "Gates([])");
}

// The stream adapters' item and error types, nameable from `deadlines::stream` (the adapters
// themselves are covered by `tests/stream_api.rs`).
fn liveness_of(item: Result<deadlines::stream::Liveness<u8>, deadlines::stream::PeerDead>) -> bool {
    item.is_ok_and(|item| item.is_ping())
}
fn keepalive_item_of(item: deadlines::stream::KeepaliveItem<u8>) -> bool {
    item.is_injected()
}

#[test]
fn stream_item_types_are_nameable_send_sync_copy_and_debug() {
    use deadlines::stream::{KeepaliveItem, Liveness, PeerDead, PingPong};
    is_send_sync::<Liveness<String>>();
    is_send_sync::<KeepaliveItem<String>>();
    is_send_sync::<PeerDead>();
    is_send_sync::<PingPong<futures_util::stream::Pending<u8>>>();
    fn is_copy<T: Copy + Eq + std::hash::Hash>() {}
    is_copy::<Liveness<u8>>();
    is_copy::<KeepaliveItem<u8>>();
    is_copy::<PeerDead>();
    // `Debug` whatever the source, and for the items when the item is.
    struct NotDebug;
    impl futures_core::Stream for NotDebug {
        type Item = u8;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<u8>> {
            std::task::Poll::Pending
        }
    }
    is_debug::<PingPong<NotDebug>>();
    assert_eq!(format!("{:?}", Liveness::Item(3u8)), "Item(3)");
    assert_eq!(format!("{:?}", Liveness::<u8>::Ping), "Ping");
    assert_eq!(format!("{:?}", KeepaliveItem::Injected(3u8)), "Injected(3)");
    assert_eq!(format!("{:?}", KeepaliveItem::Source(3u8)), "Source(3)");
    assert!(liveness_of(Ok(Liveness::Ping)));
    assert!(!liveness_of(Ok(Liveness::Item(1))));
    assert!(keepalive_item_of(KeepaliveItem::Injected(0)));
    assert!(!keepalive_item_of(KeepaliveItem::Source(0)));
    assert_eq!(Liveness::Item(3u8).into_item(), Some(3));
    assert_eq!(Liveness::<u8>::Ping.into_item(), None);
    assert_eq!(*KeepaliveItem::Source(3u8).get(), 3);
    assert_eq!(KeepaliveItem::Injected(4u8).into_inner(), 4);
}

/// `deadlines::io`: every type nameable, as a user stores it or returns it.
#[cfg(feature = "io")]
mod io_types {
    use std::time::Duration;

    use deadlines::io::{IdleEvent, IdleEvents, IdleHandle, IdleIo, IdleKind, IdleTimedOut};
    use futures_core::stream::FusedStream;
    use futures_util::StreamExt as _;
    use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, AsyncWrite};
    use tokio::net::TcpStream;

    use super::{is_debug, is_send_sync};

    struct Connection {
        io: IdleIo<TcpStream>,
        handle: IdleHandle,
        events: IdleEvents,
    }

    fn connection(socket: TcpStream) -> Connection {
        let io = IdleIo::new(socket).read_idle(Duration::from_secs(30));
        Connection {
            handle: io.handle(),
            events: io.events(),
            io,
        }
    }

    fn on_event(event: IdleEvent) -> (IdleKind, bool) {
        (event.kind(), event.is_first())
    }

    fn on_error(error: &std::io::Error) -> Option<IdleTimedOut> {
        error.get_ref()?.downcast_ref::<IdleTimedOut>().copied()
    }

    #[test]
    fn io_types_are_send_sync_unpin_and_debug() {
        fn unpin_send<T: Unpin + Send + 'static>() {}
        fn clone<T: Clone>() {}
        fn copy_eq_hash<T: Copy + Eq + std::hash::Hash + Send + Sync + 'static>() {}
        fn io<T: AsyncRead + AsyncWrite + Unpin + Send>() {}
        fn buf_io<T: AsyncBufRead + Unpin>() {}
        fn stream<S: FusedStream<Item = IdleEvent> + Unpin + Send>() {}
        fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
        // hyper and `AsyncReadExt` need an `Unpin` IO; a spawned connection task a `Send` one.
        unpin_send::<IdleIo<TcpStream>>();
        io::<IdleIo<TcpStream>>();
        buf_io::<IdleIo<tokio::io::BufReader<TcpStream>>>();
        unpin_send::<IdleEvents>();
        stream::<IdleEvents>();
        is_send_sync::<IdleHandle>();
        clone::<IdleHandle>();
        is_send_sync::<IdleIo<TcpStream>>();
        is_send_sync::<IdleEvents>();
        copy_eq_hash::<IdleEvent>();
        copy_eq_hash::<IdleKind>();
        copy_eq_hash::<IdleTimedOut>();
        is_error::<IdleTimedOut>();
        // `IdleIo` is `Debug` when its IO is (it is declared in `pin_project!`, which the
        // `missing_debug_implementations` lint does not see).
        is_debug::<IdleIo<TcpStream>>();
        is_debug::<IdleEvents>();
        is_debug::<IdleHandle>();
        is_debug::<IdleEvent>();
        is_debug::<IdleTimedOut>();
        let _ = (connection, on_event, on_error);
        let _ = |c: Connection| (c.io, c.handle, c.events);
    }

    #[tokio::test(start_paused = true)]
    async fn io_debug_output_names_each_type_and_its_state() {
        let (client, _peer) = tokio::io::duplex(64);
        let mut io = IdleIo::new(client)
            .all_idle(Duration::from_secs(1))
            .time_out_on(IdleKind::All);
        let handle = io.handle();
        let mut events = io.events();
        let text = format!("{handle:?}");
        assert!(
            text.starts_with(
                "IdleHandle { read_idle: None, write_idle: None, all_idle: Some(1s), last_read: "
            ),
            "{text}"
        );
        assert!(text.ends_with(", closed: false }"), "{text}");
        let text = format!("{io:?}");
        assert!(text.starts_with("IdleIo { io: DuplexStream "), "{text}");
        assert!(text.contains(", handle: IdleHandle { "), "{text}");
        assert!(text.ends_with("timed_out: None, timer: None }"), "{text}");
        let text = format!("{events:?}");
        assert!(text.starts_with("IdleEvents { stretches: "), "{text}");
        assert!(text.ends_with("timer: None, ended: false }"), "{text}");

        let event = events.next().await.unwrap();
        assert_eq!(format!("{event:?}"), "IdleEvent { kind: All, first: true }");
        assert_eq!(on_event(event), (IdleKind::All, true));
        assert_eq!(format!("{:?}", IdleKind::Read), "Read");
        let error = io.read(&mut [0; 8]).await.unwrap_err();
        let idle = on_error(&error).unwrap();
        assert_eq!(
            format!("{idle:?}"),
            "IdleTimedOut { kind: All, threshold: 1s }"
        );
        assert_eq!(
            idle.to_string(),
            "connection idle: no bytes read or written for 1s"
        );
        assert_eq!(format!("{error}"), idle.to_string());
        let text = format!("{io:?}");
        assert!(
            text.contains(
                "timed_out: Some(IdleTimedOut { kind: All, threshold: 1s }), timer: Some("
            ),
            "{text}"
        );
        drop(io);
        assert!(format!("{handle:?}").ends_with("closed: true }"));
        assert_eq!(events.next().await, None);
        assert!(format!("{events:?}").ends_with("ended: true }"));
    }
}

#[cfg(all(unix, feature = "systemd"))]
#[test]
fn systemd_types_are_nameable_send_and_debug() {
    use deadlines::systemd::{Disabled, Notifier, NotifyState, Pinger, Silenced};
    fn is_send<T: Send + 'static>() {}
    fn is_clone<T: Clone>() {}
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    fn is_fused_future<F: FusedFuture<Output = Silenced> + Send + 'static>() {}
    is_send_sync::<Notifier>();
    is_clone::<Notifier>();
    is_debug::<Notifier>();
    // A `Pinger` holds the health checks it was given, which need only be `Send`.
    is_send::<Pinger>();
    is_debug::<Pinger>();
    is_fused_future::<Pinger>();
    is_send_sync::<Silenced>();
    is_debug::<Silenced>();
    is_error::<Disabled>();
    is_clone::<Disabled>();
    is_debug::<NotifyState<'static>>();

    let pinger = Pinger::from_vars(None, None, None).gate_with("pool", || true);
    assert_eq!(
        format!("{pinger:?}"),
        "Pinger { notifier: Notifier { disabled: NoSocket }, timeout: Err(NoSocket), \
         gates: [\"pool\"], trigger: false, next_ping: None, done: false }"
    );
}

/// A `Heartbeat` is one pointer and a slot offset: the instant its ticks count from lives in
/// what it points to (the watchdog's life, the key's segment), so a server holding one per
/// session pays 16 bytes for it, not 32 (`docs/performance.md`, memory with heartbeats held).
#[test]
fn a_heartbeat_is_sixteen_bytes() {
    assert_eq!(std::mem::size_of::<Heartbeat>(), 16);
}
