use super::*;

#[test]
fn every_sample_round_trips() {
    for packet in samples() {
        let bytes = encode(&packet);
        assert_eq!(bytes.len(), packet.encoded_len(), "{packet:?}");
        assert_eq!(decode_ok(&bytes), packet);
    }
}

#[test]
fn every_packet_type_is_covered() {
    let seen: std::collections::HashSet<PacketType> =
        samples().iter().map(Packet::packet_type).collect();
    assert_eq!(seen.len(), 14);
}

/// `Packet::packet_type` is the type on the wire, and its Display is the name
/// the specification gives it (log lines about packets use it).
#[test]
fn every_sample_is_named_by_its_wire_type() {
    for packet in samples() {
        let first = encode(&packet)[0];
        let wire = PacketType::from_u8(first >> 4).unwrap();
        assert_eq!(packet.packet_type(), wire, "{packet:?}");
        let expected = format!("{:?}", wire).to_uppercase();
        assert_eq!(wire.to_string(), expected);
    }
}

#[test]
fn encode_publish_matches_packet_encode() {
    for packet in samples() {
        let Packet::Publish(p) = &packet else {
            continue;
        };
        let mut out = BytesMut::new();
        encode_publish(
            &mut out, &p.topic, &p.payload, p.qos, p.retain, p.dup, p.pkid,
        );
        assert_eq!(out.to_vec(), encode(&packet));
        assert_eq!(decode_ok(&out), packet);
    }
}

#[test]
fn encode_publish_per_subscriber_round_trips() {
    let payload = b"21.5";
    for (qos, pkid) in [
        (QoS::AtMostOnce, 0),
        (QoS::AtLeastOnce, 7),
        (QoS::ExactlyOnce, 8),
    ] {
        let mut out = BytesMut::new();
        encode_publish(
            &mut out,
            "home/temp",
            payload,
            qos,
            false,
            qos != QoS::AtMostOnce,
            pkid,
        );
        let expected = Packet::Publish(Publish {
            dup: qos != QoS::AtMostOnce,
            qos,
            retain: false,
            topic: "home/temp".into(),
            pkid,
            payload: Bytes::from_static(payload),
        });
        assert_eq!(decode_ok(&out), expected);
    }
}

#[test]
fn encode_publish_qos0_omits_dup_and_pkid() {
    let mut out = BytesMut::new();
    encode_publish(&mut out, "t", b"x", QoS::AtMostOnce, true, true, 99);
    assert_eq!(out.to_vec(), [0x31, 0x04, 0x00, 0x01, b't', b'x']);
}

#[test]
fn several_packets_encoded_back_to_back_decode_in_order() {
    let packets = samples();
    let mut buf = BytesMut::new();
    for packet in &packets {
        packet.encode(&mut buf);
    }
    for packet in &packets {
        assert_eq!(decode(&mut buf, MAX).unwrap().as_ref(), Some(packet));
    }
    assert!(buf.is_empty());
}
