//! CONNECT rules (3.1.2, 3.1.3).

use super::*;

/// A CONNECT body from its parts: protocol name, version, flags, keep alive 60, empty
/// properties, then `payload`.
fn connect(name: &[u8], version: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    frame(
        0x10,
        &[
            &field(name)[..],
            &[version, flags, 0x00, 0x3c, 0x00],
            payload,
        ]
        .concat(),
    )
}

#[test]
fn protocol_name_and_version_are_answered_with_0x84() {
    for name in [&b"MQIsdp"[..], b"MQTX", b"mqtt"] {
        let err = client_err(&connect(name, 5, 0x02, &field(b"c")));
        assert!(matches!(err, DecodeError::InvalidProtocolName(_)), "{err}");
        assert_eq!(
            err.connack_reason(),
            ConnackReason::UnsupportedProtocolVersion
        );
    }
    for version in [3, 4, 6] {
        let err = client_err(&connect(b"MQTT", version, 0x02, &field(b"c")));
        assert_eq!(err, DecodeError::UnsupportedProtocolVersion(version));
        assert_eq!(
            err.connack_reason(),
            ConnackReason::UnsupportedProtocolVersion
        );
    }
}

#[test]
fn connect_flags_rules() {
    let cases = [
        (0x03, DecodeError::ConnectReservedFlag),
        (0x08, DecodeError::WillQosWithoutWill(1)),
        (0x18, DecodeError::WillQosWithoutWill(3)),
        (0x20, DecodeError::WillRetainWithoutWill),
        (0x1c, DecodeError::InvalidWillQos),
    ];
    for (flags, expected) in cases {
        let err = client_err(&connect(b"MQTT", 5, flags, &field(b"c")));
        assert_eq!(err, expected, "{flags:#04x}");
        assert_eq!(err.connack_reason(), ConnackReason::MalformedPacket);
    }
}

#[test]
fn password_without_user_name_is_allowed_in_5_0() {
    let bytes = connect(b"MQTT", 5, 0x42, &[field(b"c"), field(b"secret")].concat());
    let Packet::Connect(c) = client_ok(&bytes) else {
        panic!("not a CONNECT");
    };
    assert_eq!(
        (c.username, c.password),
        (None, Some(Bytes::from_static(b"secret")))
    );
}

#[test]
fn flagged_fields_must_be_present_and_unflagged_ones_absent() {
    // User name flagged, missing.
    assert_eq!(
        client_err(&connect(b"MQTT", 5, 0x82, &field(b"c"))),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Connect,
            field: "user name"
        }
    );
    // A user name sent without its flag.
    assert_eq!(
        client_err(&connect(
            b"MQTT",
            5,
            0x02,
            &[field(b"c"), field(b"u")].concat()
        )),
        DecodeError::TrailingBytes {
            packet: PacketType::Connect,
            count: 3
        }
    );
    // Will flagged: its properties come first (3.1.3.2), then topic and payload.
    assert_eq!(
        client_err(&connect(
            b"MQTT",
            5,
            0x06,
            &[field(b"c"), vec![0x00], field(b"t")].concat()
        )),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Connect,
            field: "will payload"
        }
    );
}

#[test]
fn will_topic_is_a_topic_name() {
    for (topic, expected) in [
        (
            &b""[..],
            DecodeError::EmptyTopicName {
                packet: PacketType::Connect,
                field: "will topic",
            },
        ),
        (
            b"a/#",
            DecodeError::WildcardInTopicName {
                packet: PacketType::Connect,
                field: "will topic",
                wildcard: '#',
            },
        ),
    ] {
        let payload = [field(b"c"), vec![0x00], field(topic), field(b"bye")].concat();
        let err = client_err(&connect(b"MQTT", 5, 0x06, &payload));
        assert_eq!(err, expected);
        assert_eq!(err.connack_reason(), ConnackReason::MalformedPacket);
    }
}

#[test]
fn will_payload_format_indicator_is_0_or_1() {
    let payload = [
        field(b"c"),
        props(&[byte_prop(0x01, 2)]),
        field(b"t"),
        field(b"bye"),
    ]
    .concat();
    let err = client_err(&connect(b"MQTT", 5, 0x06, &payload));
    assert_eq!(
        err,
        DecodeError::InvalidPropertyValue {
            scope: PropertyScope::Will,
            property: Property::PayloadFormatIndicator,
            value: 2,
            expected: "0 or 1"
        }
    );
    assert_eq!(
        err.to_string(),
        "CONNECT will Payload Format Indicator (0x01) is 2, must be 0 or 1"
    );
    assert_eq!(err.connack_reason(), ConnackReason::ProtocolError);
}

#[test]
fn client_identifier_and_user_name_are_strict_utf8() {
    assert_eq!(
        client_err(&connect(b"MQTT", 5, 0x02, &field(b"a\0b"))),
        DecodeError::NullCharacter {
            packet: PacketType::Connect,
            field: "client identifier"
        }
    );
    assert_eq!(
        client_err(&connect(
            b"MQTT",
            5,
            0x82,
            &[field(b"c"), field(b"\xed\xbf\xbf")].concat()
        )),
        DecodeError::InvalidUtf8 {
            packet: PacketType::Connect,
            field: "user name"
        }
    );
}

#[test]
fn connect_properties_come_before_the_payload() {
    // Without the Property Length byte the client identifier would be read as properties.
    let bytes = frame(
        0x10,
        &[&field(b"MQTT")[..], &[5, 0x02, 0x00, 0x3c], &field(b"c")].concat(),
    );
    assert!(client_err(&bytes).to_string().starts_with("CONNECT"));
}
