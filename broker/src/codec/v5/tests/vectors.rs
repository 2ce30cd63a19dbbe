//! Byte sequences written out from the specification's field layouts.

use super::*;

/// Decodes `bytes` (sent by `sender`) to `packet` and encodes `packet` back to `bytes`.
fn both_ways(bytes: &[u8], sender: Sender, packet: Packet) {
    assert_eq!(decode_ok(bytes, sender), packet);
    assert_eq!(encode(&packet), bytes);
}

#[test]
fn connect_as_in_the_variable_header_example() {
    // Figure 3-6: "MQTT", version 5, flags 0xCE (user name, password, will QoS 1, will
    // flag, clean start), keep alive 10, properties of length 5: Session Expiry Interval 10.
    let bytes = [
        &[0x10, 66][..],
        &[0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xce, 0x00, 0x0a],
        &[0x05, 0x11, 0x00, 0x00, 0x00, 0x0a],
        &[0x00, 0x06],
        b"hearth",
        // Will Properties: Will Delay Interval 5.
        &[0x05, 0x18, 0x00, 0x00, 0x00, 0x05],
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
        Sender::Client,
        Packet::Connect(Connect {
            clean_start: true,
            keep_alive: 10,
            properties: ConnectProperties {
                session_expiry_interval: Some(10),
                ..ConnectProperties::default()
            },
            client_id: "hearth".into(),
            will: Some(Will {
                qos: QoS::AtLeastOnce,
                retain: false,
                properties: WillProperties {
                    will_delay_interval: Some(5),
                    ..WillProperties::default()
                },
                topic: "hearth/status".into(),
                payload: Bytes::from_static(b"offline"),
            }),
            username: Some("user".into()),
            password: Some(Bytes::from_static(b"pass")),
        }),
    );
}

#[test]
fn connack_without_and_with_properties() {
    both_ways(
        &[0x20, 0x03, 0x00, 0x00, 0x00],
        Sender::Server,
        Packet::Connack(Connack {
            session_present: false,
            reason: ConnackReason::Success,
            properties: ConnackProperties::default(),
        }),
    );
    // Session present; Assigned Client Identifier "id", Receive Maximum 10, Maximum QoS 1.
    both_ways(
        &[
            0x20, 0x0d, 0x01, 0x00, 0x0a, 0x12, 0x00, 0x02, b'i', b'd', 0x21, 0x00, 0x0a, 0x24,
            0x01,
        ],
        Sender::Server,
        Packet::Connack(Connack {
            session_present: true,
            reason: ConnackReason::Success,
            properties: ConnackProperties {
                assigned_client_identifier: Some("id".into()),
                receive_maximum: Some(10),
                maximum_qos: Some(QoS::AtLeastOnce),
                ..ConnackProperties::default()
            },
        }),
    );
    both_ways(
        &[0x20, 0x03, 0x00, 0x84, 0x00],
        Sender::Server,
        Packet::Connack(Connack {
            session_present: false,
            reason: ConnackReason::UnsupportedProtocolVersion,
            properties: ConnackProperties::default(),
        }),
    );
}

#[test]
fn publish_qos1_with_topic_alias_and_user_property() {
    // Topic "a/b", packet identifier 10, properties: Topic Alias 1, User Property k=v.
    let bytes = [
        0x32, 0x14, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0a, 0x0a, 0x23, 0x00, 0x01, 0x26, 0x00,
        0x01, b'k', 0x00, 0x01, b'v', b'h', b'i',
    ];
    both_ways(
        &bytes,
        Sender::Client,
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "a/b".into(),
            pkid: 10,
            properties: PublishProperties {
                topic_alias: Some(1),
                user_properties: users(&[("k", "v")]),
                ..PublishProperties::default()
            },
            payload: Bytes::from_static(b"hi"),
        }),
    );
}

#[test]
fn publish_from_server_with_subscription_identifiers() {
    // QoS 0 retained, topic "t", Subscription Identifiers 1 and 128 (0x80 0x01).
    both_ways(
        &[
            0x31, 0x0b, 0x00, 0x01, b't', 0x05, 0x0b, 0x01, 0x0b, 0x80, 0x01, b'o', b'n',
        ],
        Sender::Server,
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: true,
            topic: "t".into(),
            pkid: 0,
            properties: PublishProperties {
                subscription_identifiers: vec![1, 128],
                ..PublishProperties::default()
            },
            payload: Bytes::from_static(b"on"),
        }),
    );
}

#[test]
fn publish_acknowledgements_in_each_length() {
    let ack = |pkid, reason, properties| PubAck {
        pkid,
        reason,
        properties,
    };
    // Remaining Length 2: Success, no properties (3.4.2.1).
    both_ways(
        &[0x40, 0x02, 0x00, 0x0a],
        Sender::Client,
        Packet::Puback(ack(10, PubAckReason::Success, AckProperties::default())),
    );
    // Remaining Length 3: a Reason Code, no properties (3.4.2.2.1).
    both_ways(
        &[0x40, 0x03, 0x00, 0x0a, 0x10],
        Sender::Server,
        Packet::Puback(ack(
            10,
            PubAckReason::NoMatchingSubscribers,
            AckProperties::default(),
        )),
    );
    // A Reason String "full".
    both_ways(
        &[
            0x50, 0x0b, 0x00, 0x0a, 0x97, 0x07, 0x1f, 0x00, 0x04, b'f', b'u', b'l', b'l',
        ],
        Sender::Client,
        Packet::Pubrec(ack(
            10,
            PubAckReason::QuotaExceeded,
            AckProperties {
                reason_string: Some("full".into()),
                user_properties: Vec::new(),
            },
        )),
    );
    both_ways(
        &[0x62, 0x02, 0x00, 0x0a],
        Sender::Server,
        Packet::Pubrel(PubRel {
            pkid: 10,
            reason: PubRelReason::Success,
            properties: AckProperties::default(),
        }),
    );
    both_ways(
        &[0x70, 0x03, 0x00, 0x0a, 0x92],
        Sender::Client,
        Packet::Pubcomp(PubRel {
            pkid: 10,
            reason: PubRelReason::PacketIdentifierNotFound,
            properties: AckProperties::default(),
        }),
    );
}

#[test]
fn subscribe_with_identifier_and_every_option() {
    // Subscription Identifier 5; "a/+" with options 0x1d: QoS 1, No Local, Retain As
    // Published, Retain Handling 1; "b" with options 0x22: QoS 2, Retain Handling 2.
    let bytes = [
        0x82, 0x0f, 0x00, 0x01, 0x02, 0x0b, 0x05, 0x00, 0x03, b'a', b'/', b'+', 0x1d, 0x00, 0x01,
        b'b', 0x22,
    ];
    both_ways(
        &bytes,
        Sender::Client,
        Packet::Subscribe(Subscribe {
            pkid: 1,
            properties: SubscribeProperties {
                subscription_identifier: Some(5),
                user_properties: Vec::new(),
            },
            filters: vec![
                (
                    "a/+".into(),
                    SubscriptionOptions {
                        qos: QoS::AtLeastOnce,
                        no_local: true,
                        retain_as_published: true,
                        retain_handling: RetainHandling::SendAtSubscribeIfNew,
                    },
                ),
                (
                    "b".into(),
                    SubscriptionOptions {
                        qos: QoS::ExactlyOnce,
                        no_local: false,
                        retain_as_published: false,
                        retain_handling: RetainHandling::DoNotSend,
                    },
                ),
            ],
        }),
    );
}

#[test]
fn suback_unsubscribe_unsuback() {
    both_ways(
        &[0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x8f],
        Sender::Server,
        Packet::Suback(Suback {
            pkid: 1,
            properties: AckProperties::default(),
            reasons: vec![SubackReason::GrantedQos1, SubackReason::TopicFilterInvalid],
        }),
    );
    both_ways(
        &[0xa2, 0x08, 0x00, 0x02, 0x00, 0x00, 0x03, b'a', b'/', b'b'],
        Sender::Client,
        Packet::Unsubscribe(Unsubscribe {
            pkid: 2,
            properties: UnsubscribeProperties::default(),
            filters: vec!["a/b".into()],
        }),
    );
    both_ways(
        &[0xb0, 0x05, 0x00, 0x02, 0x00, 0x00, 0x11],
        Sender::Server,
        Packet::Unsuback(Unsuback {
            pkid: 2,
            properties: AckProperties::default(),
            reasons: vec![
                UnsubackReason::Success,
                UnsubackReason::NoSubscriptionExisted,
            ],
        }),
    );
}

#[test]
fn ping_disconnect_auth() {
    both_ways(&[0xc0, 0x00], Sender::Client, Packet::Pingreq);
    both_ways(&[0xd0, 0x00], Sender::Server, Packet::Pingresp);
    let disconnect = |reason, properties| Packet::Disconnect(Disconnect { reason, properties });
    // Remaining Length 0: Normal disconnection (3.14.2.1).
    both_ways(
        &[0xe0, 0x00],
        Sender::Client,
        disconnect(
            DisconnectReason::NormalDisconnection,
            DisconnectProperties::default(),
        ),
    );
    both_ways(
        &[0xe0, 0x01, 0x04],
        Sender::Client,
        disconnect(
            DisconnectReason::DisconnectWithWillMessage,
            DisconnectProperties::default(),
        ),
    );
    both_ways(
        &[0xe0, 0x07, 0x00, 0x05, 0x11, 0x00, 0x00, 0x0e, 0x10],
        Sender::Client,
        disconnect(
            DisconnectReason::NormalDisconnection,
            DisconnectProperties {
                session_expiry_interval: Some(3600),
                ..DisconnectProperties::default()
            },
        ),
    );
    // Remaining Length 0: Success (3.15.2.1).
    both_ways(
        &[0xf0, 0x00],
        Sender::Server,
        Packet::Auth(Auth {
            reason: AuthReason::Success,
            properties: AuthProperties::default(),
        }),
    );
    both_ways(
        &[
            0xf0, 0x0b, 0x18, 0x09, 0x15, 0x00, 0x02, b'p', b'w', 0x16, 0x00, 0x01, 0x2a,
        ],
        Sender::Client,
        Packet::Auth(Auth {
            reason: AuthReason::ContinueAuthentication,
            properties: AuthProperties {
                authentication_method: Some("pw".into()),
                authentication_data: Some(Bytes::from_static(&[0x2a])),
                ..AuthProperties::default()
            },
        }),
    );
}

#[test]
fn variable_byte_integer_table_1_1() {
    use super::super::varint;
    let table: [(u32, &[u8]); 8] = [
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
        varint::write(&mut out, value as usize);
        assert_eq!(&out[..], encoded, "{value}");
        assert_eq!(varint::len(value as usize), encoded.len(), "{value}");
        assert_eq!(varint::decode(encoded), Ok(Some((value, encoded.len()))));
    }
}
