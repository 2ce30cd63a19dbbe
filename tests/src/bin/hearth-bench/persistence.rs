//! `persistence`: what keeping broker state on disk costs. Hearth (an SQLite store, changes
//! folded and committed once per commit interval) against Mosquitto (its whole database
//! written out every `autosave_interval` and at shutdown), each started fresh for each
//! measurement with an empty state directory under `--dir`:
//!
//! - `retained`: bytes written per retained update, then in an idle window;
//! - `queued`: bytes written per QoS 1 message queued for an absent persistent subscriber,
//!   and the drain when it comes back;
//! - `restart`: time from spawn until a broker restarted on a full store accepts
//!   connections and has delivered every retained message;
//! - `strict`: acknowledged QoS 1 messages per second with Hearth's `durable_acks`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::acked_rate;
use crate::brokers::{self, BrokerKind, Listener, Options, Persistence, RunningBroker, ScratchDir};
use crate::cli::{PersistenceArgs, PersistencePart};
use crate::compare;
use crate::disk::{self, Io, Mount};
use crate::machine;
use crate::restart;
use crate::store_writes;

/// Readings of a broker's counters this far apart, while waiting for its writes to stop:
/// above Hearth's default commit interval (1 s), so one commit falls between them.
const SETTLE_EVERY: Duration = Duration::from_millis(1500);
/// A broker still writing after this (Mosquitto saving every second) is read as it is.
const SETTLE_AT_MOST: Duration = Duration::from_millis(4500);

/// One broker with one way of keeping its state.
pub struct Case {
    pub label: &'static str,
    pub kind: BrokerKind,
    pub durable_acks: bool,
    /// Mosquitto's `autosave_interval`; `None` keeps its default.
    pub autosave: Option<u64>,
}

impl Case {
    pub fn hearth(bin: &std::path::Path) -> Case {
        Case {
            label: "hearth",
            kind: BrokerKind::Hearth(bin.to_path_buf()),
            durable_acks: false,
            autosave: None,
        }
    }

    pub fn hearth_strict(bin: &std::path::Path) -> Case {
        Case {
            label: "hearth strict",
            durable_acks: true,
            ..Case::hearth(bin)
        }
    }

    /// Mosquitto with its default autosave_interval (1800 s).
    pub fn mosquitto(bin: &std::path::Path) -> Case {
        Case {
            label: "mosquitto autosave 1800 s",
            kind: BrokerKind::Mosquitto(bin.to_path_buf()),
            durable_acks: false,
            autosave: None,
        }
    }

    /// Mosquitto saving every second: the closest it comes to Hearth's 1 s durability.
    pub fn mosquitto_every_second(bin: &std::path::Path) -> Case {
        Case {
            label: "mosquitto autosave 1 s",
            autosave: Some(1),
            ..Case::mosquitto(bin)
        }
    }

    /// Name of the store file in the state directory (Hearth's `-wal` sits beside it).
    pub fn store_file(&self) -> &'static str {
        match self.kind {
            BrokerKind::Mosquitto(_) => "mosquitto.db",
            _ => "broker.db",
        }
    }

    fn settings(&self) -> String {
        match &self.kind {
            BrokerKind::Hearth(bin) => format!(
                "{} ({}); [gateway] state_dir = a fresh directory per measurement; [broker] \
                 persistence = true, durable_acks = {}, commit_interval 1s and session_expiry \
                 30d (defaults), max_inflight {}, max_queued_messages {}, \
                 max_retained_messages {}",
                bin.display(),
                brokers::hearth_version(bin).unwrap_or_else(|| "version unknown".into()),
                self.durable_acks,
                brokers::MOSQUITTO_MAX_INFLIGHT,
                brokers::MOSQUITTO_MAX_QUEUED,
                brokers::HEARTH_MAX_RETAINED
            ),
            BrokerKind::Mosquitto(bin) => format!(
                "{} ({}); persistence true, persistence_location a fresh directory per \
                 measurement, {}, max_inflight_messages {}, max_queued_messages {}",
                bin.display(),
                brokers::mosquitto_version(bin).unwrap_or_else(|| "version unknown".into()),
                match self.autosave {
                    None => format!(
                        "autosave_interval not set (default {} s: the database is written \
                         every 30 min and at shutdown; a power cut loses up to 30 min)",
                        brokers::MOSQUITTO_AUTOSAVE_DEFAULT
                    ),
                    Some(s) => format!(
                        "autosave_interval {s} (the whole database written out at each save)"
                    ),
                },
                brokers::MOSQUITTO_MAX_INFLIGHT,
                brokers::MOSQUITTO_MAX_QUEUED
            ),
            BrokerKind::Rumqttd => "keeps nothing on disk".to_string(),
        }
    }
}

/// What every measurement shares: the arguments, where configs, logs and state go.
pub struct Bench<'a> {
    pub args: &'a PersistenceArgs,
    pub run_id: String,
    configs: ScratchDir,
    states: ScratchDir,
}

/// A started broker and the state directory it keeps.
pub struct Started {
    pub broker: RunningBroker,
    pub store: Persistence,
}

impl Started {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.broker.port))
    }

    pub fn pid(&self) -> u32 {
        self.broker.pid()
    }
}

impl Bench<'_> {
    /// Starts `case` on an empty state directory named after `tag`.
    pub async fn fresh(&self, case: &Case, tag: &str) -> Result<Started> {
        let dir = self
            .states
            .path
            .join(format!("{tag}-{}", case.label.replace(' ', "-")));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
        }
        let store = Persistence {
            dir,
            durable_acks: case.durable_acks,
            autosave_interval: case.autosave,
        };
        let broker = self.start(case, &store).await?;
        Ok(Started { broker, store })
    }

    /// Starts `case` on the state `store` holds.
    pub async fn start(&self, case: &Case, store: &Persistence) -> Result<RunningBroker> {
        let options = Options {
            persistence: Some(store),
            ..Options::default()
        };
        brokers::start_with(
            &case.kind,
            &Listener::tcp(),
            &self.configs.path,
            Duration::from_secs(self.args.startup_timeout),
            options,
        )
        .await
    }

    /// The broker's counters once it has stopped writing, and whether it had.
    pub async fn settled(&self, pid: u32) -> Result<(Io, bool)> {
        disk::settled(pid, SETTLE_EVERY, SETTLE_AT_MOST).await
    }
}

/// The footnote for a broker that was still writing when its counters were read.
pub fn unsettled_note() -> String {
    format!(
        "still writing {:.1} s after the traffic ended (read then)",
        SETTLE_AT_MOST.as_secs_f64()
    )
}

pub async fn run(args: PersistenceArgs) -> Result<()> {
    if args.topics == 0 || args.update_rate == 0 || args.queued_rate == 0 {
        bail!("--topics, --update-rate and --queued-rate must be at least 1");
    }
    if args.publishers == 0 || args.messages < args.publishers as u64 {
        bail!("--publishers must be at least 1, --messages at least --publishers");
    }
    // Packet ids must not wrap round onto one still unacknowledged.
    if !(1..=usize::from(u16::MAX)).contains(&args.window) {
        bail!("--window must be 1 to 65535");
    }
    if args.retained == 0 {
        bail!("--retained must be at least 1");
    }
    let run_id = compare::run_id();
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let states = ScratchDir::create_in(&args.dir, &format!("persistence-{run_id}"))?;
    let configs = ScratchDir::create(&format!("persistence-configs-{run_id}"))?;
    let mount = disk::mount_of(&states.path)?;
    let bench = Bench {
        args: &args,
        run_id,
        configs,
        states,
    };
    print_header(&bench, &mount);
    let work = async {
        for part in &args.parts {
            let table = match part {
                PersistencePart::Retained => store_writes::retained(&bench).await,
                PersistencePart::Queued => store_writes::queued(&bench).await,
                PersistencePart::Restart => restart::run(&bench).await,
                PersistencePart::Strict => acked_rate::run(&bench).await,
            };
            table.print(args.markdown);
            println!();
        }
        Ok(())
    };
    compare::interruptible(work).await
}

fn print_header(bench: &Bench<'_>, mount: &Mount) {
    let args = bench.args;
    println!("hearth-bench persistence, {}", machine::utc_now());
    println!("machine: {}", machine::description());
    println!(
        "state: under {}, on {}{}",
        bench.states.path.display(),
        mount.describe(),
        if mount.is_memory_backed() {
            "; WARNING: nothing there reaches a block device, so write_bytes stays 0; \
             pick a disk with --dir"
        } else {
            ""
        }
    );
    println!(
        "configs and logs: {} (the broker's log lines count in its write_bytes where that is \
         a disk; no client connects inside a measured window)",
        bench.configs.path.display()
    );
    println!(
        "counters: /proc/PID/io of the broker process. write_bytes: page cache it dirtied, on \
         its way to the block device (without the file system's journal and metadata; a page \
         written again while still dirty counts once); wchar: bytes passed to write(2), its log \
         and eventfd wake-ups included; cancelled: dirty bytes dropped before they reached the \
         device (a file replaced). Settled: read every {:.1} s until write_bytes stops \
         changing, at most {:.1} s.",
        SETTLE_EVERY.as_secs_f64(),
        SETTLE_AT_MOST.as_secs_f64()
    );
    println!(
        "client: raw MQTT 3.1.1 sockets, {} tokio thread(s), TCP_NODELAY",
        args.threads
    );
    println!("settings:");
    let hearth = args.hearth_bin.as_path();
    let mosquitto = args.mosquitto_bin.as_path();
    for case in [
        Case::hearth(hearth),
        Case::hearth_strict(hearth),
        Case::mosquitto(mosquitto),
        Case::mosquitto_every_second(mosquitto),
    ] {
        println!("  {}: {}", case.label, case.settings());
    }
    println!();
}

/// Bytes as KiB with one decimal, or `-`.
pub fn kib(bytes: Option<u64>) -> String {
    bytes.map_or("-".to_string(), |b| format!("{:.1}", b as f64 / 1024.0))
}

/// `total / n` with one decimal, or `-`.
pub fn per(total: u64, n: u64) -> String {
    if n == 0 {
        "-".to_string()
    } else {
        format!("{:.1}", total as f64 / n as f64)
    }
}

/// Sizes of the store file and its `-wal` in `dir`, each `None` when absent.
pub fn store_sizes(dir: &std::path::Path, file: &str) -> (Option<u64>, Option<u64>) {
    let size = |name: PathBuf| std::fs::metadata(name).ok().map(|m| m.len());
    (size(dir.join(file)), size(dir.join(format!("{file}-wal"))))
}
