//! `hearth`: the gateway's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use log::LevelFilter;

use gateway::config::Config;
use gateway::daemon::Daemon;
use gateway::systemd::Notifier;

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
        tokio::spawn(hangup_signal()?);
        let notifier = Notifier::from_env();
        let daemon = Daemon::start(config).await?;
        daemon.run_until(shutdown, &notifier).await
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

/// Logs each SIGHUP (`systemctl reload`), whose default action would otherwise end the process.
/// Reloading the configuration will hook in here.
fn hangup_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    Ok(async move {
        while hup.recv().await.is_some() {
            log::info!("received SIGHUP; reloading is not supported yet, restart to apply changes");
        }
    })
}
