//! rumqttc client construction shared by publishers and subscribers.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, EventLoop, MqttOptions, NetworkOptions, TlsConfiguration, Transport};
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
    let (host, port) = (&endpoint.host, endpoint.port);
    // rumqttc takes a WebSocket's URL where a TCP client's host goes.
    let host = match endpoint.link {
        Link::Tcp | Link::Tls(_) => host.clone(),
        Link::Ws => format!("ws://{host}:{port}{WS_PATH}"),
        Link::Wss(_) => format!("wss://{host}:{port}{WS_PATH}"),
    };
    let mut options = MqttOptions::new(client_id, host, port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_session(clean_session);
    // rumqttc rejects packets above 10 KiB by default; leave room for topic
    // and header on top of the payload.
    let max_packet = (endpoint.payload_len + 1024).max(10 * 1024);
    options.set_max_packet_size(max_packet, max_packet);
    options.set_inflight(inflight);
    options.set_request_channel_capacity(channel_capacity);
    match &endpoint.link {
        Link::Tcp => {}
        Link::Ws => {
            options.set_transport(Transport::Ws);
        }
        Link::Tls(config) => {
            let tls = TlsConfiguration::Rustls(config.clone());
            options.set_transport(Transport::tls_with_config(tls));
        }
        Link::Wss(config) => {
            let tls = TlsConfiguration::Rustls(config.clone());
            options.set_transport(Transport::wss_with_config(tls));
        }
    }
    let (client, mut eventloop) = AsyncClient::new(options, channel_capacity);
    // rumqttc leaves Nagle on by default, which adds delayed-ACK stalls to
    // every latency figure.
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network.set_connection_timeout(5);
    eventloop.set_network_options(network);
    (client, eventloop)
}
