//! rumqttc client construction shared by publishers and subscribers.

use std::time::Duration;

use rumqttc::{AsyncClient, EventLoop, MqttOptions, NetworkOptions};

/// Where to connect and how large packets may get.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub payload_len: usize,
}

/// Creates a client that is not yet connected; the connection is made by
/// the first `EventLoop::poll`.
pub fn client(
    endpoint: &Endpoint,
    client_id: &str,
    inflight: u16,
    channel_capacity: usize,
) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(client_id, endpoint.host.clone(), endpoint.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_session(true);
    // rumqttc rejects packets above 10 KiB by default; leave room for topic
    // and header on top of the payload.
    let max_packet = (endpoint.payload_len + 1024).max(10 * 1024);
    options.set_max_packet_size(max_packet, max_packet);
    options.set_inflight(inflight);
    options.set_request_channel_capacity(channel_capacity);
    let (client, mut eventloop) = AsyncClient::new(options, channel_capacity);
    // rumqttc leaves Nagle on by default, which adds delayed-ACK stalls to
    // every latency figure.
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network.set_connection_timeout(5);
    eventloop.set_network_options(network);
    (client, eventloop)
}
