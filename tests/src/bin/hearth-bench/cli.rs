//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "hearth-bench",
    about = "Throughput and latency benchmark for MQTT 3.1.1 and 5.0 brokers over TCP, WebSocket and TLS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Drive one broker that is already listening.
    Run(RunArgs),
    /// Start Mosquitto, rumqttd and optionally Hearth in turn and drive each.
    Compare(CompareArgs),
    /// Run an embedded rumqttd 0.20 broker on 127.0.0.1 in the foreground.
    ServeRumqttd(ServeArgs),
    /// Time a simulated sensor's value change until it reaches a subscriber.
    SensorLatency(SensorLatencyArgs),
    /// Time a reading that crosses a rule's threshold until the rule's action reaches a
    /// subscriber, through a running gateway configured by `rule-config`.
    RuleLatency(RuleLatencyArgs),
    /// Resident memory per idle connected client, for Mosquitto and Hearth, over tcp and tls.
    IdleRss(IdleRssArgs),
    /// CONNECTs per second with password checks, Mosquitto and Hearth started in turn.
    ConnectRate(ConnectRateArgs),
    /// Nodes with passwords reconnecting all at once while a client's QoS 1 messages flow,
    /// Mosquitto and Hearth started in turn.
    Storm(StormArgs),
    /// What keeping state on disk costs: bytes written per retained update and per queued
    /// QoS 1 message, writes while idle, restart time with a full store, and QoS 1
    /// throughput with acknowledgements that wait for durability; Hearth and Mosquitto
    /// started fresh for each measurement.
    Persistence(PersistenceArgs),
    /// Mosquitto, rumqttd (with `--features rumqttd`) and Hearth started in turn and driven by
    /// two load generators that are not Hearth's code: emqtt-bench and Debian's C clients.
    ///
    /// Each broker gets one TCP listener on 127.0.0.1 that lets anyone in, with the in-flight
    /// window and queue `compare` gives it, and is started afresh for each run; `--runs K`
    /// repeats the whole set K times, the brokers' order rotated by one each run.
    ///
    /// emqtt-bench (EMQ's Erlang tool): the subscribers (`sub -c N -t FILTER -q QOS`) start
    /// first, and the publisher (`pub -c 1 -I 0 -t bench/t -s PAYLOAD -q QOS -L M`) only once
    /// they have printed `sub total=N`. Scenarios: QoS 0 1->1, QoS 0 fan-out 1->50 (`bench/#`)
    /// and QoS 1 1->1, whose publisher waits for each PUBACK before the next PUBLISH
    /// (stop-and-wait: it measures round trips, not throughput). Figures come from the
    /// subscribers' once-a-second `recv total=<n> rate=<r>/sec` lines: `msgs/s median` and
    /// `min-max` are the median and range of the per-second delivery rates (all subscribers
    /// together) without the first and last lines (partial seconds), `secs` how many such
    /// seconds there were; `received` is the last line's total and `lost` is sent x
    /// subscribers minus received.
    ///
    /// mosquitto clients: `mosquitto_sub -t bench/t -q 0` writes to a pipe this process reads;
    /// once a marker message published with `mosquitto_pub -m` has come out of it (so it is
    /// subscribed), `mosquitto_pub -l -t bench/t -q 0` is fed --messages lines of --payload
    /// bytes, each starting with its sequence number, on its stdin. `msgs/s` is the lines
    /// after the first divided by the time from the first line to the last; `received`
    /// counts distinct messages (duplicates are noted).
    ///
    /// A scenario ends when everything has arrived, or once the publisher has exited and
    /// nothing new has arrived for --drain-idle-ms, or at --timeout. `cpu us/msg` is the
    /// broker process's utime + stime (/proc/PID/stat) per delivered message, read as the
    /// receiving side's lines arrive so it covers the same stretch as the rate: emqtt-bench
    /// from its first to its second-to-last per-second line, the C clients from the first to
    /// the last line. `vs mosq` columns divide by Mosquitto's figure in the same run. The
    /// generators share the machine's cores with the broker: compare ratios, not absolutes.
    External(ExternalArgs),
    /// Print the gateway configuration `rule-latency` expects, with N filler rules.
    RuleConfig {
        #[arg(long, default_value_t = 10_000)]
        filler: usize,
        /// Rooms, each with its own relay, that `rule-latency` takes in turn.
        #[arg(long, default_value_t = ROOMS)]
        rooms: usize,
    },
}

/// Rooms of `rule-config` and `rule-latency`: 2,000 samples over 200 rooms are 10 per room.
pub const ROOMS: usize = 200;

#[derive(Args, Debug)]
pub struct RuleLatencyArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 1883)]
    pub port: u16,
    /// Where readings are published; `{room}` is each room in turn (`Bench0`, `Bench1`...).
    #[arg(long, default_value = "{room}/AirQuality/co2")]
    pub input: String,
    /// Where the rule's action arrives (a relay's state, or a published command).
    #[arg(long, default_value = "{room}/Purifier/state")]
    pub output: String,
    /// Rooms taken in turn, as many as `rule-config --rooms` made: the gateway holds back a
    /// rule that fires more than 20 times for one room in 10 s, as a rule triggering itself
    /// would, so the readings are spread over rooms to stay below that.
    #[arg(long, default_value_t = ROOMS)]
    pub rooms: usize,
    /// A reading that enters the rule, and the payload its action publishes.
    #[arg(long, default_value = "1200")]
    pub high: String,
    #[arg(long, default_value = "ON")]
    pub on: String,
    /// A reading that leaves the rule, and the payload its action publishes.
    #[arg(long, default_value = "600")]
    pub low: String,
    #[arg(long, default_value = "OFF")]
    pub off: String,
    #[arg(long, default_value_t = 1000)]
    pub samples: u64,
    /// Seconds to wait for each action.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct SensorLatencyArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 1883)]
    pub port: u16,
    /// The gateway's name (its sim command topics are hearth/<gateway>/sim/<sensor>/set).
    #[arg(long)]
    pub gateway: String,
    /// The simulated sensor to steer.
    #[arg(long)]
    pub sensor: String,
    /// The quantity to change (temperature, humidity, pressure, co2).
    #[arg(long, default_value = "temperature")]
    pub quantity: String,
    /// The topic its readings arrive on.
    #[arg(long)]
    pub topic: String,
    #[arg(long, default_value_t = 200)]
    pub samples: u64,
    #[arg(long, default_value_t = 20.0)]
    pub low: f64,
    #[arg(long, default_value_t = 25.0)]
    pub high: f64,
    /// Decimals the gateway publishes the quantity with.
    #[arg(long, default_value_t = 1)]
    pub decimals: usize,
    /// Seconds to wait for each change.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Before each change, pause a pseudo-random 0..=N ms (set it to the read interval).
    #[arg(long, default_value_t = 100)]
    pub spread_ms: u64,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long)]
    pub port: u16,
    /// Broker name shown in the table (default: HOST:PORT).
    #[arg(long)]
    pub name: Option<String>,
    /// The CA that signed the broker's certificate (PEM), for `--transport tls` or `wss`.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Hearth gateway binary; started as `PATH run --config FILE`.
    #[arg(long)]
    pub hearth_bin: Option<PathBuf>,
    #[arg(long, default_value = "/usr/sbin/mosquitto")]
    pub mosquitto_bin: PathBuf,
    /// Leave Mosquitto out.
    #[arg(long)]
    pub no_mosquitto: bool,
    /// Leave rumqttd out.
    #[arg(long)]
    pub no_rumqttd: bool,
    /// Seconds to wait for a started broker to accept TCP connections.
    #[arg(long, default_value_t = 10)]
    pub startup_timeout: u64,
    /// What Hearth and Mosquitto keep on disk, in the scratch directory: `default` gives
    /// Hearth a state_dir (group commit) and Mosquitto `persistence true`; `strict` also sets
    /// Hearth's `durable_acks = true`. rumqttd keeps nothing either way.
    #[arg(long, value_enum, default_value_t = PersistenceMode::Off)]
    pub persistence: PersistenceMode,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistenceMode {
    Off,
    Default,
    Strict,
}

/// The brokers `connect-rate` and `storm` start, and the tool that writes Mosquitto's
/// password file.
#[derive(Args, Debug)]
pub struct AuthBrokerArgs {
    /// Hearth gateway binary; started as `PATH run --config FILE`.
    #[arg(long)]
    pub hearth_bin: PathBuf,
    #[arg(long, default_value = "/usr/sbin/mosquitto")]
    pub mosquitto_bin: PathBuf,
    /// Writes the `$7$` password file both brokers read.
    #[arg(long, default_value = "/usr/bin/mosquitto_passwd")]
    pub mosquitto_passwd: PathBuf,
    /// Seconds to wait for a started broker to accept TCP connections.
    #[arg(long, default_value_t = 10)]
    pub startup_timeout: u64,
}

#[derive(Args, Debug)]
pub struct ConnectRateArgs {
    #[command(flatten)]
    pub brokers: AuthBrokerArgs,
    /// CONNECTs per case and round (and distinct users in the password files).
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Connections in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Times each case runs on each broker, each time on a freshly started broker.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Seconds one CONNECT may take before it counts as failed.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Tokio worker threads for the clients.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Also print the tables as markdown.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Args, Debug)]
pub struct StormArgs {
    #[command(flatten)]
    pub brokers: AuthBrokerArgs,
    /// Nodes, each its own user, reconnecting at once.
    #[arg(long, default_value_t = 100)]
    pub nodes: usize,
    /// QoS 1 messages per second the monitor publishes throughout.
    #[arg(long, default_value_t = 200)]
    pub rate: u64,
    /// Milliseconds of monitor traffic counted for each storm (from its start, or until its
    /// end if it lasts longer), and for the quiet period before the first.
    #[arg(long, default_value_t = 1000)]
    pub window_ms: u64,
    /// Seconds a storm may take before the nodes still waiting count as failed.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Tokio worker threads for nodes and monitor.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Also print the tables as markdown.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Args, Debug)]
pub struct PersistenceArgs {
    /// Hearth gateway binary; started as `PATH run --config FILE`.
    #[arg(long)]
    pub hearth_bin: PathBuf,
    #[arg(long, default_value = "/usr/sbin/mosquitto")]
    pub mosquitto_bin: PathBuf,
    /// Where the brokers' state directories are made. Put it on the file system under
    /// test: on tmpfs or overlay nothing reaches a block device and write_bytes stays 0.
    #[arg(long, default_value = "/var/tmp")]
    pub dir: PathBuf,
    /// Measurements to run, in turn.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "retained,queued,restart,strict"
    )]
    pub parts: Vec<PersistencePart>,
    /// retained: seconds of retained updates.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// retained: topics the updates go round (`Home/Room{i}/temperature`).
    #[arg(long, default_value_t = 100)]
    pub topics: usize,
    /// retained: updates per second, paced.
    #[arg(long, default_value_t = 100)]
    pub update_rate: u64,
    /// retained: QoS of the updates.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub update_qos: u8,
    /// retained: seconds without traffic after the updates, whose writes are counted too.
    #[arg(long, default_value_t = 10)]
    pub idle: u64,
    /// queued: QoS 1 messages queued for an absent persistent subscriber.
    #[arg(long, default_value_t = 2000)]
    pub queued: u64,
    /// queued: messages per second, paced.
    #[arg(long, default_value_t = 100)]
    pub queued_rate: u64,
    /// queued and strict: payload bytes (at least 16: sequence number + timestamp).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// restart: retained messages in the store.
    #[arg(long, default_value_t = 10_000)]
    pub retained: usize,
    /// restart: persistent sessions, each subscribed at QoS 1 to its own `node/{i}/set`.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// restart: QoS 1 messages queued for each session.
    #[arg(long, default_value_t = 2)]
    pub queued_per_session: usize,
    /// strict: QoS 1 messages in all, shared by the publishers (20,000 take Hearth under
    /// 0.1 s here, too short for a steady rate).
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// strict: publishers at once.
    #[arg(long, default_value_t = 10)]
    pub publishers: usize,
    /// strict: QoS 1 PUBLISHes each publisher keeps unacknowledged.
    #[arg(long, default_value_t = 100)]
    pub window: usize,
    /// Seconds to wait for a started broker to accept TCP connections.
    #[arg(long, default_value_t = 30)]
    pub startup_timeout: u64,
    /// Tokio worker threads for the clients.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Also print the tables as markdown.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Args, Debug)]
pub struct ExternalArgs {
    /// Hearth gateway binary; started as `PATH run --config FILE`. Without it Hearth is left
    /// out.
    #[arg(long)]
    pub hearth_bin: Option<PathBuf>,
    #[arg(long, default_value = "/usr/sbin/mosquitto")]
    pub mosquitto_bin: PathBuf,
    /// Leave Mosquitto out (the `vs mosq` columns are then n/a).
    #[arg(long)]
    pub no_mosquitto: bool,
    /// Leave rumqttd out (it is only there when built with `--features rumqttd`).
    #[arg(long)]
    pub no_rumqttd: bool,
    /// emqtt-bench's `emqtt_bench` script. By default /tmp/emqtt-bench/emqtt_bench, built
    /// first with --emqtt-bench-build if it is missing.
    #[arg(long)]
    pub emqtt_bench: Option<PathBuf>,
    /// Builds emqtt-bench into /tmp/emqtt-bench (needs `apt-get install -y erlang-nox
    /// erlang-dev erlang-getopt`).
    #[arg(long, default_value = "/work/shared/tools/emqtt-bench/build.sh")]
    pub emqtt_bench_build: PathBuf,
    #[arg(long, default_value = "/usr/bin/mosquitto_pub")]
    pub mosquitto_pub: PathBuf,
    #[arg(long, default_value = "/usr/bin/mosquitto_sub")]
    pub mosquitto_sub: PathBuf,
    /// Load generators, in turn on each broker.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "emqtt-bench,mosquitto-clients"
    )]
    pub generators: Vec<Generator>,
    /// MQTT versions the generators speak (`3.1.1`, also `4`, and `5`: emqtt-bench `-V 4|5`,
    /// the C clients `-V mqttv311|mqttv5`); with both (`3.1.1,5`) each scenario runs once per
    /// version, in turn, on the same broker.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "3.1.1")]
    pub protocol: Vec<Protocol>,
    /// emqtt-bench's scenarios, in turn (the C clients always run their QoS 0 1->1).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "qos0,fanout,qos1"
    )]
    pub scenarios: Vec<ExternalScenario>,
    /// Messages published in each QoS 0 1->1 scenario (both generators).
    #[arg(long, default_value_t = 500_000)]
    pub messages: u64,
    /// Messages published in the fan-out scenario, each delivered to every subscriber (40,000
    /// x 50 give Hearth about four steady seconds here, Mosquitto about seventeen).
    #[arg(long, default_value_t = 40_000)]
    pub fanout_messages: u64,
    /// Subscribers in the fan-out scenario.
    #[arg(long, default_value_t = 50)]
    pub subscribers: usize,
    /// Messages published in the QoS 1 1->1 scenario (one PUBACK round trip each).
    #[arg(long, default_value_t = 50_000)]
    pub qos1_messages: u64,
    /// Payload size in bytes (at least 16).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// Times the whole set runs, each time on freshly started brokers.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Once the publisher has exited, a scenario ends after this many milliseconds without a
    /// new delivery (at least 1500: emqtt-bench prints its counts once a second).
    #[arg(long, default_value_t = 2500)]
    pub drain_idle_ms: u64,
    /// Hard limit in seconds for one scenario, publishing and draining.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Seconds to wait for a started broker to accept TCP connections, and for a generator's
    /// subscribers to be subscribed.
    #[arg(long, default_value_t = 10)]
    pub startup_timeout: u64,
    /// Also print the tables as markdown.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generator {
    EmqttBench,
    MosquittoClients,
}

impl Generator {
    pub fn word(self) -> &'static str {
        match self {
            Generator::EmqttBench => "emqtt-bench",
            Generator::MosquittoClients => "mosquitto clients",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalScenario {
    /// QoS 0, one subscriber.
    Qos0,
    /// QoS 0, --subscribers subscribers to `bench/#`.
    Fanout,
    /// QoS 1, one subscriber, a stop-and-wait publisher.
    Qos1,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistencePart {
    Retained,
    Queued,
    Restart,
    Strict,
}

#[derive(Args, Debug)]
pub struct IdleRssArgs {
    /// Hearth gateway binary; started as `PATH run --config FILE`.
    #[arg(long)]
    pub hearth_bin: PathBuf,
    #[arg(long, default_value = "/usr/sbin/mosquitto")]
    pub mosquitto_bin: PathBuf,
    /// Clients connected at once.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// The clients' keepalive in seconds (ESP8266 PubSubClient's default is 15).
    #[arg(long, default_value_t = 15)]
    pub keep_alive: u16,
    /// Listener kinds measured, in turn: tcp, tls.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "tcp,tls")]
    pub transport: Vec<Transport>,
    /// Seconds to wait for a started broker to accept TCP connections.
    #[arg(long, default_value_t = 10)]
    pub startup_timeout: u64,
    /// Also print the table as markdown.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(long)]
    pub port: u16,
}

/// Load shape shared by `run` and `compare`.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Messages published in each 1->1 scenario.
    #[arg(long, default_value_t = 20_000)]
    pub messages: u64,
    /// Messages published in the fan-out scenario, each delivered to every
    /// subscriber (default: --messages / 10).
    #[arg(long)]
    pub fanout_messages: Option<u64>,
    /// Payload size in bytes (at least 16: sequence number + timestamp).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// Subscribers in the fan-out scenario.
    #[arg(long, default_value_t = 50)]
    pub subscribers: usize,
    #[arg(long, value_enum, default_value_t = ScenarioSel::All)]
    pub scenario: ScenarioSel,
    /// Offered load in messages per second for each publisher; 0 publishes
    /// as fast as client and broker allow, which measures throughput but
    /// makes latency mostly queueing delay.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Publisher in-flight window for QoS 1 (rumqttc `set_inflight`).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..))]
    pub inflight: u16,
    /// Publisher request channel capacity (rumqttc `AsyncClient::new`).
    #[arg(long, default_value_t = 1000)]
    pub channel_capacity: usize,
    /// Hard limit in seconds for one scenario, publishing and draining.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// A drain ends after this many milliseconds without a new delivery.
    #[arg(long, default_value_t = 2000)]
    pub drain_idle_ms: u64,
    /// How clients reach the broker: `compare` starts each broker with one listener of this
    /// kind (WebSocket on /mqtt; TLS with a CA and certificate made for the run).
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    pub transport: Transport,
    /// Tokio worker threads for all clients of this process.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Subscribers connect with clean_session=false (and fixed client ids), so their QoS 1
    /// messages are queued in a persistent session.
    #[arg(long)]
    pub persistent_sessions: bool,
    /// MQTT versions the clients speak: rumqttc's 3.1.1 client (`3.1.1`, also `4`), its 5.0
    /// client (`5`, `rumqttc::v5`), or both (`3.1.1,5`), each scenario then running once per
    /// version, in turn, on the same broker.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "3.1.1")]
    pub protocol: Vec<Protocol>,
    /// Also print the table as markdown.
    #[arg(long)]
    pub markdown: bool,
}

impl LoadArgs {
    pub fn fanout_count(&self) -> u64 {
        self.fanout_messages.unwrap_or((self.messages / 10).max(1))
    }
}

/// The MQTT version clients speak.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// MQTT 3.1.1, protocol level 4.
    #[value(name = "3.1.1", aliases = ["4", "311"])]
    V4,
    /// MQTT 5.0.
    #[value(name = "5", alias = "5.0")]
    V5,
}

impl Protocol {
    /// How tables and headers name it.
    pub fn word(self) -> &'static str {
        match self {
            Protocol::V4 => "3.1.1",
            Protocol::V5 => "5.0",
        }
    }
}

/// Refuses an empty `--protocol` list and one that names a version twice (`4,3.1.1`), which
/// would measure it twice under one label.
pub fn check_protocols(protocols: &[Protocol]) -> Result<(), String> {
    if protocols.is_empty() {
        return Err("--protocol names no version; give 3.1.1, 5 or 3.1.1,5".to_string());
    }
    for (i, p) in protocols.iter().enumerate() {
        if protocols[..i].contains(p) {
            let hint = match p {
                Protocol::V4 => " (3.1.1, 4 and 311 are the same version)",
                Protocol::V5 => " (5 and 5.0 are the same version)",
            };
            return Err(format!("--protocol names MQTT {} twice{hint}", p.word()));
        }
    }
    Ok(())
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Ws,
    Tls,
    Wss,
}

impl Transport {
    pub fn word(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ws => "ws",
            Transport::Tls => "tls",
            Transport::Wss => "wss",
        }
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    pub fn uses_websocket(self) -> bool {
        matches!(self, Transport::Ws | Transport::Wss)
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioSel {
    All,
    Qos0,
    Qos1,
    Fanout,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{
        check_protocols, Cli, Command, ExternalScenario, Generator, PersistenceMode,
        PersistencePart, Protocol,
    };

    #[test]
    fn connect_rate_defaults() {
        let cli = Cli::try_parse_from(["hearth-bench", "connect-rate", "--hearth-bin", "h"])
            .expect("parses");
        let Command::ConnectRate(args) = cli.command else {
            panic!("not connect-rate");
        };
        assert_eq!((args.clients, args.concurrency, args.rounds), (200, 8, 3));
        assert_eq!(
            args.brokers.mosquitto_bin.to_str(),
            Some("/usr/sbin/mosquitto")
        );
    }

    #[test]
    fn compare_persistence_is_off_unless_asked() {
        let cli = Cli::try_parse_from(["hearth-bench", "compare"]).expect("parses");
        let Command::Compare(args) = cli.command else {
            panic!("not compare");
        };
        assert_eq!(args.persistence, PersistenceMode::Off);
        assert!(!args.load.persistent_sessions);
        let cli = Cli::try_parse_from([
            "hearth-bench",
            "compare",
            "--persistence",
            "strict",
            "--persistent-sessions",
        ])
        .expect("parses");
        let Command::Compare(args) = cli.command else {
            panic!("not compare");
        };
        assert_eq!(args.persistence, PersistenceMode::Strict);
        assert!(args.load.persistent_sessions);
    }

    #[test]
    fn persistence_defaults_and_parts() {
        assert!(Cli::try_parse_from(["hearth-bench", "persistence"]).is_err());
        let cli = Cli::try_parse_from(["hearth-bench", "persistence", "--hearth-bin", "h"])
            .expect("parses");
        let Command::Persistence(args) = cli.command else {
            panic!("not persistence");
        };
        assert_eq!(args.parts.len(), 4);
        assert_eq!(
            (args.seconds, args.topics, args.update_rate),
            (20, 100, 100)
        );
        assert_eq!(
            (args.retained, args.sessions, args.messages),
            (10_000, 1000, 100_000)
        );
        assert_eq!(args.dir.to_str(), Some("/var/tmp"));
        let cli = Cli::try_parse_from([
            "hearth-bench",
            "persistence",
            "--hearth-bin",
            "h",
            "--parts",
            "restart,strict",
            "--dir",
            "/work/x",
        ])
        .expect("parses");
        let Command::Persistence(args) = cli.command else {
            panic!("not persistence");
        };
        assert_eq!(
            args.parts,
            [PersistencePart::Restart, PersistencePart::Strict]
        );
        assert!(Cli::try_parse_from([
            "hearth-bench",
            "persistence",
            "--hearth-bin",
            "h",
            "--update-qos",
            "2"
        ])
        .is_err());
    }

    #[test]
    fn external_defaults_and_lists() {
        let cli = Cli::try_parse_from(["hearth-bench", "external"]).expect("parses");
        let Command::External(args) = cli.command else {
            panic!("not external");
        };
        assert_eq!(
            args.generators,
            [Generator::EmqttBench, Generator::MosquittoClients]
        );
        assert_eq!(args.scenarios.len(), 3);
        assert_eq!((args.messages, args.runs, args.payload), (500_000, 3, 64));
        assert!(args.hearth_bin.is_none() && args.emqtt_bench.is_none());
        let cli = Cli::try_parse_from([
            "hearth-bench",
            "external",
            "--generators",
            "mosquitto-clients",
            "--scenarios",
            "qos1,fanout",
        ])
        .expect("parses");
        let Command::External(args) = cli.command else {
            panic!("not external");
        };
        assert_eq!(args.generators, [Generator::MosquittoClients]);
        assert_eq!(
            args.scenarios,
            [ExternalScenario::Qos1, ExternalScenario::Fanout]
        );
    }

    #[test]
    fn storm_needs_hearth_bin() {
        assert!(Cli::try_parse_from(["hearth-bench", "storm"]).is_err());
        let cli =
            Cli::try_parse_from(["hearth-bench", "storm", "--hearth-bin", "h", "--nodes", "5"])
                .expect("parses");
        let Command::Storm(args) = cli.command else {
            panic!("not storm");
        };
        assert_eq!((args.nodes, args.rate), (5, 200));
    }

    fn compare_protocols(args: &[&str]) -> Result<Vec<Protocol>, clap::Error> {
        let argv = ["hearth-bench", "compare"]
            .into_iter()
            .chain(args.iter().copied());
        match Cli::try_parse_from(argv)?.command {
            Command::Compare(args) => Ok(args.load.protocol),
            other => panic!("not compare: {other:?}"),
        }
    }

    #[test]
    fn compare_protocol_is_3_1_1_unless_asked() {
        assert_eq!(compare_protocols(&[]).expect("parses"), [Protocol::V4]);
        for v4 in ["3.1.1", "4", "311"] {
            assert_eq!(
                compare_protocols(&["--protocol", v4]).expect("parses"),
                [Protocol::V4],
                "{v4}"
            );
        }
        for v5 in ["5", "5.0"] {
            assert_eq!(
                compare_protocols(&["--protocol", v5]).expect("parses"),
                [Protocol::V5],
                "{v5}"
            );
        }
        assert!(compare_protocols(&["--protocol", "3"]).is_err());
        assert!(compare_protocols(&["--protocol", "6"]).is_err());
    }

    #[test]
    fn both_protocols_in_one_run_keep_their_order() {
        assert_eq!(
            compare_protocols(&["--protocol", "4,5"]).expect("parses"),
            [Protocol::V4, Protocol::V5]
        );
        assert_eq!(
            compare_protocols(&["--protocol", "5,3.1.1"]).expect("parses"),
            [Protocol::V5, Protocol::V4]
        );
        let cli = Cli::try_parse_from(["hearth-bench", "run", "--port", "1883", "--protocol", "5"])
            .expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("not run");
        };
        assert_eq!(args.load.protocol, [Protocol::V5]);
    }

    #[test]
    fn a_version_named_twice_is_refused_with_the_reason() {
        let twice = compare_protocols(&["--protocol", "4,3.1.1"]).expect("parses");
        let error = check_protocols(&twice).expect_err("refused");
        assert!(error.contains("MQTT 3.1.1 twice"), "{error}");
        let twice = compare_protocols(&["--protocol", "5,5.0"]).expect("parses");
        let error = check_protocols(&twice).expect_err("refused");
        assert!(error.contains("MQTT 5.0 twice (5 and 5.0"), "{error}");
        assert!(check_protocols(&[]).is_err());
        assert_eq!(check_protocols(&[Protocol::V4, Protocol::V5]), Ok(()));
        assert_eq!(Protocol::V5.word(), "5.0");
    }

    #[test]
    fn external_protocol_defaults_to_3_1_1_and_takes_a_list() {
        let cli = Cli::try_parse_from(["hearth-bench", "external"]).expect("parses");
        let Command::External(args) = cli.command else {
            panic!("not external");
        };
        assert_eq!(args.protocol, [Protocol::V4]);
        let cli = Cli::try_parse_from(["hearth-bench", "external", "--protocol", "3.1.1,5"])
            .expect("parses");
        let Command::External(args) = cli.command else {
            panic!("not external");
        };
        assert_eq!(args.protocol, [Protocol::V4, Protocol::V5]);
        assert!(Cli::try_parse_from(["hearth-bench", "external", "--protocol", "v5"]).is_err());
    }
}
