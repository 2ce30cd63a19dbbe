//! PUBLISH, SUBSCRIBE, UNSUBSCRIBE, acknowledgement and CONNACK rules.

use super::*;

fn publish(first: u8, topic: &[u8], rest: &[u8]) -> Vec<u8> {
    frame(first, &[&field(topic)[..], rest].concat())
}

#[test]
fn publish_qos_3() {
    // Refused from the first byte alone.
    assert_eq!(decode_err(&[0x36]), DecodeError::InvalidPublishQos);
    assert_eq!(decode_err(&[0x3f]), DecodeError::InvalidPublishQos);
}

#[test]
fn publish_dup_with_qos_0() {
    assert_eq!(decode_err(&[0x38]), DecodeError::DupWithQos0);
    assert_eq!(decode_err(&[0x39]), DecodeError::DupWithQos0);
}

#[test]
fn publish_topic_empty() {
    assert_eq!(
        decode_err(&publish(0x30, b"", b"payload")),
        DecodeError::EmptyTopicName {
            packet: PacketType::Publish,
            field: "topic"
        }
    );
}

#[test]
fn publish_topic_with_wildcard() {
    for (topic, wildcard) in [
        (&b"+"[..], '+'),
        (b"a/+/b", '+'),
        (b"a+", '+'),
        (b"#", '#'),
        (b"a/#", '#'),
    ] {
        let err = decode_err(&publish(0x30, topic, b""));
        assert_eq!(
            err,
            DecodeError::WildcardInTopicName {
                packet: PacketType::Publish,
                field: "topic",
                wildcard
            }
        );
        assert!(err
            .to_string()
            .starts_with(&format!("PUBLISH topic contains wildcard '{wildcard}'")));
    }
}

#[test]
fn publish_pkid_0_with_qos_above_0() {
    for first in [0x32, 0x34] {
        assert_eq!(
            decode_err(&publish(first, b"t", &[0x00, 0x00])),
            DecodeError::ZeroPacketId {
                packet: PacketType::Publish
            }
        );
    }
}

#[test]
fn publish_empty_payload_is_allowed() {
    let Packet::Publish(p) = decode_ok(&publish(0x31, b"t", b"")) else {
        panic!("not a PUBLISH");
    };
    assert!(p.payload.is_empty());
    assert_eq!(p.pkid, 0);
}

#[test]
fn subscribe_and_unsubscribe_pkid_0() {
    let entry = [&field(b"a")[..], &[0x00]].concat();
    assert_eq!(
        decode_err(&frame(0x82, &[&[0x00, 0x00][..], &entry].concat())),
        DecodeError::ZeroPacketId {
            packet: PacketType::Subscribe
        }
    );
    assert_eq!(
        decode_err(&frame(0xa2, &[&[0x00, 0x00][..], &field(b"a")].concat())),
        DecodeError::ZeroPacketId {
            packet: PacketType::Unsubscribe
        }
    );
}

#[test]
fn subscribe_without_filters() {
    assert_eq!(
        decode_err(&frame(0x82, &[0x00, 0x01])),
        DecodeError::EmptySubscribe
    );
}

#[test]
fn unsubscribe_without_filters() {
    assert_eq!(
        decode_err(&frame(0xa2, &[0x00, 0x01])),
        DecodeError::EmptyUnsubscribe
    );
}

#[test]
fn subscribe_requested_qos_reserved_bits() {
    for requested in [0x04, 0x05, 0x80, 0xfc, 0xff] {
        let body = [&[0x00, 0x01][..], &field(b"a"), &[requested]].concat();
        assert_eq!(
            decode_err(&frame(0x82, &body)),
            DecodeError::SubscribeReservedBits(requested)
        );
    }
}

#[test]
fn subscribe_requested_qos_3() {
    let body = [&[0x00, 0x01][..], &field(b"a"), &[0x03]].concat();
    assert_eq!(
        decode_err(&frame(0x82, &body)),
        DecodeError::InvalidRequestedQos
    );
}

#[test]
fn filters_with_misplaced_wildcards_pass_through() {
    // The broker answers these with SUBACK 0x80 (4.7.1), so they must arrive.
    let filters = [&b"a/#/b"[..], b"a+", b"", b"#/a", b"+/+", b"sport/tennis#"];
    let mut body = vec![0x00, 0x05];
    let mut unsub = vec![0x00, 0x06];
    for filter in filters {
        body.extend_from_slice(&field(filter));
        body.push(0x01);
        unsub.extend_from_slice(&field(filter));
    }
    let Packet::Subscribe(s) = decode_ok(&frame(0x82, &body)) else {
        panic!("not a SUBSCRIBE");
    };
    let got: Vec<&[u8]> = s.filters.iter().map(|(f, _)| f.as_bytes()).collect();
    assert_eq!(got, filters);
    let Packet::Unsubscribe(u) = decode_ok(&frame(0xa2, &unsub)) else {
        panic!("not an UNSUBSCRIBE");
    };
    let got: Vec<&[u8]> = u.filters.iter().map(String::as_bytes).collect();
    assert_eq!(got, filters);
}

#[test]
fn acks_with_pkid_0() {
    for (first, packet) in [
        (0x40, PacketType::Puback),
        (0x50, PacketType::Pubrec),
        (0x62, PacketType::Pubrel),
        (0x70, PacketType::Pubcomp),
        (0xb0, PacketType::Unsuback),
    ] {
        assert_eq!(
            decode_err(&[first, 0x02, 0x00, 0x00]),
            DecodeError::ZeroPacketId { packet }
        );
    }
    assert_eq!(
        decode_err(&[0x90, 0x03, 0x00, 0x00, 0x00]),
        DecodeError::ZeroPacketId {
            packet: PacketType::Suback
        }
    );
}

#[test]
fn connack_reserved_flag_bits() {
    for flags in [0x02, 0x80, 0xff] {
        assert_eq!(
            decode_err(&[0x20, 0x02, flags, 0x00]),
            DecodeError::ConnackReservedFlags(flags)
        );
    }
}

#[test]
fn connack_return_code_above_5() {
    for code in [6, 0x80, 0xff] {
        assert_eq!(
            decode_err(&[0x20, 0x02, 0x00, code]),
            DecodeError::InvalidConnectReturnCode(code)
        );
    }
}

#[test]
fn connack_session_present_with_refusal() {
    assert_eq!(
        decode_err(&[0x20, 0x02, 0x01, 0x05]),
        DecodeError::SessionPresentWithRefusal(5)
    );
}

#[test]
fn suback_reserved_return_code() {
    for code in [0x03, 0x7f, 0x81, 0xff] {
        assert_eq!(
            decode_err(&[0x90, 0x03, 0x00, 0x01, code]),
            DecodeError::InvalidSubackCode(code)
        );
    }
}

#[test]
fn suback_without_return_codes() {
    assert_eq!(
        decode_err(&[0x90, 0x02, 0x00, 0x01]),
        DecodeError::EmptySuback
    );
}

#[test]
fn error_messages_name_the_violation() {
    let cases = [
        (decode_err(&[0x36]), "PUBLISH QoS is 3 (MQTT-3.3.1-4)"),
        (
            decode_err(&[0x63]),
            "PUBREL fixed header flags are 0b0011, must be 0b0010 (MQTT-2.2.2-1, MQTT-2.2.2-2)",
        ),
        (
            decode_err(&frame(0x32, &field(b"a/b"))),
            "PUBLISH ends inside its packet identifier (remaining length too short)",
        ),
        (
            decode_err(&frame(0x30, &field(b"a\0"))),
            "PUBLISH topic contains U+0000 (MQTT-1.5.3-2)",
        ),
    ];
    for (err, message) in cases {
        assert_eq!(err.to_string(), message);
    }
}
