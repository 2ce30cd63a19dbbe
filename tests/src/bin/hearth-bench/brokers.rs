//! Starting and stopping the brokers that `compare` drives, each as a child
//! process on its own free port.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::cli::Transport;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

/// Mosquitto's per-client window for outgoing QoS 1/2 messages.
pub const MOSQUITTO_MAX_INFLIGHT: u32 = 1000;
/// Mosquitto's per-client queue limit (default 1000). Mosquitto 2.0 also
/// checks it before queueing QoS 0 for a connected client, so a deep
/// backlog must never reach it: loss should come from speed, not a limit.
pub const MOSQUITTO_MAX_QUEUED: u32 = 1_000_000;

#[derive(Clone, Debug)]
pub enum BrokerKind {
    Mosquitto(PathBuf),
    Rumqttd,
    Hearth(PathBuf),
}

impl BrokerKind {
    pub fn name(&self) -> &'static str {
        match self {
            BrokerKind::Mosquitto(_) => "mosquitto",
            BrokerKind::Rumqttd => "rumqttd",
            BrokerKind::Hearth(_) => "hearth",
        }
    }
}

/// The one listener a started broker gets: its kind, and for TLS the server's certificate
/// chain and key files.
#[derive(Clone, Debug)]
pub struct Listener {
    pub transport: Transport,
    pub cert_and_key: Option<(PathBuf, PathBuf)>,
}

impl Listener {
    pub fn tcp() -> Self {
        Listener {
            transport: Transport::Tcp,
            cert_and_key: None,
        }
    }

    fn files(&self) -> Result<Option<(&Path, &Path)>> {
        match (&self.cert_and_key, self.transport.uses_tls()) {
            (Some((cert, key)), true) => Ok(Some((cert, key))),
            (None, true) => bail!("a {} listener needs a certificate", self.transport.word()),
            (_, false) => Ok(None),
        }
    }
}

/// A directory for config files and broker logs, removed on drop.
pub struct ScratchDir {
    pub path: PathBuf,
}

impl ScratchDir {
    pub fn create(tag: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("hearth-bench-{tag}"));
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(ScratchDir { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A broker child process; killed and reaped on drop, so an error or an
/// early return never leaves it running.
pub struct RunningBroker {
    pub port: u16,
    child: Child,
}

impl RunningBroker {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RunningBroker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Asks the kernel for a port that is free right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .context("binding an ephemeral port")?;
    Ok(listener
        .local_addr()
        .context("reading ephemeral port")?
        .port())
}

/// Starts `kind` with `listener` on a free port, letting every client in, and waits until it
/// accepts TCP connections.
pub async fn start(
    kind: &BrokerKind,
    listener: &Listener,
    dir: &Path,
    startup: Duration,
) -> Result<RunningBroker> {
    start_with(kind, listener, dir, startup, None).await
}

/// Starts `kind` like [`start`]; with `password_file`, only the users in it get in (Mosquitto
/// with `allow_anonymous false`, Hearth with `password_file`, which refuses anonymous clients).
pub async fn start_with(
    kind: &BrokerKind,
    listener: &Listener,
    dir: &Path,
    startup: Duration,
    password_file: Option<&Path>,
) -> Result<RunningBroker> {
    let port = free_port()?;
    let name = kind.name();
    let log_path = dir.join(format!("{name}.log"));
    let mut command = command(kind, listener, dir, port, password_file)?;
    let log =
        File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let log_err = log.try_clone().context("duplicating log handle")?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    let child = command
        .spawn()
        .with_context(|| format!("starting {name}: {command:?}"))?;
    let mut broker = RunningBroker { port, child };
    if let Err(e) = wait_accepting(&mut broker, startup).await {
        let tail = log_tail(&log_path);
        let tail = if tail.is_empty() {
            " (its log is empty)".to_string()
        } else {
            format!("; its log ends with:\n{tail}")
        };
        return Err(anyhow!("{name} did not come up: {e:#}{tail}"));
    }
    Ok(broker)
}

fn command(
    kind: &BrokerKind,
    listener: &Listener,
    dir: &Path,
    port: u16,
    password_file: Option<&Path>,
) -> Result<Command> {
    let files = listener.files()?;
    Ok(match kind {
        BrokerKind::Mosquitto(bin) => {
            // TCP_NODELAY stays at Mosquitto's default (off), as rumqttd 0.20
            // has no such setting and leaves it off too.
            let conf = dir.join("mosquitto.conf");
            let mut served = String::new();
            if listener.transport.uses_websocket() {
                served.push_str("protocol websockets\n");
            }
            // Mosquitto 2.0.11 refuses to start ("Unable to start any listening sockets")
            // with only WebSocket listeners: it also gets an idle MQTT one.
            let spare = if listener.transport.uses_websocket() {
                format!("listener {} 127.0.0.1\n", free_port()?)
            } else {
                String::new()
            };
            if let Some((cert, key)) = files {
                served.push_str(&format!(
                    "certfile {}\nkeyfile {}\n",
                    cert.display(),
                    key.display()
                ));
            }
            let auth = match password_file {
                Some(path) => format!("allow_anonymous false\npassword_file {}\n", path.display()),
                None => "allow_anonymous true\n".to_string(),
            };
            let text = format!(
                "{spare}\
                 listener {port} 127.0.0.1\n\
                 {served}\
                 {auth}\
                 persistence false\n\
                 max_inflight_messages {MOSQUITTO_MAX_INFLIGHT}\n\
                 max_queued_messages {MOSQUITTO_MAX_QUEUED}\n\
                 log_dest stderr\n\
                 log_type error\n\
                 log_type warning\n"
            );
            fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))?;
            let mut c = Command::new(bin);
            c.arg("-c").arg(conf);
            c
        }
        BrokerKind::Rumqttd => {
            if listener.transport != Transport::Tcp {
                bail!("rumqttd is only benchmarked over tcp");
            }
            // A separate process, so the broker does not share this
            // process's allocator and runtime with the clients.
            let me = std::env::current_exe().context("locating this executable")?;
            let mut c = Command::new(me);
            c.arg("serve-rumqttd").arg("--port").arg(port.to_string());
            c
        }
        BrokerKind::Hearth(bin) => {
            let conf = dir.join("hearth.toml");
            // The same window and queue as Mosquitto gets, so neither is held back by a limit.
            let password = password_file
                .map(|path| format!("password_file = {:?}\n", path.display().to_string()))
                .unwrap_or_default();
            let mut text = format!(
                "[broker]\nmax_inflight = {MOSQUITTO_MAX_INFLIGHT}\n\
                 max_queued_messages = {MOSQUITTO_MAX_QUEUED}\n{password}\n\
                 [[broker.listener]]\nkind = \"{}\"\naddress = \"127.0.0.1:{port}\"\n",
                listener.transport.word()
            );
            if let Some((cert, key)) = files {
                text.push_str(&format!(
                    "cert_file = \"{}\"\nkey_file = \"{}\"\n",
                    cert.display(),
                    key.display()
                ));
            }
            fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))?;
            let mut c = Command::new(bin);
            c.arg("run").arg("--config").arg(conf);
            c
        }
    })
}

async fn wait_accepting(broker: &mut RunningBroker, startup: Duration) -> Result<()> {
    let deadline = Instant::now() + startup;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, broker.port));
    loop {
        if let Some(status) = broker.child.try_wait().context("polling broker process")? {
            bail!("broker exited with {status}");
        }
        if let Ok(Ok(_stream)) = timeout(Duration::from_millis(500), TcpStream::connect(addr)).await
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("nothing accepted on {addr} within {startup:?}");
        }
        sleep(Duration::from_millis(50)).await;
    }
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    lines[start..].join("\n")
}

/// First line of `mosquitto -h`, which names the version.
pub fn mosquitto_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("-h").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().next().map(|l| l.trim().to_string())
}

/// What `hearth --version` prints (`hearth 0.1.0`).
pub fn hearth_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().next().map(|l| l.trim().to_string())
}
