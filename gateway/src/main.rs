//! `hearth`: the gateway's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use log::LevelFilter;

use gateway::config::Config;
use gateway::daemon::Daemon;

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "Raspberry Pi home-automation gateway with its own MQTT broker"
)]
struct Cli {
    /// Least severe messages to log: error, warn, info, debug or trace.
    #[arg(long, global = true, default_value = "info")]
    log_level: LevelFilter,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Run {
        #[arg(long, short, value_name = "PATH")]
        config: PathBuf,
    },
    /// Check a configuration file and print every problem in it.
    Check {
        #[arg(long, short, value_name = "PATH")]
        config: PathBuf,
    },
}

/// Exit status for a configuration with errors (as `hearth check` documents).
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    gateway::logging::init(cli.log_level);
    match cli.command {
        Command::Check { config } => match Config::load(&config) {
            Ok(_) => {
                println!("{}: configuration is valid", config.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(EXIT_BAD_CONFIG)
            }
        },
        Command::Run { config } => {
            let config = match Config::load(&config) {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{errors}\nnothing was started");
                    return ExitCode::from(EXIT_BAD_CONFIG);
                }
            };
            match run(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    log::error!("{e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hearth")
        .build()?;
    runtime.block_on(async {
        // Handlers go in before anything starts, so an early SIGTERM still stops us cleanly.
        let shutdown = shutdown_signal()?;
        let daemon = Daemon::start(config).await?;
        daemon.run_until(shutdown).await
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, `kill`).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => log::info!("received SIGINT"),
            _ = term.recv() => log::info!("received SIGTERM"),
        }
    })
}
