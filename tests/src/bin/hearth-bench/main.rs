//! Throughput and latency benchmark for MQTT 3.1.1 and 5.0 brokers over TCP, WebSocket and TLS.
//!
//! `run` drives one broker that is already listening, `compare` starts
//! Mosquitto, an embedded rumqttd and optionally Hearth one after the other
//! and drives each, with rumqttc's 3.1.1 or 5.0 client or both (`--protocol`);
//! `serve-rumqttd` is the embedded peer broker itself. `--transport` picks TCP, WebSocket,
//! TLS or WebSocket over TLS. `idle-rss` measures the memory a connected, idle client costs
//! each broker; `connect-rate` and `storm` start Mosquitto and Hearth in
//! turn with password files and time CONNECTs; `persistence` measures what each broker
//! writes to disk to keep its state, and how fast it restarts on it. `external` starts
//! Mosquitto, rumqttd (with `--features rumqttd`) and Hearth in turn and drives each with
//! load generators that are not ours: emqtt-bench and Debian's mosquitto_pub/mosquitto_sub.

mod acked_rate;
mod brokers;
mod child_exit;
mod cli;
mod client;
mod clock;
mod compare;
mod conn;
mod connect_rate;
mod cpu;
mod disk;
#[cfg(feature = "rumqttd")]
mod embedded;
mod external;
mod idle_rss;
mod latency;
mod machine;
mod monitor;
mod passwords;
mod payload;
mod persistence;
mod pipeline;
mod publisher;
mod raw_conn;
mod restart;
mod rss;
mod rule_latency;
mod scenario;
mod sensor_latency;
mod stats;
mod store_writes;
mod storm;
mod subscriber;
mod table;
mod tls;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{Cli, Command};

fn main() -> Result<()> {
    // Start the shared clock before anything is timed against it.
    clock::now_ns();
    let cli = Cli::parse();
    match cli.command {
        #[cfg(feature = "rumqttd")]
        Command::ServeRumqttd(args) => embedded::serve(args.port),
        #[cfg(not(feature = "rumqttd"))]
        Command::ServeRumqttd(_) => {
            anyhow::bail!(
                "this hearth-bench was built without rumqttd; rebuild with `--features rumqttd`"
            )
        }
        Command::Run(args) => runtime(args.load.threads)?.block_on(compare::run_one(args)),
        Command::Compare(args) => runtime(args.load.threads)?.block_on(compare::run_all(args)),
        Command::IdleRss(args) => runtime(2)?.block_on(idle_rss::run(args)),
        Command::SensorLatency(args) => runtime(1)?.block_on(sensor_latency::run(args)),
        Command::RuleLatency(args) => runtime(1)?.block_on(rule_latency::run(args)),
        Command::ConnectRate(args) => runtime(args.threads)?.block_on(connect_rate::run(args)),
        Command::Storm(args) => runtime(args.threads)?.block_on(storm::run(args)),
        Command::Persistence(args) => runtime(args.threads)?.block_on(persistence::run(args)),
        Command::External(args) => runtime(1)?.block_on(external::run(args)),
        Command::RuleConfig { filler, rooms } => {
            print!("{}", rule_latency::config(filler, rooms));
            Ok(())
        }
    }
}

/// One shared runtime for publisher and subscribers, sized small so the
/// broker under test keeps a fair share of the machine's cores.
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .context("building the tokio runtime")
}
