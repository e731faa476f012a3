//! What `systemd::Pinger::from_vars` and `Notifier::from_var`/`connect` make of every input
//! the module docs' table lists (absent, zero, garbage, huge; another process; a missing path,
//! a file that is no socket; an abstract name), each with its documented result, and no
//! input that panics. No test here changes the environment: the values are arguments.
#![cfg(all(unix, feature = "systemd"))]

mod common;

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use common::systemd::{PING, Systemd, unique_path};
use deadlines::systemd::{Disabled, Notifier, Pinger, Silenced};
use proptest::prelude::*;

fn os(value: &str) -> Option<&OsStr> {
    Some(OsStr::new(value))
}

/// The reason a pinger on a good socket is disabled with, for these watchdog values.
fn reason(systemd: &Systemd, usec: Option<&str>, pid: Option<&str>) -> Option<Disabled> {
    let pinger = Pinger::from_vars(
        Some(systemd.path().as_os_str()),
        usec.map(OsStr::new),
        pid.map(OsStr::new),
    );
    pinger.disabled().cloned()
}

fn socket_error(notify_socket: &OsStr) -> (String, ErrorKind) {
    match Notifier::from_var(Some(notify_socket)).disabled() {
        Some(Disabled::Socket { address, error }) => (address.clone(), error.kind()),
        other => panic!("{notify_socket:?}: {other:?}"),
    }
}

#[test]
fn watchdog_usec_absent_is_no_watchdog() {
    let systemd = Systemd::bind("env-absent");
    assert_eq!(reason(&systemd, None, None), Some(Disabled::NoWatchdog));
    assert_eq!(Disabled::NoWatchdog.to_string(), "WATCHDOG_USEC is not set");
}

#[test]
fn watchdog_usec_zero_is_refused_as_systemd_does() {
    let systemd = Systemd::bind("env-zero");
    for zero in ["0", "00", "0000000000000000000000000"] {
        assert_eq!(
            reason(&systemd, Some(zero), None),
            Some(Disabled::ZeroTimeout),
            "{zero}"
        );
    }
    assert_eq!(
        Disabled::ZeroTimeout.to_string(),
        "the watchdog timeout is zero"
    );
}

#[test]
fn watchdog_usec_garbage_is_not_a_decimal_number() {
    let systemd = Systemd::bind("env-garbage");
    for garbage in [
        "", "abc", "-5", "+5", " 5", "5 ", "5\n", "1.5", "5s", "0x10", "½", "5_000",
    ] {
        assert_eq!(
            reason(&systemd, Some(garbage), None),
            Some(Disabled::InvalidTimeout(garbage.to_owned())),
            "{garbage:?}"
        );
    }
    assert_eq!(
        Disabled::InvalidTimeout("5s".into()).to_string(),
        "WATCHDOG_USEC=\"5s\" is not a decimal number"
    );
    // Not UTF-8: judged by its bytes, shown lossily.
    let bytes = OsStr::from_bytes(b"5\xff");
    let pinger = Pinger::from_vars(Some(systemd.path().as_os_str()), Some(bytes), None);
    assert_eq!(
        pinger.disabled(),
        Some(&Disabled::InvalidTimeout("5\u{fffd}".into()))
    );
}

#[test]
fn watchdog_usec_huge_is_out_of_range_from_systemds_infinity_on() {
    let systemd = Systemd::bind("env-huge");
    for huge in [
        "18446744073709551615", // u64::MAX: systemd's USEC_INFINITY
        "18446744073709551616", // u64::MAX + 1
        "99999999999999999999999999999999999999999",
    ] {
        assert_eq!(
            reason(&systemd, Some(huge), None),
            Some(Disabled::TimeoutOutOfRange(huge.to_owned())),
            "{huge}"
        );
    }
    assert_eq!(
        Disabled::TimeoutOutOfRange("18446744073709551615".into()).to_string(),
        "WATCHDOG_USEC=\"18446744073709551615\" is out of range (at most 18446744073709551614)"
    );
}

#[tokio::test(start_paused = true)]
async fn watchdog_usec_just_below_infinity_is_used_and_saturates() {
    let systemd = Systemd::bind("env-largest");
    let pinger = Pinger::from_vars(
        Some(systemd.path().as_os_str()),
        os("18446744073709551614"),
        None,
    );
    assert_eq!(pinger.disabled(), None);
    assert_eq!(pinger.timeout(), Some(Duration::from_micros(u64::MAX - 1)));
    let mut pinger = common::Probe::new(pinger);
    assert!(pinger.poll().is_pending());
    assert_eq!(systemd.received(), [PING]);
    tokio::time::advance(Duration::from_secs(86_400 * 365 * 29)).await;
    assert!(pinger.poll().is_pending());
    assert!(systemd.received().is_empty());
}

#[test]
fn watchdog_usec_in_microseconds() {
    let systemd = Systemd::bind("env-usec");
    for (usec, timeout, interval) in [
        ("1", Duration::from_micros(1), Duration::from_millis(1)),
        ("2000", Duration::from_millis(2), Duration::from_millis(1)),
        ("30000000", Duration::from_secs(30), Duration::from_secs(15)),
        (
            "0000500000",
            Duration::from_millis(500),
            Duration::from_millis(250),
        ),
    ] {
        let pinger = Pinger::from_vars(Some(systemd.path().as_os_str()), os(usec), None);
        assert_eq!(pinger.timeout(), Some(timeout), "{usec}");
        assert_eq!(pinger.interval(), Some(interval), "{usec}");
    }
}

#[test]
fn watchdog_pid_absent_or_ours_is_used() {
    let systemd = Systemd::bind("env-pid-ours");
    assert_eq!(reason(&systemd, Some("1000000"), None), None);
    let ours = std::process::id().to_string();
    assert_eq!(reason(&systemd, Some("1000000"), Some(&ours)), None);
}

#[test]
fn watchdog_pid_of_another_process_is_someone_elses_watchdog() {
    let systemd = Systemd::bind("env-pid-other");
    let ours = std::process::id();
    let parent = std::os::unix::process::parent_id();
    assert_ne!(parent, ours);
    for other in [parent, 1] {
        assert_eq!(
            reason(&systemd, Some("1000000"), Some(&other.to_string())),
            Some(Disabled::OtherProcess {
                watchdog_pid: other,
                pid: ours
            }),
            "{other}"
        );
    }
    assert_eq!(
        Disabled::OtherProcess {
            watchdog_pid: 7,
            pid: 9
        }
        .to_string(),
        "WATCHDOG_PID=7 is another process (this one is 9)"
    );
}

#[test]
fn watchdog_pid_that_is_no_process_id_is_invalid() {
    let systemd = Systemd::bind("env-pid-bad");
    for bad in [
        "",
        "0",
        "-1",
        "abc",
        " 1",
        "2147483648",
        "4294967296",
        "99999999999999999999",
    ] {
        assert_eq!(
            reason(&systemd, Some("1000000"), Some(bad)),
            Some(Disabled::InvalidPid(bad.to_owned())),
            "{bad:?}"
        );
    }
    assert_eq!(
        Disabled::InvalidPid("abc".into()).to_string(),
        "WATCHDOG_PID=\"abc\" is not a process id"
    );
}

#[test]
fn the_timeout_is_judged_before_the_pid() {
    // As sd_watchdog_enabled(3): a bad timeout is reported whoever it is for.
    let systemd = Systemd::bind("env-order");
    assert_eq!(
        reason(&systemd, Some("0"), Some("1")),
        Some(Disabled::ZeroTimeout)
    );
    assert_eq!(
        reason(&systemd, None, Some("garbage")),
        Some(Disabled::NoWatchdog)
    );
}

#[tokio::test(start_paused = true)]
async fn notify_socket_absent_disables_everything_and_sends_nothing() {
    let pinger = Pinger::from_vars(None, os("1000000"), None);
    assert_eq!(pinger.disabled(), Some(&Disabled::NoSocket));
    assert_eq!(pinger.notifier().disabled(), Some(&Disabled::NoSocket));
    let notifier = pinger.notifier().clone();
    assert!(!notifier.ready().unwrap());
    assert!(!notifier.stopping(Duration::from_secs(1)).unwrap());
    assert!(matches!(
        pinger.await,
        Silenced::Disabled(Disabled::NoSocket)
    ));
    assert_eq!(Disabled::NoSocket.to_string(), "NOTIFY_SOCKET is not set");
}

#[test]
fn notify_socket_that_does_not_exist_is_not_found() {
    let missing = unique_path("env-missing");
    assert_eq!(
        socket_error(missing.as_os_str()),
        (missing.display().to_string(), ErrorKind::NotFound)
    );
    let error = Notifier::connect(&missing).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    // The pinger says the same, whatever the watchdog variables.
    let pinger = Pinger::from_vars(Some(missing.as_os_str()), os("1000000"), None);
    assert!(matches!(
        pinger.disabled(),
        Some(Disabled::Socket { error, .. }) if error.kind() == ErrorKind::NotFound
    ));
}

#[test]
fn notify_socket_that_is_a_file_or_a_directory_is_refused() {
    let file = unique_path("env-file");
    std::fs::write(&file, b"not a socket").unwrap();
    let dir = std::env::temp_dir();
    let file_error = socket_error(file.as_os_str());
    let dir_error = socket_error(dir.as_os_str());
    std::fs::remove_file(&file).unwrap();
    assert_eq!(file_error.1, ErrorKind::ConnectionRefused);
    assert_eq!(dir_error.1, ErrorKind::ConnectionRefused);
    let message = Notifier::from_var(Some(dir.as_os_str()))
        .disabled()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(&format!(
            "cannot use the notify socket {:?}: ",
            dir.display().to_string()
        )),
        "{message}"
    );
}

#[test]
fn notify_socket_that_is_a_stream_socket_is_an_error() {
    let path = unique_path("env-stream");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let error = Notifier::connect(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    drop(listener);
    // EPROTOTYPE: the kind std gives it is not stable, the error is.
    assert_eq!(error.raw_os_error(), Some(libc_eprototype()), "{error}");
}

/// EPROTOTYPE, "protocol wrong type for socket": 91 on Linux, 41 on the BSDs and macOS.
fn libc_eprototype() -> i32 {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        91
    } else {
        41
    }
}

#[test]
fn notify_socket_that_is_neither_absolute_nor_abstract_is_invalid_input() {
    for address in ["", "notify.sock", "./notify.sock", "vsock:2:1234", "@"] {
        assert_eq!(
            socket_error(OsStr::new(address)),
            (address.to_owned(), ErrorKind::InvalidInput),
            "{address:?}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn notify_socket_with_an_abstract_name_is_used_on_linux() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};

    let name = format!("deadlines-env-abstract-{}", std::process::id());
    let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let systemd = UnixDatagram::bind_addr(&address).unwrap();
    let notifier = Notifier::from_var(os(&format!("@{name}")));
    assert_eq!(notifier.disabled(), None);
    assert!(notifier.ready().unwrap());
    let mut buffer = [0; 64];
    let n = systemd.recv(&mut buffer).unwrap();
    assert_eq!(&buffer[..n], b"READY=1\n");

    // An abstract name nobody bound is refused, as a path nobody bound is.
    let unbound = format!("@deadlines-env-nobody-{}", std::process::id());
    assert_eq!(
        socket_error(OsStr::new(&unbound)).1,
        ErrorKind::ConnectionRefused
    );
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[test]
fn notify_socket_with_an_abstract_name_is_unsupported_off_linux() {
    assert_eq!(
        socket_error(OsStr::new("@deadlines-abstract")).1,
        ErrorKind::Unsupported
    );
}

#[test]
fn an_empty_message_is_refused_and_nothing_is_sent() {
    let systemd = Systemd::bind("env-empty");
    let notifier = Notifier::connect(systemd.path()).unwrap();
    assert_eq!(
        notifier.notify(&[]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(systemd.received().is_empty());
}

#[test]
fn the_socket_error_is_the_reasons_source() {
    use std::error::Error;
    let missing = unique_path("env-source");
    let notifier = Notifier::from_var(Some(missing.as_os_str()));
    let reason = notifier.disabled().unwrap();
    let source = reason.source().expect("the connect's error");
    assert_eq!(
        source.downcast_ref::<std::io::Error>().unwrap().kind(),
        ErrorKind::NotFound
    );
    assert!(Disabled::NoSocket.source().is_none());
}

/// What the module docs' table says of a value of `WATCHDOG_USEC` (with no `WATCHDOG_PID`).
fn documented(usec: &[u8]) -> Result<Duration, Disabled> {
    let shown = String::from_utf8_lossy(usec).into_owned();
    if usec.is_empty() || !usec.iter().all(u8::is_ascii_digit) {
        return Err(Disabled::InvalidTimeout(shown));
    }
    let digits = std::str::from_utf8(usec).unwrap().trim_start_matches('0');
    if digits.is_empty() {
        return Err(Disabled::ZeroTimeout);
    }
    match digits.parse::<u64>() {
        Ok(n) if n < u64::MAX => Ok(Duration::from_micros(n)),
        _ => Err(Disabled::TimeoutOutOfRange(shown)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_in_the_watchdog_variables_give_the_documented_result(
        usec in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..24),
            proptest::collection::vec(b'0'..=b'9', 1..24),
            "[0-9]{17,22}".prop_map(String::into_bytes),
        ],
        pid in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
    ) {
        let systemd = Systemd::bind("env-any");
        let pinger = Pinger::from_vars(
            Some(systemd.path().as_os_str()),
            Some(OsStr::from_bytes(&usec)),
            pid.as_deref().map(OsStr::from_bytes),
        );
        let expected = documented(&usec);
        match (&expected, pid) {
            // A bad timeout is reported first; with a good one and a pid, only ours passes.
            (Err(reason), _) => prop_assert_eq!(pinger.disabled(), Some(reason)),
            (Ok(_), Some(pid)) => prop_assert!(
                pinger.disabled().is_some()
                    || pid == std::process::id().to_string().into_bytes()
            ),
            (Ok(timeout), None) => prop_assert_eq!(pinger.timeout(), Some(*timeout)),
        }
    }
}
