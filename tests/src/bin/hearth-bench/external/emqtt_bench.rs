//! emqtt-bench (EMQ's MQTT load tool, Erlang) as a generator: subscribers first, until they
//! report `sub total=N`, then one flooding publisher; the figures come from the subscribers'
//! once-a-second `<elapsed> recv total=<n> rate=<r>/sec` lines, and the broker's CPU is read
//! the moment each of those lines arrives, so both cover the same stretch of time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::{sleep_until, timeout_at, Instant};

use super::process::{self, Proc};
use super::{median, Figures, Target};
use crate::cli::{ExternalArgs, ExternalScenario, Protocol};
use crate::cpu;

/// Where the tool is looked for, and built, when `--emqtt-bench` is not given.
pub const DEFAULT_DIR: &str = "/tmp/emqtt-bench";
const TOPIC: &str = "bench/t";

/// One emqtt-bench scenario.
pub struct Scenario {
    pub label: String,
    pub subscribers: usize,
    pub filter: &'static str,
    pub messages: u64,
    pub qos: u8,
}

pub fn plan(args: &ExternalArgs) -> Vec<Scenario> {
    args.scenarios
        .iter()
        .map(|s| match s {
            ExternalScenario::Qos0 => Scenario {
                label: "QoS 0 1->1".to_string(),
                subscribers: 1,
                filter: TOPIC,
                messages: args.messages,
                qos: 0,
            },
            ExternalScenario::Fanout => Scenario {
                label: format!("QoS 0 1->{}", args.subscribers),
                subscribers: args.subscribers,
                filter: "bench/#",
                messages: args.fanout_messages,
                qos: 0,
            },
            ExternalScenario::Qos1 => Scenario {
                label: "QoS 1 1->1 stop-and-wait".to_string(),
                subscribers: 1,
                filter: TOPIC,
                messages: args.qos1_messages,
                qos: 1,
            },
        })
        .collect()
}

/// The tool to run: `--emqtt-bench`, or `/tmp/emqtt-bench/emqtt_bench`, built first with
/// `--emqtt-bench-build` if it is not there yet (the script prints the tool's path last).
pub fn locate(args: &ExternalArgs) -> Result<PathBuf> {
    if let Some(path) = &args.emqtt_bench {
        if !path.is_file() {
            bail!("emqtt-bench: {} does not exist", path.display());
        }
        return Ok(path.clone());
    }
    let default = Path::new(DEFAULT_DIR).join("emqtt_bench");
    if default.is_file() {
        return Ok(default);
    }
    let script = &args.emqtt_bench_build;
    let shown = process::command_line(script, &[DEFAULT_DIR.to_string()]);
    eprintln!("building emqtt-bench: {shown}");
    let out = Command::new(script)
        .arg(DEFAULT_DIR)
        .output()
        .with_context(|| format!("emqtt-bench: cannot run its build script `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        bail!(
            "emqtt-bench: `{shown}` failed ({}); it needs \
             `apt-get install -y erlang-nox erlang-dev erlang-getopt`; its output ends with: {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    let built = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| PathBuf::from(l.trim()))
        .ok_or_else(|| anyhow!("emqtt-bench: `{shown}` printed no path"))?;
    if !built.is_file() {
        bail!(
            "emqtt-bench: `{shown}` printed {}, which does not exist",
            built.display()
        );
    }
    Ok(built)
}

/// What the tool says it is: the comment line its build script writes into it.
pub fn version(bin: &Path) -> String {
    std::fs::read_to_string(bin)
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("%% emqtt-bench"))
                .map(|l| l.trim_start_matches('%').trim().to_string())
        })
        .unwrap_or_else(|| "version unknown".to_string())
}

/// A line of emqtt-bench's output, as the reader thread saw it.
enum Event {
    /// `<elapsed> <name> total=<n> rate=<r>/sec`, read at `at`, with the broker's CPU
    /// seconds read at that moment (for `recv` lines only).
    Stat {
        name: String,
        total: u64,
        rate: f64,
        at: Instant,
        broker_cpu: Option<f64>,
    },
    Line(String),
    Eof,
}

/// One `recv` line of the subscribers.
struct Sample {
    total: u64,
    rate: f64,
    broker_cpu: Option<f64>,
}

/// `(name, total, rate)` of a `<elapsed> <name> total=<n> rate=<r>/sec` line (the elapsed
/// time is empty in the first second).
fn parse_stat(line: &str) -> Option<(&str, u64, f64)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [.., name, total, rate] = words.as_slice() else {
        return None;
    };
    let total = total.strip_prefix("total=")?.parse().ok()?;
    let rate = rate
        .strip_prefix("rate=")?
        .strip_suffix("/sec")?
        .parse()
        .ok()?;
    Some((name, total, rate))
}

/// Counters whose change means the clients did not get in.
fn is_failure(name: &str) -> bool {
    matches!(
        name,
        "sub_fail"
            | "connect_fail"
            | "unreachable"
            | "connection_refused"
            | "connection_timeout"
            | "pub_fail"
    )
}

/// A reader for emqtt-bench's stdout: every line becomes an event; `recv` lines also carry
/// the broker's CPU, read as the line arrives. Per-second counters are not kept for error
/// messages, other lines are.
fn reader(
    tx: UnboundedSender<Event>,
    broker_pid: u32,
) -> impl FnMut(Option<&str>) -> bool + Send + 'static {
    move |line| {
        let Some(line) = line else {
            let _ = tx.send(Event::Eof);
            return false;
        };
        let at = Instant::now();
        match parse_stat(line) {
            Some((name, total, rate)) => {
                let broker_cpu = if name == "recv" {
                    cpu::seconds_of(broker_pid)
                } else {
                    None
                };
                let _ = tx.send(Event::Stat {
                    name: name.to_string(),
                    total,
                    rate,
                    at,
                    broker_cpu,
                });
                is_failure(name)
            }
            None => {
                let _ = tx.send(Event::Line(line.to_string()));
                true
            }
        }
    }
}

/// Mode, broker and MQTT version (`-V 4` or `-V 5`), as both tool processes take them.
fn common(mode: &str, port: u16, protocol: Protocol) -> Vec<String> {
    let version = match protocol {
        Protocol::V4 => "4",
        Protocol::V5 => "5",
    };
    [
        mode,
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-V",
        version,
    ]
    .map(String::from)
    .to_vec()
}

/// Runs one scenario against the broker in `target`.
pub async fn run(bin: &Path, target: &Target<'_>, scenario: &Scenario) -> Result<Figures> {
    let broker = target.broker;
    let mut sub_args = common("sub", target.port, target.protocol);
    sub_args.extend(
        [
            "-c",
            &scenario.subscribers.to_string(),
            "-t",
            scenario.filter,
            "-q",
            &scenario.qos.to_string(),
        ]
        .map(String::from),
    );
    let (sub_tx, mut sub_rx) = unbounded_channel();
    let mut sub = Proc::spawn(
        format!("emqtt-bench sub ({broker})"),
        bin,
        &sub_args,
        false,
        reader(sub_tx, target.pid),
    )?;
    subscribed(&sub, &mut sub_rx, scenario.subscribers, target.startup).await?;

    let cpu_start = cpu::seconds_of(target.pid);
    let mut pub_args = common("pub", target.port, target.protocol);
    pub_args.extend(
        [
            "-c",
            "1",
            "-I",
            "0",
            "-t",
            TOPIC,
            "-s",
            &target.args.payload.to_string(),
            "-q",
            &scenario.qos.to_string(),
            "-L",
            &scenario.messages.to_string(),
        ]
        .map(String::from),
    );
    let (pub_tx, mut pub_rx) = unbounded_channel();
    let mut publisher = Proc::spawn(
        format!("emqtt-bench pub ({broker})"),
        bin,
        &pub_args,
        false,
        reader(pub_tx, target.pid),
    )?;

    let expected_all = scenario.messages * scenario.subscribers as u64;
    let hard = Instant::now() + target.timeout;
    let drain = target.drain_idle;
    let mut samples: Vec<Sample> = Vec::new();
    let mut notes = Vec::new();
    let (mut pub_exited, mut complete, mut pub_total) = (false, false, 0u64);
    let mut last_activity = Instant::now();
    loop {
        let wake = if pub_exited {
            (last_activity + drain).min(hard)
        } else {
            hard
        };
        tokio::select! {
            event = sub_rx.recv() => match event {
                Some(Event::Stat { name, total, rate, at, broker_cpu }) if name == "recv" => {
                    last_activity = at;
                    samples.push(Sample { total, rate, broker_cpu });
                    if total >= expected_all {
                        break;
                    }
                }
                Some(Event::Stat { name, total, .. }) if is_failure(&name) => {
                    notes.push(format!("subscribers reported {name} total={total}"));
                }
                Some(Event::Eof) | None => {
                    return Err(sub.error("exited while messages were flowing"));
                }
                Some(_) => {}
            },
            event = pub_rx.recv(), if !pub_exited => match event {
                Some(Event::Stat { name, total, .. }) if name == "pub" => pub_total = total,
                Some(Event::Stat { name, total, .. }) if is_failure(&name) => {
                    notes.push(format!("publisher reported {name} total={total}"));
                }
                Some(Event::Line(line)) if line.contains("publish complete") => complete = true,
                Some(Event::Eof) | None => {
                    // Reaped at once; the subscribers may take a while yet.
                    let status = publisher.wait_exit(Duration::from_secs(3)).await?;
                    if !status.success() {
                        return Err(publisher.error(format!("exited with {status}")));
                    }
                    pub_exited = true;
                    last_activity = Instant::now();
                }
                Some(_) => {}
            },
            () = sleep_until(wake) => {
                if Instant::now() >= hard {
                    notes.push(format!(
                        "stopped at the scenario timeout of {} s",
                        target.timeout.as_secs()
                    ));
                }
                break;
            }
        }
    }
    let cpu_end = cpu::seconds_of(target.pid);
    sub.stop(Duration::from_secs(3)).await?;
    if !pub_exited {
        publisher.stop(Duration::from_secs(3)).await?;
    }
    if !complete {
        if pub_exited {
            return Err(publisher.error("exited without `publish complete`"));
        }
        notes.push(format!(
            "the publisher had not finished; sent is its last `pub total`, {pub_total}"
        ));
    }
    let sent = if complete {
        scenario.messages
    } else {
        pub_total
    };
    let received = samples.last().map_or(0, |s| s.total);
    let expected = sent * scenario.subscribers as u64;
    if received > expected {
        notes.push(format!(
            "{} more received than sent to each subscriber",
            received - expected
        ));
    }
    let mut figures = Figures {
        sent: Some(sent),
        expected: Some(expected),
        received: Some(received),
        notes,
        ..Figures::default()
    };
    steady(&samples, &mut figures);
    if figures.rate.is_none() {
        figures.notes.push(format!(
            "only {} per-second lines, too few for steady rates (raise the message count); \
             CPU is over the whole scenario",
            samples.len()
        ));
        if let (Some(a), Some(b)) = (cpu_start, cpu_end) {
            if received > 0 {
                figures.cpu_us = Some((b - a) * 1e6 / received as f64);
            }
        }
    }
    Ok(figures)
}

/// The steady figures, from the per-second lines without the first and the last (partial
/// seconds): median and range of their rates, and the broker's CPU per message over the
/// same stretch (from the first line, where the first kept second starts, to the
/// second-to-last, where the last kept one ends).
fn steady(samples: &[Sample], figures: &mut Figures) {
    let n = samples.len();
    if n < 3 {
        return;
    }
    let rates: Vec<f64> = samples[1..n - 1].iter().map(|s| s.rate).collect();
    figures.rate = median(&rates);
    figures.rate_range = rates
        .iter()
        .copied()
        .fold(None, |range: Option<(f64, f64)>, r| {
            Some(range.map_or((r, r), |(lo, hi)| (lo.min(r), hi.max(r))))
        });
    figures.samples = Some(rates.len());
    let (from, to) = (&samples[0], &samples[n - 2]);
    let messages = to.total.saturating_sub(from.total);
    if let (Some(a), Some(b)) = (from.broker_cpu, to.broker_cpu) {
        if messages > 0 {
            figures.cpu_us = Some((b - a) * 1e6 / messages as f64);
        }
    }
}

/// Waits, on the subscribers' own output, until they report `sub total=N`.
async fn subscribed(
    sub: &Proc,
    events: &mut UnboundedReceiver<Event>,
    subscribers: usize,
    within: Duration,
) -> Result<()> {
    let until = Instant::now() + within;
    loop {
        match timeout_at(until, events.recv()).await {
            Err(_) => {
                return Err(sub.error(format!(
                    "did not report `sub total={subscribers}` within {} s",
                    within.as_secs()
                )))
            }
            Ok(None | Some(Event::Eof)) => {
                return Err(sub.error("exited before its clients had subscribed"))
            }
            Ok(Some(Event::Stat { name, total, .. })) if name == "sub" => {
                if total >= subscribers as u64 {
                    return Ok(());
                }
            }
            Ok(Some(Event::Stat { name, total, .. })) if is_failure(&name) => {
                return Err(sub.error(format!("reported {name} total={total}")))
            }
            Ok(Some(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tools_get_the_protocol_version() {
        assert_eq!(
            common("sub", 1883, Protocol::V5),
            ["sub", "-h", "127.0.0.1", "-p", "1883", "-V", "5"]
        );
        assert_eq!(common("pub", 1884, Protocol::V4)[5..], ["-V", "4"]);
    }

    #[test]
    fn parses_per_second_lines() {
        assert_eq!(
            parse_stat("3s recv total=25966 rate=8640.93/sec"),
            Some(("recv", 25966, 8640.93))
        );
        assert_eq!(
            parse_stat("1m5s sub total=50 rate=50.00/sec"),
            Some(("sub", 50, 50.0))
        );
        assert_eq!(
            parse_stat(" connect_succ total=1 rate=1.00/sec"),
            Some(("connect_succ", 1, 1.0))
        );
        assert_eq!(parse_stat("publish complete"), None);
        assert_eq!(
            parse_stat("Start with 1 workers, addrs pool size: 1 and req interval: 10 ms"),
            None
        );
    }

    #[test]
    fn steady_drops_first_and_last_seconds() {
        let s = |total, rate, cpu| Sample {
            total,
            rate,
            broker_cpu: Some(cpu),
        };
        let samples = [
            s(100, 10.0, 1.0),
            s(1100, 1000.0, 1.5),
            s(2300, 1200.0, 2.0),
            s(3200, 900.0, 2.5),
            s(3300, 100.0, 2.6),
        ];
        let mut f = Figures::default();
        steady(&samples, &mut f);
        assert_eq!(f.rate, Some(1000.0));
        assert_eq!(f.rate_range, Some((900.0, 1200.0)));
        assert_eq!(f.samples, Some(3));
        // 1.5 s of CPU for the 3,100 messages from the first line to the fourth.
        let cpu = f.cpu_us.unwrap();
        assert!((cpu - 1.5e6 / 3100.0).abs() < 1e-6, "{cpu}");
        let mut f = Figures::default();
        steady(&samples[..2], &mut f);
        assert_eq!((f.rate, f.cpu_us), (None, None));
    }
}
