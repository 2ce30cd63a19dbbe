//! Byte sequences written out from the specification's field layouts.

use super::super::header;
use super::*;

/// Decodes `bytes` to `packet` and encodes `packet` back to `bytes`.
fn both_ways(bytes: &[u8], packet: Packet) {
    assert_eq!(decode_ok(bytes), packet);
    assert_eq!(encode(&packet), bytes);
}

#[test]
fn connect_with_will_username_and_password() {
    // Variable header as in the spec's non-normative CONNECT example: flags
    // 0xCE = user name, password, will QoS 1, will flag, clean session;
    // keep alive 10.
    let bytes = [
        &[0x10, 54][..],
        &[0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xce, 0x00, 0x0a],
        &[0x00, 0x06],
        b"hearth",
        &[0x00, 0x0d],
        b"hearth/status",
        &[0x00, 0x07],
        b"offline",
        &[0x00, 0x04],
        b"user",
        &[0x00, 0x04],
        b"pass",
    ]
    .concat();
    both_ways(
        &bytes,
        Packet::Connect(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 10,
            client_id: "hearth".into(),
            will: Some(LastWill {
                topic: "hearth/status".into(),
                payload: Bytes::from_static(b"offline"),
                qos: QoS::AtLeastOnce,
                retain: false,
            }),
            username: Some("user".into()),
            password: Some(Bytes::from_static(b"pass")),
        }),
    );
}

#[test]
fn connect_mqtt_3_1() {
    let bytes = [
        &[0x10, 16][..],
        &[0x00, 0x06],
        b"MQIsdp",
        &[0x03, 0x02, 0x00, 0x3c],
        &[0x00, 0x02],
        b"c1",
    ]
    .concat();
    both_ways(
        &bytes,
        Packet::Connect(Connect {
            protocol: Protocol::V31,
            clean_session: true,
            keep_alive: 60,
            client_id: "c1".into(),
            will: None,
            username: None,
            password: None,
        }),
    );
}

#[test]
fn publish_qos1() {
    // Topic and packet identifier as in the spec's non-normative PUBLISH
    // variable header example.
    let bytes = [
        0x32, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0a, b'h', b'i',
    ];
    both_ways(
        &bytes,
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "a/b".into(),
            pkid: 10,
            payload: Bytes::from_static(b"hi"),
        }),
    );
}

#[test]
fn subscribe_two_filters() {
    let bytes = [
        0x82, 0x0e, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'+', 0x01, 0x00, 0x03, b'b', b'/', b'#',
        0x02,
    ];
    both_ways(
        &bytes,
        Packet::Subscribe(Subscribe {
            pkid: 1,
            filters: vec![
                ("a/+".into(), QoS::AtLeastOnce),
                ("b/#".into(), QoS::ExactlyOnce),
            ],
        }),
    );
}

#[test]
fn suback_with_failure() {
    both_ways(
        &[0x90, 0x04, 0x00, 0x01, 0x01, 0x80],
        Packet::Suback(Suback {
            pkid: 1,
            codes: vec![SubackCode::Granted(QoS::AtLeastOnce), SubackCode::Failure],
        }),
    );
}

#[test]
fn unsubscribe_one_filter() {
    both_ways(
        &[0xa2, 0x07, 0x00, 0x02, 0x00, 0x03, b'a', b'/', b'b'],
        Packet::Unsubscribe(Unsubscribe {
            pkid: 2,
            filters: vec!["a/b".into()],
        }),
    );
}

#[test]
fn short_fixed_size_packets() {
    both_ways(
        &[0x20, 0x02, 0x00, 0x01],
        Packet::Connack(Connack {
            session_present: false,
            code: ConnectReturnCode::UnacceptableProtocolVersion,
        }),
    );
    both_ways(&[0x40, 0x02, 0x00, 0x0a], Packet::Puback(10));
    both_ways(&[0x50, 0x02, 0x00, 0x0a], Packet::Pubrec(10));
    both_ways(&[0x62, 0x02, 0x00, 0x0a], Packet::Pubrel(10));
    both_ways(&[0x70, 0x02, 0x00, 0x0a], Packet::Pubcomp(10));
    both_ways(&[0xb0, 0x02, 0x00, 0x0a], Packet::Unsuback(10));
    both_ways(&[0xc0, 0x00], Packet::Pingreq);
    both_ways(&[0xd0, 0x00], Packet::Pingresp);
    both_ways(&[0xe0, 0x00], Packet::Disconnect);
}

#[test]
fn remaining_length_table_2_4() {
    let table: [(usize, &[u8]); 8] = [
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xff, 0x7f]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xff, 0xff, 0x7f]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
    ];
    for (value, encoded) in table {
        let mut out = BytesMut::new();
        header::write(&mut out, PacketType::Publish, 0, value);
        assert_eq!(&out[1..], encoded, "{value}");
        assert_eq!(header::header_len(value), out.len(), "{value}");
        let parsed = header::parse(&out).unwrap().unwrap();
        assert_eq!(parsed.remaining, value);
        assert_eq!(parsed.header_len, out.len());
    }
}
