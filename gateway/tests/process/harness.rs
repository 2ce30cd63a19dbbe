//! Starts `hearth run` as a child process on an ephemeral port and talks raw MQTT to it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

use broker::codec::{self, Connect, ConnectReturnCode, Packet, Protocol, QoS, Subscribe};
use bytes::{Bytes, BytesMut};

pub fn hearth() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
}

/// A config file that lives as long as the value.
pub struct TempConfig {
    pub path: PathBuf,
}

impl TempConfig {
    pub fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hearth-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("hearth.toml");
        std::fs::write(&path, text).expect("write config");
        Self { path }
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A directory of its own for one test's files, removed with the value. Its name must differ
/// from the daemon's (whose config directory goes with the daemon).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("hearth-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every listener's name and bound address, as logged at start.
    pub listeners: Vec<(String, SocketAddr)>,
    /// Lines of the daemon's stderr; keeping this alive keeps the draining thread alive, so the
    /// daemon never blocks on a full pipe.
    log: mpsc::Receiver<String>,
    /// What it logged until it was running.
    pub startup_log: Vec<String>,
    /// Every line of the daemon's stderr so far, read or not, and a signal for each new one.
    whole_log: Arc<(Mutex<Vec<String>>, Condvar)>,
    _config: TempConfig,
}

impl Daemon {
    /// Runs `hearth run` with `extra` appended to a `[broker]` table listening on port 0.
    pub fn start(name: &str, broker_extra: &str) -> Daemon {
        Daemon::start_with_env(name, broker_extra, &[])
    }

    /// Like [`Daemon::start`], with extra environment variables for the child.
    pub fn start_with_env(name: &str, broker_extra: &str, env: &[(&str, &OsStr)]) -> Daemon {
        let mut command = hearth();
        command.envs(env.iter().copied());
        Daemon::start_as(name, broker_extra, command)
    }

    /// Like [`Daemon::start`], logging at `level` (`--log-level`).
    pub fn start_logging(name: &str, broker_extra: &str, level: &str) -> Daemon {
        let mut command = hearth();
        command.args(["--log-level", level]);
        Daemon::start_as(name, broker_extra, command)
    }

    /// Like [`Daemon::start_logging`], keeping its state in `state_dir` (the broker's store
    /// included), which outlives the daemon.
    pub fn start_in(name: &str, state_dir: &std::path::Path, broker_extra: &str) -> Daemon {
        let mut command = hearth();
        command.args(["--log-level", "debug"]);
        let text = format!(
            "[gateway]\nname = \"test\"\nstate_dir = {:?}\n\n[broker]\nlisten = \"127.0.0.1:0\"\n{broker_extra}\n",
            state_dir.display().to_string()
        );
        Daemon::start_with_config(TempConfig::new(name, &text), command)
    }

    /// Runs `command` (`hearth`, or a wrapper such as `prlimit … hearth`) with `run --config`
    /// and a `[broker]` table listening on port 0 with `broker_extra` appended.
    pub fn start_as(name: &str, broker_extra: &str, command: Command) -> Daemon {
        Daemon::start_with_config(TempConfig::new(name, &config_text(broker_extra)), command)
    }

    fn start_with_config(config: TempConfig, mut command: Command) -> Daemon {
        let mut child = command
            .args(["run", "--config"])
            .arg(&config.path)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hearth");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, log_rx) = mpsc::channel();
        let whole_log = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let kept = whole_log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let (lines, added) = &*kept;
                lines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line.clone());
                added.notify_all();
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // The broker listens before the rules subscribe: wait until every part has started,
        // so a test's first message cannot reach the broker ahead of the rules.
        let mut startup_log = Vec::new();
        let mut listeners = Vec::new();
        loop {
            let line = log_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("hearth logged its listeners and that it is running");
            startup_log.push(line.clone());
            if let Some(listener) = listener_in(&line) {
                listeners.push(listener);
            }
            if line.contains(" running with ") {
                break;
            }
        }
        let addr = listeners.first().expect("hearth logged a listener").1;
        Daemon {
            child,
            addr,
            listeners,
            log: log_rx,
            startup_log,
            whole_log,
            _config: config,
        }
    }

    /// The bound address of the listener called `name`.
    pub fn listener(&self, name: &str) -> SocketAddr {
        match self.listeners.iter().find(|(n, _)| n == name) {
            Some((_, addr)) => *addr,
            None => panic!("no listener {name}: {:?}", self.listeners),
        }
    }

    /// Every line the daemon has written to stderr so far, including those already waited for.
    pub fn whole_log(&self) -> Vec<String> {
        self.whole_log
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many lines the daemon has written so far: a mark for [`Daemon::wait_for_log_since`].
    pub fn log_len(&self) -> usize {
        self.whole_log
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Waits (bounded) for a stderr line containing `needle` among the lines from number
    /// `since` on (see [`Daemon::log_len`]), whether or not another wait already passed it.
    pub fn wait_for_log_since(
        &self,
        since: usize,
        needle: &str,
        within: Duration,
    ) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        let (lines, added) = &*self.whole_log;
        let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(line) = lines.iter().skip(since).find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            lines = added
                .wait_timeout(lines, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The bound address of the listener called `name`, from its "listening" line.
    pub fn listener_addr(&self, name: &str) -> SocketAddr {
        let suffix = format!(", listener {name})");
        self.whole_log()
            .iter()
            .filter(|line| line.ends_with(&suffix))
            .find_map(|line| line.split("MQTT broker listening on ").nth(1))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no listening line for listener {name}"))
    }

    /// Replaces the daemon's configuration file, as a user editing it before `systemctl reload`.
    pub fn rewrite_config(&self, broker_extra: &str) {
        std::fs::write(&self._config.path, config_text(broker_extra)).expect("rewrite config");
    }

    /// Waits (bounded) for a stderr line containing `needle` and returns it.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Resident set size of the daemon, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("daemon is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }

    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{signal} failed");
    }

    /// Waits (bounded) for the daemon to exit and returns its exit code; `None` if it still
    /// runs after `within`. The exit shows as the end of its stderr, which the process closes
    /// as it exits (the lines it logs until then are read and dropped); it is then reaped.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            match self.log.recv_timeout(left) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
            }
        }
        self.child.wait().expect("reap hearth").code()
    }
}

/// Name and address from "MQTT broker listening on 127.0.0.1:PORT (tcp, listener NAME)".
fn listener_in(line: &str) -> Option<(String, SocketAddr)> {
    let rest = line.split("MQTT broker listening on ").nth(1)?;
    let (addr, rest) = rest.split_once(' ')?;
    let name = rest.split(", listener ").nth(1)?.strip_suffix(')')?;
    Some((name.to_string(), addr.parse().expect("address in log")))
}

/// CONNECT for MQTT 3.1.1, clean session, no keepalive.
pub fn connect_packet(client_id: &str, will: Option<codec::LastWill>) -> Connect {
    Connect {
        protocol: Protocol::V311,
        clean_session: true,
        keep_alive: 0,
        client_id: client_id.into(),
        will,
        username: None,
        password: None,
    }
}

/// CONNECT with a user name and password.
pub fn with_credentials(client_id: &str, user: &str, password: &str) -> Connect {
    Connect {
        username: Some(user.into()),
        password: Some(Bytes::copy_from_slice(password.as_bytes())),
        ..connect_packet(client_id, None)
    }
}

fn config_text(broker_extra: &str) -> String {
    format!("[gateway]\nname = \"test\"\n\n[broker]\nlisten = \"127.0.0.1:0\"\n{broker_extra}\n")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows what the daemon said, which is most of what explains it.
        if std::thread::panicking() {
            for line in self.whole_log() {
                eprintln!("hearth: {line}");
            }
        }
    }
}

/// A blocking MQTT 3.1.1 client over a plain socket, for clients that misbehave on purpose.
pub struct RawClient {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl RawClient {
    pub fn connect(addr: SocketAddr, client_id: &str, will: Option<codec::LastWill>) -> RawClient {
        let (c, code) = RawClient::open(addr, connect_packet(client_id, will));
        assert_eq!(code, ConnectReturnCode::Accepted, "CONNACK refused");
        c
    }

    /// Connects as `user` with `password`, which must be accepted.
    pub fn login(addr: SocketAddr, client_id: &str, user: &str, password: &str) -> RawClient {
        let (c, code) = RawClient::open(addr, with_credentials(client_id, user, password));
        assert_eq!(
            code,
            ConnectReturnCode::Accepted,
            "CONNACK refused for {user}"
        );
        c
    }

    /// Sends `connect` and returns the CONNACK's return code, with the connection.
    pub fn open(addr: SocketAddr, connect: Connect) -> (RawClient, ConnectReturnCode) {
        let (c, ack) = RawClient::open_ack(addr, connect);
        (c, ack.code)
    }

    /// Sends `connect` and returns the whole CONNACK, with the connection.
    pub fn open_ack(addr: SocketAddr, connect: Connect) -> (RawClient, codec::Connack) {
        let stream = TcpStream::connect(addr).expect("tcp connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let mut c = RawClient {
            stream,
            buf: BytesMut::new(),
        };
        c.send(&Packet::Connect(connect));
        match c.recv() {
            Some(Packet::Connack(ack)) => (c, ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// The client's own address, as the broker sees it.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("local address")
    }

    /// PINGREQ, answered with PINGRESP: the connection is up and served.
    pub fn ping(&mut self) {
        self.send(&Packet::Pingreq);
        match self.recv() {
            Some(Packet::Pingresp) => {}
            other => panic!("expected PINGRESP, got {other:?}"),
        }
    }

    pub fn send(&mut self, p: &Packet) {
        let mut out = BytesMut::new();
        p.encode(&mut out);
        self.stream.write_all(&out).expect("write packet");
    }

    pub fn subscribe(&mut self, filter: &str, qos: QoS) {
        self.send(&Packet::Subscribe(Subscribe {
            pkid: 1,
            filters: vec![(filter.into(), qos)],
        }));
    }

    /// Reads until the broker closes the connection; panics if it is still open after the
    /// read timeout. Packets before the close are skipped.
    pub fn expect_closed(&mut self) {
        loop {
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("connection still open ({e})"),
            }
        }
    }

    /// The next packet, or `None` on EOF or timeout.
    pub fn recv(&mut self) -> Option<Packet> {
        loop {
            if let Ok(Some(p)) = codec::decode(&mut self.buf, 1 << 20) {
                return Some(p);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                // A blocking read with a timeout ends early with EINTR whenever the test
                // process takes a signal, even one whose handler has SA_RESTART.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}
