//! Rules every property block follows (2.2.2): which identifiers each packet allows
//! (Table 2-4), at most once, values in range, lengths that fit, strict strings.

use super::*;

/// A sample value of the right type for each property identifier in Table 2-4.
fn sample_value(property: Property) -> Vec<u8> {
    use Property as P;
    match property {
        P::PayloadFormatIndicator
        | P::RequestProblemInformation
        | P::RequestResponseInformation
        | P::MaximumQos
        | P::RetainAvailable
        | P::WildcardSubscriptionAvailable
        | P::SubscriptionIdentifierAvailable
        | P::SharedSubscriptionAvailable => vec![1],
        P::ServerKeepAlive | P::ReceiveMaximum | P::TopicAliasMaximum | P::TopicAlias => {
            vec![0, 1]
        }
        P::MessageExpiryInterval
        | P::SessionExpiryInterval
        | P::WillDelayInterval
        | P::MaximumPacketSize => vec![0, 0, 0, 1],
        P::SubscriptionIdentifier => vec![1],
        P::ContentType
        | P::ResponseTopic
        | P::AssignedClientIdentifier
        | P::AuthenticationMethod
        | P::ResponseInformation
        | P::ServerReference
        | P::ReasonString
        | P::CorrelationData
        | P::AuthenticationData => field(b"x"),
        P::UserProperty => [field(b"k"), field(b"v")].concat(),
    }
}

const METHOD: u8 = 0x15;

/// Where the tested properties go, who sends that packet, the identifiers allowed there,
/// and how to build the packet from the tested property bytes and its identifier.
type Carrier = (
    PropertyScope,
    Sender,
    &'static [u8],
    fn(&[u8], u8) -> Vec<u8>,
);

/// A packet of each kind built around the property bytes `tested`, with what else that kind
/// needs, the side sending it, and the identifiers Table 2-4 allows there.
fn carriers() -> Vec<Carrier> {
    use PacketType as T;
    vec![
        (
            PropertyScope::Packet(T::Connect),
            Sender::Client,
            &[0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27],
            |tested, id| {
                // Authentication Data needs an Authentication Method (3.1.2.11.10).
                let method = if id == 0x16 {
                    text_prop(METHOD, b"m")
                } else {
                    vec![]
                };
                connect(&props(&[tested.to_vec(), method]), &[])
            },
        ),
        (
            PropertyScope::Will,
            Sender::Client,
            &[0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26],
            |tested, _| will_connect(&props(&[tested.to_vec()])),
        ),
        (
            PropertyScope::Packet(T::Connack),
            Sender::Server,
            &[
                0x11, 0x12, 0x13, 0x15, 0x16, 0x1a, 0x1c, 0x1f, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27,
                0x28, 0x29, 0x2a,
            ],
            |tested, _| {
                frame(
                    0x20,
                    &[&[0x00, 0x00][..], &props(&[tested.to_vec()])].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Publish),
            Sender::Server,
            &[0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x23, 0x26],
            |tested, _| {
                frame(
                    0x30,
                    &[field(b"t"), props(&[tested.to_vec()]), b"x".to_vec()].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Puback),
            Sender::Client,
            &[0x1f, 0x26],
            |tested, _| {
                frame(
                    0x40,
                    &[&[0x00, 0x01, 0x00][..], &props(&[tested.to_vec()])].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Pubrec),
            Sender::Server,
            &[0x1f, 0x26],
            |tested, _| {
                frame(
                    0x50,
                    &[&[0x00, 0x01, 0x80][..], &props(&[tested.to_vec()])].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Pubrel),
            Sender::Client,
            &[0x1f, 0x26],
            |tested, _| {
                frame(
                    0x62,
                    &[&[0x00, 0x01, 0x92][..], &props(&[tested.to_vec()])].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Pubcomp),
            Sender::Server,
            &[0x1f, 0x26],
            |tested, _| {
                frame(
                    0x70,
                    &[&[0x00, 0x01, 0x00][..], &props(&[tested.to_vec()])].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Subscribe),
            Sender::Client,
            &[0x0b, 0x26],
            |tested, _| {
                frame(
                    0x82,
                    &[
                        vec![0x00, 0x01],
                        props(&[tested.to_vec()]),
                        field(b"a"),
                        vec![1],
                    ]
                    .concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Suback),
            Sender::Server,
            &[0x1f, 0x26],
            |tested, _| {
                frame(
                    0x90,
                    &[vec![0x00, 0x01], props(&[tested.to_vec()]), vec![0]].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Unsubscribe),
            Sender::Client,
            &[0x26],
            |tested, _| {
                frame(
                    0xa2,
                    &[vec![0x00, 0x01], props(&[tested.to_vec()]), field(b"a")].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Unsuback),
            Sender::Server,
            &[0x1f, 0x26],
            |tested, _| {
                frame(
                    0xb0,
                    &[vec![0x00, 0x01], props(&[tested.to_vec()]), vec![0]].concat(),
                )
            },
        ),
        (
            PropertyScope::Packet(T::Disconnect),
            Sender::Client,
            &[0x11, 0x1c, 0x1f, 0x26],
            |tested, _| frame(0xe0, &[vec![0x00], props(&[tested.to_vec()])].concat()),
        ),
        (
            PropertyScope::Packet(T::Auth),
            Sender::Client,
            &[0x15, 0x16, 0x1f, 0x26],
            |tested, id| {
                // AUTH always names its method (3.15.2.2.2).
                let method = if id == METHOD {
                    vec![]
                } else {
                    text_prop(METHOD, b"m")
                };
                frame(
                    0xf0,
                    &[vec![0x18], props(&[method, tested.to_vec()])].concat(),
                )
            },
        ),
    ]
}

/// A CONNECT with these (raw) properties and extra payload after the client identifier.
fn connect(properties: &[u8], payload: &[u8]) -> Vec<u8> {
    let body = [
        &field(b"MQTT")[..],
        &[0x05, 0x02, 0x00, 0x3c],
        properties,
        &field(b"c"),
        payload,
    ]
    .concat();
    frame(0x10, &body)
}

/// A CONNECT with a will carrying these (raw) will properties.
fn will_connect(will_properties: &[u8]) -> Vec<u8> {
    let body = [
        &field(b"MQTT")[..],
        &[0x05, 0x06, 0x00, 0x3c, 0x00],
        &field(b"c"),
        will_properties,
        &field(b"will/topic"),
        &field(b"bye"),
    ]
    .concat();
    frame(0x10, &body)
}

#[test]
fn each_packet_allows_exactly_the_properties_of_table_2_4() {
    for (scope, sender, allowed, build) in carriers() {
        for id in 0..=0x7fu8 {
            let property = Property::from_id(u32::from(id));
            let value = property.map(sample_value).unwrap_or_else(|| vec![0; 4]);
            let bytes = build(&[&[id][..], &value].concat(), id);
            let result = decode_bytes(&bytes, sender);
            match (allowed.contains(&id), property) {
                (true, Some(_)) => assert!(
                    matches!(result, Ok(Some(_))),
                    "{scope} with {id:#04x}: {result:?}"
                ),
                (false, Some(property)) => {
                    let err = result.unwrap_err();
                    assert_eq!(err, DecodeError::PropertyNotAllowed { scope, property });
                    assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
                }
                (false, None) => {
                    let err = result.unwrap_err();
                    assert_eq!(
                        err,
                        DecodeError::UnknownProperty {
                            scope,
                            id: u32::from(id)
                        }
                    );
                    assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
                }
                (true, None) => panic!("{id:#04x} allowed but not a property"),
            }
        }
    }
}

#[test]
fn a_property_allowed_once_twice_is_a_protocol_error() {
    for (scope, sender, allowed, build) in carriers() {
        for &id in allowed {
            let property = Property::from_id(u32::from(id)).unwrap();
            let once = [&[id][..], &sample_value(property)].concat();
            let twice = build(&[once.clone(), once].concat(), id);
            let result = decode_bytes(&twice, sender);
            // User Property may repeat; so may a server's Subscription Identifiers
            // (MQTT-3.3.4-4).
            let repeatable = property == Property::UserProperty
                || (scope == PropertyScope::Packet(PacketType::Publish)
                    && property == Property::SubscriptionIdentifier);
            if repeatable {
                assert!(
                    matches!(result, Ok(Some(_))),
                    "{scope} {property}: {result:?}"
                );
                continue;
            }
            let err = result.unwrap_err();
            assert_eq!(
                err,
                DecodeError::DuplicateProperty { scope, property },
                "{scope} {property}"
            );
            assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
            assert_eq!(err.connack_reason(), ConnackReason::ProtocolError);
        }
    }
}

#[test]
fn duplicate_property_message_names_packet_and_property() {
    let topic_alias = two_prop(0x23, 1);
    let bytes = frame(
        0x30,
        &[field(b"t"), props(&[topic_alias.clone(), topic_alias])].concat(),
    );
    assert_eq!(
        client_err(&bytes).to_string(),
        "PUBLISH properties contain Topic Alias (0x23) more than once (a Protocol Error, 2.2.2.2)"
    );
    let session_expiry = four_prop(0x11, 1);
    assert_eq!(
        client_err(&will_connect(&props(&[session_expiry]))).to_string(),
        "CONNECT will properties may not contain Session Expiry Interval (0x11) (Table 2-4)"
    );
}

#[test]
fn user_properties_repeat_and_keep_their_order() {
    let properties = props(&[
        user_prop(b"k", b"2"),
        user_prop(b"k", b"1"),
        four_prop(0x11, 9),
        user_prop(b"a", b""),
    ]);
    let Packet::Connect(connect) = client_ok(&connect(&properties, &[])) else {
        panic!("not a CONNECT");
    };
    assert_eq!(
        connect.properties.user_properties,
        users(&[("k", "2"), ("k", "1"), ("a", "")])
    );
    assert_eq!(connect.properties.session_expiry_interval, Some(9));
}

#[test]
fn property_length_running_past_the_packet_is_malformed() {
    // PUBACK: Property Length 5 with 2 bytes left.
    let err = client_err(&[0x40, 0x06, 0x00, 0x01, 0x10, 0x05, 0x26, 0x00]);
    assert_eq!(
        err,
        DecodeError::PropertyLengthOverrun {
            scope: PropertyScope::Packet(PacketType::Puback),
            length: 5,
            available: 2
        }
    );
    assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
    // PUBLISH: the properties may not swallow the payload either.
    let bytes = frame(0x30, &[field(b"t"), vec![0x09], vec![0x01, 0x01]].concat());
    assert!(matches!(
        client_err(&bytes),
        DecodeError::PropertyLengthOverrun {
            length: 9,
            available: 2,
            ..
        }
    ));
    // CONNECT, and the Will Properties.
    let properties = [vec![0x40], four_prop(0x11, 1)].concat();
    assert!(matches!(
        client_err(&connect(&properties, &[])),
        DecodeError::PropertyLengthOverrun { .. }
    ));
    assert!(matches!(
        client_err(&will_connect(&[0x7f])),
        DecodeError::PropertyLengthOverrun {
            scope: PropertyScope::Will,
            ..
        }
    ));
}

#[test]
fn a_property_value_running_past_the_property_length_is_malformed() {
    // Property Length 3 holds only the identifier and length of a two-byte Content Type;
    // its text would be the payload "ab" if the property length were not the boundary.
    let bytes = frame(
        0x30,
        &[field(b"t"), vec![0x03, 0x03, 0x00, 0x02], b"ab".to_vec()].concat(),
    );
    let err = client_err(&bytes);
    assert_eq!(
        err,
        DecodeError::PropertiesEndEarly {
            scope: PropertyScope::Packet(PacketType::Publish),
            field: "Content Type"
        }
    );
    assert_eq!(
        err.to_string(),
        "PUBLISH properties end inside Content Type (property length too short, 2.2.2.1)"
    );
    // A four-byte integer cut short.
    let bytes = frame(0xe0, &[0x00, 0x03, 0x11, 0x00, 0x00]);
    assert!(matches!(
        client_err(&bytes),
        DecodeError::PropertiesEndEarly {
            field: "Session Expiry Interval",
            ..
        }
    ));
}

#[test]
fn identifiers_and_lengths_are_strict_variable_byte_integers() {
    // 0x80 0x01 is identifier 128, well formed but not a property.
    let bytes = frame(0x40, &[0x00, 0x01, 0x00, 0x03, 0x80, 0x01, 0x00]);
    assert_eq!(
        client_err(&bytes),
        DecodeError::UnknownProperty {
            scope: PropertyScope::Packet(PacketType::Puback),
            id: 128
        }
    );
    // 0x9f 0x00 is Reason String (0x1f) not in its shortest form (MQTT-1.5.5-1).
    let bytes = frame(
        0x40,
        &[0x00, 0x01, 0x00, 0x05, 0x9f, 0x00, 0x00, 0x01, b'r'],
    );
    assert_eq!(
        client_err(&bytes),
        DecodeError::MalformedVariableByteInteger {
            packet: PacketType::Puback,
            field: "property identifier"
        }
    );
    // A Property Length of 0 written in two bytes.
    let err = client_err(&frame(0x40, &[0x00, 0x01, 0x00, 0x80, 0x00]));
    assert_eq!(
        err,
        DecodeError::MalformedVariableByteInteger {
            packet: PacketType::Puback,
            field: "property length"
        }
    );
    assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
    // A Subscription Identifier in five bytes.
    let bytes = frame(
        0x82,
        &[
            &[0x00, 0x01, 0x06, 0x0b, 0xff, 0xff, 0xff, 0xff, 0x01][..],
            &field(b"a"),
            &[0],
        ]
        .concat(),
    );
    assert!(matches!(
        client_err(&bytes),
        DecodeError::MalformedVariableByteInteger {
            field: "Subscription Identifier",
            ..
        }
    ));
}

fn invalid(
    scope: PropertyScope,
    property: Property,
    value: u32,
    expected: &'static str,
) -> DecodeError {
    DecodeError::InvalidPropertyValue {
        scope,
        property,
        value,
        expected,
    }
}

#[test]
fn zero_is_a_protocol_error_where_the_spec_says_so() {
    use PacketType as T;
    use Property as P;
    let connect_scope = PropertyScope::Packet(T::Connect);
    let connack = |p: Vec<u8>| frame(0x20, &[vec![0x00, 0x00], props(&[p])].concat());
    let cases = [
        (
            client_err(&connect(&props(&[two_prop(0x21, 0)]), &[])),
            invalid(
                connect_scope,
                P::ReceiveMaximum,
                0,
                "1 to 65,535 (3.1.2.11.3)",
            ),
        ),
        (
            client_err(&connect(&props(&[four_prop(0x27, 0)]), &[])),
            invalid(
                connect_scope,
                P::MaximumPacketSize,
                0,
                "1 or more (3.1.2.11.4)",
            ),
        ),
        (
            server_err(&connack(two_prop(0x21, 0))),
            invalid(
                PropertyScope::Packet(T::Connack),
                P::ReceiveMaximum,
                0,
                "1 to 65,535 (3.2.2.3.3)",
            ),
        ),
        (
            server_err(&connack(four_prop(0x27, 0))),
            invalid(
                PropertyScope::Packet(T::Connack),
                P::MaximumPacketSize,
                0,
                "1 or more (3.2.2.3.6)",
            ),
        ),
        (
            client_err(&frame(
                0x82,
                &[
                    vec![0x00, 0x01],
                    props(&[vec![0x0b, 0x00]]),
                    field(b"a"),
                    vec![0],
                ]
                .concat(),
            )),
            invalid(
                PropertyScope::Packet(T::Subscribe),
                P::SubscriptionIdentifier,
                0,
                "1 to 268,435,455 (3.3.2.3.8, 3.8.2.1.2)",
            ),
        ),
        (
            server_err(&frame(
                0x30,
                &[field(b"t"), props(&[vec![0x0b, 0x05], vec![0x0b, 0x00]])].concat(),
            )),
            invalid(
                PropertyScope::Packet(T::Publish),
                P::SubscriptionIdentifier,
                0,
                "1 to 268,435,455 (3.3.2.3.8, 3.8.2.1.2)",
            ),
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
        assert_eq!(got.disconnect_reason(), DisconnectReason::ProtocolError);
    }
    assert_eq!(
        client_err(&connect(&props(&[two_prop(0x21, 0)]), &[])).to_string(),
        "CONNECT Receive Maximum (0x21) is 0, must be 1 to 65,535 (3.1.2.11.3)"
    );
}

#[test]
fn topic_alias_0_is_topic_alias_invalid() {
    let got = client_err(&frame(
        0x30,
        &[field(b"t"), props(&[two_prop(0x23, 0)])].concat(),
    ));
    assert_eq!(
        got,
        invalid(
            PropertyScope::Packet(PacketType::Publish),
            Property::TopicAlias,
            0,
            "1 or more (MQTT-3.3.2-8)",
        )
    );
    assert_eq!(
        got.disconnect_reason(),
        DisconnectReason::TopicAliasInvalid,
        "a PUBLISH with Topic Alias 0 is answered with DISCONNECT 0x94 (3.3.2.3.4, Table 3-10)"
    );
}

#[test]
fn largest_subscription_identifier_is_accepted() {
    let bytes = frame(
        0x82,
        &[
            vec![0x00, 0x01],
            props(&[vec![0x0b, 0xff, 0xff, 0xff, 0x7f]]),
            field(b"a"),
            vec![0],
        ]
        .concat(),
    );
    let Packet::Subscribe(subscribe) = client_ok(&bytes) else {
        panic!("not a SUBSCRIBE");
    };
    assert_eq!(
        subscribe.properties.subscription_identifier,
        Some(MAX_VARIABLE_BYTE_INTEGER)
    );
}

#[test]
fn byte_properties_that_are_0_or_1_refuse_2() {
    for (scope, sender, allowed, build) in carriers() {
        for &id in allowed {
            let property = Property::from_id(u32::from(id)).unwrap();
            if sample_value(property) != [1] || property == Property::SubscriptionIdentifier {
                continue;
            }
            for value in [2u8, 0xff] {
                let err = decode_err(&build(&[id, value], id), sender);
                assert_eq!(err, invalid(scope, property, u32::from(value), "0 or 1"));
                assert_eq!(err.disconnect_reason(), DisconnectReason::ProtocolError);
            }
            assert!(matches!(
                decode_bytes(&build(&[id, 0], id), sender),
                Ok(Some(_))
            ));
        }
    }
}

#[test]
fn strings_in_properties_are_strict_utf8() {
    let puback = |p: Vec<u8>| frame(0x40, &[vec![0x00, 0x01, 0x00], props(&[p])].concat());
    let cases: [(Vec<u8>, DecodeError); 5] = [
        (
            user_prop(b"\xff", b"v"),
            DecodeError::InvalidUtf8 {
                packet: PacketType::Puback,
                field: "User Property name",
            },
        ),
        (
            // A UTF-16 surrogate, U+D800 (MQTT-1.5.4-1).
            user_prop(b"k", b"\xed\xa0\x80"),
            DecodeError::InvalidUtf8 {
                packet: PacketType::Puback,
                field: "User Property value",
            },
        ),
        (
            user_prop(b"k\0", b"v"),
            DecodeError::NullCharacter {
                packet: PacketType::Puback,
                field: "User Property name",
            },
        ),
        (
            // An overlong U+0000.
            user_prop(b"k", b"\xc0\x80"),
            DecodeError::InvalidUtf8 {
                packet: PacketType::Puback,
                field: "User Property value",
            },
        ),
        (
            text_prop(0x1f, b"bad \xff"),
            DecodeError::InvalidUtf8 {
                packet: PacketType::Puback,
                field: "Reason String",
            },
        ),
    ];
    for (property, expected) in cases {
        let err = client_err(&puback(property));
        assert_eq!(err, expected);
        assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
    }
    assert_eq!(
        client_err(&puback(user_prop(b"\xff", b"v"))).to_string(),
        "PUBACK User Property name is not valid UTF-8 (MQTT-1.5.4-1)"
    );
    // Binary data is not UTF-8 checked.
    let bytes = frame(
        0x30,
        &[field(b"t"), props(&[text_prop(0x09, b"\xff\0")])].concat(),
    );
    client_ok(&bytes);
}

#[test]
fn response_topic_is_a_topic_name() {
    for (topic, expected) in [
        (&b"reply/#"[..], Some('#')),
        (b"+/reply", Some('+')),
        (b"", None),
    ] {
        let publish = frame(
            0x30,
            &[field(b"t"), props(&[text_prop(0x08, topic)])].concat(),
        );
        let will = will_connect(&props(&[text_prop(0x08, topic)]));
        for (bytes, packet) in [(publish, PacketType::Publish), (will, PacketType::Connect)] {
            let err = client_err(&bytes);
            let want = match expected {
                Some(wildcard) => DecodeError::WildcardInTopicName {
                    packet,
                    field: "Response Topic",
                    wildcard,
                },
                None => DecodeError::EmptyTopicName {
                    packet,
                    field: "Response Topic",
                },
            };
            assert_eq!(err, want);
            assert_eq!(err.disconnect_reason(), DisconnectReason::MalformedPacket);
        }
    }
}

#[test]
fn authentication_data_needs_an_authentication_method() {
    let err = client_err(&connect(&props(&[text_prop(0x16, b"data")]), &[]));
    assert_eq!(
        err,
        DecodeError::AuthenticationDataWithoutMethod {
            scope: PropertyScope::Packet(PacketType::Connect)
        }
    );
    assert_eq!(err.connack_reason(), ConnackReason::ProtocolError);
}
