//! rumqttc client construction shared by publishers and subscribers.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    v5, AsyncClient, EventLoop, MqttOptions, NetworkOptions, TlsConfiguration, Transport,
};
use rustls::ClientConfig;

/// Where to connect and how large packets may get.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub payload_len: usize,
    pub link: Link,
}

/// How the bytes travel; the TLS ones carry the client configuration that trusts the
/// broker's CA.
#[derive(Clone, Debug)]
pub enum Link {
    Tcp,
    Ws,
    Tls(Arc<ClientConfig>),
    Wss(Arc<ClientConfig>),
}

impl Endpoint {
    /// A plain TCP endpoint.
    pub fn tcp(host: &str, port: u16, payload_len: usize) -> Self {
        Endpoint {
            host: host.to_string(),
            port,
            payload_len,
            link: Link::Tcp,
        }
    }
}

/// The path MQTT over WebSocket is served on by Hearth (Mosquitto answers on any path).
pub const WS_PATH: &str = "/mqtt";

/// Creates a clean-session client that is not yet connected; the connection is made by
/// the first `EventLoop::poll`.
pub fn client(
    endpoint: &Endpoint,
    client_id: &str,
    inflight: u16,
    channel_capacity: usize,
) -> (AsyncClient, EventLoop) {
    client_with_session(endpoint, client_id, true, inflight, channel_capacity)
}

/// Like [`client`]; `clean_session` false keeps the session when the client is gone.
pub fn client_with_session(
    endpoint: &Endpoint,
    client_id: &str,
    clean_session: bool,
    inflight: u16,
    channel_capacity: usize,
) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(client_id, broker_address(endpoint), endpoint.port);
    options.set_keep_alive(KEEP_ALIVE);
    options.set_clean_session(clean_session);
    let max_packet = max_packet_size(endpoint);
    options.set_max_packet_size(max_packet, max_packet);
    options.set_inflight(inflight);
    options.set_request_channel_capacity(channel_capacity);
    options.set_transport(transport(&endpoint.link));
    let (client, mut eventloop) = AsyncClient::new(options, channel_capacity);
    eventloop.set_network_options(network_options());
    (client, eventloop)
}

/// An MQTT 5.0 client built like [`client_with_session`]: `clean_session` false is Clean Start
/// 0 with a Session Expiry Interval of [`SESSION_EXPIRY`], so the session outlives the
/// connection as a 3.1.1 one with clean_session=false does. `inflight` caps the QoS 1 window;
/// the broker's Receive Maximum, if lower, caps it further.
pub fn client_v5(
    endpoint: &Endpoint,
    client_id: &str,
    clean_session: bool,
    inflight: u16,
    channel_capacity: usize,
) -> (v5::AsyncClient, v5::EventLoop) {
    let mut options = v5::MqttOptions::new(client_id, broker_address(endpoint), endpoint.port);
    options.set_keep_alive(KEEP_ALIVE);
    options.set_clean_start(clean_session);
    if !clean_session {
        options.set_session_expiry_interval(Some(SESSION_EXPIRY));
    }
    let max_packet = u32::try_from(max_packet_size(endpoint)).unwrap_or(u32::MAX);
    options.set_max_packet_size(Some(max_packet));
    options.set_outgoing_inflight_upper_limit(inflight);
    options.set_request_channel_capacity(channel_capacity);
    options.set_transport(transport(&endpoint.link));
    options.set_network_options(network_options());
    v5::AsyncClient::new(options, channel_capacity)
}

const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Seconds an MQTT 5.0 session without clean start outlives its connection.
pub const SESSION_EXPIRY: u32 = 3600;

/// Where rumqttc connects: the host for TCP and TLS, the URL for a WebSocket.
fn broker_address(endpoint: &Endpoint) -> String {
    let (host, port) = (&endpoint.host, endpoint.port);
    match endpoint.link {
        Link::Tcp | Link::Tls(_) => host.clone(),
        Link::Ws => format!("ws://{host}:{port}{WS_PATH}"),
        Link::Wss(_) => format!("wss://{host}:{port}{WS_PATH}"),
    }
}

/// rumqttc rejects packets above 10 KiB by default; leave room for topic and header on top of
/// the payload.
fn max_packet_size(endpoint: &Endpoint) -> usize {
    (endpoint.payload_len + 1024).max(10 * 1024)
}

fn transport(link: &Link) -> Transport {
    match link {
        Link::Tcp => Transport::Tcp,
        Link::Ws => Transport::Ws,
        Link::Tls(config) => Transport::tls_with_config(TlsConfiguration::Rustls(config.clone())),
        Link::Wss(config) => Transport::wss_with_config(TlsConfiguration::Rustls(config.clone())),
    }
}

/// rumqttc leaves Nagle on by default, which adds delayed-ACK stalls to every latency figure.
fn network_options() -> NetworkOptions {
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network.set_connection_timeout(5);
    network
}
