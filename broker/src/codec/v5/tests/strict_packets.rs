//! Fixed header, direction, Reason Code and per-packet rules.

use super::*;

fn publish(first: u8, topic: &[u8], properties: &[Vec<u8>], rest: &[u8]) -> Vec<u8> {
    frame(
        first,
        &[field(topic), props(properties), rest.to_vec()].concat(),
    )
}

#[test]
fn packets_only_the_other_side_sends_are_refused_from_the_first_byte() {
    for first in [0x20, 0x90, 0xb0, 0xd0] {
        let err = client_err(&[first]);
        assert!(
            matches!(
                err,
                DecodeError::WrongDirection {
                    sender: Sender::Client,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    }
    for first in [0x10, 0x82, 0xa2, 0xc0] {
        let err = server_err(&[first]);
        assert!(
            matches!(
                err,
                DecodeError::WrongDirection {
                    sender: Sender::Server,
                    ..
                }
            ),
            "{err}"
        );
    }
    assert_eq!(
        client_err(&[0x20]).to_string(),
        "a client may not send CONNACK (Table 2-1)"
    );
}

#[test]
fn reserved_type_and_flags_are_malformed() {
    assert_eq!(client_err(&[0x00]), DecodeError::ReservedPacketType(0));
    for (first, packet, expected) in [
        (0x41, PacketType::Puback, 0),
        (0x60, PacketType::Pubrel, 2),
        (0x80, PacketType::Subscribe, 2),
        (0xa0, PacketType::Unsubscribe, 2),
        (0xc1, PacketType::Pingreq, 0),
        (0xe8, PacketType::Disconnect, 0),
        (0xf1, PacketType::Auth, 0),
    ] {
        let err = client_err(&[first]);
        assert_eq!(
            err,
            DecodeError::InvalidFixedHeaderFlags {
                packet,
                flags: first & 0x0f,
                expected
            }
        );
        assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
    }
    assert_eq!(client_err(&[0x36]), DecodeError::InvalidPublishQos);
    assert_eq!(client_err(&[0x38]), DecodeError::DupWithQos0);
}

#[test]
fn remaining_length_is_a_strict_variable_byte_integer() {
    for bytes in [
        &[0x30, 0x80, 0x00][..],
        &[0x30, 0xff, 0x80, 0x00],
        &[0x30, 0x80, 0x80, 0x80, 0x00],
    ] {
        assert_eq!(
            client_err(bytes),
            DecodeError::MalformedVariableByteInteger {
                packet: PacketType::Publish,
                field: "remaining length"
            },
            "{bytes:02x?}"
        );
    }
    assert!(matches!(
        client_err(&[0x30, 0xff, 0xff, 0xff, 0xff]),
        DecodeError::MalformedVariableByteInteger { .. }
    ));
    assert_eq!(
        client_err(&[0xc0, 0x01, 0x00]),
        DecodeError::InvalidRemainingLength {
            packet: PacketType::Pingreq,
            expected: 0,
            actual: 1
        }
    );
}

#[test]
fn publish_topic_may_be_empty_only_with_a_topic_alias() {
    let err = client_err(&publish(0x30, b"", &[], b"payload"));
    assert_eq!(err, DecodeError::EmptyTopicWithoutAlias);
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    let Packet::Publish(p) = client_ok(&publish(0x30, b"", &[two_prop(0x23, 4)], b"payload"))
    else {
        panic!("not a PUBLISH");
    };
    assert_eq!((p.topic.as_str(), p.properties.topic_alias), ("", Some(4)));
    assert_eq!(p.payload, Bytes::from_static(b"payload"));
}

#[test]
fn publish_topic_with_wildcard_is_malformed() {
    for (topic, wildcard) in [(&b"a/+"[..], '+'), (b"#", '#')] {
        let err = client_err(&publish(0x30, topic, &[two_prop(0x23, 1)], b""));
        assert_eq!(
            err,
            DecodeError::WildcardInTopicName {
                packet: PacketType::Publish,
                field: "topic name",
                wildcard
            }
        );
        assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
    }
}

#[test]
fn publish_from_a_client_may_not_carry_a_subscription_identifier() {
    let bytes = publish(0x30, b"t", &[vec![0x0b, 0x01]], b"");
    let err = client_err(&bytes);
    assert_eq!(err, DecodeError::SubscriptionIdentifierFromClient);
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    let Packet::Publish(p) = server_ok(&bytes) else {
        panic!("not a PUBLISH");
    };
    assert_eq!(p.properties.subscription_identifiers, [1]);
}

#[test]
fn packet_identifier_0_is_a_protocol_error() {
    let cases = [
        (
            frame(0x32, &[field(b"t"), vec![0x00, 0x00, 0x00]].concat()),
            PacketType::Publish,
        ),
        (vec![0x40, 0x02, 0x00, 0x00], PacketType::Puback),
        (vec![0x62, 0x02, 0x00, 0x00], PacketType::Pubrel),
        (
            frame(0x82, &[vec![0, 0, 0], field(b"a"), vec![0]].concat()),
            PacketType::Subscribe,
        ),
        (
            frame(0xa2, &[vec![0, 0, 0], field(b"a")].concat()),
            PacketType::Unsubscribe,
        ),
    ];
    for (bytes, packet) in cases {
        let err = client_err(&bytes);
        assert_eq!(err, DecodeError::ZeroPacketId { packet });
        assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    }
}

/// Every byte value as the Reason Code of `first`'s packet, with `accepted` the table.
fn check_reason_table(first: u8, prefix: &[u8], sender: Sender, accepted: &[u8]) {
    let packet = PacketType::from_u8(first >> 4).unwrap();
    for code in 0..=255u8 {
        let bytes = frame(first, &[prefix, &[code]].concat());
        let result = decode_bytes(&bytes, sender);
        if accepted.contains(&code) {
            assert!(
                matches!(result, Ok(Some(_))),
                "{packet} {code:#04x}: {result:?}"
            );
        } else {
            let err = result.unwrap_err();
            assert_eq!(
                err,
                DecodeError::InvalidReasonCode { packet, code },
                "{packet} {code:#04x}"
            );
            assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
        }
    }
}

fn codes<T: Copy>(all: &[T], to_u8: fn(T) -> u8) -> Vec<u8> {
    all.iter().map(|&c| to_u8(c)).collect()
}

#[test]
fn reason_codes_outside_each_packets_table_are_refused() {
    let pub_ack = codes(PubAckReason::ALL, |c| c as u8);
    let pub_rel = codes(PubRelReason::ALL, |c| c as u8);
    // Table 3-4 / 3-5 written out: a check on the enum too.
    assert_eq!(
        pub_ack,
        [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
    );
    assert_eq!(pub_rel, [0x00, 0x92]);
    check_reason_table(0x40, &[0x00, 0x01], Sender::Client, &pub_ack);
    check_reason_table(0x50, &[0x00, 0x01], Sender::Server, &pub_ack);
    check_reason_table(0x62, &[0x00, 0x01], Sender::Client, &pub_rel);
    check_reason_table(0x70, &[0x00, 0x01], Sender::Server, &pub_rel);
    // Reason Codes after an empty property block.
    check_reason_table(
        0x90,
        &[0x00, 0x01, 0x00],
        Sender::Server,
        &codes(SubackReason::ALL, |c| c as u8),
    );
    check_reason_table(
        0xb0,
        &[0x00, 0x01, 0x00],
        Sender::Server,
        &codes(UnsubackReason::ALL, |c| c as u8),
    );
}

#[test]
fn connack_reason_code_flags_and_session_present() {
    let connack = |flags, code| frame(0x20, &[flags, code, 0x00]);
    for code in 0..=255u8 {
        match ConnackReason::from_u8(code) {
            Some(reason) => assert!(matches!(
                server_ok(&connack(0, code)),
                Packet::Connack(Connack { reason: r, .. }) if r == reason
            )),
            None => assert_eq!(
                server_err(&connack(0, code)),
                DecodeError::InvalidReasonCode {
                    packet: PacketType::Connack,
                    code
                }
            ),
        }
    }
    assert_eq!(
        server_err(&connack(0x02, 0)),
        DecodeError::ConnackReservedFlags(0x02)
    );
    let err = server_err(&connack(0x01, 0x87));
    assert_eq!(err, DecodeError::SessionPresentWithRefusal(0x87));
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    // The Property Length is not optional in CONNACK (3.2.2.3.1).
    assert_eq!(
        server_err(&[0x20, 0x02, 0x00, 0x00]),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Connack,
            field: "property length"
        }
    );
}

#[test]
fn disconnect_reason_codes_follow_table_3_10_and_its_senders() {
    for code in 0..=255u8 {
        let bytes = [0xe0, 0x01, code];
        let Some(reason) = DisconnectReason::from_u8(code) else {
            for sender in [Sender::Client, Sender::Server] {
                assert_eq!(
                    decode_err(&bytes, sender),
                    DecodeError::InvalidReasonCode {
                        packet: PacketType::Disconnect,
                        code
                    }
                );
            }
            continue;
        };
        for sender in [Sender::Client, Sender::Server] {
            let result = decode_bytes(&bytes, sender);
            if reason.may_be_sent_by(sender) {
                assert!(matches!(result, Ok(Some(_))), "{code:#04x} from {sender}");
            } else {
                assert_eq!(
                    result,
                    Err(DecodeError::ReasonCodeNotForSender {
                        packet: PacketType::Disconnect,
                        code,
                        sender
                    })
                );
            }
        }
    }
    // Spot checks against Table 3-10.
    assert!(!DisconnectReason::DisconnectWithWillMessage.may_be_sent_by(Sender::Server));
    assert!(!DisconnectReason::SessionTakenOver.may_be_sent_by(Sender::Client));
    assert!(DisconnectReason::PacketTooLarge.may_be_sent_by(Sender::Client));
    assert!(DisconnectReason::TopicAliasInvalid.may_be_sent_by(Sender::Server));
}

#[test]
fn disconnect_from_the_server_may_not_carry_a_session_expiry_interval() {
    let bytes = frame(0xe0, &[vec![0x00], props(&[four_prop(0x11, 10)])].concat());
    client_ok(&bytes);
    let err = server_err(&bytes);
    assert_eq!(err, DecodeError::SessionExpiryFromServer);
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
}

#[test]
fn auth_reason_codes_and_method() {
    let method = text_prop(0x15, b"SCRAM-SHA-1");
    let auth = |code| {
        frame(
            0xf0,
            &[vec![code], props(std::slice::from_ref(&method))].concat(),
        )
    };
    for code in 0..=255u8 {
        let Some(reason) = AuthReason::from_u8(code) else {
            assert_eq!(
                client_err(&auth(code)),
                DecodeError::InvalidReasonCode {
                    packet: PacketType::Auth,
                    code
                }
            );
            continue;
        };
        for sender in [Sender::Client, Sender::Server] {
            let result = decode_bytes(&auth(code), sender);
            if reason.may_be_sent_by(sender) {
                assert!(matches!(result, Ok(Some(_))), "{code:#04x} from {sender}");
            } else {
                assert_eq!(
                    result,
                    Err(DecodeError::ReasonCodeNotForSender {
                        packet: PacketType::Auth,
                        code,
                        sender
                    })
                );
            }
        }
    }
    // The short form means Success, which only a server sends.
    server_ok(&[0xf0, 0x00]);
    assert!(matches!(
        client_err(&[0xf0, 0x00]),
        DecodeError::ReasonCodeNotForSender { code: 0, .. }
    ));
    let err = client_err(&frame(
        0xf0,
        &[vec![0x18], props(&[text_prop(0x1f, b"why")])].concat(),
    ));
    assert_eq!(err, DecodeError::MissingAuthenticationMethod);
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    // A Reason Code without a Property Length.
    assert_eq!(
        client_err(&[0xf0, 0x01, 0x18]),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Auth,
            field: "property length"
        }
    );
}

fn subscribe_with(option: u8, filter: &[u8]) -> Vec<u8> {
    frame(
        0x82,
        &[vec![0x00, 0x01, 0x00], field(filter), vec![option]].concat(),
    )
}

#[test]
fn subscription_options_reserved_bits_are_malformed() {
    for option in [0x40, 0x80, 0xc0, 0x41] {
        let err = client_err(&subscribe_with(option, b"a"));
        assert_eq!(err, DecodeError::SubscribeReservedBits(option));
        assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
    }
}

#[test]
fn subscription_options_qos_3_and_retain_handling_3_are_protocol_errors() {
    let err = client_err(&subscribe_with(0x03, b"a"));
    assert_eq!(err, DecodeError::InvalidSubscribeQos);
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    let err = client_err(&subscribe_with(0x30, b"a"));
    assert_eq!(err, DecodeError::InvalidRetainHandling);
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    // Every valid combination decodes to itself.
    for option in 0..0x30u8 {
        if option & 0b11 == 3 {
            continue;
        }
        let bytes = subscribe_with(option, b"a");
        assert_eq!(encode(&client_ok(&bytes)), bytes, "{option:#04x}");
    }
}

#[test]
fn no_local_on_a_shared_subscription_is_a_protocol_error() {
    let err = client_err(&subscribe_with(0x04, b"$share/g/a"));
    assert_eq!(
        err,
        DecodeError::NoLocalOnSharedSubscription("$share/g/a".into())
    );
    assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
    client_ok(&subscribe_with(0x00, b"$share/g/a"));
    client_ok(&subscribe_with(0x04, b"$shared/a"));
}

#[test]
fn empty_subscribe_unsubscribe_suback_unsuback_are_protocol_errors() {
    let cases = [
        (
            client_err(&[0x82, 0x03, 0x00, 0x01, 0x00]),
            DecodeError::EmptySubscribe,
        ),
        (
            client_err(&[0xa2, 0x03, 0x00, 0x01, 0x00]),
            DecodeError::EmptyUnsubscribe,
        ),
        (
            server_err(&[0x90, 0x03, 0x00, 0x01, 0x00]),
            DecodeError::EmptySuback,
        ),
        (
            server_err(&[0xb0, 0x03, 0x00, 0x01, 0x00]),
            DecodeError::EmptyUnsuback,
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
        assert_eq!(got.disconnect_reason(), DisconnectReason::ProtocolError);
    }
}

#[test]
fn lengths_that_disagree_with_the_fields_are_malformed() {
    let err = client_err(&[0x40, 0x01, 0x00]);
    assert_eq!(
        err,
        DecodeError::UnexpectedEnd {
            packet: PacketType::Puback,
            field: "packet identifier"
        }
    );
    assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
    // A byte after the properties of a PUBACK.
    let err = client_err(&[0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00]);
    assert_eq!(
        err,
        DecodeError::TrailingBytes {
            packet: PacketType::Puback,
            count: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "PUBACK has 1 bytes after its last field (remaining length too long)"
    );
    // A filter without its options byte.
    assert_eq!(
        client_err(&frame(
            0x82,
            &[vec![0x00, 0x01, 0x00], field(b"a")].concat()
        )),
        DecodeError::UnexpectedEnd {
            packet: PacketType::Subscribe,
            field: "subscription options"
        }
    );
}

#[test]
fn error_reasons_for_connack_and_disconnect() {
    let too_large = DecodeError::PacketTooLarge { size: 10, max: 5 };
    assert_eq!(
        too_large.disconnect_reason(),
        DisconnectReason::PacketTooLarge
    );
    assert_eq!(too_large.connack_reason(), ConnackReason::PacketTooLarge);
    let malformed = DecodeError::ReservedPacketType(0);
    assert_eq!(malformed.connack_reason(), ConnackReason::MalformedPacket);
    let version = DecodeError::UnsupportedProtocolVersion(4);
    assert_eq!(
        version.connack_reason(),
        ConnackReason::UnsupportedProtocolVersion
    );
    assert_eq!(version.disconnect_reason(), DisconnectReason::ProtocolError);
}
