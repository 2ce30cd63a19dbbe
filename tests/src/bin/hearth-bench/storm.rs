//! `storm`: the reconnect storm after a Wi-Fi outage. N nodes, each its own user with a
//! password, reconnect all at once while a monitor client's QoS 1 messages keep flowing:
//!
//! - `cold`: a freshly started broker, every node connecting from nothing (no session, no
//!   verified password remembered), as after a broker restart;
//! - `after close`: every node's socket closed without DISCONNECT, then all reconnect;
//! - `takeover`: all reconnect with the same client ids while the broker still holds their old
//!   connections (half-open: the old sockets are left open until the storm is over).
//!
//! Each node logs in as a sensor node does: CONNECT (clean session false, keep alive 15, a
//! Last Will), SUBSCRIBE to `<node>/set`, PUBLISH a retained reading at QoS 1. A storm's
//! time is from its first connection attempt until each node's CONNACK and SUBACK.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tests::decode::Packet;
use tests::encode::{self, Connect, Will};
use tokio::time::Instant;

use crate::brokers::{self, BrokerKind, Listener, Options, ScratchDir};
use crate::cli::StormArgs;
use crate::clock;
use crate::compare;
use crate::cpu;
use crate::machine;
use crate::monitor::{Log, Monitor, WindowStats};
use crate::passwords;
use crate::raw_conn::Conn;
use crate::table::{self, Table};

/// The target: every node has its CONNACK within this.
const TARGET: Duration = Duration::from_secs(2);

const PUB_USER: &str = "monitor-pub";
const SUB_USER: &str = "monitor-sub";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Storm {
    Cold,
    AfterClose,
    Takeover,
}

impl Storm {
    fn label(self) -> &'static str {
        match self {
            Storm::Cold => "cold",
            Storm::AfterClose => "after close",
            Storm::Takeover => "takeover",
        }
    }
}

/// A node's times from the storm's start.
struct NodeTimes {
    connack: Duration,
    suback: Duration,
    session_present: bool,
}

/// One storm, or the quiet stretch before the first (`storm: None`).
struct Phase {
    storm: Option<Storm>,
    nodes: Vec<NodeTimes>,
    failures: Vec<String>,
    /// The monitor messages counted for this phase were sent in `[from_ns, to_ns)`.
    from_ns: u64,
    to_ns: u64,
    broker_cpu: Option<f64>,
    monitor: Option<WindowStats>,
}

impl Phase {
    fn quantile_ms(&self, of: impl Fn(&NodeTimes) -> Duration, q: f64) -> Option<f64> {
        let mut v: Vec<f64> = self
            .nodes
            .iter()
            .map(|n| of(n).as_secs_f64() * 1e3)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least q of the nodes at or below it.
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

/// One broker with one password file, through every storm.
struct BrokerRun {
    broker: &'static str,
    passwords: &'static str,
    phases: Vec<Phase>,
    errors: Vec<String>,
}

impl BrokerRun {
    fn phase(&self, storm: Option<Storm>) -> Option<&Phase> {
        self.phases.iter().find(|p| p.storm == storm)
    }
}

pub async fn run(args: StormArgs) -> Result<()> {
    if args.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    let run_id = compare::run_id();
    let dir = ScratchDir::create(&format!("storm-{run_id}"))?;
    let nodes: Vec<String> = (0..args.nodes).map(|i| format!("node{i:03}")).collect();
    let mut users = nodes.clone();
    users.extend([PUB_USER.to_string(), SUB_USER.to_string()]);
    eprintln!("writing password files for {} users", users.len());
    let pbkdf2 = passwords::write_mosquitto(
        &args.brokers.mosquitto_passwd,
        &dir.path.join("passwd-7"),
        &users,
    )?;
    let argon2id = passwords::write_argon2id(&dir.path.join("passwd-argon2id"), &users)?;
    print_header(&args);
    let runs: [(BrokerKind, &'static str, &Path); 3] = [
        (
            BrokerKind::Mosquitto(args.brokers.mosquitto_bin.clone()),
            "$7$",
            &pbkdf2,
        ),
        (
            BrokerKind::Hearth(args.brokers.hearth_bin.clone()),
            "$7$",
            &pbkdf2,
        ),
        (
            BrokerKind::Hearth(args.brokers.hearth_bin.clone()),
            "argon2id",
            &argon2id,
        ),
    ];
    let nodes = Arc::new(nodes);
    let work = async {
        let mut results = Vec::new();
        for (kind, scheme, file) in &runs {
            eprintln!("{} with the {scheme} password file", kind.name());
            let mut run = BrokerRun {
                broker: kind.name(),
                passwords: scheme,
                phases: Vec::new(),
                errors: Vec::new(),
            };
            if let Err(e) = one_broker(kind, file, &dir.path, &args, &nodes, &mut run).await {
                eprintln!("  {e:#}");
                run.errors.push(format!("{e:#}").replace('\n', " | "));
            }
            results.push(run);
        }
        Ok(results)
    };
    let results = compare::interruptible(work).await?;
    print_tables(&results, args.nodes, args.markdown);
    Ok(())
}

async fn one_broker(
    kind: &BrokerKind,
    password_file: &Path,
    dir: &Path,
    args: &StormArgs,
    nodes: &Arc<Vec<String>>,
    run: &mut BrokerRun,
) -> Result<()> {
    let startup = Duration::from_secs(args.brokers.startup_timeout);
    // Dropped when this function returns, which stops the broker.
    let broker = brokers::start_with(
        kind,
        &Listener::tcp(),
        dir,
        startup,
        Options {
            password_file: Some(password_file),
            ..Options::default()
        },
    )
    .await?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, broker.port));
    let timeout = Duration::from_secs(args.timeout);
    let window = Duration::from_millis(args.window_ms);
    let mut monitor = Monitor::start(
        addr,
        PUB_USER,
        SUB_USER,
        "bench/monitor",
        args.rate,
        Instant::now() + timeout,
    )
    .await?;

    monitor
        .flowing(Instant::now() + timeout)
        .await
        .context("the monitor's first message")?;
    eprintln!("  quiet: monitor only");
    let cpu_before = cpu::precise_seconds(Some(broker.pid()));
    let from_ns = clock::now_ns();
    tokio::time::sleep(window).await;
    run.phases.push(Phase {
        storm: None,
        nodes: Vec::new(),
        failures: Vec::new(),
        from_ns,
        to_ns: clock::now_ns(),
        broker_cpu: spent(cpu_before, cpu::precise_seconds(Some(broker.pid()))),
        monitor: None,
    });

    let mut conns = Vec::new();
    for storm in [Storm::Cold, Storm::AfterClose, Storm::Takeover] {
        match storm {
            // Dropping a socket closes it without DISCONNECT: the broker sees the node go.
            Storm::AfterClose => conns.clear(),
            // The old connections stay open, unread, until the new ones are in.
            Storm::Cold | Storm::Takeover => {}
        }
        let pid = broker.pid();
        let (phase, new_conns) = one_storm(storm, addr, nodes, timeout, window, || {
            cpu::precise_seconds(Some(pid))
        })
        .await;
        conns = new_conns;
        eprintln!(
            "  {}: {} of {} nodes in, all CONNACKs {} ms, all SUBACKs {} ms; cpu broker {}{}",
            storm.label(),
            phase.nodes.len(),
            nodes.len(),
            table::ms(phase.quantile_ms(|n| n.connack, 1.0), 1),
            table::ms(phase.quantile_ms(|n| n.suback, 1.0), 1),
            phase
                .broker_cpu
                .map_or("n/a".into(), |s| format!("{:.1} ms", s * 1e3)),
            phase.failures.first().map_or(String::new(), |e| format!(
                "; {} failed, first: {e}",
                phase.failures.len()
            ))
        );
        run.phases.push(phase);
    }
    drop(conns);

    let log = monitor
        .stop(timeout)
        .await
        .context("the monitor failed during the storms")?;
    fill_monitor(&mut run.phases, &log)?;
    if log.duplicates > 0 {
        run.errors.push(format!(
            "the monitor received {} duplicates",
            log.duplicates
        ));
    }
    Ok(())
}

fn fill_monitor(phases: &mut [Phase], log: &Log) -> Result<()> {
    for phase in phases {
        phase.monitor = Some(log.window(phase.from_ns, phase.to_ns)?);
    }
    Ok(())
}

fn spent(before: Option<f64>, now: Option<f64>) -> Option<f64> {
    Some(now? - before?)
}

/// Every node logs in at once; waits for all, then until `window` has passed since the
/// start, so the monitor's messages of the storm and just after it are counted with it.
async fn one_storm(
    storm: Storm,
    addr: SocketAddr,
    nodes: &Arc<Vec<String>>,
    timeout: Duration,
    window: Duration,
    broker_cpu: impl Fn() -> Option<f64>,
) -> (Phase, Vec<Conn>) {
    let cpu_before = broker_cpu();
    let from_ns = clock::now_ns();
    let started = Instant::now();
    let deadline = started + timeout;
    let tasks: Vec<_> = (0..nodes.len())
        .map(|i| {
            let nodes = nodes.clone();
            tokio::spawn(async move { login(addr, &nodes[i], started, deadline).await })
        })
        .collect();
    let mut phase = Phase {
        storm: Some(storm),
        nodes: Vec::new(),
        failures: Vec::new(),
        from_ns,
        to_ns: 0,
        broker_cpu: None,
        monitor: None,
    };
    let mut conns = Vec::new();
    for (task, node) in tasks.into_iter().zip(nodes.iter()) {
        match task.await {
            Ok(Ok((conn, times))) => {
                conns.push(conn);
                phase.nodes.push(times);
            }
            Ok(Err(e)) => phase.failures.push(format!("{node}: {e:#}")),
            Err(e) => phase.failures.push(format!("{node}: task failed: {e}")),
        }
    }
    // Pacing, not waiting for an event: the monitor keeps publishing at its rate meanwhile.
    tokio::time::sleep_until(started + window).await;
    phase.to_ns = clock::now_ns();
    phase.broker_cpu = spent(cpu_before, broker_cpu());
    (phase, conns)
}

/// A node's login: CONNECT, SUBSCRIBE to its commands, PUBLISH its retained reading.
async fn login(
    addr: SocketAddr,
    node: &str,
    started: Instant,
    deadline: Instant,
) -> Result<(Conn, NodeTimes)> {
    let connect = Connect::new(node)
        .clean_session(false)
        .keep_alive(15)
        .will(Will::new(&format!("{node}/status"), "offline", 1, true))
        .credentials(node, passwords::password_of(node));
    let (mut conn, session_present) = Conn::handshake(addr, &connect, deadline).await?;
    let connack = started.elapsed();
    conn.send(&encode::subscribe(1, &[(&format!("{node}/set"), 1)]))
        .await?;
    conn.recv_until(deadline, |p| match p {
        Packet::SubAck { pkid: 1, codes } => Some(codes.clone()),
        _ => None,
    })
    .await
    .context("waiting for SUBACK")?
    .first()
    .filter(|code| **code <= 1)
    .context("the subscription was refused")?;
    let suback = started.elapsed();
    let reading = encode::publish(&format!("{node}/temperature"), b"21.5", 1, true, false, 2);
    conn.send(&reading).await?;
    conn.recv_until(deadline, |p| matches!(p, Packet::PubAck(2)).then_some(()))
        .await
        .context("waiting for the reading's PUBACK")?;
    Ok((
        conn,
        NodeTimes {
            connack,
            suback,
            session_present,
        },
    ))
}

fn print_header(args: &StormArgs) {
    let mosquitto = &args.brokers.mosquitto_bin;
    let version = brokers::mosquitto_version(mosquitto).unwrap_or_else(|| "version unknown".into());
    println!("hearth-bench storm, {}", machine::utc_now());
    println!("machine: {}", machine::description());
    println!(
        "load: {} nodes, each its own user, reconnecting at once: cold (fresh broker, nothing \
         remembered), after close (sockets closed without DISCONNECT, then reconnect), takeover \
         (same client ids while the old connections are still open); node login: CONNECT clean \
         session false, keep alive 15, Last Will; SUBSCRIBE <node>/set QoS 1; PUBLISH retained \
         reading QoS 1",
        args.nodes
    );
    println!(
        "monitor: its own users, QoS 1 publisher at {} msgs/s to a QoS 1 subscriber; a phase \
         counts the messages sent in its first {} ms (or until its last SUBACK if later); the \
         quiet phase is the monitor alone before the first storm",
        args.rate, args.window_ms
    );
    println!(
        "client: raw MQTT 3.1.1 sockets, {} tokio thread(s), TCP_NODELAY; times from the storm's \
         first connection attempt",
        args.threads
    );
    println!(
        "passwords: $7$ written by {} -b (PBKDF2-SHA512); argon2id written as `hearth passwd` \
         does (m={} KiB, t={}, p={})",
        args.brokers.mosquitto_passwd.display(),
        broker::auth::hash::ARGON2_M_KIB,
        broker::auth::hash::ARGON2_T,
        broker::auth::hash::ARGON2_P
    );
    println!(
        "mosquitto: {} ({version}); allow_anonymous false, persistence off",
        mosquitto.display()
    );
    println!(
        "hearth: {} ({})",
        args.brokers.hearth_bin.display(),
        brokers::hearth_version(&args.brokers.hearth_bin)
            .unwrap_or_else(|| "version unknown".into())
    );
    println!(
        "cpu: the broker's time on CPU during each phase (its monitor window), all threads, from \
         /proc/PID/task/*/schedstat"
    );
    println!(
        "target: all {} nodes have their CONNACK within {} s and no monitor message is lost",
        args.nodes,
        TARGET.as_secs()
    );
    println!();
}

fn print_tables(runs: &[BrokerRun], nodes: usize, markdown: bool) {
    let mut table = Table::new(
        &[
            "broker",
            "passwords",
            "phase",
            "nodes in",
            "session present",
            "CONNACK p50 ms",
            "p99",
            "max",
            "SUBACK p50 ms",
            "p99",
            "max",
            "monitor msgs",
            "lost",
            "monitor p50 ms",
            "p99",
            "max",
            "broker CPU ms",
            "target",
        ],
        3,
    );
    for run in runs {
        if run.phases.is_empty() {
            table.row(
                vec![run.broker.into(), run.passwords.into(), "(not run)".into()],
                &run.errors,
            );
            continue;
        }
        for (i, phase) in run.phases.iter().enumerate() {
            let mut notes = Vec::new();
            if let Some(first) = phase.failures.first() {
                notes.push(format!(
                    "{} nodes failed, first: {first}",
                    phase.failures.len()
                ));
            }
            if i + 1 == run.phases.len() {
                notes.extend(run.errors.iter().cloned());
            }
            let q = |of: fn(&NodeTimes) -> Duration, q| table::ms(phase.quantile_ms(of, q), 1);
            let monitor = phase.monitor.as_ref();
            let m = |v: Option<f64>| table::ms(v, 2);
            let mut cells = vec![
                run.broker.to_string(),
                run.passwords.to_string(),
                phase.storm.map_or("quiet", Storm::label).to_string(),
            ];
            if phase.storm.is_some() {
                cells.extend([
                    format!("{}/{nodes}", phase.nodes.len()),
                    phase
                        .nodes
                        .iter()
                        .filter(|n| n.session_present)
                        .count()
                        .to_string(),
                    q(|n| n.connack, 0.5),
                    q(|n| n.connack, 0.99),
                    q(|n| n.connack, 1.0),
                    q(|n| n.suback, 0.5),
                    q(|n| n.suback, 0.99),
                    q(|n| n.suback, 1.0),
                ]);
            } else {
                cells.extend(std::iter::repeat_n("".to_string(), 8));
            }
            cells.extend([
                monitor.map_or("-".into(), |w| w.sent.to_string()),
                monitor.map_or("-".into(), |w| w.lost.to_string()),
                m(monitor.and_then(|w| w.p50_ms)),
                m(monitor.and_then(|w| w.p99_ms)),
                m(monitor.and_then(|w| w.max_ms)),
                phase
                    .broker_cpu
                    .map_or("n/a".into(), |s| format!("{:.1}", s * 1e3)),
                match phase.storm {
                    None => String::new(),
                    Some(_) => {
                        let all_in = phase.nodes.len() == nodes
                            && phase.nodes.iter().all(|n| n.connack <= TARGET);
                        let flowing = monitor.is_some_and(|w| w.lost == 0 && w.sent > 0);
                        if all_in && flowing { "met" } else { "missed" }.to_string()
                    }
                },
            ]);
            table.row(cells, &notes);
        }
    }
    table.print(markdown);

    let mut ratios = Table::new(
        &[
            "phase",
            "hearth passwords",
            "all SUBACKs (max) hearth/mosquitto",
            "SUBACK p50 hearth/mosquitto",
            "monitor p99 hearth/mosquitto",
        ],
        2,
    );
    let mosquitto = runs.iter().find(|r| r.broker == "mosquitto");
    for storm in [
        None,
        Some(Storm::Cold),
        Some(Storm::AfterClose),
        Some(Storm::Takeover),
    ] {
        for hearth in runs.iter().filter(|r| r.broker == "hearth") {
            let m = mosquitto.and_then(|r| r.phase(storm));
            let h = hearth.phase(storm);
            let ratio = |f: fn(&Phase) -> Option<f64>| table::ratio(h.and_then(f), m.and_then(f));
            let storm_only = |f: fn(&Phase) -> Option<f64>| {
                if storm.is_some() {
                    ratio(f)
                } else {
                    String::new()
                }
            };
            ratios.row(
                vec![
                    storm.map_or("quiet", Storm::label).to_string(),
                    hearth.passwords.to_string(),
                    storm_only(|p| p.quantile_ms(|n| n.suback, 1.0)),
                    storm_only(|p| p.quantile_ms(|n| n.suback, 0.5)),
                    ratio(|p| p.monitor.as_ref().and_then(|w| w.p99_ms)),
                ],
                &[],
            );
        }
    }
    println!();
    ratios.print(markdown);
}
