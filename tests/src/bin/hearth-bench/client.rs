//! One rumqttc client of either MQTT version, and the few events publishers and subscribers
//! act on, so that one publishing loop and one subscribing loop measure both versions.

use bytes::Bytes;
use rumqttc::v5;
use rumqttc::QoS;

use crate::cli::Protocol;
use crate::conn::{self, Endpoint};

/// The request side of a client.
pub enum Client {
    V4(rumqttc::AsyncClient),
    V5(v5::AsyncClient),
}

/// The event loop of a client; it connects on the first [`Connection::next`]. Both are boxed:
/// their sizes differ by hundreds of bytes, and a client is made once per scenario.
pub enum Connection {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<v5::EventLoop>),
}

/// What a client needs besides where the broker is.
pub struct Spec<'a> {
    pub protocol: Protocol,
    pub client_id: &'a str,
    /// false keeps the session (subscriptions and queued messages) when the client is gone.
    pub clean_session: bool,
    /// Outgoing QoS 1 window.
    pub inflight: u16,
    /// Request channel capacity.
    pub channel_capacity: usize,
}

/// A packet from the broker, as far as the benchmark cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// The connection is accepted; an MQTT 5.0 broker may announce how many QoS 1 and 2
    /// PUBLISHes it takes unacknowledged.
    ConnAck {
        receive_maximum: Option<u16>,
    },
    Publish(Bytes),
    PubAck,
    /// `granted` is false if any filter was refused.
    SubAck {
        granted: bool,
    },
    /// Anything else, and the client's own outgoing packets.
    Other,
}

/// A client that is not yet connected.
pub fn new(endpoint: &Endpoint, spec: &Spec<'_>) -> (Client, Connection) {
    let (id, clean, inflight, capacity) = (
        spec.client_id,
        spec.clean_session,
        spec.inflight,
        spec.channel_capacity,
    );
    match spec.protocol {
        Protocol::V4 => {
            let (client, eventloop) =
                conn::client_with_session(endpoint, id, clean, inflight, capacity);
            (Client::V4(client), Connection::V4(Box::new(eventloop)))
        }
        Protocol::V5 => {
            let (client, eventloop) = conn::client_v5(endpoint, id, clean, inflight, capacity);
            (Client::V5(client), Connection::V5(Box::new(eventloop)))
        }
    }
}

impl Client {
    /// Queues a PUBLISH without waiting; an error means the request channel is full (or the
    /// event loop is gone).
    pub fn try_publish(&self, topic: &str, qos: QoS, payload: Vec<u8>) -> Result<(), String> {
        match self {
            Client::V4(c) => c
                .try_publish(topic, qos, false, payload)
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_publish(topic, qos_v5(qos), false, payload)
                .map_err(|e| e.to_string()),
        }
    }

    /// Queues a SUBSCRIBE, sent right after CONNACK.
    pub fn try_subscribe(&self, filter: &str, qos: QoS) -> Result<(), String> {
        match self {
            Client::V4(c) => c.try_subscribe(filter, qos).map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_subscribe(filter, qos_v5(qos))
                .map_err(|e| e.to_string()),
        }
    }
}

impl Connection {
    /// The next event, or why the connection failed.
    pub async fn next(&mut self) -> Result<Incoming, String> {
        match self {
            Connection::V4(eventloop) => eventloop
                .poll()
                .await
                .map(incoming_v4)
                .map_err(|e| e.to_string()),
            Connection::V5(eventloop) => eventloop
                .poll()
                .await
                .map(incoming_v5)
                .map_err(|e| e.to_string()),
        }
    }
}

fn incoming_v4(event: rumqttc::Event) -> Incoming {
    use rumqttc::{Event, Packet, SubscribeReasonCode};
    match event {
        Event::Incoming(Packet::ConnAck(_)) => Incoming::ConnAck {
            receive_maximum: None,
        },
        Event::Incoming(Packet::Publish(p)) => Incoming::Publish(p.payload),
        Event::Incoming(Packet::PubAck(_)) => Incoming::PubAck,
        Event::Incoming(Packet::SubAck(ack)) => Incoming::SubAck {
            granted: ack
                .return_codes
                .iter()
                .all(|c| matches!(c, SubscribeReasonCode::Success(_))),
        },
        _ => Incoming::Other,
    }
}

fn incoming_v5(event: v5::Event) -> Incoming {
    use v5::mqttbytes::v5::{Packet, SubscribeReasonCode};
    match event {
        v5::Event::Incoming(Packet::ConnAck(ack)) => Incoming::ConnAck {
            receive_maximum: ack.properties.and_then(|p| p.receive_max),
        },
        v5::Event::Incoming(Packet::Publish(p)) => Incoming::Publish(p.payload),
        v5::Event::Incoming(Packet::PubAck(_)) => Incoming::PubAck,
        v5::Event::Incoming(Packet::SubAck(ack)) => Incoming::SubAck {
            granted: ack
                .return_codes
                .iter()
                .all(|c| matches!(c, SubscribeReasonCode::Success(_))),
        },
        _ => Incoming::Other,
    }
}

fn qos_v5(qos: QoS) -> v5::mqttbytes::QoS {
    match qos {
        QoS::AtMostOnce => v5::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => v5::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => v5::mqttbytes::QoS::ExactlyOnce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_events_map_to_the_same_incoming_as_v4() {
        use v5::mqttbytes::v5::{ConnAck, ConnAckProperties, ConnectReturnCode, Packet, SubAck};
        use v5::mqttbytes::v5::{PubAck, PubAckReason, Publish, SubscribeReasonCode};
        let props = ConnAckProperties {
            session_expiry_interval: None,
            receive_max: Some(20),
            max_qos: None,
            retain_available: None,
            max_packet_size: None,
            assigned_client_identifier: None,
            topic_alias_max: None,
            reason_string: None,
            user_properties: Vec::new(),
            wildcard_subscription_available: None,
            subscription_identifiers_available: None,
            shared_subscription_available: None,
            server_keep_alive: None,
            response_information: None,
            server_reference: None,
            authentication_method: None,
            authentication_data: None,
        };
        let connack = ConnAck {
            session_present: false,
            code: ConnectReturnCode::Success,
            properties: Some(props),
        };
        assert_eq!(
            incoming_v5(v5::Event::Incoming(Packet::ConnAck(connack))),
            Incoming::ConnAck {
                receive_maximum: Some(20)
            }
        );
        let publish = Publish::new("a/b", v5::mqttbytes::QoS::AtMostOnce, vec![1, 2], None);
        assert_eq!(
            incoming_v5(v5::Event::Incoming(Packet::Publish(publish))),
            Incoming::Publish(Bytes::from_static(&[1, 2]))
        );
        let puback = PubAck {
            pkid: 1,
            reason: PubAckReason::Success,
            properties: None,
        };
        assert_eq!(
            incoming_v5(v5::Event::Incoming(Packet::PubAck(puback))),
            Incoming::PubAck
        );
        let suback = |codes| SubAck {
            pkid: 1,
            return_codes: codes,
            properties: None,
        };
        let ok = suback(vec![SubscribeReasonCode::Success(
            v5::mqttbytes::QoS::AtLeastOnce,
        )]);
        let refused = suback(vec![SubscribeReasonCode::NotAuthorized]);
        assert_eq!(
            incoming_v5(v5::Event::Incoming(Packet::SubAck(ok))),
            Incoming::SubAck { granted: true }
        );
        assert_eq!(
            incoming_v5(v5::Event::Incoming(Packet::SubAck(refused))),
            Incoming::SubAck { granted: false }
        );
    }

    #[test]
    fn v4_events_map_to_incoming() {
        use rumqttc::{ConnAck, ConnectReturnCode, Event, Packet, Publish, SubAck};
        use rumqttc::{Outgoing, SubscribeReasonCode};
        assert_eq!(
            incoming_v4(Event::Incoming(Packet::ConnAck(ConnAck::new(
                ConnectReturnCode::Success,
                false
            )))),
            Incoming::ConnAck {
                receive_maximum: None
            }
        );
        assert_eq!(
            incoming_v4(Event::Incoming(Packet::Publish(Publish::new(
                "a/b",
                QoS::AtMostOnce,
                vec![7]
            )))),
            Incoming::Publish(Bytes::from_static(&[7]))
        );
        assert_eq!(
            incoming_v4(Event::Incoming(Packet::SubAck(SubAck::new(
                1,
                vec![SubscribeReasonCode::Failure]
            )))),
            Incoming::SubAck { granted: false }
        );
        assert_eq!(
            incoming_v4(Event::Outgoing(Outgoing::PingReq)),
            Incoming::Other
        );
    }
}
