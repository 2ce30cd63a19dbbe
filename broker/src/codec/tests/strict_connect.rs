//! CONNECT rules (3.1).

use super::*;

/// A CONNECT with keep alive 60 and the given payload fields, already framed.
fn connect(name: &[u8], level: u8, flags: u8, payload: &[&[u8]]) -> Vec<u8> {
    let mut body = field(name);
    body.extend_from_slice(&[level, flags, 0x00, 0x3c]);
    for part in payload {
        body.extend_from_slice(part);
    }
    frame(0x10, &body)
}

fn v311(flags: u8, payload: &[&[u8]]) -> Vec<u8> {
    connect(b"MQTT", 4, flags, payload)
}

#[test]
fn protocol_name_must_be_mqtt_or_mqisdp() {
    for name in [&b"MQTX"[..], b"mqtt", b"MQIsdpX", b"", b"MQTT\0"] {
        let err = decode_err(&connect(name, 4, 0x02, &[&field(b"id")]));
        assert_eq!(
            err,
            DecodeError::InvalidProtocolName(String::from_utf8_lossy(name).into_owned())
        );
        assert_eq!(err.connack_code(), None, "closes without CONNACK");
    }
}

#[test]
fn mqtt_with_level_other_than_4_is_unsupported_protocol_level() {
    for level in [0, 3, 5, 255] {
        // The rest of the packet is not looked at: other revisions differ.
        let err = decode_err(&connect(b"MQTT", level, 0xff, &[b"\xff\xff"]));
        assert_eq!(err, DecodeError::UnsupportedProtocolLevel(level));
        assert_eq!(
            err.connack_code(),
            Some(ConnectReturnCode::UnacceptableProtocolVersion)
        );
    }
}

#[test]
fn mqisdp_with_level_other_than_3_is_unsupported_protocol_level() {
    for level in [4, 5] {
        let err = decode_err(&connect(b"MQIsdp", level, 0x02, &[&field(b"id")]));
        assert_eq!(err, DecodeError::UnsupportedProtocolLevel(level));
    }
}

#[test]
fn reserved_flag_must_be_0() {
    assert_eq!(
        decode_err(&v311(0x03, &[&field(b"id")])),
        DecodeError::ConnectReservedFlag
    );
}

#[test]
fn will_qos_without_will_flag() {
    assert_eq!(
        decode_err(&v311(0x02 | 0x08, &[&field(b"id")])),
        DecodeError::WillQosWithoutWill(1)
    );
    assert_eq!(
        decode_err(&v311(0x02 | 0x10, &[&field(b"id")])),
        DecodeError::WillQosWithoutWill(2)
    );
}

#[test]
fn will_retain_without_will_flag() {
    assert_eq!(
        decode_err(&v311(0x02 | 0x20, &[&field(b"id")])),
        DecodeError::WillRetainWithoutWill
    );
}

#[test]
fn will_qos_3() {
    let payload: [&[u8]; 3] = [&field(b"id"), &field(b"w"), &field(b"bye")];
    assert_eq!(
        decode_err(&v311(0x02 | 0x04 | 0x18, &payload)),
        DecodeError::InvalidWillQos
    );
}

#[test]
fn password_without_username() {
    assert_eq!(
        decode_err(&v311(0x02 | 0x40, &[&field(b"id"), &field(b"secret")])),
        DecodeError::PasswordWithoutUsername
    );
}

#[test]
fn will_topic_must_be_a_valid_topic_name() {
    let will = |topic: &[u8]| v311(0x06, &[&field(b"id"), &field(topic), &field(b"bye")]);
    assert_eq!(
        decode_err(&will(b"")),
        DecodeError::EmptyTopicName {
            packet: PacketType::Connect,
            field: "will topic"
        }
    );
    for (topic, wildcard) in [(&b"a/+"[..], '+'), (b"#", '#'), (b"a/#", '#')] {
        assert_eq!(
            decode_err(&will(topic)),
            DecodeError::WildcardInTopicName {
                packet: PacketType::Connect,
                field: "will topic",
                wildcard
            }
        );
    }
}

#[test]
fn empty_client_id_is_left_to_the_broker() {
    for flags in [0x00, 0x02] {
        let Packet::Connect(c) = decode_ok(&v311(flags, &[&field(b"")])) else {
            panic!("not a CONNECT");
        };
        assert_eq!(c.client_id, "");
        assert_eq!(c.clean_session, flags == 0x02);
    }
}

#[test]
fn flagged_fields_must_be_present() {
    // User name flag set, user name missing (MQTT-3.1.2-19).
    assert_eq!(
        decode_err(&v311(0x82, &[&field(b"id")])),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Connect,
            field: "user name"
        }
    );
    // Will flag set, will message missing (MQTT-3.1.2-9).
    assert_eq!(
        decode_err(&v311(0x06, &[&field(b"id"), &field(b"w")])),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Connect,
            field: "will message"
        }
    );
}

#[test]
fn unflagged_fields_must_be_absent() {
    // User name present without its flag (MQTT-3.1.2-18).
    assert_eq!(
        decode_err(&v311(0x02, &[&field(b"id"), &field(b"user")])),
        DecodeError::TrailingBytes {
            packet: PacketType::Connect,
            count: 6
        }
    );
}

#[test]
fn a_connect_shown_in_a_log_never_shows_its_password() {
    let connect = Connect {
        protocol: Protocol::V311,
        clean_session: true,
        keep_alive: 60,
        client_id: "esp-kitchen".into(),
        will: None,
        username: Some("kitchen".into()),
        password: Some(Bytes::from_static(b"s3cret-wifi-pass")),
    };
    let shown = format!("{connect:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(
        shown.contains("<redacted>") && shown.contains("esp-kitchen"),
        "{shown}"
    );
}

fn v31(flags: u8, payload: &[&[u8]]) -> Vec<u8> {
    connect(b"MQIsdp", 3, flags, payload)
}

/// MQTT 3.1 leaves these bits unused rather than zero; Mosquitto ignores them there too.
#[test]
fn mqtt_3_1_ignores_the_bits_it_leaves_unused() {
    for (flags, what) in [
        (0x02 | 0x01, "reserved bit"),
        (0x02 | 0x08, "will QoS 1 without will"),
        (0x02 | 0x18, "will QoS 3 without will"),
        (0x02 | 0x20, "will retain without will"),
    ] {
        let Packet::Connect(c) = decode_ok(&v31(flags, &[&field(b"id")])) else {
            panic!("{what}: not a CONNECT");
        };
        assert_eq!(c.protocol, Protocol::V31, "{what}");
        assert!(c.clean_session, "{what}");
        assert_eq!(c.will, None, "{what}");
        // Encoded again it is a plain 3.1 CONNECT, which decodes the same.
        assert_eq!(
            decode_ok(&encode(&Packet::Connect(c.clone()))),
            Packet::Connect(c)
        );
    }
    // With a will, its QoS must still be 0..2, and the password needs a user name.
    let will: [&[u8]; 3] = [&field(b"id"), &field(b"w"), &field(b"bye")];
    assert_eq!(
        decode_err(&v31(0x02 | 0x04 | 0x18, &will)),
        DecodeError::InvalidWillQos
    );
    assert_eq!(
        decode_err(&v31(0x02 | 0x40, &[&field(b"id"), &field(b"pw")])),
        DecodeError::PasswordWithoutUsername
    );
    // 3.1.1 keeps them strict.
    assert_eq!(
        decode_err(&v311(0x03, &[&field(b"id")])),
        DecodeError::ConnectReservedFlag
    );
}
