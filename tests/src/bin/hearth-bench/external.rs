//! `external`: brokers measured with load generators that are not Hearth's code. Mosquitto,
//! rumqttd (when built with `--features rumqttd`) and Hearth are started in turn, each with one
//! TCP listener that lets anyone in and the window and queue `compare` gives them, and each
//! is driven by emqtt-bench (EMQ's Erlang load tool) and by Debian's mosquitto_pub and
//! mosquitto_sub. `--runs K` repeats the whole set, the brokers' order rotated each run.
//!
//! Every figure is read on the receiving side; the broker's CPU is utime + stime from
//! `/proc/PID/stat` (10 ms ticks), read on the receiving side's clock so it covers the same
//! stretch as the rate it is divided by. See the subcommand's `--help` for each figure.

mod emqtt_bench;
mod mosquitto_clients;
mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::brokers::{self, BrokerKind, Listener, Options, ScratchDir};
use crate::cli::{self, ExternalArgs, Generator, Protocol};
use crate::compare;
use crate::machine;
use crate::table::{self, Table};

/// The broker a generator drives, and the limits of one scenario.
pub struct Target<'a> {
    pub broker: &'static str,
    pub pid: u32,
    pub port: u16,
    /// The MQTT version the generator speaks.
    pub protocol: Protocol,
    pub args: &'a ExternalArgs,
    /// For the subscribers to be subscribed.
    pub startup: Duration,
    /// For one scenario, publishing and draining.
    pub timeout: Duration,
    /// After the publisher has exited, a scenario ends once nothing has arrived for this long.
    pub drain_idle: Duration,
}

/// One scenario's figures on one broker.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub sent: Option<u64>,
    /// Messages that should arrive: sent times subscribers.
    pub expected: Option<u64>,
    pub received: Option<u64>,
    /// Delivered messages per second: the median of emqtt-bench's steady per-second rates,
    /// or the C clients' first-to-last-line rate.
    pub rate: Option<f64>,
    /// Lowest and highest of the steady per-second rates (emqtt-bench).
    pub rate_range: Option<(f64, f64)>,
    /// Steady per-second rates the median is taken over (emqtt-bench).
    pub samples: Option<usize>,
    /// Broker CPU microseconds per delivered message.
    pub cpu_us: Option<f64>,
    pub notes: Vec<String>,
}

impl Figures {
    fn failed(error: &anyhow::Error) -> Self {
        Figures {
            notes: vec![format!("{error:#}").replace('\n', " | ")],
            ..Figures::default()
        }
    }

    fn lost(&self) -> Option<u64> {
        Some(self.expected?.saturating_sub(self.received?))
    }
}

struct Row {
    run: usize,
    broker: &'static str,
    generator: Generator,
    protocol: Protocol,
    scenario: String,
    figures: Figures,
}

/// The generators' tools, found (and emqtt-bench built) before any broker starts.
struct Tools {
    emqtt_bench: Option<PathBuf>,
    emqtt_plan: Vec<emqtt_bench::Scenario>,
}

pub async fn run(args: ExternalArgs) -> Result<()> {
    check(&args)?;
    let run_id = compare::run_id();
    let dir = ScratchDir::create(&format!("external-{run_id}"))?;
    let uses = |g: Generator| args.generators.contains(&g);
    let tools = Tools {
        emqtt_bench: if uses(Generator::EmqttBench) {
            Some(emqtt_bench::locate(&args)?)
        } else {
            None
        },
        emqtt_plan: emqtt_bench::plan(&args),
    };
    if uses(Generator::MosquittoClients) {
        for bin in [&args.mosquitto_pub, &args.mosquitto_sub] {
            if !bin.is_file() {
                bail!(
                    "mosquitto clients: {} does not exist (`apt-get install -y mosquitto-clients`)",
                    bin.display()
                );
            }
        }
    }
    let (kinds, broker_lines) = brokers_to_run(&args);
    if kinds.is_empty() {
        bail!("no broker selected");
    }
    print_header(&args, &tools, &broker_lines);
    let names: Vec<&'static str> = kinds.iter().map(BrokerKind::name).collect();
    let work = async {
        let mut rows = Vec::new();
        for run in 1..=args.runs {
            let mut order = kinds.clone();
            order.rotate_left((run - 1) % kinds.len());
            for kind in &order {
                let id = format!("{run_id}-{run}-{}", kind.name());
                rows.extend(one_broker(run, kind, &dir.path, &args, &tools, &id).await);
            }
        }
        Ok(rows)
    };
    let rows = compare::interruptible(work).await?;
    for generator in &args.generators {
        let scenarios: Vec<String> = match generator {
            Generator::EmqttBench => tools.emqtt_plan.iter().map(|s| s.label.clone()).collect(),
            Generator::MosquittoClients => vec![mosquitto_clients::LABEL.to_string()],
        };
        print_tables(&rows, *generator, &names, &scenarios, &args);
    }
    Ok(())
}

fn check(args: &ExternalArgs) -> Result<()> {
    cli::check_protocols(&args.protocol).map_err(anyhow::Error::msg)?;
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if args.messages == 0 || args.fanout_messages == 0 || args.qos1_messages == 0 {
        bail!("--messages, --fanout-messages and --qos1-messages must be at least 1");
    }
    if args.subscribers == 0 {
        bail!("--subscribers must be at least 1");
    }
    if args.payload < 16 {
        bail!(
            "--payload must be at least 16 bytes (the C clients' payloads carry a sequence number)"
        );
    }
    if args.drain_idle_ms < 1500 {
        bail!("--drain-idle-ms must be at least 1500: emqtt-bench prints its counts once a second");
    }
    if args.generators.is_empty() {
        bail!("--generators names none");
    }
    Ok(())
}

/// The brokers in their first run's order, and a line describing each (or why it is left
/// out).
fn brokers_to_run(args: &ExternalArgs) -> (Vec<BrokerKind>, Vec<String>) {
    let mut kinds = Vec::new();
    let mut lines = Vec::new();
    let limits = format!(
        "max_inflight {}, max_queued_messages {}, anonymous, persistence off",
        brokers::MOSQUITTO_MAX_INFLIGHT,
        brokers::MOSQUITTO_MAX_QUEUED
    );
    if !args.no_mosquitto {
        let version = brokers::mosquitto_version(&args.mosquitto_bin)
            .unwrap_or_else(|| "version unknown".to_string());
        lines.push(format!(
            "mosquitto: {} ({version}); {limits}",
            args.mosquitto_bin.display()
        ));
        kinds.push(BrokerKind::Mosquitto(args.mosquitto_bin.clone()));
    }
    if !args.no_rumqttd {
        let v4 = args.protocol.contains(&Protocol::V4);
        if cfg!(feature = "rumqttd") && args.protocol.contains(&Protocol::V5) {
            lines.push(format!(
                "rumqttd: {}; rumqtt's README lists MQTT 5 in rumqttd as not yet supported",
                if v4 {
                    "driven over MQTT 3.1.1 only"
                } else {
                    "left out"
                }
            ));
        }
        if cfg!(feature = "rumqttd") && v4 {
            lines.push("rumqttd: 0.20 in a child process (serve-rumqttd)".to_string());
            kinds.push(BrokerKind::Rumqttd);
        } else if cfg!(not(feature = "rumqttd")) {
            lines.push(
                "rumqttd: left out; this build lacks it (build with `--features rumqttd`)"
                    .to_string(),
            );
        }
    }
    match &args.hearth_bin {
        Some(bin) => {
            let version =
                brokers::hearth_version(bin).unwrap_or_else(|| "version unknown".to_string());
            lines.push(format!("hearth: {} ({version}); {limits}", bin.display()));
            kinds.push(BrokerKind::Hearth(bin.clone()));
        }
        None => lines.push("hearth: left out; no --hearth-bin".to_string()),
    }
    (kinds, lines)
}

fn print_header(args: &ExternalArgs, tools: &Tools, brokers: &[String]) {
    println!("hearth-bench external, {}", machine::utc_now());
    println!("machine: {}", machine::description());
    println!(
        "runs: {}, each starting every broker afresh in turn, the order rotated by one each run; \
         payload {} B; MQTT {}; one TCP listener on 127.0.0.1; a scenario ends when all \
         have arrived, or {} ms after the publisher exited with nothing new, or at {} s",
        args.runs,
        args.payload,
        versions(&args.protocol),
        args.drain_idle_ms,
        args.timeout
    );
    if let Some(bin) = &tools.emqtt_bench {
        let scenarios: Vec<String> = tools
            .emqtt_plan
            .iter()
            .map(|s| {
                format!(
                    "{} ({} msgs x {} subscriber(s), filter {})",
                    s.label, s.messages, s.subscribers, s.filter
                )
            })
            .collect();
        println!(
            "emqtt-bench: {} ({}), one Erlang scheduler per tool process; one publisher, \
             `-I 0` (as fast as it goes; at QoS 1 it waits for each PUBACK: a round-trip \
             measure, not throughput); {}",
            bin.display(),
            emqtt_bench::version(bin),
            scenarios.join(", ")
        );
    }
    if args.generators.contains(&Generator::MosquittoClients) {
        println!(
            "mosquitto clients: {} and {} ({}); {} {} msgs",
            args.mosquitto_pub.display(),
            args.mosquitto_sub.display(),
            client_version(&args.mosquitto_pub),
            mosquitto_clients::LABEL,
            args.messages
        );
    }
    for line in brokers {
        println!("{line}");
    }
    println!(
        "broker cpu: utime + stime of the broker's process from /proc/PID/stat (10 ms ticks), \
         per delivered message"
    );
    println!();
}

/// The `mosquitto_pub version 2.0.11 running on libmosquitto 2.0.11` line of `--help`.
fn client_version(bin: &Path) -> String {
    std::process::Command::new(bin)
        .arg("--help")
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find(|l| l.contains(" version "))
                .map(|l| l.trim().trim_end_matches('.').to_string())
        })
        .unwrap_or_else(|| "version unknown".to_string())
}

/// One broker, started afresh, through every generator and scenario.
async fn one_broker(
    run: usize,
    kind: &BrokerKind,
    dir: &Path,
    args: &ExternalArgs,
    tools: &Tools,
    run_id: &str,
) -> Vec<Row> {
    let name = kind.name();
    eprintln!("run {run}/{}: starting {name}", args.runs);
    let planned = planned(kind, args, tools);
    let row = |generator, protocol, scenario: &str, figures| Row {
        run,
        broker: name,
        generator,
        protocol,
        scenario: scenario.to_string(),
        figures,
    };
    let startup = Duration::from_secs(args.startup_timeout);
    // Dropped when this function returns, which kills the broker.
    let broker =
        match brokers::start_with(kind, &Listener::tcp(), dir, startup, Options::default()).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("  {name}: {e:#}");
                let failed = Figures::failed(&e.context(format!("{name} did not start")));
                return planned
                    .iter()
                    .map(|(g, p, s)| row(*g, *p, s, failed.clone()))
                    .collect();
            }
        };
    let mut target = Target {
        broker: name,
        pid: broker.pid(),
        port: broker.port,
        protocol: Protocol::V4,
        args,
        startup,
        timeout: Duration::from_secs(args.timeout),
        drain_idle: Duration::from_millis(args.drain_idle_ms),
    };
    let mut rows = Vec::new();
    for (generator, protocol, label) in &planned {
        eprintln!(
            "  {name}: {} {label} over MQTT {}",
            generator.word(),
            protocol.word()
        );
        target.protocol = *protocol;
        let result = match generator {
            Generator::EmqttBench => {
                let scenario = tools.emqtt_plan.iter().find(|s| &s.label == label);
                match (&tools.emqtt_bench, scenario) {
                    (Some(bin), Some(scenario)) => emqtt_bench::run(bin, &target, scenario).await,
                    _ => Err(anyhow::anyhow!("emqtt-bench: not located")),
                }
            }
            Generator::MosquittoClients => mosquitto_clients::run(&target, run_id).await,
        };
        let figures = match result {
            Ok(f) => f,
            Err(e) => {
                eprintln!("    {e:#}");
                Figures::failed(&e)
            }
        };
        eprintln!("    {}", progress(&figures));
        rows.push(row(*generator, *protocol, label, figures));
    }
    rows
}

/// What one broker goes through: every generator's scenarios, each once per version in turn
/// (rumqttd only over 3.1.1).
fn planned(
    kind: &BrokerKind,
    args: &ExternalArgs,
    tools: &Tools,
) -> Vec<(Generator, Protocol, String)> {
    let protocols: Vec<Protocol> = args
        .protocol
        .iter()
        .copied()
        .filter(|p| !matches!(kind, BrokerKind::Rumqttd) || *p == Protocol::V4)
        .collect();
    let mut planned = Vec::new();
    for generator in &args.generators {
        let labels: Vec<String> = match generator {
            Generator::EmqttBench => tools.emqtt_plan.iter().map(|s| s.label.clone()).collect(),
            Generator::MosquittoClients => vec![mosquitto_clients::LABEL.to_string()],
        };
        for label in labels {
            for protocol in &protocols {
                planned.push((*generator, *protocol, label.clone()));
            }
        }
    }
    planned
}

/// `3.1.1 and 5.0`.
fn versions(protocols: &[Protocol]) -> String {
    let words: Vec<&str> = protocols.iter().map(|p| p.word()).collect();
    words.join(" and ")
}

fn progress(f: &Figures) -> String {
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    format!(
        "sent {} received {} lost {}; {} msgs/s{}; broker cpu {} us/msg{}",
        opt(f.sent),
        opt(f.received),
        opt(f.lost()),
        table::rate(f.rate),
        f.rate_range.map_or(String::new(), |(lo, hi)| format!(
            " ({lo:.0}-{hi:.0} over {} s)",
            f.samples.unwrap_or(0)
        )),
        cpu(f.cpu_us),
        if f.notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.notes.join("; "))
        }
    )
}

/// The median; the mean of the middle two for an even count.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 0 {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

fn range(values: &[f64]) -> Option<(f64, f64)> {
    values.iter().copied().fold(None, |range, v| {
        Some(range.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v))))
    })
}

fn cpu(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.2}"))
}

fn rate_range(r: Option<(f64, f64)>) -> String {
    r.map_or("-".to_string(), |(lo, hi)| format!("{lo:.0}-{hi:.0}"))
}

fn cpu_range(r: Option<(f64, f64)>) -> String {
    r.map_or("-".to_string(), |(lo, hi)| format!("{lo:.2}-{hi:.2}"))
}

fn lost(lost: Option<u64>, expected: Option<u64>) -> String {
    match (lost, expected) {
        (Some(0), _) => "0".to_string(),
        (Some(l), Some(e)) if e > 0 => format!("{l} ({:.2}%)", l as f64 * 100.0 / e as f64),
        (Some(l), _) => l.to_string(),
        _ => "-".to_string(),
    }
}

fn ratio(of: Option<f64>, to: Option<f64>) -> Option<f64> {
    match (of, to) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn times(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |v| format!("{v:.2}x"))
}

/// Mosquitto's row for the same run, generator and scenario.
fn mosquitto_of<'a>(rows: &'a [Row], row: &Row) -> Option<&'a Row> {
    rows.iter().find(|r| {
        r.broker == "mosquitto"
            && r.run == row.run
            && r.generator == row.generator
            && r.protocol == row.protocol
            && r.scenario == row.scenario
    })
}

fn print_tables(
    rows: &[Row],
    generator: Generator,
    brokers: &[&'static str],
    scenarios: &[String],
    args: &ExternalArgs,
) {
    let per_second = generator == Generator::EmqttBench;
    let mine: Vec<&Row> = rows.iter().filter(|r| r.generator == generator).collect();
    let mut headers = vec![
        "run", "broker", "mqtt", "scenario", "sent", "received", "lost",
    ];
    if per_second {
        headers.extend(["msgs/s median", "min-max", "secs"]);
    } else {
        headers.push("msgs/s");
    }
    headers.extend(["cpu us/msg", "msgs/s vs mosq", "cpu vs mosq"]);
    let mut raw = Table::new(&headers, 4);
    for r in &mine {
        let f = &r.figures;
        let mosquitto = mosquitto_of(rows, r).map(|m| &m.figures);
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        let mut cells = vec![
            r.run.to_string(),
            r.broker.to_string(),
            r.protocol.word().to_string(),
            r.scenario.clone(),
            opt(f.sent),
            opt(f.received),
            lost(f.lost(), f.expected),
            table::rate(f.rate),
        ];
        if per_second {
            cells.push(rate_range(f.rate_range));
            cells.push(f.samples.map_or("-".to_string(), |n| n.to_string()));
        }
        cells.extend([
            cpu(f.cpu_us),
            times(ratio(f.rate, mosquitto.and_then(|m| m.rate))),
            times(ratio(f.cpu_us, mosquitto.and_then(|m| m.cpu_us))),
        ]);
        raw.row(cells, &f.notes);
    }
    println!("{}, every run:", generator.word());
    raw.print(args.markdown);
    println!();

    let mut summary = Table::new(
        &[
            "broker",
            "mqtt",
            "scenario",
            "runs",
            "msgs/s",
            "min-max",
            "lost (all runs)",
            "cpu us/msg",
            "min-max",
            "msgs/s vs mosq",
            "cpu vs mosq",
        ],
        3,
    );
    let cases = scenarios
        .iter()
        .flat_map(|s| args.protocol.iter().map(move |p| (s, *p)));
    for broker in brokers {
        for (scenario, protocol) in cases.clone() {
            let these: Vec<&&Row> = mine
                .iter()
                .filter(|r| {
                    r.broker == *broker && r.protocol == protocol && &r.scenario == scenario
                })
                .collect();
            if these.is_empty() {
                // rumqttd over MQTT 5.0: never planned, so no row.
                continue;
            }
            let of = |get: &dyn Fn(&Row) -> Option<f64>| -> Vec<f64> {
                these.iter().filter_map(|r| get(r)).collect()
            };
            let rates = of(&|r| r.figures.rate);
            let cpus = of(&|r| r.figures.cpu_us);
            let rate_ratios = of(&|r| {
                ratio(
                    r.figures.rate,
                    mosquitto_of(rows, r).and_then(|m| m.figures.rate),
                )
            });
            let cpu_ratios = of(&|r| {
                ratio(
                    r.figures.cpu_us,
                    mosquitto_of(rows, r).and_then(|m| m.figures.cpu_us),
                )
            });
            let sum = |get: &dyn Fn(&Figures) -> Option<u64>| -> Option<u64> {
                these.iter().map(|r| get(&r.figures)).sum()
            };
            summary.row(
                vec![
                    broker.to_string(),
                    protocol.word().to_string(),
                    scenario.clone(),
                    format!("{} of {}", rates.len(), these.len()),
                    table::rate(median(&rates)),
                    rate_range(range(&rates)),
                    lost(sum(&|f| f.lost()), sum(&|f| f.expected)),
                    cpu(median(&cpus)),
                    cpu_range(range(&cpus)),
                    times(median(&rate_ratios)),
                    times(median(&cpu_ratios)),
                ],
                &[],
            );
        }
    }
    println!(
        "{}, median of the runs (min-max across runs; ratios are medians of each run's ratio):",
        generator.word()
    );
    summary.print(args.markdown);
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scenario_runs_per_protocol_and_rumqttd_over_3_1_1_only() {
        use clap::Parser;

        use crate::cli::{Cli, Command};
        let argv = [
            "hearth-bench",
            "external",
            "--protocol",
            "3.1.1,5",
            "--scenarios",
            "qos0,qos1",
        ];
        let Command::External(args) = Cli::try_parse_from(argv).expect("parses").command else {
            panic!("not external");
        };
        let tools = Tools {
            emqtt_bench: None,
            emqtt_plan: emqtt_bench::plan(&args),
        };
        let mosquitto = BrokerKind::Mosquitto(PathBuf::from("/usr/sbin/mosquitto"));
        let plan = planned(&mosquitto, &args, &tools);
        let shown: Vec<(Generator, &str, &str)> = plan
            .iter()
            .map(|(g, p, s)| (*g, p.word(), s.as_str()))
            .collect();
        let (e, m) = (Generator::EmqttBench, Generator::MosquittoClients);
        assert_eq!(
            shown,
            [
                (e, "3.1.1", "QoS 0 1->1"),
                (e, "5.0", "QoS 0 1->1"),
                (e, "3.1.1", "QoS 1 1->1 stop-and-wait"),
                (e, "5.0", "QoS 1 1->1 stop-and-wait"),
                (m, "3.1.1", "QoS 0 1->1"),
                (m, "5.0", "QoS 0 1->1"),
            ]
        );
        let rumqttd = planned(&BrokerKind::Rumqttd, &args, &tools);
        assert_eq!(rumqttd.len(), 3);
        assert!(rumqttd.iter().all(|(_, p, _)| *p == Protocol::V4));
        assert_eq!(versions(&args.protocol), "3.1.1 and 5.0");
    }

    #[test]
    fn median_and_range() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(range(&[4.0, 1.0, 2.0]), Some((1.0, 4.0)));
        assert_eq!(lost(Some(5), Some(1000)), "5 (0.50%)");
        assert_eq!(lost(Some(0), Some(1000)), "0");
        assert_eq!(times(ratio(Some(3.0), Some(2.0))), "1.50x");
        assert_eq!(times(ratio(Some(3.0), None)), "n/a");
    }
}
