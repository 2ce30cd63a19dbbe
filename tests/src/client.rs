//! A real client library (rumqttc) driven from a background task, for tests
//! that want ordinary client behaviour rather than hand-made bytes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode, TlsConfiguration,
    Transport,
};
use rustls::ClientConfig;
use tokio::time::Instant;

use crate::broker::TestBroker;
use crate::inbox::Inbox;
use crate::marker::Marker;
use crate::WAIT;

/// Options for `client_id` at `addr`: clean session, 30 s keepalive and
/// packet limits above anything the tests send.
pub fn mqtt_options(addr: SocketAddr, client_id: &str) -> MqttOptions {
    options(addr.ip().to_string(), addr.port(), client_id)
}

/// Options for `client_id` over WebSocket to `path` on the `ws` listener at `addr`.
pub fn ws_options(addr: SocketAddr, path: &str, client_id: &str) -> MqttOptions {
    // rumqttc takes a WebSocket's URL where a TCP client's host goes.
    let mut opts = options(format!("ws://{addr}{path}"), addr.port(), client_id);
    opts.set_transport(Transport::Ws);
    opts
}

/// Options for `client_id` over TLS to the `tls` listener at `addr`, with `tls` (which says
/// which CA to trust and which client certificate, if any, to present).
pub fn tls_options(addr: SocketAddr, client_id: &str, tls: Arc<ClientConfig>) -> MqttOptions {
    let mut opts = mqtt_options(addr, client_id);
    opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    opts
}

/// Options for `client_id` over WebSocket over TLS to `path` on the `wss` listener at `addr`.
pub fn wss_options(
    addr: SocketAddr,
    path: &str,
    client_id: &str,
    tls: Arc<ClientConfig>,
) -> MqttOptions {
    let mut opts = options(format!("wss://{addr}{path}"), addr.port(), client_id);
    opts.set_transport(Transport::wss_with_config(TlsConfiguration::Rustls(tls)));
    opts
}

fn options(host: String, port: u16, client_id: &str) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id, host, port);
    opts.set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(2 << 20, 2 << 20);
    opts
}

/// A client `id` of the gateway `b`, subscribed at QoS 1 to `filter` if one is given.
pub async fn client(b: &TestBroker, id: &str, filter: Option<&str>) -> MqttClient {
    let (mut c, _) = MqttClient::connect(mqtt_options(b.addr(), id)).await;
    if let Some(filter) = filter {
        c.subscribe(filter, QoS::AtLeastOnce).await;
    }
    c
}

/// A payload as text, for assertions and messages.
pub fn text(p: &Publish) -> &str {
    std::str::from_utf8(&p.payload).unwrap_or("<not UTF-8>")
}

/// A connected client; its event loop stops (without reconnecting) on the
/// first connection error and is aborted on drop.
pub struct MqttClient {
    pub client: AsyncClient,
    inbox: Inbox<Packet>,
    marker: Marker,
}

impl MqttClient {
    /// Connects and waits for CONNACK; returns the session-present flag.
    pub async fn connect(opts: MqttOptions) -> (Self, bool) {
        let (client, eventloop) = AsyncClient::new(opts, 1024);
        let mut this = Self {
            client,
            inbox: Inbox::drive(eventloop),
            marker: Marker::new(),
        };
        let ack = this
            .inbox
            .expect(|p| matches!(p, Packet::ConnAck(_)), "CONNACK")
            .await;
        let Packet::ConnAck(ack) = ack else {
            unreachable!()
        };
        assert_eq!(
            ack.code,
            rumqttc::ConnectReturnCode::Success,
            "CONNACK code"
        );
        (this, ack.session_present)
    }

    /// The next PUBLISH before `deadline`, or `None`. Other packets are skipped.
    async fn next_publish(&mut self, deadline: Instant, what: &str) -> Option<Publish> {
        loop {
            if let Packet::Publish(p) = self.inbox.read(deadline, what).await? {
                return Some(p);
            }
        }
    }

    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> Vec<SubscribeReasonCode> {
        self.client
            .subscribe(filter, qos)
            .await
            .expect("queue SUBSCRIBE");
        let Packet::SubAck(ack) = self
            .inbox
            .expect(|p| matches!(p, Packet::SubAck(_)), "SUBACK")
            .await
        else {
            unreachable!()
        };
        ack.return_codes
    }

    /// Queues a PUBLISH; the event loop sends it and handles the acks.
    pub async fn publish(&self, topic: &str, qos: QoS, retain: bool, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, qos, retain, payload)
            .await
            .expect("queue PUBLISH");
    }

    /// The next message; panics if none arrives within `WAIT`.
    pub async fn next(&mut self) -> Publish {
        match self.next_publish(Instant::now() + WAIT, "a message").await {
            Some(p) => p,
            None => panic!("nothing arrived within {WAIT:?}"),
        }
    }

    /// The next message on `topic`, skipping messages on other topics; panics if none arrives
    /// within `WAIT`.
    pub async fn next_on(&mut self, topic: &str) -> Publish {
        let deadline = Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            match self.inbox.read(deadline, topic).await {
                Some(Packet::Publish(p)) if p.topic == topic => return p,
                Some(Packet::Publish(p)) => skipped.push(p.topic),
                Some(_) => {}
                None => panic!("nothing on {topic} within {WAIT:?} (other topics: {skipped:?})"),
            }
        }
    }

    /// The next message on `topic`, which must carry `payload`.
    pub async fn expect_on(&mut self, topic: &str, payload: &str) -> Publish {
        let p = self.next_on(topic).await;
        assert_eq!(text(&p), payload, "payload on {topic}");
        p
    }

    /// Collects `count` messages, waiting at most `WAIT` for each; fewer if one does not come.
    pub async fn collect(&mut self, count: usize) -> Vec<Publish> {
        let mut got = Vec::new();
        while got.len() < count {
            match self.next_publish(Instant::now() + WAIT, "messages").await {
                Some(p) => got.push(p),
                None => break,
            }
        }
        got
    }

    /// Every message before the next one on `topic` with `payload` (which is read and not
    /// returned); panics if that one does not arrive within `WAIT`.
    pub async fn collect_before(&mut self, topic: &str, payload: &str) -> Vec<Publish> {
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        loop {
            match self.next_publish(deadline, topic).await {
                Some(p) if p.topic == topic && text(&p) == payload => return got,
                Some(p) => got.push(p),
                None => panic!(
                    "no {payload:?} on {topic} within {WAIT:?}; before it: {:?}",
                    topics_and_payloads(&got)
                ),
            }
        }
    }

    /// Asserts the next message is the one on `topic` with `payload`: what was sent to this
    /// client before it has arrived by then, so nothing else was.
    pub async fn expect_nothing_before(&mut self, topic: &str, payload: &str) {
        let before = self.collect_before(topic, payload).await;
        assert!(
            before.is_empty(),
            "expected nothing before {payload:?} on {topic}, got {:?}",
            topics_and_payloads(&before)
        );
    }

    /// Every message the broker sent this client before a marker this client publishes now
    /// to a topic only it subscribes to (a `$` topic, which no `#` or `+` filter matches).
    ///
    /// The broker handles this connection's packets in order and delivers to a client in the
    /// order it routes, QoS 1 and 2 through one queue; the marker goes at QoS 1, behind any
    /// of them. So whatever this client's earlier packets (or anything the broker had routed
    /// before it) made the broker send is here.
    pub async fn collect_before_marker(&mut self) -> Vec<Publish> {
        if let Some(filter) = self.marker.subscription() {
            self.subscribe(&filter, QoS::AtLeastOnce).await;
        }
        let (topic, payload) = self.marker.next_marker();
        self.publish(&topic, QoS::AtLeastOnce, false, payload.clone())
            .await;
        self.collect_before(&topic, &payload).await
    }

    /// The topics of the messages before a marker, in order (see
    /// [`MqttClient::collect_before_marker`]).
    pub async fn topics_before_marker(&mut self) -> Vec<String> {
        let got = self.collect_before_marker().await;
        got.into_iter().map(|p| p.topic).collect()
    }

    /// Asserts the broker sent this client nothing more: nothing arrives before a marker (see
    /// [`MqttClient::collect_before_marker`]).
    pub async fn expect_nothing_before_marker(&mut self) {
        let before = self.collect_before_marker().await;
        assert!(
            before.is_empty(),
            "expected nothing more, got {:?}",
            topics_and_payloads(&before)
        );
    }
}

fn topics_and_payloads(got: &[Publish]) -> Vec<(String, String)> {
    got.iter()
        .map(|p| (p.topic.clone(), text(p).to_owned()))
        .collect()
}
