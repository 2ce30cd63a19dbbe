//! Starting and stopping the brokers that `compare` drives, each as a child
//! process on its own free port.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::child_exit;
use crate::cli::Transport;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

/// Mosquitto's per-client window for outgoing QoS 1/2 messages.
pub const MOSQUITTO_MAX_INFLIGHT: u32 = 1000;
/// Mosquitto's per-client queue limit (default 1000). Mosquitto 2.0 also
/// checks it before queueing QoS 0 for a connected client, so a deep
/// backlog must never reach it: loss should come from speed, not a limit.
pub const MOSQUITTO_MAX_QUEUED: u32 = 1_000_000;
/// Hearth's `max_retained_messages` when it keeps its state. Mosquitto keeps every retained
/// message; Hearth's default cap (10,000, its own `$SYS` and status topics included) would
/// refuse some of the 10,000 that `persistence` stores.
pub const HEARTH_MAX_RETAINED: u32 = 1_000_000;

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

/// Mosquitto's `autosave_interval` when none is set: it saves its database this often, and
/// at shutdown.
pub const MOSQUITTO_AUTOSAVE_DEFAULT: u64 = 1800;

/// What a started broker keeps on disk.
#[derive(Clone, Debug)]
pub struct Persistence {
    /// Hearth's `state_dir`, Mosquitto's `persistence_location`; made if missing.
    pub dir: PathBuf,
    /// Hearth's `durable_acks`: PUBACK and PUBREC only once the change is durable.
    pub durable_acks: bool,
    /// Mosquitto's `autosave_interval` in seconds; `None` keeps its default.
    pub autosave_interval: Option<u64>,
}

/// How a broker is started besides its listener: without either, anyone gets in and
/// nothing is kept on disk.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Only the users in this file get in (Mosquitto with `allow_anonymous false`, Hearth
    /// with `password_file`, which refuses anonymous clients).
    pub password_file: Option<&'a Path>,
    pub persistence: Option<&'a Persistence>,
    /// Clients a broker must take at once, for fleets beyond Hearth's default of 1,024
    /// (Mosquitto's default is unlimited).
    pub max_clients: Option<usize>,
}

/// A directory for config files and broker logs, removed on drop.
pub struct ScratchDir {
    pub path: PathBuf,
}

impl ScratchDir {
    pub fn create(tag: &str) -> Result<Self> {
        Self::create_in(&std::env::temp_dir(), tag)
    }

    /// A scratch directory under `parent` (which must exist).
    pub fn create_in(parent: &Path, tag: &str) -> Result<Self> {
        let path = parent.join(format!("hearth-bench-{tag}"));
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
    /// Just before the process was spawned.
    pub spawned: Instant,
    /// From spawning the process until it first accepted a TCP connection.
    pub accepting_after: Duration,
    child: Child,
}

impl RunningBroker {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits, bounded, for the process to exit; returns how long it took.
    pub async fn terminate(&mut self, within: Duration) -> Result<(Duration, ExitStatus)> {
        let signalled = Instant::now();
        let pid = self.pid().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("running kill")?;
        if !sent.success() {
            bail!("kill -TERM {pid} failed: {sent}");
        }
        match child_exit::exited_within(&mut self.child, within)
            .await
            .context("polling broker process")?
        {
            Some(status) => Ok((signalled.elapsed(), status)),
            None => bail!("the broker did not exit within {within:?} of SIGTERM"),
        }
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

/// Starts `kind` with `listener` on a free port, with a password file, persistence or a client
/// limit as `options` say (by default anyone gets in and nothing is kept), and waits until it
/// accepts TCP connections.
pub async fn start_with(
    kind: &BrokerKind,
    listener: &Listener,
    dir: &Path,
    startup: Duration,
    options: Options<'_>,
) -> Result<RunningBroker> {
    let port = free_port()?;
    let name = kind.name();
    let log_path = dir.join(format!("{name}.log"));
    if let Some(p) = options.persistence {
        make_state_dir(kind, &p.dir)?;
    }
    let mut command = command(kind, listener, dir, port, options)?;
    let log =
        File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let log_err = log.try_clone().context("duplicating log handle")?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    let spawned = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("starting {name}: {command:?}"))?;
    let mut broker = RunningBroker {
        port,
        spawned,
        accepting_after: Duration::ZERO,
        child,
    };
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

/// Mosquitto started as root drops to the `mosquitto` user, which must be able to write
/// its database there.
fn make_state_dir(kind: &BrokerKind, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if matches!(kind, BrokerKind::Mosquitto(_)) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o777))
            .with_context(|| format!("opening {} to the mosquitto user", dir.display()))?;
    }
    Ok(())
}

fn command(
    kind: &BrokerKind,
    listener: &Listener,
    dir: &Path,
    port: u16,
    options: Options<'_>,
) -> Result<Command> {
    let files = listener.files()?;
    let password_file = options.password_file;
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
            let persistence = match options.persistence {
                None => "persistence false\n".to_string(),
                Some(p) => {
                    // The trailing slash matters: Mosquitto appends the file name to it.
                    let mut text = format!(
                        "persistence true\npersistence_location {}/\n",
                        p.dir.display()
                    );
                    if let Some(seconds) = p.autosave_interval {
                        text.push_str(&format!("autosave_interval {seconds}\n"));
                    }
                    text
                }
            };
            let text = format!(
                "{spare}\
                 listener {port} 127.0.0.1\n\
                 {served}\
                 {auth}\
                 {persistence}\
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
            let (state_dir, persistence) = match options.persistence {
                None => (String::new(), String::new()),
                Some(p) => (
                    format!(
                        "[gateway]\nstate_dir = {:?}\n\n",
                        p.dir.display().to_string()
                    ),
                    format!(
                        "persistence = true\ndurable_acks = {}\n\
                         max_retained_messages = {HEARTH_MAX_RETAINED}\n",
                        p.durable_acks
                    ),
                ),
            };
            let max_clients = options
                .max_clients
                .map(|n| format!("max_clients = {n}\n"))
                .unwrap_or_default();
            let mut text = format!(
                "{state_dir}[broker]\nmax_inflight = {MOSQUITTO_MAX_INFLIGHT}\n\
                 max_queued_messages = {MOSQUITTO_MAX_QUEUED}\n{max_clients}{password}{persistence}\n\
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

/// Probes every 2 ms: `persistence` times a restart by the first accepted connection.
async fn wait_accepting(broker: &mut RunningBroker, startup: Duration) -> Result<()> {
    let spawned = broker.spawned;
    let deadline = spawned + startup;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, broker.port));
    loop {
        if let Some(status) = broker.child.try_wait().context("polling broker process")? {
            bail!("broker exited with {status}");
        }
        if let Ok(Ok(_stream)) = timeout(Duration::from_millis(500), TcpStream::connect(addr)).await
        {
            broker.accepting_after = spawned.elapsed();
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("nothing accepted on {addr} within {startup:?}");
        }
        sleep(Duration::from_millis(2)).await;
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
