//! Tests for the codec, with helpers for building raw packets by hand.
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
mod strict_header;
mod strict_packets;
mod strict_strings;
mod vectors;

use bytes::{Bytes, BytesMut};

use super::{
    decode, encode_publish, Connack, Connect, ConnectReturnCode, DecodeError, LastWill, Packet,
    PacketType, Protocol, Publish, QoS, Suback, SubackCode, Subscribe, Unsubscribe,
};

/// Generous limit for tests that are not about packet size.
const MAX: usize = 1 << 20;

/// Frames `body` under the first byte `first`, with a correct remaining length.
fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// A two-byte length prefix followed by `bytes` (1.5.3 framing).
fn field(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

fn decode_bytes(bytes: &[u8]) -> Result<Option<Packet>, DecodeError> {
    decode(&mut BytesMut::from(bytes), MAX)
}

/// Decodes exactly one complete packet that must consume all of `bytes`.
fn decode_ok(bytes: &[u8]) -> Packet {
    let mut buf = BytesMut::from(bytes);
    let packet = decode(&mut buf, MAX)
        .unwrap_or_else(|e| panic!("{bytes:02x?} rejected: {e}"))
        .unwrap_or_else(|| panic!("{bytes:02x?} incomplete"));
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    packet
}

fn decode_err(bytes: &[u8]) -> DecodeError {
    match decode_bytes(bytes) {
        Err(e) => e,
        Ok(other) => panic!("{bytes:02x?} accepted as {other:?}"),
    }
}

fn encode(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    packet.encode(&mut out);
    out.to_vec()
}

/// At least one packet of every type, covering each optional field and
/// every remaining-length width up to three bytes.
fn samples() -> Vec<Packet> {
    vec![
        Packet::Connect(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 0,
            client_id: String::new(),
            will: None,
            username: None,
            password: None,
        }),
        Packet::Connect(Connect {
            protocol: Protocol::V31,
            clean_session: false,
            keep_alive: u16::MAX,
            client_id: "thermostat-7".into(),
            will: Some(LastWill {
                topic: "home/thermostat/status".into(),
                payload: Bytes::from_static(b"gone"),
                qos: QoS::ExactlyOnce,
                retain: true,
            }),
            username: Some("ünïcode".into()),
            password: Some(Bytes::from_static(&[0, 1, 2, 0xff])),
        }),
        Packet::Connect(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 30,
            client_id: "c".into(),
            will: Some(LastWill {
                topic: "w".into(),
                payload: Bytes::new(),
                qos: QoS::AtMostOnce,
                retain: false,
            }),
            username: Some(String::new()),
            password: None,
        }),
        Packet::Connack(Connack {
            session_present: true,
            code: ConnectReturnCode::Accepted,
        }),
        Packet::Connack(Connack {
            session_present: false,
            code: ConnectReturnCode::NotAuthorized,
        }),
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: true,
            topic: "a".into(),
            pkid: 0,
            payload: Bytes::new(),
        }),
        Packet::Publish(Publish {
            dup: true,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "home/kitchen/light".into(),
            pkid: 1,
            payload: Bytes::from(vec![0xab; 300]),
        }),
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic: "\u{feff}/Zürich/温度".into(),
            pkid: u16::MAX,
            payload: Bytes::from(vec![7; 20_000]),
        }),
        Packet::Puback(1),
        Packet::Pubrec(2),
        Packet::Pubrel(0x1234),
        Packet::Pubcomp(u16::MAX),
        Packet::Subscribe(Subscribe {
            pkid: 10,
            filters: vec![
                ("home/+/temp".into(), QoS::AtMostOnce),
                ("#".into(), QoS::AtLeastOnce),
                ("a/#/b".into(), QoS::ExactlyOnce),
                (String::new(), QoS::AtMostOnce),
            ],
        }),
        Packet::Suback(Suback {
            pkid: 10,
            codes: vec![
                SubackCode::Granted(QoS::AtMostOnce),
                SubackCode::Granted(QoS::AtLeastOnce),
                SubackCode::Granted(QoS::ExactlyOnce),
                SubackCode::Failure,
            ],
        }),
        Packet::Unsubscribe(Unsubscribe {
            pkid: 11,
            filters: vec!["home/+/temp".into(), "#".into()],
        }),
        Packet::Unsuback(11),
        Packet::Pingreq,
        Packet::Pingresp,
        Packet::Disconnect,
    ]
}
