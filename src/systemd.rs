//! systemd's watchdog, told the truth: ping only while the process is healthy (feature
//! `systemd`, unix only).
//!
//! A service run with `Type=notify` and `WatchdogSec=` must send `WATCHDOG=1` to systemd at
//! least once per `WATCHDOG_USEC`; when the pings stop, systemd kills and restarts it. The usual
//! pinger is a timer task (`interval(WATCHDOG_USEC / 2)`), which keeps pinging while the work
//! it stands for is wedged, so the service is never restarted. A [`Pinger`] pings only while
//! every *gate* is healthy: a [`Watchdog`] the work beats (its deadline not reached), any
//! [`Heartbeat`], or a health check of your own. The moment a gate fails it stops, optionally
//! tells systemd at once with `WATCHDOG=trigger`, and resolves with the gate's name.
//!
//! | item | what it is for |
//! |---|---|
//! | [`Notifier`] | the notify socket: `READY=1`, `STOPPING=1` with `EXTEND_TIMEOUT_USEC`, [`Notifier::drain`] around [`Shutdown::drain`](crate::Shutdown::drain), any [`NotifyState`] |
//! | [`Pinger`] | a future that sends `WATCHDOG=1` every half timeout while its gates are healthy |
//! | [`Silenced`] | why a pinger stopped: disabled, a gate failed, or a send failed |
//! | [`Disabled`] | why there is nothing to notify: the variable absent, zero, garbage, out of range, or meant for another process, or the socket unusable |
//!
//! ```text
//! WATCHDOG_USEC=1000000: a ping every 500 ms while the gate "worker" (a 300 ms Watchdog) is healthy
//!
//! time (ms)   0            500          1000        1200     1300               2000
//! worker      beats every 100 ms ........ last beat (then wedged)
//! gate        healthy ............................................ deadline reached at 1300
//! pings       WATCHDOG=1   WATCHDOG=1   WATCHDOG=1                none after 1000
//! pinger                                            wakes at the old deadline: beaten, sleeps on
//!                                                            1300: WATCHDOG=trigger (if asked),
//!                                                            Silenced::Unhealthy { gate: "worker" }
//! systemd     acts at once on the trigger; without it, once 1000 ms pass with no ping (at 2000)
//! ```
//!
//! # The environment
//!
//! [`Pinger::from_env`] reads what systemd sets, as `sd_watchdog_enabled(3)` does, and never
//! changes the environment (the crate forbids unsafe code, and `set_var` is unsafe in edition
//! 2024); a child process inherits the variables, which is harmless for the watchdog
//! (`WATCHDOG_PID` names this process) but not for the socket: remove `NOTIFY_SOCKET` from a
//! child's environment with [`Command::env_remove`](std::process::Command::env_remove).
//!
//! | input | result |
//! |---|---|
//! | `NOTIFY_SOCKET` absent | [`Disabled::NoSocket`]: not run by systemd as a notify service; every send is a no-op returning `Ok(false)` |
//! | `NOTIFY_SOCKET` an absolute path of a datagram socket | used |
//! | `NOTIFY_SOCKET` a path that does not exist, or is no socket (a file, a directory), or a socket nobody reads, or a stream socket, or not absolute (also empty, and systemd's newer `vsock:` addresses) | [`Disabled::Socket`], with the `io::Error` of the connect: `NotFound`, `ConnectionRefused`, `ConnectionRefused`, `EPROTOTYPE`, `InvalidInput` |
//! | `NOTIFY_SOCKET=@name`, an abstract socket name | used on Linux and Android (`SocketAddrExt::from_abstract_name`); elsewhere [`Disabled::Socket`] with an `Unsupported` error |
//! | `WATCHDOG_USEC` absent | [`Disabled::NoWatchdog`]: systemd expects no pings |
//! | `WATCHDOG_USEC=0` | [`Disabled::ZeroTimeout`] (systemd treats it as invalid) |
//! | `WATCHDOG_USEC` not only decimal digits (`"abc"`, `"-5"`, `"+5"`, `" 5"`, `""`) | [`Disabled::InvalidTimeout`] |
//! | `WATCHDOG_USEC` 18446744073709551615 (systemd's infinity) or more | [`Disabled::TimeoutOutOfRange`] |
//! | `WATCHDOG_USEC` below that, however large | used; an interval past 30 years saturates to 30 years ("effectively never"), as every duration of the crate does |
//! | `WATCHDOG_PID` absent, or this process's id | used |
//! | `WATCHDOG_PID` another process's id | [`Disabled::OtherProcess`] |
//! | `WATCHDOG_PID` not a process id (`0`, garbage, out of range) | [`Disabled::InvalidPid`] |
//!
//! The same rules apply to [`Pinger::from_vars`] and [`Notifier::from_var`], which take the
//! values as arguments: that is how a test checks them without touching the environment.
//! [`Notifier::connect`] and [`Notifier::pinger`] take a socket and a timeout given in code.
//!
//! # Built on `sd-notify`
//!
//! Every message is formatted by the `sd-notify` crate's [`NotifyState`] (0.5, re-exported
//! here), one `KEY=VALUE` line per state, as its `notify` sends them. Its `notify` and
//! `watchdog_enabled` functions are not used: `notify` takes the socket only from the
//! environment and connects anew at each call, so it cannot send to a socket given in code,
//! nor to an abstract name (it connects `@name` as a path); `watchdog_enabled` returns only
//! `None` where this module gives a [`Disabled`] reason, and parses leniently (it takes
//! `WATCHDOG_USEC=0` as a zero timeout and `+5` as 5, and a `WATCHDOG_PID` that does not parse
//! as no pid at all). The socket is a std [`UnixDatagram`], connected once and shared by every
//! clone of a [`Notifier`].
//!
//! # Examples
//!
//! A service: one worker beats a watchdog; the pinger gates systemd's pings on it; `READY=1`
//! once serving; on SIGTERM, `STOPPING=1` with the grace period as the extension, then the drain.
//! Here a bound socket stands in for systemd (the `systemd` example runs this as a real
//! process under a small supervisor):
//!
//! ```
//! use std::os::unix::net::UnixDatagram;
//! use std::time::Duration;
//! use deadlines::Watchdog;
//! use deadlines::systemd::{Notifier, Silenced};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> std::io::Result<()> {
//! # let path = std::env::temp_dir().join(format!("deadlines-doc-module-{}.sock", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let systemd = UnixDatagram::bind(&path)?; // what systemd's NOTIFY_SOCKET names
//! // In a service: `let pinger = Pinger::from_env()`, which reads NOTIFY_SOCKET and WATCHDOG_USEC.
//! let notifier = Notifier::connect(&path)?;
//! let watchdog = Watchdog::new(Duration::from_millis(300));
//! let heartbeat = watchdog.heartbeat();
//! let pinger = notifier
//!     .pinger(Duration::from_secs(1)) // WATCHDOG_USEC=1000000: a ping every 500 ms
//!     .gate("worker", &watchdog)
//!     .trigger_on_failure(true);
//! let pinger = tokio::spawn(pinger);
//! tokio::spawn(async move {
//!     for _ in 0..11 {
//!         heartbeat.beat(); // the worker's loop: one beat per unit of work
//!         tokio::time::sleep(Duration::from_millis(100)).await;
//!     }
//!     std::future::pending::<()>().await // wedged
//! });
//! notifier.ready()?;
//!
//! let start = tokio::time::Instant::now();
//! let Silenced::Unhealthy { gate, at, triggered } = pinger.await.unwrap() else { panic!() };
//! assert_eq!((gate.as_str(), at - start, triggered), ("worker", Duration::from_millis(1300), true));
//!
//! let mut received = Vec::new();
//! let mut buffer = [0; 256];
//! systemd.set_nonblocking(true)?;
//! while let Ok(n) = systemd.recv(&mut buffer) {
//!     received.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
//! }
//! assert_eq!(received, [
//!     "READY=1\n", "WATCHDOG=1\n", "WATCHDOG=1\n", "WATCHDOG=1\n", "WATCHDOG=trigger\n",
//! ]);
//! drop(watchdog);
//! # std::fs::remove_file(&path)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Comparison to a timer task and to `sd-notify` alone
//!
//! A timer task (`loop { interval.tick().await; sd_notify::notify(false, &[Watchdog]) }`)
//! proves only that the runtime's timer runs: a deadlocked worker, a stuck queue or a loop
//! that no longer makes progress go unnoticed by systemd. Use it (or a [`Pinger`] with no gate,
//! which is the same) when a live runtime is all the liveness you need. `sd-notify` alone is
//! the right tool for one-off messages from synchronous code; this module adds the gating, the
//! explicit socket, abstract names, the reasons, and the drain's extension.

use std::error::Error;
use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;
use tokio::time::Instant;

/// A message to the service manager, formatted by the `sd-notify` crate (re-exported from it).
///
/// Send any of them with [`Notifier::notify`]; the common ones have methods of their own.
///
/// ```
/// use deadlines::systemd::NotifyState;
///
/// assert_eq!(NotifyState::Status("loading the cache").to_string(), "STATUS=loading the cache");
/// ```
pub use sd_notify::NotifyState;

use crate::clock::{GRANULARITY, saturating_after};
use crate::gates::Gates;
use crate::heartbeat::Heartbeat;
use crate::timer::Timer;
use crate::watchdog::Watchdog;

/// The service manager's notify socket, or the reason there is none.
///
/// Cheap to clone (one `Arc`); every clone sends through the same socket, connected once.
/// A disabled notifier (not run by systemd, or an unusable socket) sends nothing: its methods
/// return `Ok(false)`, so the same program runs under systemd and without it.
///
/// The socket is non-blocking: a send to a service manager whose queue is full fails with
/// `WouldBlock` at once rather than stall the runtime's thread.
///
/// ```
/// use deadlines::systemd::{Disabled, Notifier};
///
/// let notifier = Notifier::from_var(None); // what from_env() does when NOTIFY_SOCKET is unset
/// assert_eq!(notifier.disabled(), Some(&Disabled::NoSocket));
/// assert!(!notifier.ready().unwrap(), "nothing sent, and no error");
/// ```
#[derive(Clone)]
pub struct Notifier {
    target: Arc<Target>,
}

enum Target {
    Socket {
        socket: UnixDatagram,
        address: String,
    },
    Disabled(Disabled),
}

impl Notifier {
    /// The socket named by `NOTIFY_SOCKET`, or a notifier disabled with the reason (the
    /// table in the [module docs](self)). Never panics; leaves the environment as it is.
    ///
    /// ```
    /// use deadlines::systemd::Notifier;
    ///
    /// let notifier = Notifier::from_env();
    /// if let Some(reason) = notifier.disabled() {
    ///     eprintln!("not notifying systemd: {reason}");
    /// }
    /// ```
    pub fn from_env() -> Self {
        Self::from_var(std::env::var_os("NOTIFY_SOCKET").as_deref())
    }

    /// What [`from_env`](Self::from_env) does with the value of `NOTIFY_SOCKET` (`None` when
    /// unset), given as an argument.
    ///
    /// ```
    /// use std::ffi::OsStr;
    /// use std::io::ErrorKind;
    /// use deadlines::systemd::{Disabled, Notifier};
    ///
    /// let notifier = Notifier::from_var(Some(OsStr::new("/nonexistent/notify")));
    /// let Some(Disabled::Socket { address, error }) = notifier.disabled() else { panic!() };
    /// assert_eq!((address.as_str(), error.kind()), ("/nonexistent/notify", ErrorKind::NotFound));
    /// ```
    pub fn from_var(notify_socket: Option<&OsStr>) -> Self {
        match notify_socket {
            None => Self::disabled_by(Disabled::NoSocket),
            Some(address) => Self::connect(address).unwrap_or_else(|error| {
                Self::disabled_by(Disabled::Socket {
                    address: address.to_string_lossy().into_owned(),
                    error: Arc::new(error),
                })
            }),
        }
    }

    /// Connects to a notify socket given in code: an absolute path, or `@name` for an
    /// abstract socket name (Linux and Android only).
    ///
    /// ```
    /// use std::os::unix::net::UnixDatagram;
    /// use deadlines::systemd::Notifier;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("deadlines-doc-connect-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let systemd = UnixDatagram::bind(&path)?;
    /// let notifier = Notifier::connect(&path)?;
    /// assert!(notifier.ready()?);
    /// let mut buffer = [0; 64];
    /// let n = systemd.recv(&mut buffer)?;
    /// assert_eq!(&buffer[..n], b"READY=1\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` for a path that does not exist, `ConnectionRefused` for one that is not a
    /// socket (or one nobody reads), the OS error `EPROTOTYPE` for a socket that is not a
    /// datagram socket, `InvalidInput` for an address that is neither an absolute path nor
    /// `@name` (an empty one too), `Unsupported` for `@name` outside Linux and Android; any
    /// other error of `connect(2)`.
    pub fn connect(address: impl AsRef<OsStr>) -> io::Result<Self> {
        let address = address.as_ref();
        let socket = connect_socket(address)?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            target: Arc::new(Target::Socket {
                socket,
                address: address.to_string_lossy().into_owned(),
            }),
        })
    }

    fn disabled_by(reason: Disabled) -> Self {
        Self {
            target: Arc::new(Target::Disabled(reason)),
        }
    }

    /// Why this notifier sends nothing, or `None` if it has a socket.
    ///
    /// ```
    /// use deadlines::systemd::Notifier;
    ///
    /// assert!(Notifier::from_var(None).disabled().is_some());
    /// ```
    pub fn disabled(&self) -> Option<&Disabled> {
        match &*self.target {
            Target::Socket { .. } => None,
            Target::Disabled(reason) => Some(reason),
        }
    }

    /// Sends `states` in one datagram, one `KEY=VALUE` line each. `Ok(true)` when sent,
    /// `Ok(false)` when this notifier is disabled.
    ///
    /// ```
    /// use std::os::unix::net::UnixDatagram;
    /// use deadlines::systemd::{Notifier, NotifyState};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("deadlines-doc-notify-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let systemd = UnixDatagram::bind(&path)?;
    /// let notifier = Notifier::connect(&path)?;
    /// notifier.notify(&[NotifyState::Ready, NotifyState::Status("serving")])?;
    /// let mut buffer = [0; 64];
    /// let n = systemd.recv(&mut buffer)?;
    /// assert_eq!(&buffer[..n], b"READY=1\nSTATUS=serving\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for no state at all (systemd refuses an empty message), and any error of
    /// `send(2)`: `ConnectionRefused` once nobody reads the socket, `WouldBlock` when its queue
    /// is full, `WriteZero` if the datagram went out short.
    pub fn notify(&self, states: &[NotifyState<'_>]) -> io::Result<bool> {
        let Target::Socket { socket, .. } = &*self.target else {
            return Ok(false);
        };
        if states.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a notify message needs at least one state",
            ));
        }
        let mut message = String::new();
        for state in states {
            // Writing to a `String` cannot fail.
            let _ = writeln!(message, "{state}");
        }
        if socket.send(message.as_bytes())? != message.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the notify datagram went out short",
            ));
        }
        Ok(true)
    }

    /// Sends `READY=1`: start-up is finished, the service is serving. With `Type=notify`,
    /// systemd holds back the units ordered after this one until it comes.
    ///
    /// ```
    /// use deadlines::systemd::Notifier;
    ///
    /// let notifier = Notifier::from_env();
    /// // ... bind the listeners, load the state ...
    /// notifier.ready().ok(); // a service that cannot notify still serves
    /// ```
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn ready(&self) -> io::Result<bool> {
        self.notify(&[NotifyState::Ready])
    }

    /// Sends `STOPPING=1` and `EXTEND_TIMEOUT_USEC=<extend in µs>` in one datagram: the service
    /// is stopping, and systemd should allow it `extend` from now before it kills it (it never
    /// shortens its `TimeoutStopSec=`). Once the unit leaves its running state systemd no
    /// longer counts the watchdog (systemd's `service_set_state` stops it), so a pinger that
    /// falls silent during the drain does not get the service killed.
    ///
    /// `extend` is rounded up to the microsecond and saturates at `u32::MAX` µs (71 min 35 s),
    /// the most `sd-notify`'s `ExtendTimeoutUsec` carries.
    ///
    /// ```
    /// use std::os::unix::net::UnixDatagram;
    /// use std::time::Duration;
    /// use deadlines::systemd::Notifier;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("deadlines-doc-stopping-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let systemd = UnixDatagram::bind(&path)?;
    /// let notifier = Notifier::connect(&path)?;
    /// notifier.stopping(Duration::from_millis(2500))?;
    /// let mut buffer = [0; 64];
    /// let n = systemd.recv(&mut buffer)?;
    /// assert_eq!(&buffer[..n], b"STOPPING=1\nEXTEND_TIMEOUT_USEC=2500000\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn stopping(&self, extend: Duration) -> io::Result<bool> {
        let micros = u32::try_from(extend.as_nanos().div_ceil(1000)).unwrap_or(u32::MAX);
        self.notify(&[
            NotifyState::Stopping,
            NotifyState::ExtendTimeoutUsec(micros),
        ])
    }

    /// Tells systemd the service is stopping and to wait `grace` ([`stopping`](Self::stopping)),
    /// then runs [`Shutdown::drain(grace)`](crate::Shutdown::drain) and returns its report.
    ///
    /// A failure to notify does not stop the drain, and is not reported: a service that cannot
    /// reach systemd drains all the same. To see the error, call `stopping(grace)` and then
    /// `shutdown.drain(grace)` yourself, which is all this does. (Feature `shutdown` too.)
    ///
    /// ```
    /// use std::os::unix::net::UnixDatagram;
    /// use std::time::Duration;
    /// use deadlines::Shutdown;
    /// use deadlines::systemd::Notifier;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("deadlines-doc-drain-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let systemd = UnixDatagram::bind(&path)?;
    /// let notifier = Notifier::connect(&path)?;
    /// let shutdown = Shutdown::new();
    /// shutdown.spawn("stubborn", std::future::pending::<()>());
    /// // In a service: `shutdown.listen_for_signals()?; shutdown.triggered().await;`
    /// let report = notifier.drain(&shutdown, Duration::from_secs(2)).await;
    /// assert_eq!(report.aborted, ["stubborn"]);
    /// let mut buffer = [0; 64];
    /// let n = systemd.recv(&mut buffer)?;
    /// assert_eq!(&buffer[..n], b"STOPPING=1\nEXTEND_TIMEOUT_USEC=2000000\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Shutdown::drain`](crate::Shutdown::drain): outside a Tokio runtime with the time
    /// driver enabled.
    #[cfg(feature = "shutdown")]
    pub async fn drain(&self, shutdown: &crate::Shutdown, grace: Duration) -> crate::DrainReport {
        // Documented: the drain runs whether or not systemd heard.
        let _ = self.stopping(grace);
        shutdown.drain(grace).await
    }

    /// A pinger for a watchdog `timeout` given in code (what systemd passes as
    /// `WATCHDOG_USEC`): it pings every `timeout / 2` (at least every millisecond) through
    /// this notifier. Add gates before spawning it.
    ///
    /// `Duration::ZERO` gives a pinger disabled with [`Disabled::ZeroTimeout`], as
    /// `WATCHDOG_USEC=0` does; so does a disabled notifier, with its reason.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::systemd::Notifier;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("deadlines-doc-pinger-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # let _systemd = std::os::unix::net::UnixDatagram::bind(&path)?;
    /// let pinger = Notifier::connect(&path)?.pinger(Duration::from_secs(30));
    /// assert_eq!(pinger.interval(), Some(Duration::from_secs(15)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn pinger(&self, timeout: Duration) -> Pinger {
        let timeout = match self.disabled() {
            Some(reason) => Err(reason.clone()),
            None if timeout.is_zero() => Err(Disabled::ZeroTimeout),
            None => Ok(timeout),
        };
        Pinger::new(self.clone(), timeout)
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Notifier");
        match &*self.target {
            Target::Socket { address, .. } => debug.field("address", address),
            Target::Disabled(reason) => debug.field("disabled", reason),
        };
        debug.finish()
    }
}

/// A datagram socket connected to `address`: an absolute path, or `@name`.
fn connect_socket(address: &OsStr) -> io::Result<UnixDatagram> {
    match address.as_bytes() {
        [b'/', ..] => {
            let socket = UnixDatagram::unbound()?;
            socket.connect(Path::new(address))?;
            Ok(socket)
        }
        [b'@', name @ ..] if !name.is_empty() => connect_abstract(name),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a notify socket is an absolute path or an @abstract name",
        )),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn connect_abstract(name: &[u8]) -> io::Result<UnixDatagram> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;

    let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    let socket = UnixDatagram::unbound()?;
    socket.connect_addr(&address)?;
    Ok(socket)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn connect_abstract(_name: &[u8]) -> io::Result<UnixDatagram> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket names (@name) exist only on Linux and Android",
    ))
}

/// Why there is nothing to notify, or no watchdog to ping: the rows of the table in the
/// [module docs](self).
///
/// ```
/// use std::ffi::OsStr;
/// use deadlines::systemd::{Disabled, Pinger};
///
/// let pinger = Pinger::from_vars(None, Some(OsStr::new("5000000")), None);
/// assert_eq!(pinger.disabled(), Some(&Disabled::NoSocket));
/// assert_eq!(Disabled::NoSocket.to_string(), "NOTIFY_SOCKET is not set");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Disabled {
    /// `NOTIFY_SOCKET` is not set: not run by systemd, or not as a notify service.
    NoSocket,
    /// The notify socket cannot be used: `error` is what connecting to `address` returned.
    Socket {
        /// The address as given (lossily made UTF-8).
        address: String,
        /// The connect's error (`NotFound`, `ConnectionRefused`, `InvalidInput`, `Unsupported`).
        error: Arc<io::Error>,
    },
    /// `WATCHDOG_USEC` is not set: systemd expects no pings.
    NoWatchdog,
    /// `WATCHDOG_USEC` is 0 (or a zero timeout was given in code).
    ZeroTimeout,
    /// `WATCHDOG_USEC` is not a decimal number.
    InvalidTimeout(String),
    /// `WATCHDOG_USEC` is systemd's infinity (2^64 - 1) or more.
    TimeoutOutOfRange(String),
    /// `WATCHDOG_PID` names another process: the watchdog is someone else's.
    OtherProcess {
        /// The value of `WATCHDOG_PID`.
        watchdog_pid: u32,
        /// This process's id.
        pid: u32,
    },
    /// `WATCHDOG_PID` is not a process id.
    InvalidPid(String),
}

impl PartialEq for Disabled {
    /// Equal reasons: a `Socket` reason compares its address and its error's kind.
    fn eq(&self, other: &Self) -> bool {
        use Disabled::*;
        match (self, other) {
            (NoSocket, NoSocket) | (NoWatchdog, NoWatchdog) | (ZeroTimeout, ZeroTimeout) => true,
            (
                Socket {
                    address: a,
                    error: e,
                },
                Socket {
                    address: b,
                    error: f,
                },
            ) => a == b && e.kind() == f.kind(),
            (InvalidTimeout(a), InvalidTimeout(b))
            | (TimeoutOutOfRange(a), TimeoutOutOfRange(b))
            | (InvalidPid(a), InvalidPid(b)) => a == b,
            (
                OtherProcess {
                    watchdog_pid: a,
                    pid: p,
                },
                OtherProcess {
                    watchdog_pid: b,
                    pid: q,
                },
            ) => a == b && p == q,
            _ => false,
        }
    }
}

impl fmt::Display for Disabled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSocket => f.write_str("NOTIFY_SOCKET is not set"),
            Self::Socket { address, error } => {
                write!(f, "cannot use the notify socket {address:?}: {error}")
            }
            Self::NoWatchdog => f.write_str("WATCHDOG_USEC is not set"),
            Self::ZeroTimeout => f.write_str("the watchdog timeout is zero"),
            Self::InvalidTimeout(value) => {
                write!(f, "WATCHDOG_USEC={value:?} is not a decimal number")
            }
            Self::TimeoutOutOfRange(value) => write!(
                f,
                "WATCHDOG_USEC={value:?} is out of range (at most 18446744073709551614)"
            ),
            Self::OtherProcess { watchdog_pid, pid } => write!(
                f,
                "WATCHDOG_PID={watchdog_pid} is another process (this one is {pid})"
            ),
            Self::InvalidPid(value) => write!(f, "WATCHDOG_PID={value:?} is not a process id"),
        }
    }
}

impl Error for Disabled {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Socket { error, .. } => Some(&**error),
            _ => None,
        }
    }
}

/// The watchdog timeout systemd asks for, as `sd_watchdog_enabled(3)` reads it.
fn watchdog_timeout(usec: Option<&OsStr>, pid: Option<&OsStr>) -> Result<Duration, Disabled> {
    let usec = usec.ok_or(Disabled::NoWatchdog)?;
    let text = || usec.to_string_lossy().into_owned();
    let micros = decimal(usec).ok_or_else(|| Disabled::InvalidTimeout(text()))?;
    let micros = match micros {
        Some(0) => return Err(Disabled::ZeroTimeout),
        Some(micros) if micros < u64::MAX => micros,
        _ => return Err(Disabled::TimeoutOutOfRange(text())),
    };
    if let Some(value) = pid {
        let watchdog_pid = decimal(value)
            .flatten()
            .and_then(|pid| u32::try_from(pid).ok())
            .filter(|&pid| pid > 0 && i32::try_from(pid).is_ok())
            .ok_or_else(|| Disabled::InvalidPid(value.to_string_lossy().into_owned()))?;
        let ours = std::process::id();
        if watchdog_pid != ours {
            return Err(Disabled::OtherProcess {
                watchdog_pid,
                pid: ours,
            });
        }
    }
    Ok(Duration::from_micros(micros))
}

/// A string of decimal digits: `None` if it is anything else (empty, signed, spaced),
/// `Some(None)` if it is digits too many for a `u64`.
fn decimal(value: &OsStr) -> Option<Option<u64>> {
    let digits = value.as_bytes();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().try_fold(0u64, |n, &digit| {
        n.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    }))
}

pin_project! {
    /// A future that sends systemd `WATCHDOG=1` every half timeout while every gate is
    /// healthy, and resolves, silent from then on, when one is not.
    ///
    /// Gates: [`gate`](Self::gate) (a [`Watchdog`]: healthy while its deadline lies ahead),
    /// [`gate_heartbeat`](Self::gate_heartbeat) (the same through any [`Heartbeat`], also
    /// one of a [`Keepalives`](crate::Keepalives) key), [`gate_with`](Self::gate_with) (a
    /// health check of your own). With no gate it pings for as long as it is polled, as a timer
    /// task would.
    ///
    /// At each poll it judges its gates, a [`Gates`] set, by the rules of [`Gates`]:
    ///
    /// 1. The first ping goes out at the first poll, then one every `timeout / 2` (at least a
    ///    millisecond apart) on a grid from it; a ping that comes late (a busy runtime) goes
    ///    out at once, and the grid restarts from it: pings never come in a burst.
    /// 2. A ping is sent only if every gate is healthy at that instant ([`Gates::judge`]): a
    ///    watchdog gate is healthy while Tokio time is before its deadline (last beat +
    ///    timeout), and has failed at the deadline itself and once stopped, expired or dropped.
    /// 3. The pinger wakes at the earlier of its next ping and the earliest watchdog gate's
    ///    deadline, so it fails the moment a watchdog gate's deadline is reached (a gate beaten
    ///    since is judged anew, and the pinger sleeps on). A stop or a drop of the watchdog
    ///    wakes only the watchdog's own task: the pinger sees it at its next wake, at the latest
    ///    the next ping, which it then does not send. A [`gate_with`](Self::gate_with) check is
    ///    called at every wake, hence before every ping.
    /// 4. When a gate fails the pinger sends `WATCHDOG=trigger` if
    ///    [`trigger_on_failure`](Self::trigger_on_failure) asked for it (systemd then acts at
    ///    once rather than when the timeout runs out), and resolves
    ///    [`Silenced::Unhealthy`]. It never pings again.
    /// 5. A send that fails resolves [`Silenced::SendFailed`]; a disabled pinger resolves
    ///    [`Silenced::Disabled`] at its first poll.
    ///
    /// A gate belongs to one life of its watchdog (see [`Watchdog::rearm`]): a watchdog rearmed
    /// after an outcome is not the one gated, and does not revive a failed pinger. This is the
    /// point: a process that gave up on its work is restarted by systemd.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    /// use deadlines::systemd::{Notifier, Silenced};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("deadlines-doc-type-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # let _systemd = std::os::unix::net::UnixDatagram::bind(&path)?;
    /// let start = tokio::time::Instant::now();
    /// let queue = Watchdog::new(Duration::from_secs(3)); // nobody beats it
    /// let pinger = Notifier::connect(&path)?.pinger(Duration::from_secs(10)).gate("queue", &queue);
    /// match pinger.await {
    ///     Silenced::Unhealthy { gate, at, .. } => {
    ///         assert_eq!(gate, "queue");
    ///         assert_eq!(at - start, Duration::from_secs(3)); // pings at 0 only
    ///     }
    ///     other => panic!("{other}"),
    /// }
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the pinger stops the pings, and systemd restarts the service once the timeout
    /// runs out: spawn it, or poll it in the `select!` loop of a task that lives as long as the
    /// service. Polling `&mut pinger` in `select!` and dropping that poll loses nothing.
    ///
    /// # Panics
    ///
    /// Building a pinger needs no runtime; polling it panics outside a Tokio runtime with the
    /// time driver enabled, as polling a [`tokio::time::sleep`] made there would. A
    /// [`gate_with`](Self::gate_with) check that panics panics the poll. No input panics: an
    /// interval past 30 years saturates to 30 years (effectively never; a ping sooner than
    /// systemd needs one is harmless).
    ///
    /// # Precision
    ///
    /// Tokio's timer counts whole milliseconds, rounding up: a ping or a gate's failure is
    /// observed at the first poll at or after its instant, never before.
    #[must_use = "a pinger sends nothing unless polled: spawn it"]
    pub struct Pinger {
        #[pin]
        timer: Timer,
        notifier: Notifier,
        timeout: Result<Duration, Disabled>,
        gates: Gates,
        trigger: bool,
        // The instant of the next ping: `None` until the first poll, which pings at once.
        next_ping: Option<Instant>,
        // The outcome was delivered: pending for ever.
        done: bool,
    }
}

impl Pinger {
    fn new(notifier: Notifier, timeout: Result<Duration, Disabled>) -> Self {
        Self {
            timer: Timer::new(),
            notifier,
            timeout,
            gates: Gates::new(),
            trigger: false,
            next_ping: None,
            done: false,
        }
    }

    /// A pinger as systemd asks for it: the socket of `NOTIFY_SOCKET`, the timeout of
    /// `WATCHDOG_USEC` if `WATCHDOG_PID` is unset or names this process; disabled with the
    /// reason otherwise (the table in the [module docs](self)). Never panics; leaves the
    /// environment as it is.
    ///
    /// ```
    /// use deadlines::systemd::Pinger;
    ///
    /// let pinger = Pinger::from_env();
    /// match pinger.disabled() {
    ///     Some(reason) => eprintln!("no systemd watchdog: {reason}"),
    ///     None => eprintln!("pinging every {:?}", pinger.interval().unwrap()),
    /// }
    /// ```
    pub fn from_env() -> Self {
        Self::from_vars(
            std::env::var_os("NOTIFY_SOCKET").as_deref(),
            std::env::var_os("WATCHDOG_USEC").as_deref(),
            std::env::var_os("WATCHDOG_PID").as_deref(),
        )
    }

    /// What [`from_env`](Self::from_env) does with the values of `NOTIFY_SOCKET`,
    /// `WATCHDOG_USEC` and `WATCHDOG_PID` (`None` when unset), given as arguments. The socket
    /// is judged first: without one there is nobody to ping.
    ///
    /// ```
    /// use std::ffi::OsStr;
    /// use deadlines::systemd::{Disabled, Pinger};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("deadlines-doc-vars-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # let _systemd = std::os::unix::net::UnixDatagram::bind(&path)?;
    /// let socket = Some(path.as_os_str());
    /// let usec = |value| Some(OsStr::new(value));
    /// assert_eq!(Pinger::from_vars(socket, usec("0"), None).disabled(), Some(&Disabled::ZeroTimeout));
    /// assert_eq!(
    ///     Pinger::from_vars(socket, usec("1s"), None).disabled(),
    ///     Some(&Disabled::InvalidTimeout("1s".into())),
    /// );
    /// let ours = std::process::id().to_string();
    /// let pinger = Pinger::from_vars(socket, usec("4000000"), Some(OsStr::new(&ours)));
    /// assert_eq!(pinger.timeout(), Some(std::time::Duration::from_secs(4)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_vars(
        notify_socket: Option<&OsStr>,
        watchdog_usec: Option<&OsStr>,
        watchdog_pid: Option<&OsStr>,
    ) -> Self {
        let notifier = Notifier::from_var(notify_socket);
        let timeout = match notifier.disabled() {
            Some(reason) => Err(reason.clone()),
            None => watchdog_timeout(watchdog_usec, watchdog_pid),
        };
        Self::new(notifier, timeout)
    }

    /// Gates the pings on `watchdog`: they stop when its deadline is reached, or when it is
    /// stopped or dropped. The pinger holds a [`Heartbeat`] of it and never beats it; the
    /// watchdog may be awaited by its owner as usual (or not at all).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Watchdog;
    /// use deadlines::systemd::Pinger;
    ///
    /// let worker = Watchdog::new(Duration::from_secs(5));
    /// let pinger = Pinger::from_env().gate("worker", &worker);
    /// # drop(pinger);
    /// ```
    pub fn gate(mut self, name: impl Into<String>, watchdog: &Watchdog) -> Self {
        self.gates = self.gates.gate(name, watchdog);
        self
    }

    /// Gates the pings on the watchdog (or [`Keepalives`](crate::Keepalives) key) that
    /// `heartbeat` belongs to, as [`gate`](Self::gate) does: healthy while
    /// [`Heartbeat::remaining`] is more than zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::Keepalives;
    /// use deadlines::systemd::Pinger;
    ///
    /// let mut links = Keepalives::new(Duration::from_secs(5));
    /// let upstream = links.insert("upstream");
    /// let pinger = Pinger::from_env().gate_heartbeat("upstream link", upstream);
    /// # drop(pinger);
    /// ```
    pub fn gate_heartbeat(mut self, name: impl Into<String>, heartbeat: Heartbeat) -> Self {
        self.gates = self.gates.gate_heartbeat(name, heartbeat);
        self
    }

    /// Gates the pings on a health check: `healthy` is called at every wake of the pinger,
    /// hence before every ping, and the pings stop the first time it returns `false`. Keep it
    /// quick and non-blocking (an atomic load, a `try_lock`): it runs in the pinger's task.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use deadlines::systemd::Pinger;
    ///
    /// let pool_ok = Arc::new(AtomicBool::new(true));
    /// let check = pool_ok.clone();
    /// let pinger = Pinger::from_env().gate_with("db pool", move || check.load(Ordering::Relaxed));
    /// # drop(pinger);
    /// ```
    pub fn gate_with<F>(mut self, name: impl Into<String>, healthy: F) -> Self
    where
        F: FnMut() -> bool + Send + 'static,
    {
        self.gates = self.gates.gate_with(name, healthy);
        self
    }

    /// Whether to send `WATCHDOG=trigger` when a gate fails (default `false`): systemd then
    /// handles the watchdog failure at once (it kills the service, and `Restart=on-watchdog`
    /// or `on-failure` restarts it) instead of when the timeout runs out.
    ///
    /// ```
    /// use deadlines::systemd::Pinger;
    ///
    /// let pinger = Pinger::from_env().trigger_on_failure(true);
    /// # drop(pinger);
    /// ```
    pub fn trigger_on_failure(mut self, trigger: bool) -> Self {
        self.trigger = trigger;
        self
    }

    /// The notifier the pinger sends through: clone it to send `READY=1` and to drain.
    ///
    /// ```
    /// use deadlines::systemd::Pinger;
    ///
    /// let pinger = Pinger::from_env();
    /// let notifier = pinger.notifier().clone();
    /// # drop(pinger);
    /// notifier.ready().ok();
    /// ```
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Why the pinger will send nothing, or `None` if it will ping.
    ///
    /// ```
    /// use deadlines::systemd::{Disabled, Pinger};
    ///
    /// assert_eq!(Pinger::from_vars(None, None, None).disabled(), Some(&Disabled::NoSocket));
    /// ```
    pub fn disabled(&self) -> Option<&Disabled> {
        self.timeout.as_ref().err()
    }

    /// The watchdog timeout (systemd's `WatchdogSec=`), or `None` if disabled.
    ///
    /// ```
    /// use deadlines::systemd::Pinger;
    ///
    /// assert_eq!(Pinger::from_vars(None, None, None).timeout(), None);
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.as_ref().ok().copied()
    }

    /// The time between two pings, half the timeout (at least a millisecond), or `None` if
    /// disabled.
    ///
    /// ```
    /// use deadlines::systemd::Pinger;
    ///
    /// assert_eq!(Pinger::from_vars(None, None, None).interval(), None);
    /// ```
    pub fn interval(&self) -> Option<Duration> {
        self.timeout().map(ping_interval)
    }
}

fn ping_interval(timeout: Duration) -> Duration {
    (timeout / 2).max(GRANULARITY)
}

impl Future for Pinger {
    type Output = Silenced;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Silenced> {
        let mut this = self.project();
        if *this.done {
            return Poll::Pending;
        }
        let interval = match this.timeout {
            Ok(timeout) => ping_interval(*timeout),
            Err(reason) => {
                *this.done = true;
                return Poll::Ready(Silenced::Disabled(reason.clone()));
            }
        };
        loop {
            let now = Instant::now();
            let earliest = match this.gates.judge(now) {
                Ok(earliest) => earliest,
                Err(gate) => {
                    *this.done = true;
                    let triggered = *this.trigger
                        && matches!(
                            this.notifier.notify(&[NotifyState::WatchdogTrigger]),
                            Ok(true)
                        );
                    return Poll::Ready(Silenced::Unhealthy {
                        gate: gate.to_owned(),
                        at: now,
                        triggered,
                    });
                }
            };
            let due = *this.next_ping.get_or_insert(now);
            let next = if due <= now {
                if let Err(error) = this.notifier.notify(&[NotifyState::Watchdog]) {
                    *this.done = true;
                    return Poll::Ready(Silenced::SendFailed(error));
                }
                // On the grid, unless this ping came a whole interval late.
                let on_grid = saturating_after(due, interval);
                let next = if on_grid > now {
                    on_grid
                } else {
                    saturating_after(now, interval)
                };
                *this.next_ping = Some(next);
                next
            } else {
                due
            };
            // The timer wakes the task at the next ping, or at a gate's deadline if that comes
            // first (a beat since may have moved it: then the loop sleeps again).
            let wake = earliest.map_or(next, |deadline| deadline.min(next));
            ready!(this.timer.as_mut().poll_until(cx, wake));
        }
    }
}

impl FusedFuture for Pinger {
    /// `true` once the pinger has resolved: it never pings again.
    ///
    /// ```
    /// use deadlines::systemd::Pinger;
    /// use futures_core::future::FusedFuture;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let pinger = Pinger::from_vars(None, None, None);
    /// tokio::pin!(pinger);
    /// assert!(!pinger.is_terminated());
    /// let _disabled = pinger.as_mut().await;
    /// assert!(pinger.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl fmt::Debug for Pinger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gates: Vec<&str> = self.gates.names().collect();
        f.debug_struct("Pinger")
            .field("notifier", &self.notifier)
            .field("timeout", &self.timeout)
            .field("gates", &gates)
            .field("trigger", &self.trigger)
            .field("next_ping", &self.next_ping)
            .field("done", &self.done)
            .finish()
    }
}

/// Why a [`Pinger`] stopped pinging: what it resolves with.
///
/// ```
/// use deadlines::systemd::{Disabled, Pinger, Silenced};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let silenced = Pinger::from_vars(None, None, None).await;
/// assert!(matches!(silenced, Silenced::Disabled(Disabled::NoSocket)));
/// assert_eq!(silenced.to_string(), "no systemd watchdog: NOTIFY_SOCKET is not set");
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Silenced {
    /// Nothing to ping (resolved at the first poll).
    Disabled(Disabled),
    /// The gate `gate` was not healthy at `at`: no ping went out from then on.
    Unhealthy {
        /// The gate's name, as given to `gate`, `gate_heartbeat` or `gate_with`.
        gate: String,
        /// When the pinger observed it.
        at: Instant,
        /// Whether `WATCHDOG=trigger` was sent: `false` if it was not asked for, or if its
        /// send failed.
        triggered: bool,
    },
    /// A ping could not be sent (systemd gone, its queue full): the pinger stopped.
    SendFailed(io::Error),
}

impl fmt::Display for Silenced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled(reason) => write!(f, "no systemd watchdog: {reason}"),
            Self::Unhealthy {
                gate, triggered, ..
            } => {
                write!(f, "systemd watchdog pings stopped: gate {gate:?} failed")?;
                if *triggered {
                    f.write_str(" (WATCHDOG=trigger sent)")?;
                }
                Ok(())
            }
            Self::SendFailed(error) => write!(f, "systemd watchdog ping failed: {error}"),
        }
    }
}
