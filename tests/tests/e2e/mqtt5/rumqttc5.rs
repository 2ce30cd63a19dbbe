//! rumqttc's own MQTT 5.0 client (`rumqttc::v5`), an implementation independent of the
//! broker's codec, driven from a background task like `tests::MqttClient` drives its 3.1.1
//! client: every wait bounded, a marker to prove that something did not arrive.

use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{ConnAck, Filter, Packet, Publish, PublishProperties, SubAck};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, MqttOptions};
use tokio::time::Instant;

use tests::inbox::Inbox;
use tests::marker::Marker;
use tests::WAIT;

/// Options for `client_id` at `addr` over TCP: clean start, 30 s keepalive, and an incoming
/// packet limit above anything the tests send.
pub fn options(addr: SocketAddr, client_id: &str) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(Some(1 << 20));
    opts
}

/// A connected rumqttc v5 client; its event loop stops on the first connection error (which
/// the next read reports) and is aborted on drop.
pub struct V5Client {
    pub client: AsyncClient,
    inbox: Inbox<Packet>,
    marker: Marker,
}

impl V5Client {
    /// Connects and waits for CONNACK, which must accept the connection; returns it.
    pub async fn connect(opts: MqttOptions) -> (Self, ConnAck) {
        let (client, eventloop) = AsyncClient::new(opts, 1024);
        let mut this = Self {
            client,
            inbox: Inbox::drive(eventloop),
            marker: Marker::new(),
        };
        let Packet::ConnAck(ack) = this
            .inbox
            .expect(|p| matches!(p, Packet::ConnAck(_)), "CONNACK")
            .await
        else {
            unreachable!()
        };
        (this, ack)
    }

    /// Sends one SUBSCRIBE with `filter` and returns the SUBACK.
    pub async fn subscribe(&mut self, filter: Filter) -> SubAck {
        self.client
            .subscribe_many([filter])
            .await
            .expect("queue SUBSCRIBE");
        let Packet::SubAck(ack) = self
            .inbox
            .expect(|p| matches!(p, Packet::SubAck(_)), "SUBACK")
            .await
        else {
            unreachable!()
        };
        ack
    }

    /// Queues a PUBLISH with `properties`; the event loop sends it and handles the acks.
    pub async fn publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: &str,
        properties: PublishProperties,
    ) {
        self.client
            .publish_with_properties(topic, qos, retain, payload.to_owned(), properties)
            .await
            .expect("queue PUBLISH");
    }

    /// The next message on `topic`, skipping messages on other topics; panics if none arrives
    /// within `WAIT`.
    pub async fn next_on(&mut self, topic: &str) -> Publish {
        let deadline = Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            match self.inbox.read(deadline, topic).await {
                Some(Packet::Publish(p)) if p.topic == topic.as_bytes() => return p,
                Some(Packet::Publish(p)) => skipped.push(p.topic),
                Some(_) => {}
                None => panic!("nothing on {topic} within {WAIT:?} (other topics: {skipped:?})"),
            }
        }
    }

    /// Every message before a marker this client publishes now to a topic only it subscribes
    /// to (see `tests::RawClient::collect_before_marker`).
    pub async fn collect_before_marker(&mut self) -> Vec<Publish> {
        if let Some(filter) = self.marker.subscription() {
            self.subscribe(Filter::new(filter, QoS::AtLeastOnce)).await;
        }
        let (topic, payload) = self.marker.next_marker();
        self.publish(
            &topic,
            QoS::AtLeastOnce,
            false,
            &payload,
            PublishProperties::default(),
        )
        .await;
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        loop {
            match self.inbox.read(deadline, "the marker").await {
                Some(Packet::Publish(p))
                    if p.topic == topic.as_bytes() && p.payload == payload.as_bytes() =>
                {
                    return got
                }
                Some(Packet::Publish(p)) => got.push(p),
                Some(_) => {}
                None => panic!("no marker within {WAIT:?}; before it: {got:?}"),
            }
        }
    }

    /// Sends DISCONNECT and waits until the broker has closed the connection, which it does
    /// once it has handled the DISCONNECT.
    pub async fn disconnect(mut self) {
        self.client.disconnect().await.expect("queue DISCONNECT");
        self.inbox.until_closed("DISCONNECT").await;
    }
}
