//! The signals that trigger, then force, a [`Shutdown`].

use std::io;
use std::sync::atomic::Ordering;

use super::Shutdown;

impl Shutdown {
    /// Triggers the shutdown on the first signal and forces it on the next: SIGINT, SIGTERM,
    /// SIGHUP and SIGQUIT on Unix, Ctrl-C elsewhere.
    ///
    /// The handlers are registered before this returns (so a signal that arrives afterwards
    /// is never lost to the default action, which would kill the process), and a task of the
    /// runtime listens. A signal that arrives when the shutdown is already triggered (by a
    /// signal, by hand or by `drain`) forces it. After forcing, the listener ends; further
    /// signals are then ignored, as Tokio never restores the default action: the program
    /// should exit once the forced drain returns.
    ///
    /// Tokio may coalesce signals that arrive together into one: two signals sent at once can
    /// count as one. Calling this again, on any clone, does nothing: with two listeners, one
    /// signal would both trigger and force.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> std::io::Result<()> {
    /// let shutdown = Shutdown::new();
    /// shutdown.listen_for_signals()?;
    /// # shutdown.trigger();
    /// shutdown.triggered().await; // `kill -TERM <pid>`, or Ctrl-C
    /// let report = shutdown.drain(Duration::from_secs(10)).await;
    /// # assert!(report.is_clean());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// If a signal handler cannot be registered (see [`tokio::signal::unix::signal`]).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, or in one built without `enable_io` on Unix.
    pub fn listen_for_signals(&self) -> io::Result<()> {
        // Relaxed: the swap only elects the one call that starts the listener.
        if self.inner.listening.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        let mut signals = match Signals::register() {
            Ok(signals) => signals,
            Err(error) => {
                self.inner.listening.store(false, Ordering::Relaxed);
                return Err(error);
            }
        };
        let shutdown = self.clone();
        tokio::spawn(async move {
            while signals.recv().await {
                if !shutdown.trigger() {
                    shutdown.force();
                    return;
                }
            }
        });
        Ok(())
    }
}

/// The signals that trigger, then force, a shutdown.
#[cfg(unix)]
struct Signals([tokio::signal::unix::Signal; 4]);

#[cfg(unix)]
impl Signals {
    fn register() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self([
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
            signal(SignalKind::quit())?,
        ]))
    }

    /// The next signal of any of the four: `false` if the runtime shut down.
    async fn recv(&mut self) -> bool {
        std::future::poll_fn(|cx| {
            for signal in &mut self.0 {
                if let std::task::Poll::Ready(received) = signal.poll_recv(cx) {
                    return std::task::Poll::Ready(received.is_some());
                }
            }
            std::task::Poll::Pending
        })
        .await
    }
}

/// The signals that trigger, then force, a shutdown: Ctrl-C.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn register() -> io::Result<Self> {
        Ok(Self)
    }

    /// The next Ctrl-C: `false` if it cannot be listened for.
    async fn recv(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
