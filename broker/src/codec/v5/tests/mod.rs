//! Tests for the MQTT 5.0 codec, with helpers for building raw packets by hand.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fuzz;
mod incremental;
mod roundtrip;
mod strict_connect;
mod strict_packets;
mod strict_properties;
mod vectors;

use bytes::{Bytes, BytesMut};

use super::*;

/// Generous limit for tests that are not about packet size.
const MAX: usize = 1 << 20;

/// A Variable Byte Integer, written out by hand (1.5.5).
fn vbi(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            return out;
        }
    }
}

/// Frames `body` under the first byte `first`, with a correct remaining length.
fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    [&[first][..], &vbi(body.len()), body].concat()
}

/// A two-byte length prefix followed by `bytes` (1.5.4, 1.5.6).
fn field(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A property block: the Property Length, then the properties given.
fn props(items: &[Vec<u8>]) -> Vec<u8> {
    let body = items.concat();
    [vbi(body.len()), body].concat()
}

fn byte_prop(id: u8, value: u8) -> Vec<u8> {
    vec![id, value]
}

fn two_prop(id: u8, value: u16) -> Vec<u8> {
    [&[id][..], &value.to_be_bytes()].concat()
}

fn four_prop(id: u8, value: u32) -> Vec<u8> {
    [&[id][..], &value.to_be_bytes()].concat()
}

fn text_prop(id: u8, text: &[u8]) -> Vec<u8> {
    [vec![id], field(text)].concat()
}

fn user_prop(name: &[u8], value: &[u8]) -> Vec<u8> {
    [vec![0x26], field(name), field(value)].concat()
}

fn decode_bytes(bytes: &[u8], sender: Sender) -> Result<Option<Packet>, DecodeError> {
    decode(&mut BytesMut::from(bytes), MAX, sender)
}

/// Decodes exactly one complete packet that must consume all of `bytes`.
fn decode_ok(bytes: &[u8], sender: Sender) -> Packet {
    let mut buf = BytesMut::from(bytes);
    let packet = decode(&mut buf, MAX, sender)
        .unwrap_or_else(|e| panic!("{bytes:02x?} rejected: {e}"))
        .unwrap_or_else(|| panic!("{bytes:02x?} incomplete"));
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    packet
}

fn decode_err(bytes: &[u8], sender: Sender) -> DecodeError {
    match decode_bytes(bytes, sender) {
        Err(e) => e,
        Ok(other) => panic!("{bytes:02x?} accepted as {other:?}"),
    }
}

fn client_ok(bytes: &[u8]) -> Packet {
    decode_ok(bytes, Sender::Client)
}

fn client_err(bytes: &[u8]) -> DecodeError {
    decode_err(bytes, Sender::Client)
}

fn server_ok(bytes: &[u8]) -> Packet {
    decode_ok(bytes, Sender::Server)
}

fn server_err(bytes: &[u8]) -> DecodeError {
    decode_err(bytes, Sender::Server)
}

fn encode(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    packet.encode(&mut out);
    out.to_vec()
}

fn users(pairs: &[(&str, &str)]) -> UserProperties {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn options(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: RetainHandling::SendAtSubscribe,
    }
}

fn full_connect() -> Connect {
    Connect {
        clean_start: false,
        keep_alive: u16::MAX,
        properties: ConnectProperties {
            session_expiry_interval: Some(u32::MAX),
            receive_maximum: Some(20),
            maximum_packet_size: Some(1 << 16),
            topic_alias_maximum: Some(10),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            user_properties: users(&[("site", "kitchen"), ("site", "hall")]),
            authentication_method: Some("SCRAM-SHA-256".into()),
            authentication_data: Some(Bytes::from_static(b"client-first")),
        },
        client_id: "thermostat-7".into(),
        will: Some(Will {
            qos: QoS::ExactlyOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(30),
                payload_format_indicator: Some(true),
                message_expiry_interval: Some(3600),
                content_type: Some("text/plain".into()),
                response_topic: Some("home/replies".into()),
                correlation_data: Some(Bytes::from_static(&[0, 1, 2])),
                user_properties: users(&[("why", "power cut")]),
            },
            topic: "home/thermostat/status".into(),
            payload: Bytes::from_static(b"gone"),
        }),
        username: Some("ünïcode".into()),
        password: Some(Bytes::from_static(&[0, 1, 2, 0xff])),
    }
}

fn full_connack() -> Connack {
    Connack {
        session_present: true,
        reason: ConnackReason::Success,
        properties: ConnackProperties {
            session_expiry_interval: Some(7200),
            receive_maximum: Some(100),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(true),
            maximum_packet_size: Some(268_435_460),
            assigned_client_identifier: Some("auto-1f3a".into()),
            topic_alias_maximum: Some(16),
            reason_string: Some("welcome".into()),
            user_properties: users(&[("broker", "hearth")]),
            wildcard_subscription_available: Some(true),
            subscription_identifiers_available: Some(true),
            shared_subscription_available: Some(false),
            server_keep_alive: Some(60),
            response_information: Some("home/responses/".into()),
            server_reference: Some("other.example:1883".into()),
            authentication_method: Some("SCRAM-SHA-256".into()),
            authentication_data: Some(Bytes::from_static(b"server-final")),
        },
    }
}

fn full_publish_properties() -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(0),
        topic_alias: Some(3),
        response_topic: Some("home/kitchen/light/reply".into()),
        correlation_data: Some(Bytes::from_static(b"req-42")),
        user_properties: users(&[("a", "1"), ("b", ""), ("a", "2")]),
        subscription_identifiers: Vec::new(),
        content_type: Some("application/json".into()),
    }
}

fn ack_properties(reason: &str) -> AckProperties {
    AckProperties {
        reason_string: Some(reason.into()),
        user_properties: users(&[("trace", "abc")]),
    }
}

/// Packets a client sends: at least one of every type it may send, covering each optional
/// field and every remaining-length width up to three bytes.
fn client_samples() -> Vec<Packet> {
    vec![
        Packet::Connect(Connect {
            clean_start: true,
            keep_alive: 0,
            properties: ConnectProperties::default(),
            client_id: String::new(),
            will: None,
            username: None,
            password: None,
        }),
        Packet::Connect(full_connect()),
        // Will QoS 0, and a password without a user name (3.1.2.9).
        Packet::Connect(Connect {
            clean_start: true,
            keep_alive: 30,
            properties: ConnectProperties::default(),
            client_id: "c".into(),
            will: Some(Will {
                qos: QoS::AtMostOnce,
                retain: false,
                properties: WillProperties::default(),
                topic: "w".into(),
                payload: Bytes::new(),
            }),
            username: None,
            password: Some(Bytes::from_static(b"token")),
        }),
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: true,
            topic: "a".into(),
            pkid: 0,
            properties: PublishProperties::default(),
            payload: Bytes::new(),
        }),
        Packet::Publish(Publish {
            dup: true,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "home/kitchen/light".into(),
            pkid: 1,
            properties: full_publish_properties(),
            payload: Bytes::from(vec![0xab; 300]),
        }),
        // An empty topic with a Topic Alias (3.3.2.3.4).
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic: String::new(),
            pkid: u16::MAX,
            properties: PublishProperties {
                topic_alias: Some(u16::MAX),
                ..PublishProperties::default()
            },
            payload: Bytes::from(vec![7; 20_000]),
        }),
        Packet::Puback(PubAck {
            pkid: 1,
            reason: PubAckReason::Success,
            properties: AckProperties::default(),
        }),
        Packet::Puback(PubAck {
            pkid: 2,
            reason: PubAckReason::NoMatchingSubscribers,
            properties: AckProperties::default(),
        }),
        Packet::Pubrec(PubAck {
            pkid: 3,
            reason: PubAckReason::QuotaExceeded,
            properties: ack_properties("queue full"),
        }),
        Packet::Pubrec(PubAck {
            pkid: 3,
            reason: PubAckReason::Success,
            properties: AckProperties {
                reason_string: None,
                user_properties: users(&[("k", "v")]),
            },
        }),
        Packet::Pubrel(PubRel {
            pkid: 0x1234,
            reason: PubRelReason::Success,
            properties: AckProperties::default(),
        }),
        Packet::Pubcomp(PubRel {
            pkid: u16::MAX,
            reason: PubRelReason::PacketIdentifierNotFound,
            properties: ack_properties("unknown"),
        }),
        Packet::Subscribe(Subscribe {
            pkid: 10,
            properties: SubscribeProperties {
                subscription_identifier: Some(268_435_455),
                user_properties: users(&[("app", "dashboard")]),
            },
            filters: vec![
                ("home/+/temp".into(), options(QoS::AtMostOnce)),
                (
                    "#".into(),
                    SubscriptionOptions {
                        qos: QoS::AtLeastOnce,
                        no_local: true,
                        retain_as_published: true,
                        retain_handling: RetainHandling::DoNotSend,
                    },
                ),
                (
                    "$share/group/a/#/b".into(),
                    SubscriptionOptions {
                        qos: QoS::ExactlyOnce,
                        no_local: false,
                        retain_as_published: false,
                        retain_handling: RetainHandling::SendAtSubscribeIfNew,
                    },
                ),
                (String::new(), options(QoS::AtMostOnce)),
            ],
        }),
        Packet::Subscribe(Subscribe {
            pkid: 11,
            properties: SubscribeProperties::default(),
            filters: vec![("a".into(), options(QoS::AtLeastOnce))],
        }),
        Packet::Unsubscribe(Unsubscribe {
            pkid: 12,
            properties: UnsubscribeProperties {
                user_properties: users(&[("x", "y")]),
            },
            filters: vec!["home/+/temp".into(), "#".into()],
        }),
        Packet::Pingreq,
        Packet::Disconnect(Disconnect {
            reason: DisconnectReason::NormalDisconnection,
            properties: DisconnectProperties::default(),
        }),
        Packet::Disconnect(Disconnect {
            reason: DisconnectReason::DisconnectWithWillMessage,
            properties: DisconnectProperties::default(),
        }),
        Packet::Disconnect(Disconnect {
            reason: DisconnectReason::NormalDisconnection,
            properties: DisconnectProperties {
                session_expiry_interval: Some(0),
                reason_string: Some("bye".into()),
                user_properties: users(&[("k", "v")]),
                server_reference: None,
            },
        }),
        Packet::Auth(Auth {
            reason: AuthReason::ContinueAuthentication,
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-256".into()),
                authentication_data: Some(Bytes::from_static(b"client-final")),
                reason_string: None,
                user_properties: Vec::new(),
            },
        }),
        Packet::Auth(Auth {
            reason: AuthReason::ReAuthenticate,
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-256".into()),
                authentication_data: None,
                reason_string: Some("again".into()),
                user_properties: users(&[("k", "v")]),
            },
        }),
    ]
}

/// Packets a server sends, likewise.
fn server_samples() -> Vec<Packet> {
    vec![
        Packet::Connack(Connack {
            session_present: false,
            reason: ConnackReason::Success,
            properties: ConnackProperties::default(),
        }),
        Packet::Connack(full_connack()),
        Packet::Connack(Connack {
            session_present: false,
            reason: ConnackReason::NotAuthorized,
            properties: ConnackProperties {
                reason_string: Some("no ACL entry".into()),
                ..ConnackProperties::default()
            },
        }),
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "home/kitchen/temp".into(),
            pkid: 9,
            properties: PublishProperties {
                subscription_identifiers: vec![1, 268_435_455, 128],
                ..full_publish_properties()
            },
            payload: Bytes::from_static(b"21.5"),
        }),
        Packet::Puback(PubAck {
            pkid: 9,
            reason: PubAckReason::NotAuthorized,
            properties: ack_properties("denied"),
        }),
        Packet::Suback(Suback {
            pkid: 10,
            properties: ack_properties("partly"),
            reasons: SubackReason::ALL.to_vec(),
        }),
        Packet::Suback(Suback {
            pkid: 11,
            properties: AckProperties::default(),
            reasons: vec![SubackReason::GrantedQos1],
        }),
        Packet::Unsuback(Unsuback {
            pkid: 12,
            properties: AckProperties::default(),
            reasons: UnsubackReason::ALL.to_vec(),
        }),
        Packet::Pingresp,
        Packet::Disconnect(Disconnect {
            reason: DisconnectReason::SessionTakenOver,
            properties: DisconnectProperties::default(),
        }),
        Packet::Disconnect(Disconnect {
            reason: DisconnectReason::UseAnotherServer,
            properties: DisconnectProperties {
                session_expiry_interval: None,
                reason_string: Some("maintenance".into()),
                user_properties: Vec::new(),
                server_reference: Some("backup.example".into()),
            },
        }),
        Packet::Auth(Auth {
            reason: AuthReason::Success,
            properties: AuthProperties::default(),
        }),
        Packet::Auth(Auth {
            reason: AuthReason::Success,
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-256".into()),
                authentication_data: Some(Bytes::from_static(b"server-final")),
                reason_string: None,
                user_properties: Vec::new(),
            },
        }),
    ]
}

/// Every sample with the side that sends it.
fn samples() -> Vec<(Sender, Packet)> {
    let client = client_samples().into_iter().map(|p| (Sender::Client, p));
    let server = server_samples().into_iter().map(|p| (Sender::Server, p));
    client.chain(server).collect()
}
