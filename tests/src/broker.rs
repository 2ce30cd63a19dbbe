//! Starts the real gateway in-process on an ephemeral port: the same `Daemon` that `hearth run`
//! starts, configured through the same TOML reader.

use std::net::SocketAddr;
use std::time::Duration;

use broker::BrokerHandle;
use gateway::config::Config;
use gateway::daemon::Daemon;

/// Broker limits a test may change.
#[derive(Clone, Debug)]
pub struct BrokerOptions {
    /// How long a socket may stay open without sending CONNECT.
    pub connect_timeout: Duration,
    /// QoS 1/2 messages in flight per client.
    pub max_inflight: usize,
    /// Messages queued per client beyond those in flight.
    pub max_queued_messages: usize,
    /// Period of `$SYS` updates.
    pub sys_interval: Duration,
    /// Largest accepted packet, in bytes.
    pub max_packet_size: usize,
    /// More `[broker]` keys, one per line (`password_file = "..."`); `[[broker.listener]]` and
    /// `[[broker.acl]]` tables go in the extra configuration instead.
    pub broker_keys: String,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            max_inflight: 20,
            max_queued_messages: 1000,
            sys_interval: Duration::from_secs(10),
            max_packet_size: 1 << 20,
            broker_keys: String::new(),
        }
    }
}

/// A running gateway; it stops with the test's runtime.
pub struct TestBroker {
    addr: SocketAddr,
    daemon: Option<Daemon>,
    /// The configuration without the test's extra tables, for `reload`.
    base: String,
}

impl TestBroker {
    /// The plain listener from `listen`, the first one.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound address of the listener called `name` (`[[broker.listener]]` `name = ...`).
    pub fn listener_addr(&self, name: &str) -> SocketAddr {
        let daemon = self.daemon.as_ref().expect("broker running");
        match daemon.listener_addrs().iter().find(|(n, _)| n == name) {
            Some((_, addr)) => *addr,
            None => panic!("no listener {name}: {:?}", daemon.listener_addrs()),
        }
    }

    /// The in-process publish/subscribe handle of the running broker.
    pub fn handle(&self) -> BrokerHandle {
        match &self.daemon {
            Some(d) => d.broker(),
            None => panic!("broker already stopped"),
        }
    }

    /// Reloads the gateway as SIGHUP would, with `extra` in place of the extra tables it
    /// started with.
    pub async fn reload(&mut self, extra: &str) -> rules::ReloadSummary {
        let config = parse(&format!("{}{extra}", self.base));
        match self.daemon.as_mut() {
            Some(d) => match d.reload(config).await {
                Ok(summary) => summary,
                Err(e) => panic!("reload failed: {e:#}"),
            },
            None => panic!("broker already stopped"),
        }
    }

    /// Stops the gateway as SIGTERM would: offline status, due wills, connections closed.
    pub async fn stop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.stop().await;
        }
    }
}

/// The gateway name the test configuration uses.
pub const GATEWAY_NAME: &str = "test";

/// The gateway's own retained availability topic: a `#` subscriber receives it too.
pub const GATEWAY_STATUS_TOPIC: &str = "hearth/test/status";

/// The gateway as a bare broker, for the broker's own tests: no devices and no Home Assistant
/// discovery, so a `#` subscriber sees the test's topics and the gateway's status only.
pub async fn start_broker(opts: BrokerOptions) -> TestBroker {
    start_gateway(opts, "\n[homeassistant]\ndiscovery = false\n").await
}

/// Starts the gateway with `extra` appended to its configuration (`[[sensor]]` entries...).
pub async fn start_gateway(opts: BrokerOptions, extra: &str) -> TestBroker {
    start(opts, None, extra).await
}

/// Like [`start_gateway`], keeping the gateway's state (what must outlive a restart) in `state`.
pub async fn start_gateway_with_state(
    opts: BrokerOptions,
    state: &std::path::Path,
    extra: &str,
) -> TestBroker {
    start(opts, Some(state), extra).await
}

async fn start(opts: BrokerOptions, state: Option<&std::path::Path>, extra: &str) -> TestBroker {
    let state_line = state.map_or(String::new(), |dir| {
        format!("state_dir = \"{}\"\n", dir.display())
    });
    let base = format!(
        "[gateway]\nname = \"{GATEWAY_NAME}\"\n{state_line}\n[broker]\nlisten = \"127.0.0.1:0\"\n\
         connect_timeout = \"{}ms\"\nmax_inflight = {}\nmax_queued_messages = {}\n\
         sys_interval = \"{}ms\"\nmax_packet_size = {}\n{}\n",
        opts.connect_timeout.as_millis(),
        opts.max_inflight,
        opts.max_queued_messages,
        opts.sys_interval.as_millis(),
        opts.max_packet_size,
        opts.broker_keys,
    );
    let config = parse(&format!("{base}{extra}"));
    let daemon = match Daemon::start(config).await {
        Ok(d) => d,
        Err(e) => panic!("gateway did not start: {e:#}"),
    };
    TestBroker {
        addr: daemon.broker_addr(),
        daemon: Some(daemon),
        base,
    }
}

fn parse(text: &str) -> Config {
    match Config::parse(text, "test config") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}
