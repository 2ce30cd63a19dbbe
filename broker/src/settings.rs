//! The broker's tunables, with defaults a home network needs.

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSettings {
    /// Plain MQTT over TCP.
    pub listen: SocketAddr,
    /// Largest packet accepted from a client, fixed header included.
    pub max_packet_size: usize,
    /// QoS 1/2 messages sent to one client and not yet acknowledged.
    pub max_inflight: usize,
    /// Messages held per client beyond the in-flight window (offline persistent sessions and
    /// clients that read slower than others publish). When full, the oldest is dropped.
    pub max_queued_messages: usize,
    /// How long a new socket may take to send its CONNECT.
    pub connect_timeout: Duration,
    /// How often `$SYS/broker/...` statistics are published; zero disables them.
    pub sys_interval: Duration,
    /// Connected clients allowed at once; further CONNECTs get "server unavailable".
    pub max_clients: usize,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            max_packet_size: 1024 * 1024,
            max_inflight: 20,
            max_queued_messages: 1000,
            connect_timeout: Duration::from_secs(10),
            sys_interval: Duration::from_secs(10),
            max_clients: 1024,
        }
    }
}
