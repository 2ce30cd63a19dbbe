//! Telling systemd how the gateway is doing (`sd_notify(3)`): `READY=1` once the broker
//! listens, `WATCHDOG=1` while it is alive, `STOPPING=1` at shutdown, `STATUS=` lines for
//! `systemctl status`.
//!
//! systemd passes the socket in `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket) and
//! the watchdog period in `WATCHDOG_USEC` (meant for the process in `WATCHDOG_PID`, if set).
//! Outside systemd none is set and every call does nothing.

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET={0:?}: only a socket path or an @abstract name is supported")]
    UnsupportedSocket(String),
    #[error("NOTIFY_SOCKET={value:?}: {reason}")]
    BadSocket { value: String, reason: String },
    #[error("WATCHDOG_USEC={0:?}: must be a whole number of microseconds")]
    BadWatchdogUsec(String),
    #[error("WATCHDOG_PID={0:?}: must be a process id")]
    BadWatchdogPid(String),
}

/// Where notifications go, and whether systemd expects watchdog pings from this process.
pub struct Notifier {
    socket: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Does nothing: for runs outside systemd and for tests.
    pub fn disabled() -> Notifier {
        Notifier {
            socket: None,
            watchdog: None,
        }
    }

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`. A malformed value is logged and
    /// switches off only what it concerns.
    pub fn from_env() -> Notifier {
        let socket = match std::env::var_os("NOTIFY_SOCKET").map(|v| parse_socket(&v)) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(addr))) => match UnixDatagram::unbound() {
                Ok(sock) => Some((sock, addr)),
                Err(e) => {
                    log::warn!("cannot create a socket to notify systemd: {e}");
                    None
                }
            },
            Some(Err(e)) => {
                log::warn!("not notifying systemd: {e}");
                None
            }
        };
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        let watchdog = match watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id()) {
            Ok(period) => period,
            Err(e) => {
                log::warn!("systemd watchdog off: {e}");
                None
            }
        };
        Notifier {
            // Pings need somewhere to go.
            watchdog: watchdog.filter(|_| socket.is_some()),
            socket,
        }
    }

    /// A notifier for `addr` with the given watchdog period, without reading the environment.
    pub fn new(addr: SocketAddr, watchdog: Option<Duration>) -> io::Result<Notifier> {
        Ok(Notifier {
            socket: Some((UnixDatagram::unbound()?, addr)),
            watchdog,
        })
    }

    /// True when started by systemd with `Type=notify`.
    pub fn is_enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// How often to feed the watchdog: half its period, as `sd_watchdog_enabled(3)` advises.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|period| period / 2)
    }

    /// `READY=1` with a status line: call once the broker accepts connections.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&format!("READY=1\nSTATUS={status}"))
    }

    pub fn watchdog(&self) -> io::Result<()> {
        self.send("WATCHDOG=1")
    }

    /// `RELOADING=1`: a reload (SIGHUP) is being applied; `ready` again when it is done.
    pub fn reloading(&self) -> io::Result<()> {
        self.send("RELOADING=1\nSTATUS=reloading the configuration")
    }

    pub fn stopping(&self, status: &str) -> io::Result<()> {
        self.send(&format!("STOPPING=1\nSTATUS={status}"))
    }

    pub fn status(&self, status: &str) -> io::Result<()> {
        self.send(&format!("STATUS={status}"))
    }

    /// One datagram of newline-separated assignments, as `sd_notify(3)` sends them.
    fn send(&self, state: &str) -> io::Result<()> {
        match &self.socket {
            None => Ok(()),
            Some((sock, addr)) => sock.send_to_addr(state.as_bytes(), addr).map(drop),
        }
    }
}

/// `NOTIFY_SOCKET`: an absolute path, or `@name` for a socket in the abstract namespace.
/// Empty means unset. (`vsock:` addresses are for virtual machines and not supported.)
pub fn parse_socket(value: &OsStr) -> Result<Option<SocketAddr>, NotifyError> {
    let bytes = value.as_bytes();
    let bad = |reason: io::Error| NotifyError::BadSocket {
        value: value.to_string_lossy().into_owned(),
        reason: reason.to_string(),
    };
    match bytes.first() {
        None => Ok(None),
        Some(b'/') => SocketAddr::from_pathname(value).map(Some).map_err(bad),
        Some(b'@') => SocketAddr::from_abstract_name(&bytes[1..])
            .map(Some)
            .map_err(bad),
        Some(_) => Err(NotifyError::UnsupportedSocket(
            value.to_string_lossy().into_owned(),
        )),
    }
}

/// The watchdog period systemd expects pings within, if it expects them from `my_pid`.
/// `WATCHDOG_PID` names the process meant; a variable inherited by another process is ignored.
pub fn watchdog_period(
    usec: Option<&str>,
    pid: Option<&str>,
    my_pid: u32,
) -> Result<Option<Duration>, NotifyError> {
    let Some(usec) = usec.filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let micros: u64 = usec
        .parse()
        .map_err(|_| NotifyError::BadWatchdogUsec(usec.to_string()))?;
    if let Some(pid) = pid.filter(|p| !p.is_empty()) {
        let pid: u32 = pid
            .parse()
            .map_err(|_| NotifyError::BadWatchdogPid(pid.to_string()))?;
        if pid != my_pid {
            return Ok(None);
        }
    }
    Ok((micros > 0).then(|| Duration::from_micros(micros)))
}

/// Ticks every `period` when systemd asked for watchdog pings; never otherwise.
pub struct WatchdogTicks {
    period: Duration,
    ticks: Option<tokio::time::Interval>,
}

impl WatchdogTicks {
    pub fn new(period: Option<Duration>) -> WatchdogTicks {
        let ticks = period.map(|p| {
            let mut ticks = tokio::time::interval(p);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        });
        WatchdogTicks {
            period: period.unwrap_or(Duration::MAX),
            ticks,
        }
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    pub async fn tick(&mut self) {
        match &mut self.ticks {
            Some(ticks) => {
                ticks.tick().await;
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_socket_is_parsed() {
        let addr = parse_socket(OsStr::new("/run/systemd/notify"))
            .expect("valid")
            .expect("set");
        assert_eq!(
            addr.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
    }

    #[test]
    fn an_at_sign_names_an_abstract_socket() {
        let addr = parse_socket(OsStr::new("@hearth/notify"))
            .expect("valid")
            .expect("set");
        assert_eq!(addr.as_abstract_name(), Some(&b"hearth/notify"[..]));
        assert_eq!(addr.as_pathname(), None);
    }

    #[test]
    fn an_empty_socket_is_unset_and_relative_or_vsock_ones_are_refused() {
        assert!(parse_socket(OsStr::new("")).expect("valid").is_none());
        for value in ["notify", "vsock:2:1234"] {
            assert_eq!(
                parse_socket(OsStr::new(value)).map(|_| ()),
                Err(NotifyError::UnsupportedSocket(value.into()))
            );
        }
        let too_long = format!("/{}", "x".repeat(200));
        assert!(matches!(
            parse_socket(OsStr::new(&too_long)),
            Err(NotifyError::BadSocket { .. })
        ));
    }

    #[test]
    fn the_watchdog_period_comes_from_watchdog_usec() {
        assert_eq!(
            watchdog_period(Some("400000"), None, 7),
            Ok(Some(Duration::from_millis(400)))
        );
        assert_eq!(
            watchdog_period(Some("400000"), Some("7"), 7),
            Ok(Some(Duration::from_millis(400)))
        );
        assert_eq!(watchdog_period(None, Some("7"), 7), Ok(None));
        assert_eq!(watchdog_period(Some("0"), None, 7), Ok(None));
    }

    #[test]
    fn a_watchdog_pid_of_another_process_disables_the_watchdog() {
        assert_eq!(watchdog_period(Some("400000"), Some("8"), 7), Ok(None));
    }

    #[test]
    fn malformed_watchdog_variables_are_errors() {
        assert_eq!(
            watchdog_period(Some("soon"), None, 7),
            Err(NotifyError::BadWatchdogUsec("soon".into()))
        );
        assert_eq!(
            watchdog_period(Some("400000"), Some("me"), 7),
            Err(NotifyError::BadWatchdogPid("me".into()))
        );
    }

    #[test]
    fn the_watchdog_is_fed_at_half_its_period() {
        let dir = tempdir("half");
        let addr = SocketAddr::from_pathname(dir.join("notify")).expect("path");
        let notifier = Notifier::new(addr, Some(Duration::from_secs(30))).expect("socket");
        assert_eq!(notifier.watchdog_interval(), Some(Duration::from_secs(15)));
        assert_eq!(Notifier::disabled().watchdog_interval(), None);
    }

    #[test]
    fn notifications_reach_a_path_socket_as_one_datagram_each() {
        let dir = tempdir("path");
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).expect("bind");
        let addr = parse_socket(path.as_os_str()).expect("valid").expect("set");
        let notifier = Notifier::new(addr, None).expect("socket");
        notifier.ready("broker listening").expect("send");
        notifier.watchdog().expect("send");
        notifier.stopping("bye").expect("send");
        assert_eq!(
            recv(&listener),
            "READY=1\nSTATUS=broker listening".to_string()
        );
        assert_eq!(recv(&listener), "WATCHDOG=1");
        assert_eq!(recv(&listener), "STOPPING=1\nSTATUS=bye");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn notifications_reach_an_abstract_socket() {
        let name = format!("hearth-test-notify-{}", std::process::id());
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name).expect("name"))
                .expect("bind");
        let addr = parse_socket(OsStr::new(&format!("@{name}")))
            .expect("valid")
            .expect("set");
        Notifier::new(addr, None)
            .expect("socket")
            .watchdog()
            .expect("send");
        assert_eq!(recv(&listener), "WATCHDOG=1");
    }

    #[test]
    fn a_disabled_notifier_sends_nothing_and_succeeds() {
        let notifier = Notifier::disabled();
        assert!(!notifier.is_enabled());
        assert!(notifier.ready("x").is_ok());
        assert!(notifier.watchdog().is_ok());
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hearth-notify-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn recv(listener: &UnixDatagram) -> String {
        listener
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 512];
        loop {
            match listener.recv(&mut buf) {
                Ok(n) => return String::from_utf8_lossy(&buf[..n]).into_owned(),
                // A timed wait ends early with EINTR when the test process takes a signal.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("no datagram: {e}"),
            }
        }
    }
}
