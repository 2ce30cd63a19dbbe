//! Readiness, watchdog and stopping as systemd sees them, through a fake `NOTIFY_SOCKET`.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::harness::{hearth, Daemon, RawClient, TempConfig};

/// The socket systemd would listen on for one service's notifications.
struct FakeSystemd {
    dir: PathBuf,
    socket: UnixDatagram,
}

impl FakeSystemd {
    fn new(name: &str) -> FakeSystemd {
        let dir = std::env::temp_dir().join(format!("hearth-notify-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        FakeSystemd { dir, socket }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("notify")
    }

    /// The next datagram containing `needle`, waiting at most `within`.
    fn wait_for(&self, needle: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("read timeout");
            let mut buf = [0u8; 1024];
            let n = match self.socket.recv(&mut buf) {
                Ok(n) => n,
                // A signal to the test process ends a timed wait early; wait again.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            };
            let datagram = String::from_utf8_lossy(&buf[..n]).into_owned();
            if datagram.lines().any(|l| l == needle) {
                return Some(datagram);
            }
        }
    }

    /// Every datagram already received, without waiting.
    fn drain(&self) -> Vec<String> {
        self.socket.set_nonblocking(true).expect("nonblocking");
        let mut all = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = self.socket.recv(&mut buf) {
            all.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        all
    }
}

impl Drop for FakeSystemd {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn ready_is_sent_once_the_broker_accepts_connections_then_the_watchdog_is_fed() {
    let systemd = FakeSystemd::new("ready");
    let path = systemd.path();
    let mut daemon = Daemon::start_with_env(
        "notify-ready",
        "",
        &[
            ("NOTIFY_SOCKET", path.as_os_str()),
            ("WATCHDOG_USEC", OsStr::new("400000")),
        ],
    );
    let ready = systemd
        .wait_for("READY=1", Duration::from_secs(20))
        .expect("READY=1 from hearth");
    let status = ready
        .lines()
        .find_map(|l| l.strip_prefix("STATUS=MQTT broker listening on "))
        .expect("a STATUS line naming the broker's address");
    assert_eq!(status.parse(), Ok(daemon.addr), "{ready}");
    // Ready means ready: a client connecting right now gets its CONNACK.
    let _client = RawClient::connect(daemon.addr, "right-after-ready", None);

    // WATCHDOG_USEC=400000 asks for a ping at least every 400 ms; hearth pings every 200 ms.
    for _ in 0..2 {
        assert!(
            systemd
                .wait_for("WATCHDOG=1", Duration::from_secs(10))
                .is_some(),
            "no WATCHDOG=1 from hearth"
        );
    }

    daemon.signal("TERM");
    assert!(
        systemd
            .wait_for("STOPPING=1", Duration::from_secs(10))
            .is_some(),
        "no STOPPING=1 after SIGTERM"
    );
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn ready_is_never_sent_when_the_broker_cannot_listen() {
    let systemd = FakeSystemd::new("busy-port");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = taken.local_addr().expect("address").port();
    let config = TempConfig::new(
        "notify-busy-port",
        &format!("[broker]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let out = hearth()
        .args(["run", "--config"])
        .arg(&config.path)
        .env("NOTIFY_SOCKET", systemd.path())
        .output()
        .expect("run hearth");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // hearth has exited: everything it sent is waiting in the socket.
    let sent = systemd.drain();
    assert!(
        !sent.iter().any(|d| d.lines().any(|l| l == "READY=1")),
        "READY=1 sent although the broker never listened: {sent:?}"
    );
}
