//! `hearth`: the gateway's command line.

use std::path::{Path, PathBuf};
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
    /// Work with the rules of a configuration.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Add a user to the broker's password file, or change its password (asked twice, not
    /// shown); with -D, delete the user. The file is created (mode 0640) if missing;
    /// `mosquitto_passwd` files work as they are.
    Passwd {
        /// Delete USER instead.
        #[arg(short = 'D', long, conflicts_with = "stdin")]
        delete: bool,
        /// Read the password from one line of standard input, for scripts (not asked twice).
        #[arg(long)]
        stdin: bool,
        /// The password file (Mosquitto's format: `user:hash` lines).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The user name clients send in CONNECT.
        #[arg(value_name = "USER")]
        user: String,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Replay recorded messages through the rules and print what would have fired, and when.
    /// Nothing is published and nothing is switched.
    ///
    /// Record with: mosquitto_sub -v -F '%U %t %p' -t '#' > recording.txt
    Test {
        #[arg(long, short, value_name = "PATH")]
        config: PathBuf,
        /// Lines of `TIME TOPIC PAYLOAD`; TIME is Unix seconds (`%U`), ISO 8601 (`%I`), or an
        /// offset such as `90s` from the start of a hand-written file.
        #[arg(long, value_name = "FILE")]
        replay: PathBuf,
    },
}

/// Exit status for a configuration with errors (as `hearth check` documents).
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    gateway::logging::init(cli.log_level);
    let outcome = match cli.command {
        Command::Check { config } => load(&config, "").and_then(|loaded| {
            // The broker copes with a state directory it cannot write (it runs from memory),
            // so only `check` refuses one.
            let store_dir = loaded
                .broker
                .persistence
                .as_ref()
                .and_then(|p| p.path.parent());
            if let Some(Err(why)) = store_dir.map(gateway::state_dir::check_writable) {
                eprintln!("{}: {why}", config.display());
                return Err(ExitCode::from(EXIT_BAD_CONFIG));
            }
            println!("{}: configuration is valid", config.display());
            Ok(())
        }),
        Command::Rules(RulesCommand::Test { config, replay }) => rules_test(&config, &replay),
        Command::Passwd {
            delete,
            stdin,
            file,
            user,
        } => passwd(&file, &user, delete, stdin),
        Command::Run { config: path } => load(&path, "\nnothing was started").and_then(|config| {
            run(config, path).map_err(|e| {
                log::error!("{e:#}");
                ExitCode::FAILURE
            })
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Reads the configuration, or prints every error in it (then `after`) and gives the exit
/// status for bad input.
fn load(path: &Path, after: &str) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|errors| {
        eprintln!("{errors}{after}");
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

fn rules_test(config: &Path, replay: &Path) -> Result<(), ExitCode> {
    let config = load(config, "")?;
    let bad_recording = |why: String| {
        eprintln!("{}: {why}", replay.display());
        ExitCode::from(EXIT_BAD_CONFIG)
    };
    let recording = std::fs::read_to_string(replay)
        .map_err(|e| bad_recording(format!("cannot read the recording: {e}")))?;
    let report = gateway::dry_run::report(config.rules, &recording)
        .map_err(|e| bad_recording(e.to_string()))?;
    print!("{report}");
    Ok(())
}

fn passwd(file: &Path, user: &str, delete: bool, stdin: bool) -> Result<(), ExitCode> {
    use gateway::passwd::{self, PasswordSource};
    let done = if delete {
        passwd::delete(file, user)
    } else if stdin {
        passwd::set(
            file,
            user,
            PasswordSource::Line(&mut std::io::stdin().lock()),
        )
    } else {
        passwd::set(
            file,
            user,
            PasswordSource::Prompt(&mut passwd::terminal_prompt),
        )
    };
    done.map(|done| println!("{done}")).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(e.exit_code())
    })
}

fn run(config: Config, path: PathBuf) -> anyhow::Result<()> {
    // Before anything opens descriptors: each client needs one.
    gateway::fd_limit::raise_for(config.broker.max_clients);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hearth")
        .build()?;
    runtime.block_on(async {
        // Handlers go in before anything starts, so an early SIGTERM still stops us cleanly.
        let shutdown = shutdown_signal()?;
        let reloads = reload_on_hangup(path)?;
        let notifier = Notifier::from_env();
        let daemon = Daemon::start(config).await?;
        daemon.run_until(shutdown, reloads, &notifier).await
    })
}

/// On each SIGHUP (`systemctl reload hearth`) reads the configuration again; a file with errors
/// is reported and the running configuration carries on.
fn reload_on_hangup(path: PathBuf) -> anyhow::Result<tokio::sync::mpsc::Receiver<Config>> {
    use anyhow::Context;
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let (reloads, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            log::info!("received SIGHUP; reloading {}", path.display());
            match Config::load(&path) {
                Ok(config) => {
                    if reloads.send(config).await.is_err() {
                        return;
                    }
                }
                Err(errors) => log::error!("{errors}\nthe running configuration carries on"),
            }
        }
    });
    Ok(rx)
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
