//! `run` and `compare`: drive brokers through the scenarios and print the table.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use rustls::ClientConfig;

use crate::brokers::{self, BrokerKind, Listener, Options, Persistence, ScratchDir};
use crate::cli::{self, CompareArgs, LoadArgs, PersistenceMode, Protocol, RunArgs, Transport};
use crate::conn::{self, Endpoint, Link};
use crate::cpu;
use crate::disk;
use crate::machine;
use crate::scenario::{self, Target};
use crate::stats::ScenarioResult;
use crate::table;
use crate::tls;

/// `hearth-bench run`: one broker that is already listening.
pub async fn run_one(args: RunArgs) -> Result<()> {
    check_load(&args.load)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}:{}", args.host, args.port));
    print_header(
        &args.load,
        &[format!("broker: {name} at {}:{}", args.host, args.port)],
    );
    let tls = match (&args.ca_file, args.load.transport.uses_tls()) {
        (Some(ca), true) => Some(tls::trusting_file(ca)?),
        (None, true) => bail!("--transport tls and wss need --ca-file"),
        (_, false) => None,
    };
    let endpoint = Endpoint {
        host: args.host.clone(),
        port: args.port,
        payload_len: args.load.payload,
        link: link(args.load.transport, tls)?,
    };
    let run_id = run_id();
    let protocols = &args.load.protocol;
    let work = async { Ok(drive(&name, None, endpoint, &args.load, &run_id, protocols).await) };
    let rows = interruptible(work).await?;
    print_tables(&rows, args.load.markdown);
    Ok(())
}

/// `hearth-bench compare`: start each broker in turn, drive it, stop it.
pub async fn run_all(args: CompareArgs) -> Result<()> {
    check_load(&args.load)?;
    let run_id = run_id();
    let dir = ScratchDir::create(&run_id)?;
    let store_of = |kind: &BrokerKind| {
        let keeps = matches!(kind, BrokerKind::Mosquitto(_) | BrokerKind::Hearth(_));
        (keeps && args.persistence != PersistenceMode::Off).then(|| Persistence {
            dir: dir.path.join(format!("{}-state", kind.name())),
            durable_acks: args.persistence == PersistenceMode::Strict,
            autosave_interval: None,
        })
    };
    let on_disk = match args.persistence {
        PersistenceMode::Off => String::new(),
        _ => format!(" on {}", filesystem(&dir.path)),
    };
    let mut kinds = Vec::new();
    let mut lines = Vec::new();
    if !args.no_mosquitto {
        let version = brokers::mosquitto_version(&args.mosquitto_bin)
            .unwrap_or_else(|| "version unknown".to_string());
        let kind = BrokerKind::Mosquitto(args.mosquitto_bin.clone());
        let persistence = match store_of(&kind) {
            None => "persistence off".to_string(),
            Some(p) => format!(
                "persistence true, persistence_location {}/{on_disk}, autosave_interval {} s \
                 (its default: the database is saved that often and at shutdown)",
                p.dir.display(),
                brokers::MOSQUITTO_AUTOSAVE_DEFAULT
            ),
        };
        lines.push(format!(
            "mosquitto: {} ({version}); max_inflight_messages {}, max_queued_messages {}, {persistence}",
            args.mosquitto_bin.display(),
            brokers::MOSQUITTO_MAX_INFLIGHT,
            brokers::MOSQUITTO_MAX_QUEUED
        ));
        kinds.push(kind);
    }
    let tcp = args.load.transport == Transport::Tcp;
    let protocols = &args.load.protocol;
    // rumqttd is driven over MQTT 3.1.1 only: rumqtt's README lists its v5 as not yet supported.
    let rumqttd_protocols: Vec<Protocol> = protocols
        .iter()
        .copied()
        .filter(|p| *p == Protocol::V4)
        .collect();
    if !args.no_rumqttd && !tcp {
        lines.push("rumqttd: left out; it is only benchmarked over tcp".to_string());
    }
    if !args.no_rumqttd && tcp && cfg!(not(feature = "rumqttd")) {
        lines.push(
            "rumqttd: left out; this build lacks it (build with `--features rumqttd`)".to_string(),
        );
    }
    let rumqttd_built = !args.no_rumqttd && tcp && cfg!(feature = "rumqttd");
    if rumqttd_built && rumqttd_protocols.len() < protocols.len() {
        let what = if rumqttd_protocols.is_empty() {
            "left out"
        } else {
            "driven over MQTT 3.1.1 only"
        };
        lines.push(format!(
            "rumqttd: {what}; rumqtt's README lists MQTT 5 in rumqttd as not yet supported"
        ));
    }
    if rumqttd_built && !rumqttd_protocols.is_empty() {
        lines.push(
            "rumqttd: 0.20 in a child process; 4 MiB max payload, 1000 max connections, \
             1000-packet read batch, 10 x 100 MiB in-memory log"
                .to_string(),
        );
        kinds.push(BrokerKind::Rumqttd);
    }
    if let Some(bin) = &args.hearth_bin {
        let kind = BrokerKind::Hearth(bin.clone());
        let persistence = match store_of(&kind) {
            None => String::new(),
            Some(p) => format!(
                ", state_dir {}{on_disk}, persistence true, commit_interval 1s (default), \
                 durable_acks {}, max_retained_messages {}",
                p.dir.display(),
                p.durable_acks,
                brokers::HEARTH_MAX_RETAINED
            ),
        };
        lines.push(format!(
            "hearth: {}; max_inflight {}, max_queued_messages {}{persistence}",
            bin.display(),
            brokers::MOSQUITTO_MAX_INFLIGHT,
            brokers::MOSQUITTO_MAX_QUEUED
        ));
        kinds.push(kind);
    }
    if kinds.is_empty() {
        bail!("no broker selected");
    }
    let transport = args.load.transport;
    // A CA and server certificate made for this run, in the scratch directory.
    let pki = transport.uses_tls().then(tests::Pki::new);
    let listener = Listener {
        transport,
        cert_and_key: pki
            .as_ref()
            .map(|p| (p.cert_file.clone(), p.key_file.clone())),
    };
    if let Some(pki) = &pki {
        lines.push(format!(
            "tls: a CA and server certificate (ECDSA P-256) made for this run in {}; \
             the client is rustls with ring",
            pki.dir.path().display()
        ));
    }
    print_header(&args.load, &lines);
    let startup = Duration::from_secs(args.startup_timeout);
    let link = link(transport, pki.as_ref().map(|p| p.client_config(None)))?;
    let all = async {
        let mut rows = Vec::new();
        for kind in &kinds {
            let persistence = store_of(kind);
            let started = Started {
                kind,
                listener: &listener,
                link: &link,
                persistence: persistence.as_ref(),
                protocols: match kind {
                    BrokerKind::Rumqttd => &rumqttd_protocols,
                    _ => protocols,
                },
            };
            rows.extend(one_broker(started, &dir, startup, &args.load, &run_id).await);
        }
        Ok(rows)
    };
    let rows = interruptible(all).await?;
    print_tables(&rows, args.load.markdown);
    Ok(())
}

/// One broker to start, the listener it gets, how the clients reach it and what it keeps on
/// disk.
struct Started<'a> {
    kind: &'a BrokerKind,
    listener: &'a Listener,
    link: &'a Link,
    persistence: Option<&'a Persistence>,
    /// The MQTT versions its clients speak, in turn.
    protocols: &'a [Protocol],
}

/// `ext4 on / (/dev/vda)`, or why the file system is unknown.
fn filesystem(path: &std::path::Path) -> String {
    match disk::mount_of(path) {
        Ok(m) => m.describe(),
        Err(e) => format!("an unknown file system ({e:#})"),
    }
}

fn link(transport: Transport, tls: Option<Arc<ClientConfig>>) -> Result<Link> {
    Ok(match (transport, tls) {
        (Transport::Tcp, _) => Link::Tcp,
        (Transport::Ws, _) => Link::Ws,
        (Transport::Tls, Some(config)) => Link::Tls(config),
        (Transport::Wss, Some(config)) => Link::Wss(config),
        (Transport::Tls | Transport::Wss, None) => {
            bail!("--transport {} needs a CA to trust", transport.word())
        }
    })
}

async fn one_broker(
    started: Started<'_>,
    dir: &ScratchDir,
    startup: Duration,
    load: &LoadArgs,
    run_id: &str,
) -> Vec<ScenarioResult> {
    let name = started.kind.name();
    eprintln!("starting {name}");
    // Dropped when this function returns, which kills the child.
    let options = Options {
        persistence: started.persistence,
        ..Options::default()
    };
    let broker = match brokers::start_with(
        started.kind,
        started.listener,
        &dir.path,
        startup,
        options,
    )
    .await
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            let mut row = ScenarioResult::empty(name, "(not started)");
            row.protocol = words(started.protocols);
            row.notes.push(format!("{e:#}").replace('\n', " | "));
            return vec![row];
        }
    };
    let endpoint = Endpoint {
        host: "127.0.0.1".to_string(),
        port: broker.port,
        payload_len: load.payload,
        link: started.link.clone(),
    };
    let pid = Some(broker.pid());
    drive(name, pid, endpoint, load, run_id, started.protocols).await
}

/// Runs every selected scenario against one broker. `broker_pid` lets the
/// progress lines show the broker's CPU time next to this process's.
async fn drive(
    name: &str,
    broker_pid: Option<u32>,
    endpoint: Endpoint,
    load: &LoadArgs,
    run_id: &str,
    protocols: &[Protocol],
) -> Vec<ScenarioResult> {
    let target = Target {
        broker: name,
        endpoint,
        load,
        run_id,
    };
    let mut rows = Vec::new();
    for scenario in scenario::plan(load, protocols) {
        eprintln!(
            "  {name}: {} over MQTT {}",
            scenario.label,
            scenario.protocol.word()
        );
        let wall = Instant::now();
        let (bench_cpu, broker_cpu) = (cpu::seconds(None), broker_pid.and_then(cpu::seconds_of));
        let row = scenario::run(&target, &scenario).await;
        let spent = |before: Option<f64>, now: Option<f64>| match (before, now) {
            (Some(b), Some(n)) => format!("{:.2} s", n - b),
            _ => "n/a".to_string(),
        };
        eprintln!(
            "    sent {} delivered {} loss {} dup {}; publisher {} msgs/s; \
             cpu bench {}, broker {} in {:.2} s{}",
            row.sent,
            row.delivered,
            row.loss(),
            row.duplicates,
            row.publish_rate
                .map_or("-".to_string(), |r| format!("{r:.0}")),
            spent(bench_cpu, cpu::seconds(None)),
            spent(broker_cpu, broker_pid.and_then(cpu::seconds_of)),
            wall.elapsed().as_secs_f64(),
            if row.notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", row.notes.join("; "))
            }
        );
        rows.push(row);
        // Let the broker settle the previous scenario's disconnects.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    rows
}

/// Runs `work` unless Ctrl-C or SIGTERM comes first; either way the
/// future is dropped, and with it any broker child it owns.
pub(crate) async fn interruptible<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing SIGTERM handler")?;
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
    }
}

fn check_load(load: &LoadArgs) -> Result<()> {
    cli::check_protocols(&load.protocol).map_err(anyhow::Error::msg)?;
    if load.messages == 0 || load.fanout_count() == 0 {
        bail!("--messages and --fanout-messages must be at least 1");
    }
    if load.subscribers == 0 {
        bail!("--subscribers must be at least 1");
    }
    if load.channel_capacity == 0 {
        bail!("--channel-capacity must be at least 1");
    }
    Ok(())
}

fn print_header(load: &LoadArgs, brokers: &[String]) {
    println!("hearth-bench, {}", machine::utc_now());
    println!("machine: {}", machine::description());
    println!(
        "load: 1->1 {} msgs; fan-out {} msgs x {} subscribers (QoS 0, filter bench/fan/<run>/+); \
         payload {} B; offered load {}; QoS 1 publisher in-flight {}; request channel {}; \
         client threads {}; drain idle {} ms; scenario timeout {} s",
        load.messages,
        load.fanout_count(),
        load.subscribers,
        load.payload.max(crate::payload::HEADER_LEN),
        if load.rate == 0 {
            "unlimited (flood: latency is mostly queueing)".to_string()
        } else {
            format!("{} msgs/s per publisher", load.rate)
        },
        load.inflight,
        load.channel_capacity,
        load.threads,
        load.drain_idle_ms,
        load.timeout
    );
    println!(
        "client: rumqttc 0.25 over {}, TCP_NODELAY on, {}, {}",
        match load.transport {
            Transport::Tcp => "TCP",
            Transport::Ws => "WebSocket (ws://, path /mqtt)",
            Transport::Tls => "TLS (mqtts://)",
            Transport::Wss => "WebSocket over TLS (wss://, path /mqtt)",
        },
        protocols_line(&load.protocol),
        if load.persistent_sessions {
            format!(
                "subscribers with persistent sessions (clean_session=false; MQTT 5.0: Clean \
                 Start 0, Session Expiry Interval {} s), publishers clean",
                conn::SESSION_EXPIRY
            )
        } else {
            "clean sessions".to_string()
        }
    );
    for line in brokers {
        println!("{line}");
    }
    println!();
}

/// `3.1.1, 5.0`: how a row names the versions it stands for.
fn words(protocols: &[Protocol]) -> String {
    let words: Vec<&str> = protocols.iter().map(|p| p.word()).collect();
    words.join(", ")
}

/// The header's account of the versions measured, and what MQTT 5.0 changes about the load.
fn protocols_line(protocols: &[Protocol]) -> String {
    let mut line = format!("MQTT {}", words(protocols).replace(", ", " and "));
    if protocols.len() > 1 {
        line.push_str(" (each scenario once per version, in turn, on the same broker)");
    }
    if protocols.contains(&Protocol::V5) {
        line.push_str(
            "; 5.0 through rumqttc::v5, its QoS 1 window the lower of the in-flight setting and \
             the broker's Receive Maximum",
        );
    }
    line
}

fn print_tables(rows: &[ScenarioResult], markdown: bool) {
    table::scenarios(rows).print(markdown);
}

/// Short id unique to this process, used in topics, client ids and file names.
pub(crate) fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}{:05x}", std::process::id(), nanos & 0xf_ffff)
}
