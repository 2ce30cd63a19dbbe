//! Starts `hearth run` as a child process on an ephemeral port and talks raw MQTT to it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use broker::codec::{self, Connect, Packet, Protocol, QoS, Subscribe};
use bytes::BytesMut;

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

    /// Runs `command` (`hearth`, or a wrapper such as `prlimit … hearth`) with `run --config`
    /// and a `[broker]` table listening on port 0 with `broker_extra` appended.
    pub fn start_as(name: &str, broker_extra: &str, mut command: Command) -> Daemon {
        let config = TempConfig::new(name, &config_text(broker_extra));
        let mut child = command
            .args(["run", "--config"])
            .arg(&config.path)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hearth");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, log_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
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

fn config_text(broker_extra: &str) -> String {
    format!("[gateway]\nname = \"test\"\n\n[broker]\nlisten = \"127.0.0.1:0\"\n{broker_extra}\n")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking MQTT 3.1.1 client over a plain socket, for clients that misbehave on purpose.
pub struct RawClient {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl RawClient {
    pub fn connect(addr: SocketAddr, client_id: &str, will: Option<codec::LastWill>) -> RawClient {
        let stream = TcpStream::connect(addr).expect("tcp connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let mut c = RawClient {
            stream,
            buf: BytesMut::new(),
        };
        c.send(&Packet::Connect(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 0,
            client_id: client_id.into(),
            will,
            username: None,
            password: None,
        }));
        match c.recv() {
            Some(Packet::Connack(ack)) => assert_eq!(ack.code as u8, 0, "CONNACK refused"),
            other => panic!("expected CONNACK, got {other:?}"),
        }
        c
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

    /// The next packet, or `None` on EOF or timeout.
    pub fn recv(&mut self) -> Option<Packet> {
        loop {
            if let Ok(Some(p)) = codec::decode(&mut self.buf, 1 << 20) {
                return Some(p);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}
