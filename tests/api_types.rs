//! Every public type is nameable from the crate, `Debug`, and `Send`/`Sync` as documented.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use deadlines::{Deadline, Expired};
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

#[test]
fn public_types_are_send_sync_and_debug() {
    is_send_sync::<Deadline>();
    is_send_sync::<Expired>();
    is_debug::<Deadline>();
    is_debug::<Expired>();
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
    let expired = tokio::spawn(spawnable(Deadline::after(Duration::from_millis(5))))
        .await
        .unwrap();
    let copy = expired;
    assert_eq!(copy, expired);
}
