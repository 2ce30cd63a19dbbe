//! Encoding: every sample survives a round trip, short forms, property order, sizes,
//! fitting a Maximum Packet Size, and what a caller learns without decoding.

use super::*;

#[test]
fn every_sample_round_trips() {
    for (sender, packet) in samples() {
        let bytes = encode(&packet);
        assert_eq!(bytes.len(), packet.encoded_len(), "{packet:?}");
        assert_eq!(decode_ok(&bytes, sender), packet);
    }
}

#[test]
fn every_packet_type_is_covered() {
    let seen: std::collections::HashSet<PacketType> =
        samples().iter().map(|(_, p)| p.packet_type()).collect();
    assert_eq!(seen.len(), 15);
}

#[test]
fn every_sample_is_named_by_its_wire_type() {
    for (_, packet) in samples() {
        let first = encode(&packet)[0];
        let wire = PacketType::from_u8(first >> 4).unwrap();
        assert_eq!(packet.packet_type(), wire, "{packet:?}");
        assert_eq!(wire.to_string(), format!("{wire:?}").to_uppercase());
    }
}

#[test]
fn several_packets_back_to_back_decode_in_order() {
    for sender in [Sender::Client, Sender::Server] {
        let packets: Vec<Packet> = samples()
            .into_iter()
            .filter(|(s, _)| *s == sender)
            .map(|(_, p)| p)
            .collect();
        let mut buf = BytesMut::new();
        for packet in &packets {
            packet.encode(&mut buf);
        }
        for packet in &packets {
            assert_eq!(
                decode(&mut buf, MAX, sender).unwrap().as_ref(),
                Some(packet)
            );
        }
        assert!(buf.is_empty());
    }
}

/// The longer forms the spec allows decode, and re-encode in the shortest form.
#[test]
fn optional_reason_codes_and_property_lengths_are_written_only_when_needed() {
    let cases: [(&[u8], &[u8]); 8] = [
        (&[0x40, 0x03, 0x00, 0x01, 0x00], &[0x40, 0x02, 0x00, 0x01]),
        (
            &[0x40, 0x04, 0x00, 0x01, 0x00, 0x00],
            &[0x40, 0x02, 0x00, 0x01],
        ),
        (
            &[0x50, 0x04, 0x00, 0x01, 0x10, 0x00],
            &[0x50, 0x03, 0x00, 0x01, 0x10],
        ),
        (&[0x62, 0x03, 0x00, 0x01, 0x00], &[0x62, 0x02, 0x00, 0x01]),
        (
            &[0x70, 0x04, 0x00, 0x01, 0x92, 0x00],
            &[0x70, 0x03, 0x00, 0x01, 0x92],
        ),
        (&[0xe0, 0x01, 0x00], &[0xe0, 0x00]),
        (&[0xe0, 0x02, 0x00, 0x00], &[0xe0, 0x00]),
        (&[0xe0, 0x02, 0x81, 0x00], &[0xe0, 0x01, 0x81]),
    ];
    for (long, short) in cases {
        let packet = client_ok(long);
        assert_eq!(encode(&packet), short, "{long:02x?}");
        assert_eq!(client_ok(short), packet);
    }
}

#[test]
fn properties_are_written_in_ascending_identifier_order_keeping_user_property_order() {
    let body = [
        field(b"t"),
        props(&[
            user_prop(b"z", b"1"),
            text_prop(0x03, b"text/plain"),
            user_prop(b"a", b"2"),
            byte_prop(0x01, 1),
        ]),
    ]
    .concat();
    let packet = client_ok(&frame(0x30, &body));
    let Packet::Publish(publish) = &packet else {
        panic!("not a PUBLISH");
    };
    assert_eq!(
        publish.properties.user_properties,
        users(&[("z", "1"), ("a", "2")])
    );
    let sorted = [
        field(b"t"),
        props(&[
            byte_prop(0x01, 1),
            text_prop(0x03, b"text/plain"),
            user_prop(b"z", b"1"),
            user_prop(b"a", b"2"),
        ]),
    ]
    .concat();
    assert_eq!(encode(&packet), frame(0x30, &sorted));
}

#[test]
fn encode_within_leaves_out_the_reason_string_then_the_user_properties() {
    let full = Packet::Puback(PubAck {
        pkid: 7,
        reason: PubAckReason::QuotaExceeded,
        properties: AckProperties {
            reason_string: Some("queue full".into()),
            user_properties: users(&[("k", "v")]),
        },
    });
    let without_reason = Packet::Puback(PubAck {
        pkid: 7,
        reason: PubAckReason::QuotaExceeded,
        properties: AckProperties {
            reason_string: None,
            user_properties: users(&[("k", "v")]),
        },
    });
    let bare = Packet::Puback(PubAck {
        pkid: 7,
        reason: PubAckReason::QuotaExceeded,
        properties: AckProperties::default(),
    });
    let fits = |packet: &Packet, max| {
        let mut out = BytesMut::new();
        full_packet_within(packet, &mut out, max).map(|size| {
            assert_eq!(size, out.len());
            out.to_vec()
        })
    };
    let size = full.encoded_len();
    assert_eq!(fits(&full, size), Ok(encode(&full)));
    assert_eq!(fits(&full, size - 1), Ok(encode(&without_reason)));
    assert_eq!(
        fits(&full, without_reason.encoded_len()),
        Ok(encode(&without_reason))
    );
    assert_eq!(
        fits(&full, without_reason.encoded_len() - 1),
        Ok(encode(&bare))
    );
    assert_eq!(bare.encoded_len(), 5);
    assert_eq!(
        fits(&full, 4),
        Err(TooLarge {
            packet: PacketType::Puback,
            size: 5,
            max: 4
        })
    );
}

fn full_packet_within(packet: &Packet, out: &mut BytesMut, max: usize) -> Result<usize, TooLarge> {
    let result = packet.encode_within(out, max);
    if result.is_err() {
        assert!(
            out.is_empty(),
            "bytes appended for a packet that does not fit"
        );
    }
    result
}

#[test]
fn encode_within_never_shortens_a_publish() {
    // MQTT-3.3.2-17: User Properties reach subscribers unaltered, so a PUBLISH that does
    // not fit is discarded (MQTT-3.1.2-25), not trimmed.
    let publish = client_samples()
        .into_iter()
        .find(|p| matches!(p, Packet::Publish(p) if !p.properties.user_properties.is_empty()))
        .unwrap();
    let size = publish.encoded_len();
    let mut out = BytesMut::new();
    assert_eq!(publish.encode_within(&mut out, size), Ok(size));
    assert_eq!(out.to_vec(), encode(&publish));
    let err = full_packet_within(&publish, &mut BytesMut::new(), size - 1).unwrap_err();
    assert_eq!(err.size, size);
    assert_eq!(
        err.to_string(),
        format!(
            "PUBLISH of {size} bytes exceeds the receiver's maximum packet size of {} bytes",
            size - 1
        )
    );
}

#[test]
fn encode_within_shortens_connack_disconnect_and_auth_too() {
    let shortened = |packet: Packet| {
        let mut out = BytesMut::new();
        let max = packet.encoded_len() - 1;
        packet.encode_within(&mut out, max).unwrap();
        decode_ok(&out, Sender::Server)
    };
    let Packet::Connack(connack) = shortened(Packet::Connack(full_connack())) else {
        panic!("not a CONNACK");
    };
    assert_eq!(connack.properties.reason_string, None);
    assert_eq!(
        connack.properties.user_properties,
        full_connack().properties.user_properties
    );
    let Packet::Disconnect(disconnect) = shortened(server_samples()[10].clone()) else {
        panic!("not a DISCONNECT");
    };
    assert_eq!(disconnect.properties.reason_string, None);
    assert_eq!(
        disconnect.properties.server_reference.as_deref(),
        Some("backup.example")
    );
}

#[test]
fn connect_protocol_level_reads_only_the_first_bytes() {
    let v5 = encode(&client_samples()[1]);
    assert_eq!(connect_protocol_level(&v5), Some(5));
    let mut v311 = BytesMut::new();
    crate::codec::Packet::Connect(crate::codec::Connect {
        protocol: crate::codec::Protocol::V311,
        clean_session: true,
        keep_alive: 60,
        client_id: "node".into(),
        will: None,
        username: None,
        password: None,
    })
    .encode(&mut v311);
    assert_eq!(connect_protocol_level(&v311), Some(4));
    // "MQIsdp" (MQTT 3.1) puts the level two bytes later.
    let v31 = frame(
        0x10,
        &[
            &field(b"MQIsdp")[..],
            &[0x03, 0x02, 0x00, 0x3c],
            &field(b"c"),
        ]
        .concat(),
    );
    assert_eq!(connect_protocol_level(&v31), Some(3));
    // The level is the ninth byte of a CONNECT whose remaining length takes one byte: it
    // is known once that byte is in.
    let short = encode(&client_samples()[0]);
    for len in 0..9 {
        assert_eq!(connect_protocol_level(&short[..len]), None, "{len} bytes");
    }
    assert_eq!(connect_protocol_level(&short[..9]), Some(5));
    // Not a CONNECT: no level.
    assert_eq!(
        connect_protocol_level(&[0x30, 0x08, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05]),
        None
    );
    assert_eq!(
        connect_protocol_level(&[0x11, 0x08, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05]),
        None
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let connect = format!("{:?}", client_samples()[1]);
    assert!(connect.contains("thermostat-7"), "{connect}");
    assert!(!connect.contains(r"\x02\xff"), "password shown: {connect}");
    assert!(
        !connect.contains("client-first"),
        "authentication data shown: {connect}"
    );
    assert_eq!(connect.matches("<redacted>").count(), 2, "{connect}");
    for shown in [
        format!("{:?}", full_connack()),
        format!("{:?}", server_samples()[12]),
    ] {
        assert!(
            !shown.contains("server-final"),
            "authentication data shown: {shown}"
        );
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}

#[test]
fn reason_codes_convert_both_ways_and_match_their_tables() {
    fn check<T: Copy + std::fmt::Debug + PartialEq>(
        all: &[T],
        from_u8: fn(u8) -> Option<T>,
        to_u8: fn(T) -> u8,
        expected_len: usize,
    ) {
        assert_eq!(all.len(), expected_len, "{all:?}");
        let accepted = (0..=255u8).filter_map(from_u8).collect::<Vec<_>>();
        assert_eq!(accepted, all);
        for &code in all {
            assert_eq!(from_u8(to_u8(code)), Some(code));
        }
    }
    // Table 3-1, 3-4 (= 3-5), 3-6 (= 3-7), 3-8, 3-9, 3-10, 3-11.
    check(ConnackReason::ALL, ConnackReason::from_u8, |c| c as u8, 22);
    check(PubAckReason::ALL, PubAckReason::from_u8, |c| c as u8, 9);
    check(PubRelReason::ALL, PubRelReason::from_u8, |c| c as u8, 2);
    check(SubackReason::ALL, SubackReason::from_u8, |c| c as u8, 12);
    check(UnsubackReason::ALL, UnsubackReason::from_u8, |c| c as u8, 7);
    check(
        DisconnectReason::ALL,
        DisconnectReason::from_u8,
        |c| c as u8,
        29,
    );
    check(AuthReason::ALL, AuthReason::from_u8, |c| c as u8, 3);
    assert!(ConnackReason::NotAuthorized.is_error());
    assert!(!PubAckReason::NoMatchingSubscribers.is_error());
}

#[test]
fn a_publish_view_writes_what_the_publish_packet_writes() {
    let mut seen = 0;
    for (_, packet) in samples() {
        let Packet::Publish(p) = &packet else {
            continue;
        };
        seen += 1;
        let view = PublishView {
            topic: &p.topic,
            payload: &p.payload,
            qos: p.qos,
            retain: p.retain,
            dup: p.dup,
            pkid: p.pkid,
            properties: &p.properties,
        };
        let (mut from_view, mut from_packet) = (BytesMut::new(), BytesMut::new());
        view.encode(&mut from_view);
        packet.encode(&mut from_packet);
        assert_eq!(from_view, from_packet, "{p:?}");
        assert_eq!(view.encoded_len(), from_packet.len());
    }
    assert!(seen >= 3, "the samples hold PUBLISHes");
}

#[test]
fn publish_properties_survive_their_stored_form_and_damage_is_an_error() {
    let properties = PublishProperties {
        payload_format_indicator: Some(true),
        response_topic: Some("home/reply".into()),
        correlation_data: Some(Bytes::from_static(b"\x00\x01")),
        user_properties: vec![
            ("origin".into(), "phone".into()),
            ("origin".into(), "hub".into()),
        ],
        subscription_identifiers: vec![7, 268_435_455],
        content_type: Some("text/plain".into()),
        ..PublishProperties::default()
    };
    let stored = properties.to_stored();
    assert_eq!(stored.len(), properties.stored_len());
    assert_eq!(PublishProperties::from_stored(&stored).unwrap(), properties);
    let none = PublishProperties::default();
    assert_eq!(
        &none.to_stored()[..],
        [0],
        "an empty block is its length alone"
    );
    assert_eq!(
        PublishProperties::from_stored(&none.to_stored()).unwrap(),
        none
    );

    let truncated = &stored[..stored.len() - 1];
    assert!(PublishProperties::from_stored(truncated).is_err());
    let mut trailing = stored.to_vec();
    trailing.push(0);
    assert!(matches!(
        PublishProperties::from_stored(&trailing),
        Err(DecodeError::TrailingBytes { count: 1, .. })
    ));
    assert!(
        PublishProperties::from_stored(&[]).is_err(),
        "not even a length"
    );
    // An identifier no PUBLISH may carry (Session Expiry Interval, 0x11).
    assert!(PublishProperties::from_stored(&[5, 0x11, 0, 0, 0, 1]).is_err());
}
