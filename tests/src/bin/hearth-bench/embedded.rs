//! The rumqttd 0.20 peer broker, configured so that its limits do not
//! throttle the load this benchmark generates.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use anyhow::{bail, Context, Result};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Builds the broker configuration: one plain-TCP MQTT 3.1.1 listener.
pub fn config(port: u16) -> Config {
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 4 * 1024 * 1024,
        // In 0.20 this is the number of packets read from a socket per batch,
        // not a QoS window; the router's outgoing QoS 1 window is a fixed 100.
        max_inflight_count: 1000,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "v4-bench".to_string(),
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        tls: None,
        // No pause between accepts: the fan-out scenario connects 50 clients at once.
        next_connection_delay_ms: 0,
        connections,
    };
    let router = RouterConfig {
        max_connections: 1000,
        // Messages read from the log per subscriber per router pass (QoS 0).
        max_outgoing_packet_count: 200,
        // The log is in memory; 10 x 100 MiB keeps a slow subscriber from
        // falling off its tail during a run.
        max_segment_size: 100 * 1024 * 1024,
        max_segment_count: 10,
        ..RouterConfig::default()
    };
    Config {
        id: 0,
        router,
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Config::default()
    }
}

/// Runs the broker until its listener thread ends.
pub fn serve(port: u16) -> Result<()> {
    // rumqttd reports a failed bind only through tracing, so check first
    // for a clear error; the listener is closed again before rumqttd binds.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    drop(TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?);
    let mut broker = Broker::new(config(port));
    eprintln!("rumqttd 0.20 serving on {addr}");
    broker.start().context("running rumqttd")?;
    // start() only returns once the listener thread is gone, e.g. after a
    // failed bind, which rumqttd reports through tracing only.
    bail!("rumqttd listener on 127.0.0.1:{port} stopped (port in use?)")
}
