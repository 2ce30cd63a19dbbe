//! The broker's tunables, with defaults a home network needs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::AclRule;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSettings {
    /// Where clients connect; at least one. The default is plain MQTT on 127.0.0.1:1883.
    pub listeners: Vec<ListenerSettings>,
    /// The users allowed to connect, in Mosquitto's password file format; `None` when no users
    /// are configured.
    pub password_file: Option<PathBuf>,
    /// Access control rules, first match wins (see [`crate::auth::acl`]).
    pub acl: Vec<AclRule>,
    /// Topic filters network clients may not write unless a rule names them: the gateway's
    /// own `hearth/<gateway>/#`. `$SYS/#` is always protected.
    pub protected_topics: Vec<String>,
    /// Topics under the protected ones that network clients may still write: the gateway's
    /// simulated-device controls.
    pub open_topics: Vec<String>,
    /// Largest packet accepted from a client, fixed header included.
    pub max_packet_size: usize,
    /// QoS 1/2 messages sent to one client and not yet acknowledged.
    pub max_inflight: usize,
    /// Messages held per client beyond the in-flight window (offline persistent sessions and
    /// clients that read slower than others publish). When full, the oldest is dropped.
    pub max_queued_messages: usize,
    /// How long a new socket may take to finish its TLS or WebSocket handshake and send its
    /// CONNECT.
    pub connect_timeout: Duration,
    /// How often `$SYS/broker/...` statistics are published; zero disables them.
    pub sys_interval: Duration,
    /// Connected clients allowed at once; further CONNECTs get "server unavailable".
    pub max_clients: usize,
    /// Connections open at once from one IP address; further ones are closed as they are
    /// accepted. 0 for no limit.
    pub max_connections_per_address: usize,
    /// New connections one IP address may open per second, on average (a token bucket of
    /// `max_connect_burst_per_address`); faster ones are closed as they are accepted. 0 for
    /// no limit.
    pub max_connects_per_address_per_second: u32,
    /// New connections one IP address may open at once before the rate applies.
    pub max_connect_burst_per_address: u32,
    /// Whether the per-address limits apply to clients on this machine (127.0.0.0/8, ::1)
    /// too; by default they do not (Home Assistant or Node-RED beside the broker).
    pub limit_loopback: bool,
    /// Longest topic name or filter a client may use, in bytes (UTF-8). A longer PUBLISH is
    /// dropped (and acknowledged), a longer filter refused with SUBACK 0x80.
    pub max_topic_length: usize,
    /// Most levels (`a/b/c` has three) in a client's topic name or filter; beyond, as for
    /// `max_topic_length`.
    pub max_topic_levels: usize,
    /// Retained messages kept. When full, a client's retained message on a topic not yet
    /// retained is delivered but not stored; updates and clears of retained topics always
    /// work, and the gateway's own retained topics are always stored.
    pub max_retained_messages: usize,
    /// The store that keeps retained messages and persistent sessions across restarts;
    /// `None` keeps everything in memory only.
    pub persistence: Option<crate::store::PersistenceSettings>,
    /// A persistent session whose client has been away this long is removed with what it
    /// held (Mosquitto's `persistent_client_expiration`); `None` keeps sessions forever.
    pub session_expiry: Option<Duration>,
}

impl BrokerSettings {
    /// The names of the settings that differ from `new` and that only a restart applies
    /// (everything but users, access rules, anonymous access and certificates).
    pub(crate) fn restart_only_changes(&self, new: &BrokerSettings) -> Vec<&'static str> {
        [
            (
                "max_packet_size",
                self.max_packet_size != new.max_packet_size,
            ),
            ("max_inflight", self.max_inflight != new.max_inflight),
            (
                "max_queued_messages",
                self.max_queued_messages != new.max_queued_messages,
            ),
            (
                "connect_timeout",
                self.connect_timeout != new.connect_timeout,
            ),
            ("sys_interval", self.sys_interval != new.sys_interval),
            ("max_clients", self.max_clients != new.max_clients),
            (
                "max_connections_per_address",
                self.max_connections_per_address != new.max_connections_per_address,
            ),
            (
                "max_connects_per_address_per_second",
                self.max_connects_per_address_per_second != new.max_connects_per_address_per_second,
            ),
            (
                "max_connect_burst_per_address",
                self.max_connect_burst_per_address != new.max_connect_burst_per_address,
            ),
            ("limit_loopback", self.limit_loopback != new.limit_loopback),
            (
                "max_topic_length",
                self.max_topic_length != new.max_topic_length,
            ),
            (
                "max_topic_levels",
                self.max_topic_levels != new.max_topic_levels,
            ),
            (
                "max_retained_messages",
                self.max_retained_messages != new.max_retained_messages,
            ),
            ("persistence", self.persistence != new.persistence),
            ("session_expiry", self.session_expiry != new.session_expiry),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect()
    }
}

/// One address the broker accepts connections on, and how it speaks there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSettings {
    /// Names the listener in logs and diagnostics (`tcp`, `lan`, `websocket`…).
    pub name: String,
    pub addr: SocketAddr,
    pub kind: ListenerKind,
    /// Whether clients without a user name may connect here. The configuration reader decides
    /// the default (only a loopback listener with no users configured allows them).
    pub allow_anonymous: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerKind {
    /// MQTT over TCP (port 1883).
    Tcp,
    /// MQTT over WebSocket on `path` (browser and phone apps).
    Ws { path: String },
    /// MQTT over TLS (port 8883).
    Tls(TlsSettings),
    /// MQTT over WebSocket over TLS.
    Wss { path: String, tls: TlsSettings },
}

/// A TLS listener's certificate, and how it treats client certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain, the server's certificate first.
    pub cert_file: PathBuf,
    /// PEM private key of that certificate.
    pub key_file: PathBuf,
    /// PEM CA certificates that client certificates are verified against; without it clients
    /// are not asked for one.
    pub client_ca_file: Option<PathBuf>,
    /// Refuse clients that present no certificate (needs `client_ca_file`).
    pub require_client_cert: bool,
    /// A verified client certificate's Common Name is the client's user name, and no password
    /// is asked for (Mosquitto's `use_identity_as_username`).
    pub identity_as_username: bool,
}

impl ListenerKind {
    /// The word the configuration uses for this kind.
    pub fn word(&self) -> &'static str {
        match self {
            ListenerKind::Tcp => "tcp",
            ListenerKind::Ws { .. } => "ws",
            ListenerKind::Tls(_) => "tls",
            ListenerKind::Wss { .. } => "wss",
        }
    }
}

impl ListenerSettings {
    /// Plain MQTT on `addr`, as the single `listen` key has always meant; anonymous clients
    /// are allowed, as they are on loopback without users.
    pub fn tcp(addr: SocketAddr) -> Self {
        Self {
            name: "tcp".to_string(),
            addr,
            kind: ListenerKind::Tcp,
            allow_anonymous: true,
        }
    }

    /// The TLS settings of a `tls` or `wss` listener.
    pub fn tls(&self) -> Option<&TlsSettings> {
        match &self.kind {
            ListenerKind::Tls(tls) | ListenerKind::Wss { tls, .. } => Some(tls),
            ListenerKind::Tcp | ListenerKind::Ws { .. } => None,
        }
    }
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            listeners: vec![ListenerSettings::tcp(SocketAddr::from((
                [127, 0, 0, 1],
                1883,
            )))],
            password_file: None,
            acl: Vec::new(),
            protected_topics: Vec::new(),
            open_topics: Vec::new(),
            max_packet_size: 1024 * 1024,
            max_inflight: 20,
            max_queued_messages: 1000,
            connect_timeout: Duration::from_secs(10),
            sys_interval: Duration::from_secs(10),
            max_clients: 1024,
            // A phone app opens one or two connections and a NAT'd group of nodes a few
            // dozen; a node stuck in a reconnect loop that never closes its sockets would
            // otherwise take all of `max_clients`.
            max_connections_per_address: 64,
            // Honest clients reconnect after a second or more (PubSubClient every 5 s, paho
            // and Home Assistant from 1 s, backing off); a burst of 20 covers a dashboard's
            // or a NAT'd group's connections at once. A looping client with a bad password
            // then costs at most two hash verifications per second.
            max_connects_per_address_per_second: 2,
            max_connect_burst_per_address: 20,
            limit_loopback: false,
            // Home Assistant discovery and zigbee2mqtt topics are under 200 bytes and 10
            // levels. These bound what one message or filter can add to the tries.
            max_topic_length: 1024,
            max_topic_levels: 32,
            // About 10 MB at 1 kB per message (a discovery document), a small share of a
            // 512 MB Pi; a home has a few hundred.
            max_retained_messages: 10_000,
            persistence: None,
            // A node gone for a month is not coming back with a use for what was queued.
            session_expiry: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// The path WebSocket listeners serve unless told otherwise, as MQTT.js and most apps expect.
pub const DEFAULT_WS_PATH: &str = "/mqtt";
