//! `connect-rate`: CONNECTs per second with password verification, Mosquitto and Hearth
//! started in turn on the same password file, each case on a freshly started broker so that
//! nothing is cached from an earlier one.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use tests::encode::{self, Connect};
use tokio::time::Instant;

use crate::brokers::{self, BrokerKind, Listener, Options, ScratchDir};
use crate::cli::ConnectRateArgs;
use crate::compare;
use crate::cpu;
use crate::machine;
use crate::passwords;
use crate::raw_conn::Conn;
use crate::stats;
use crate::table::{self, Table};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Pbkdf2,
    Argon2id,
}

impl Scheme {
    fn label(self) -> &'static str {
        match self {
            Scheme::Pbkdf2 => "$7$",
            Scheme::Argon2id => "argon2id",
        }
    }
}

struct Case {
    scheme: Scheme,
    /// Every CONNECT as the same user (after one untimed CONNECT), instead of one per user.
    same_user: bool,
}

impl Case {
    fn label(&self) -> String {
        let users = if self.same_user {
            "one user reconnecting"
        } else {
            "distinct users, cold"
        };
        format!("{}, {users}", self.scheme.label())
    }
}

const CASES: [Case; 4] = [
    Case {
        scheme: Scheme::Pbkdf2,
        same_user: false,
    },
    Case {
        scheme: Scheme::Argon2id,
        same_user: false,
    },
    Case {
        scheme: Scheme::Pbkdf2,
        same_user: true,
    },
    Case {
        scheme: Scheme::Argon2id,
        same_user: true,
    },
];

const MOSQUITTO_ARGON2ID: &str = "Mosquitto 2.0.11 cannot read argon2id hashes: Hearth only";

/// One case on one freshly started broker.
struct Round {
    connects: u64,
    failures: u64,
    first_failure: Option<String>,
    seconds: f64,
    latency_us: Histogram<u64>,
    broker_cpu: Option<f64>,
    bench_cpu: Option<f64>,
}

impl Round {
    fn rate(&self) -> Option<f64> {
        (self.seconds > 0.0 && self.connects > 0).then(|| self.connects as f64 / self.seconds)
    }
}

/// All rounds of one case on one broker, or why there are none.
#[derive(Default)]
struct Cell {
    rounds: Vec<Round>,
    errors: Vec<String>,
}

impl Cell {
    fn connects(&self) -> u64 {
        self.rounds.iter().map(|r| r.connects).sum()
    }

    /// The median round's rate, and the lowest and highest.
    fn rates(&self) -> Option<(f64, f64, f64)> {
        let mut rates: Vec<f64> = self.rounds.iter().filter_map(Round::rate).collect();
        if rates.is_empty() {
            return None;
        }
        rates.sort_by(f64::total_cmp);
        let mid = rates.len() / 2;
        let median = if rates.len() % 2 == 1 {
            rates[mid]
        } else {
            (rates[mid - 1] + rates[mid]) / 2.0
        };
        Some((median, rates[0], rates[rates.len() - 1]))
    }

    fn latency_ms(&self, quantile: f64) -> Option<f64> {
        let mut all = stats::latency_histogram().ok()?;
        for r in &self.rounds {
            all.add(&r.latency_us).ok()?;
        }
        (!all.is_empty()).then(|| all.value_at_quantile(quantile) as f64 / 1000.0)
    }

    /// CPU milliseconds per CONNECT over all rounds.
    fn cpu_ms_per_connect(&self, of: impl Fn(&Round) -> Option<f64>) -> Option<f64> {
        let connects = self.connects();
        let seconds: Option<f64> = self.rounds.iter().map(of).sum();
        (connects > 0).then_some(())?;
        seconds.map(|s| s * 1000.0 / connects as f64)
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = self.errors.clone();
        let failures: u64 = self.rounds.iter().map(|r| r.failures).sum();
        if failures > 0 {
            let first = self
                .rounds
                .iter()
                .find_map(|r| r.first_failure.clone())
                .unwrap_or_default();
            notes.push(format!("{failures} CONNECTs failed, first: {first}"));
        }
        notes
    }
}

pub async fn run(args: ConnectRateArgs) -> Result<()> {
    if args.clients == 0 || args.concurrency == 0 || args.rounds == 0 {
        bail!("--clients, --concurrency and --rounds must be at least 1");
    }
    let run_id = compare::run_id();
    let dir = ScratchDir::create(&format!("connect-rate-{run_id}"))?;
    let users: Vec<String> = (0..args.clients).map(|i| format!("bench{i:04}")).collect();
    eprintln!("writing password files for {} users", users.len());
    let pbkdf2_file = passwords::write_mosquitto(
        &args.brokers.mosquitto_passwd,
        &dir.path.join("passwd-7"),
        &users,
    )?;
    let argon2id_file = passwords::write_argon2id(&dir.path.join("passwd-argon2id"), &users)?;
    let brokers = [
        BrokerKind::Mosquitto(args.brokers.mosquitto_bin.clone()),
        BrokerKind::Hearth(args.brokers.hearth_bin.clone()),
    ];
    print_header(&args, &pbkdf2_file)?;

    let file_of = |scheme: Scheme| match scheme {
        Scheme::Pbkdf2 => pbkdf2_file.as_path(),
        Scheme::Argon2id => argon2id_file.as_path(),
    };
    let startup = Duration::from_secs(args.brokers.startup_timeout);
    let work = async {
        let mut cells: Vec<[Cell; 2]> = CASES.iter().map(|_| Default::default()).collect();
        for round in 1..=args.rounds {
            for (case, cell) in CASES.iter().zip(cells.iter_mut()) {
                for (kind, cell) in brokers.iter().zip(cell.iter_mut()) {
                    if matches!(kind, BrokerKind::Mosquitto(_)) && case.scheme == Scheme::Argon2id {
                        continue;
                    }
                    eprintln!(
                        "  round {round}/{}: {}: {}",
                        args.rounds,
                        kind.name(),
                        case.label()
                    );
                    match one_round(
                        kind,
                        &dir.path,
                        startup,
                        file_of(case.scheme),
                        case,
                        &args,
                        &users,
                    )
                    .await
                    {
                        Ok(r) => {
                            eprintln!(
                                "    {} CONNECTs in {:.3} s: {}/s; cpu broker {}, bench {}{}",
                                r.connects,
                                r.seconds,
                                table::rate(r.rate()),
                                seconds(r.broker_cpu),
                                seconds(r.bench_cpu),
                                if r.failures > 0 {
                                    format!("; {} failed", r.failures)
                                } else {
                                    String::new()
                                }
                            );
                            cell.rounds.push(r);
                        }
                        Err(e) => {
                            eprintln!("    {e:#}");
                            cell.errors.push(format!("{e:#}").replace('\n', " | "));
                        }
                    }
                }
            }
        }
        Ok(cells)
    };
    let cells = compare::interruptible(work).await?;
    print_tables(&cells, args.markdown);
    Ok(())
}

async fn one_round(
    kind: &BrokerKind,
    dir: &Path,
    startup: Duration,
    password_file: &Path,
    case: &Case,
    args: &ConnectRateArgs,
    users: &[String],
) -> Result<Round> {
    // Dropped at the end of this function, which stops the broker.
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
    if case.same_user {
        // The one CONNECT after which Hearth has the credentials cached.
        connect_once(addr, "warm-up", &users[0], timeout)
            .await
            .context("the untimed first CONNECT")?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let users: Arc<Vec<String>> = Arc::new(if case.same_user {
        vec![users[0].clone()]
    } else {
        users.to_vec()
    });
    let total = args.clients;
    let (broker_before, bench_before) = (
        cpu::precise_seconds(Some(broker.pid())),
        cpu::precise_seconds(None),
    );
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.min(total) {
        let (next, users) = (next.clone(), users.clone());
        workers.push(tokio::spawn(async move {
            let mut latency = stats::latency_histogram()?;
            let (mut failures, mut first_failure) = (0u64, None);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let user = &users[i % users.len()];
                match connect_once(addr, &format!("cr-{i}"), user, timeout).await {
                    Ok(took) => {
                        latency.saturating_record(took.as_micros().try_into().unwrap_or(u64::MAX))
                    }
                    Err(e) => {
                        failures += 1;
                        first_failure.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            anyhow::Ok((latency, failures, first_failure))
        }));
    }
    let mut round = Round {
        connects: 0,
        failures: 0,
        first_failure: None,
        seconds: 0.0,
        latency_us: stats::latency_histogram()?,
        broker_cpu: None,
        bench_cpu: None,
    };
    for worker in workers {
        let (latency, failures, first_failure) = worker.await.context("a client task failed")??;
        round
            .latency_us
            .add(&latency)
            .context("merging latencies")?;
        round.failures += failures;
        if round.first_failure.is_none() {
            round.first_failure = first_failure;
        }
    }
    round.seconds = started.elapsed().as_secs_f64();
    round.connects = round.latency_us.len();
    let spent = |before: Option<f64>, now: Option<f64>| Some(now? - before?);
    round.broker_cpu = spent(broker_before, cpu::precise_seconds(Some(broker.pid())));
    round.bench_cpu = spent(bench_before, cpu::precise_seconds(None));
    Ok(round)
}

/// TCP connect, CONNECT with credentials, CONNACK 0: the time that took. Then DISCONNECT and
/// close.
async fn connect_once(
    addr: SocketAddr,
    client_id: &str,
    user: &str,
    timeout: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    let connect = Connect::new(client_id)
        .keep_alive(15)
        .credentials(user, passwords::password_of(user));
    let (mut conn, _) = Conn::handshake(addr, &connect, started + timeout)
        .await
        .with_context(|| format!("user {user}"))?;
    let took = started.elapsed();
    conn.send(&encode::disconnect()).await?;
    Ok(took)
}

fn seconds(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |v| format!("{v:.2} s"))
}

fn print_header(args: &ConnectRateArgs, pbkdf2_file: &Path) -> Result<()> {
    let mosquitto = &args.brokers.mosquitto_bin;
    let version = brokers::mosquitto_version(mosquitto).unwrap_or_else(|| "version unknown".into());
    println!("hearth-bench connect-rate, {}", machine::utc_now());
    println!("machine: {}", machine::description());
    println!(
        "load: {} CONNECTs per case and round, {} in flight at once, {} round(s); every case \
         on a freshly started broker; `one user reconnecting` makes one untimed CONNECT first",
        args.clients, args.concurrency, args.rounds
    );
    println!(
        "client: raw MQTT 3.1.1 sockets, {} tokio thread(s), TCP_NODELAY; CONNECT clean session, \
         keep alive 15, user name and password; counted at CONNACK 0, then DISCONNECT and close; \
         latency from TCP connect to CONNACK",
        args.threads
    );
    println!(
        "passwords: $7$ written by {} -b ({}), read by both; argon2id written as \
         `hearth passwd` does (m={} KiB, t={}, p={})",
        args.brokers.mosquitto_passwd.display(),
        pbkdf2_iterations(pbkdf2_file)?,
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
        "cpu: broker and bench time on CPU over the timed CONNECTs, all threads, from \
         /proc/PID/task/*/schedstat, summed over the rounds"
    );
    println!();
    Ok(())
}

/// `PBKDF2-SHA512, 101 iterations`, from the first line of a `$7$` file.
fn pbkdf2_iterations(path: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let iterations = text
        .lines()
        .next()
        .and_then(|l| l.split('$').nth(2))
        .unwrap_or("?");
    Ok(format!("PBKDF2-SHA512, {iterations} iterations"))
}

fn print_tables(cells: &[[Cell; 2]], markdown: bool) {
    let mut table = Table::new(
        &[
            "broker",
            "case",
            "CONNECTs",
            "CONNECTs/s",
            "lowest-highest/s",
            "p50 ms",
            "p99 ms",
            "broker CPU ms/CONNECT",
            "bench CPU ms/CONNECT",
        ],
        2,
    );
    let mut ratios = Table::new(
        &[
            "case",
            "CONNECTs/s hearth/mosquitto",
            "p99 hearth/mosquitto",
            "broker CPU per CONNECT hearth/mosquitto",
        ],
        1,
    );
    for (case, pair) in CASES.iter().zip(cells) {
        for (name, cell) in ["mosquitto", "hearth"].iter().zip(pair) {
            let mut notes = cell.notes();
            if *name == "mosquitto" && case.scheme == Scheme::Argon2id {
                notes.push(MOSQUITTO_ARGON2ID.to_string());
            }
            let rates = cell.rates();
            table.row(
                vec![
                    name.to_string(),
                    case.label(),
                    if cell.rounds.is_empty() {
                        "-".to_string()
                    } else {
                        cell.connects().to_string()
                    },
                    table::rate(rates.map(|r| r.0)),
                    rates.map_or("-".into(), |(_, lo, hi)| format!("{lo:.0}-{hi:.0}")),
                    table::ms(cell.latency_ms(0.5), 2),
                    table::ms(cell.latency_ms(0.99), 2),
                    table::ms(cell.cpu_ms_per_connect(|r| r.broker_cpu), 3),
                    table::ms(cell.cpu_ms_per_connect(|r| r.bench_cpu), 3),
                ],
                &notes,
            );
        }
        let [m, h] = pair;
        let notes = if case.scheme == Scheme::Argon2id {
            vec![MOSQUITTO_ARGON2ID.to_string()]
        } else {
            Vec::new()
        };
        ratios.row(
            vec![
                case.label(),
                table::ratio(h.rates().map(|r| r.0), m.rates().map(|r| r.0)),
                table::ratio(h.latency_ms(0.99), m.latency_ms(0.99)),
                table::ratio(
                    h.cpu_ms_per_connect(|r| r.broker_cpu),
                    m.cpu_ms_per_connect(|r| r.broker_cpu),
                ),
            ],
            &notes,
        );
    }
    table.print(markdown);
    println!();
    ratios.print(markdown);
}
