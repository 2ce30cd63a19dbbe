//! MQTT 5 clients for the router tests: CONNECTs, subscriptions with options, and reading the
//! router's answers in 5.0's terms.

use bytes::Bytes;

use super::harness::{FakeClient, TestBroker};
use crate::codec::v5::{
    self, Connack, ConnackReason, ConnectProperties, Packet, PubAck, PublishProperties,
    RetainHandling, SubackReason, SubscriptionOptions,
};
use crate::codec::QoS;
use crate::message::Message;

/// CONNECT for MQTT 5: clean start, keepalive 60 s, no properties (so a Session Expiry
/// Interval of 0); vary it with struct update syntax.
pub(super) fn connect5(id: &str) -> v5::Connect {
    v5::Connect {
        clean_start: true,
        keep_alive: 60,
        properties: ConnectProperties::default(),
        client_id: id.to_string(),
        will: None,
        username: None,
        password: None,
    }
}

/// CONNECT for MQTT 5 resuming any session and keeping it `expiry` seconds.
pub(super) fn lasting5(id: &str, expiry: u32) -> v5::Connect {
    v5::Connect {
        clean_start: false,
        properties: ConnectProperties {
            session_expiry_interval: Some(expiry),
            ..ConnectProperties::default()
        },
        ..connect5(id)
    }
}

/// Subscription options of a 3.1.1 subscription at `qos`; vary them with struct update.
pub(super) fn options(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: RetainHandling::SendAtSubscribe,
    }
}

pub(super) fn publish5(topic: &str, payload: &str, qos: QoS, pkid: u16) -> v5::Publish {
    v5::Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.to_string(),
        pkid,
        properties: PublishProperties::default(),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    }
}

impl TestBroker {
    /// Connects an MQTT 5 client, which must be accepted; returns it with its CONNACK.
    pub(super) fn client5(&self, connect: v5::Connect) -> (FakeClient, Connack) {
        self.user_client5(connect, None)
    }

    pub(super) fn user_client5(
        &self,
        connect: v5::Connect,
        username: Option<&str>,
    ) -> (FakeClient, Connack) {
        let id = connect.client_id.clone();
        let mut client = self.open_v5(connect, username);
        match client.next_v5() {
            Some(Packet::Connack(c)) if c.reason == ConnackReason::Success => (client, c),
            other => panic!("client {id:?}: expected CONNACK success, got {other:?}"),
        }
    }

    /// A message from inside the daemon, as built by the test (with properties or expiry).
    pub(super) fn local_message(&self, message: Message) {
        self.handle(crate::event::Event::LocalPublish(message));
    }
}

impl FakeClient {
    /// Subscribes with `options` and returns the SUBACK's reason; what follows stays queued.
    pub(super) fn subscribe5(
        &mut self,
        filter: &str,
        options: SubscriptionOptions,
    ) -> SubackReason {
        let pkid = 900;
        self.send_v5(Packet::Subscribe(v5::Subscribe {
            pkid,
            properties: Default::default(),
            filters: vec![(filter.to_string(), options)],
        }));
        match self.next_v5() {
            Some(Packet::Suback(s)) if s.pkid == pkid && s.reasons.len() == 1 => s.reasons[0],
            other => panic!("SUBACK expected, got {other:?}"),
        }
    }

    /// Every packet the router sent and the test has not read, in 5.0's terms.
    pub(super) fn drain_v5(&mut self) -> Vec<Packet> {
        std::iter::from_fn(|| self.next_v5()).collect()
    }

    /// `drain_v5`, where every packet must be a PUBLISH.
    pub(super) fn publishes_v5(&mut self) -> Vec<v5::Publish> {
        self.drain_v5()
            .into_iter()
            .map(|p| match p {
                Packet::Publish(p) => p,
                other => panic!("PUBLISH expected, got {other:?}"),
            })
            .collect()
    }

    /// The next packet, which must be a PUBACK; returns it.
    pub(super) fn puback5(&mut self) -> PubAck {
        match self.next_v5() {
            Some(Packet::Puback(a)) => a,
            other => panic!("PUBACK expected, got {other:?}"),
        }
    }
}
