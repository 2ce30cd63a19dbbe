//! `idle-rss`: what a connected but idle client costs a broker in resident memory, the way a
//! home uses one: a fleet of ESP8266-like nodes that connect with a 15 s keepalive and then
//! only ping, over plain TCP and over TLS.
//!
//! Each broker is started fresh for each case; its RSS (VmRSS) is read before the fleet
//! connects and again once every client has its CONNACK (and, as a node, its SUBACK) and the
//! figure has settled. The growth divided by the clients is the cost of one connection.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;

use crate::brokers::{self, BrokerKind, Listener, Options, ScratchDir};
use crate::cli::{IdleRssArgs, Transport};
use crate::machine;
use crate::rss;
use crate::table::Table;

/// Connections being set up at once: enough to be quick, few enough for any listen backlog.
const CONNECTING_AT_ONCE: usize = 64;
const PINGREQ: [u8; 2] = [0xc0, 0x00];

/// What each client of the fleet does after its CONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Only connects, then pings.
    Connected,
    /// As `docs/esp8266/hearth_node.ino` does: a will on its status topic, retained `online`
    /// and a retained reading, subscribed to its own `/set`.
    Node,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::Connected => "connect only",
            Role::Node => "node (will, sub, 2 retained)",
        }
    }
}

struct Row {
    transport: Transport,
    role: Role,
    broker: &'static str,
    before_kib: u64,
    after_kib: u64,
    clients: usize,
    note: Option<String>,
}

impl Row {
    fn per_client_kib(&self) -> f64 {
        self.after_kib.saturating_sub(self.before_kib) as f64 / self.clients as f64
    }
}

pub async fn run(args: IdleRssArgs) -> Result<()> {
    for transport in &args.transport {
        if transport.uses_websocket() {
            bail!(
                "idle-rss measures tcp and tls; --transport {} is not supported",
                transport.word()
            );
        }
    }
    rss::check_fd_limit(args.clients)?;
    let kinds = [
        BrokerKind::Mosquitto(args.mosquitto_bin.clone()),
        BrokerKind::Hearth(args.hearth_bin.clone()),
    ];
    println!("hearth-bench idle-rss, {}", machine::utc_now());
    println!("machine: {}", machine::description());
    println!(
        "load: {} clients, keepalive {} s, {CONNECTING_AT_ONCE} connecting at once, MQTT 3.1.1; \
         each broker started fresh per row; RSS from /proc/PID/status (KiB)",
        args.clients, args.keep_alive
    );
    if let Some(version) = brokers::mosquitto_version(&args.mosquitto_bin) {
        println!("mosquitto: {} ({version})", args.mosquitto_bin.display());
    }
    println!("hearth: {}", args.hearth_bin.display());
    let pki = tests::Pki::new();
    let dir = ScratchDir::create(&format!("idle-rss-{}", std::process::id()))?;
    let startup = Duration::from_secs(args.startup_timeout);
    let mut rows = Vec::new();
    for &transport in &args.transport {
        let listener = Listener {
            transport,
            cert_and_key: Some((pki.cert_file.clone(), pki.key_file.clone())),
        };
        let tls = transport.uses_tls().then(|| pki.client_config(None));
        for role in [Role::Connected, Role::Node] {
            for kind in &kinds {
                eprintln!(
                    "  {}: {} over {}",
                    kind.name(),
                    role.label(),
                    transport.word()
                );
                let options = Options {
                    max_clients: Some(args.clients),
                    ..Options::default()
                };
                let broker =
                    brokers::start_with(kind, &listener, &dir.path, startup, options).await?;
                let row = measure(&args, &broker, tls.clone(), role).await;
                let row = match row {
                    Ok((before_kib, after_kib, note)) => Row {
                        transport,
                        role,
                        broker: kind.name(),
                        before_kib,
                        after_kib,
                        clients: args.clients,
                        note,
                    },
                    Err(e) => Row {
                        transport,
                        role,
                        broker: kind.name(),
                        before_kib: 0,
                        after_kib: 0,
                        clients: args.clients,
                        note: Some(format!("{e:#}")),
                    },
                };
                eprintln!(
                    "    RSS {} -> {} KiB: {:.1} KiB per client{}",
                    row.before_kib,
                    row.after_kib,
                    row.per_client_kib(),
                    row.note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                );
                rows.push(row);
            }
        }
    }
    println!();
    print_table(&rows, args.markdown);
    Ok(())
}

/// RSS before and after the fleet connects; the fleet is closed when this returns.
async fn measure(
    args: &IdleRssArgs,
    broker: &brokers::RunningBroker,
    tls: Option<Arc<ClientConfig>>,
    role: Role,
) -> Result<(u64, u64, Option<String>)> {
    let pid = broker.pid();
    let before = rss::settled_kib(pid).await?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, broker.port));
    let (stop, stop_rx) = watch::channel(false);
    let lost = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let mut fleet = JoinSet::new();
    let mut ready = JoinSet::new();
    for i in 0..args.clients {
        let (up, up_rx) = tokio::sync::oneshot::channel();
        let client = FleetClient {
            addr,
            tls: tls.clone(),
            id: format!("idle-{i}"),
            role,
            keep_alive: args.keep_alive,
        };
        let (gate, stop_rx, lost) = (gate.clone(), stop_rx.clone(), lost.clone());
        fleet.spawn(async move {
            let permit = gate.acquire_owned().await;
            let stream = client.connect().await;
            drop(permit);
            match stream {
                Ok(stream) => {
                    let _ = up.send(Ok(()));
                    client.idle(stream, stop_rx, lost).await;
                }
                Err(e) => {
                    let _ = up.send(Err(e));
                }
            }
        });
        ready.spawn(async move { up_rx.await.unwrap_or_else(|_| bail!("client task ended")) });
    }
    let mut failed = 0;
    let mut first_error = None;
    while let Some(result) = ready.join_next().await {
        if let Err(e) = result.context("client task")? {
            failed += 1;
            first_error.get_or_insert(e);
        }
    }
    if failed == args.clients {
        let e = first_error.map_or("no client connected".to_string(), |e| format!("{e:#}"));
        bail!("no client connected: {e}");
    }
    let after = rss::settled_kib(pid).await?;
    let _ = stop.send(true);
    while fleet.join_next().await.is_some() {}
    let mut notes = Vec::new();
    if failed > 0 {
        notes.push(format!(
            "{failed} of {} failed to connect: {:#}",
            args.clients,
            first_error.map_or_else(String::new, |e| format!("{e:#}"))
        ));
    }
    let lost = lost.load(Ordering::Relaxed);
    if lost > 0 {
        notes.push(format!(
            "{lost} connections closed by the broker while idle"
        ));
    }
    Ok((before, after, (!notes.is_empty()).then(|| notes.join("; "))))
}

struct FleetClient {
    addr: SocketAddr,
    tls: Option<Arc<ClientConfig>>,
    id: String,
    role: Role,
    keep_alive: u16,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

impl FleetClient {
    /// Connects and, as a node, subscribes and publishes; returns once the broker has
    /// answered everything.
    async fn connect(&self) -> Result<Box<dyn Stream>> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        let mut stream: Box<dyn Stream> = match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let name = ServerName::IpAddress(self.addr.ip().into());
                let tls = TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .context("TLS handshake")?;
                Box::new(tls)
            }
        };
        let mut connect = tests::Connect::new(&self.id).keep_alive(self.keep_alive);
        if self.role == Role::Node {
            let status = format!("{}/status", self.id);
            connect = connect.will(tests::Will::new(&status, "offline", 1, true));
        }
        stream
            .write_all(&connect.encode())
            .await
            .context("CONNECT")?;
        let mut connack = [0; 4];
        stream
            .read_exact(&mut connack)
            .await
            .context("reading CONNACK")?;
        if connack[0] != 0x20 || connack[3] != 0 {
            bail!("CONNACK {:02x?}", connack);
        }
        if self.role == Role::Node {
            let id = &self.id;
            let mut out =
                tests::encode::publish(&format!("{id}/status"), b"online", 0, true, false, 0);
            out.extend(tests::encode::publish(
                &format!("{id}/temperature"),
                b"21.5",
                0,
                true,
                false,
                0,
            ));
            out.extend(tests::encode::subscribe(1, &[(&format!("{id}/set"), 1)]));
            stream
                .write_all(&out)
                .await
                .context("PUBLISH and SUBSCRIBE")?;
            let mut suback = [0; 5];
            stream
                .read_exact(&mut suback)
                .await
                .context("reading SUBACK")?;
            if suback[0] != 0x90 || suback[4] > 2 {
                bail!("SUBACK {:02x?}", suback);
            }
        }
        Ok(stream)
    }

    /// Pings within the keepalive until told to stop; counts a connection the broker closed.
    async fn idle(
        &self,
        mut stream: Box<dyn Stream>,
        mut stop: watch::Receiver<bool>,
        lost: Arc<AtomicUsize>,
    ) {
        let every = Duration::from_secs(u64::from(self.keep_alive.max(1))) * 2 / 3;
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        let mut sink = [0; 64];
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = ticks.tick() => {
                    if stream.write_all(&PINGREQ).await.is_err() {
                        lost.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
                read = stream.read(&mut sink) => {
                    if !matches!(read, Ok(n) if n > 0) {
                        lost.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }
        // DISCONNECT, so no will is published and the broker forgets the client at once.
        let _ = stream.write_all(&[0xe0, 0x00]).await;
        let _ = stream.shutdown().await;
    }
}

fn print_table(rows: &[Row], markdown: bool) {
    let mut table = Table::new(
        &[
            "transport",
            "clients",
            "broker",
            "RSS before MiB",
            "RSS after MiB",
            "KiB per client",
            "x mosquitto",
        ],
        3,
    );
    for row in rows {
        let mosquitto = rows.iter().find(|m| {
            m.broker == "mosquitto" && m.transport == row.transport && m.role == row.role
        });
        let ratio = match mosquitto {
            Some(m)
                if row.broker != "mosquitto" && m.note.is_none() && m.per_client_kib() > 0.0 =>
            {
                format!("{:.2}", row.per_client_kib() / m.per_client_kib())
            }
            _ => "-".to_string(),
        };
        let mut broker = row.broker.to_string();
        if let Some(note) = &row.note {
            broker.push_str(&table.note(note.clone()));
        }
        table.rows.push(vec![
            row.transport.word().to_string(),
            format!("{} {}", row.clients, row.role.label()),
            broker,
            format!("{:.1}", row.before_kib as f64 / 1024.0),
            format!("{:.1}", row.after_kib as f64 / 1024.0),
            format!("{:.1}", row.per_client_kib()),
            ratio,
        ]);
    }
    table.print(markdown);
}
