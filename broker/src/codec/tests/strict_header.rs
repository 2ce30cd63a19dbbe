//! Fixed header and remaining-length rules (2.2).

use super::*;

const ALL_TYPES: [PacketType; 14] = [
    PacketType::Connect,
    PacketType::Connack,
    PacketType::Publish,
    PacketType::Puback,
    PacketType::Pubrec,
    PacketType::Pubrel,
    PacketType::Pubcomp,
    PacketType::Subscribe,
    PacketType::Suback,
    PacketType::Unsubscribe,
    PacketType::Unsuback,
    PacketType::Pingreq,
    PacketType::Pingresp,
    PacketType::Disconnect,
];

#[test]
fn reserved_packet_types_0_and_15() {
    // Refused from the first byte alone.
    assert_eq!(decode_err(&[0x00]), DecodeError::ReservedPacketType(0));
    assert_eq!(
        decode_err(&[0xf0, 0x00]),
        DecodeError::ReservedPacketType(15)
    );
}

#[test]
fn pubrel_subscribe_unsubscribe_flags_must_be_0010() {
    for packet in [
        PacketType::Pubrel,
        PacketType::Subscribe,
        PacketType::Unsubscribe,
    ] {
        for flags in (0..16).filter(|&f| f != 0b0010) {
            assert_eq!(
                decode_err(&[((packet as u8) << 4) | flags]),
                DecodeError::InvalidFixedHeaderFlags {
                    packet,
                    flags,
                    expected: 0b0010
                }
            );
        }
    }
}

#[test]
fn other_packet_flags_must_be_0() {
    for packet in ALL_TYPES {
        if matches!(
            packet,
            PacketType::Publish
                | PacketType::Pubrel
                | PacketType::Subscribe
                | PacketType::Unsubscribe
        ) {
            continue;
        }
        for flags in 1..16 {
            assert_eq!(
                decode_err(&[((packet as u8) << 4) | flags, 0x00]),
                DecodeError::InvalidFixedHeaderFlags {
                    packet,
                    flags,
                    expected: 0
                }
            );
        }
    }
}

#[test]
fn publish_flags_are_free() {
    // DUP, QoS 1/2 and RETAIN in every legal combination.
    for first in [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x3a, 0x3b, 0x3c, 0x3d] {
        let qos = (first >> 1) & 0b11;
        let mut body = field(b"t");
        if qos > 0 {
            body.extend_from_slice(&[0x00, 0x01]);
        }
        let Packet::Publish(p) = decode_ok(&frame(first, &body)) else {
            panic!("not a PUBLISH");
        };
        assert_eq!(p.qos as u8, qos);
        assert_eq!(p.dup, first & 0b1000 != 0);
        assert_eq!(p.retain, first & 0b0001 != 0);
    }
}

#[test]
fn remaining_length_over_4_bytes_is_malformed() {
    // Refused on the fourth length byte, without waiting for a fifth.
    assert_eq!(
        decode_err(&[0x30, 0xff, 0xff, 0xff, 0xff]),
        DecodeError::MalformedRemainingLength
    );
    assert_eq!(
        decode_err(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]),
        DecodeError::MalformedRemainingLength
    );
}

#[test]
fn non_minimal_remaining_length_is_accepted() {
    // 3.1.1 has no normative statement against padding the length with
    // 0x80 bytes (MQTT 5 added one), so a padded zero still frames PINGREQ.
    assert_eq!(decode_ok(&[0xc0, 0x80, 0x00]), Packet::Pingreq);
}

#[test]
fn packet_over_max_packet_size() {
    let bytes = frame(0x30, &[field(b"t").as_slice(), &[0; 20]].concat());
    assert_eq!(bytes.len(), 25);
    assert_eq!(
        decode(&mut BytesMut::from(&bytes[..]), 24),
        Err(DecodeError::PacketTooLarge { size: 25, max: 24 })
    );
    // The limit is inclusive.
    assert!(decode(&mut BytesMut::from(&bytes[..]), 25)
        .unwrap()
        .is_some());
}

#[test]
fn remaining_length_too_short() {
    // PUBLISH QoS 1 that ends after its topic.
    assert_eq!(
        decode_err(&frame(0x32, &field(b"a/b"))),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Publish,
            field: "packet identifier"
        }
    );
    // A string whose length prefix runs past the remaining length.
    assert_eq!(
        decode_err(&frame(0x30, &[0x00, 0x05, b'a'])),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Publish,
            field: "topic"
        }
    );
    // SUBSCRIBE whose last filter has no requested QoS byte.
    assert_eq!(
        decode_err(&frame(0x82, &[&[0x00, 0x01][..], &field(b"a")].concat())),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Subscribe,
            field: "requested QoS"
        }
    );
}

#[test]
fn remaining_length_too_long_leaves_trailing_bytes() {
    // A CONNECT with a byte after its last flagged field. (PUBLISH payloads
    // and the lists of SUBSCRIBE, SUBACK and UNSUBSCRIBE run to the end, so
    // there an overlong length shows up as a short field instead.)
    let body = [
        &field(b"MQTT")[..],
        &[0x04, 0x02, 0x00, 0x00],
        &field(b"id"),
        &[0xff],
    ]
    .concat();
    assert_eq!(
        decode_err(&frame(0x10, &body)),
        DecodeError::TrailingBytes {
            packet: PacketType::Connect,
            count: 1
        }
    );
    assert_eq!(
        decode_err(&frame(
            0xa2,
            &[&[0x00, 0x01][..], &field(b"a"), &[0x00]].concat()
        )),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Unsubscribe,
            field: "topic filter"
        }
    );
}

#[test]
fn pingreq_pingresp_disconnect_remaining_length_must_be_0() {
    for packet in [
        PacketType::Pingreq,
        PacketType::Pingresp,
        PacketType::Disconnect,
    ] {
        // Refused from the fixed header, before the body arrives.
        assert_eq!(
            decode_err(&[(packet as u8) << 4, 0x01]),
            DecodeError::InvalidRemainingLength {
                packet,
                expected: 0,
                actual: 1
            }
        );
    }
}

#[test]
fn acks_remaining_length_must_be_2() {
    for (first, packet) in [
        (0x20, PacketType::Connack),
        (0x40, PacketType::Puback),
        (0x50, PacketType::Pubrec),
        (0x62, PacketType::Pubrel),
        (0x70, PacketType::Pubcomp),
        (0xb0, PacketType::Unsuback),
    ] {
        for actual in [0, 1, 3, 200] {
            assert_eq!(
                decode_err(&frame(first, &vec![0x01; actual])),
                DecodeError::InvalidRemainingLength {
                    packet,
                    expected: 2,
                    actual
                }
            );
        }
    }
}
