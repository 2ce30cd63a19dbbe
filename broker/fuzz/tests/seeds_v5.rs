//! The MQTT 5.0 seed corpus is the encoding of the packets below, and every seed and every
//! regression input passes the `decode_v5` target's checks.
//!
//! `WRITE_SEEDS=1 cargo test --manifest-path broker/fuzz/Cargo.toml` rewrites
//! `seeds/decode_v5/` from this list.

use std::path::{Path, PathBuf};

use broker::codec::v5::{
    AckProperties, Auth, AuthProperties, AuthReason, Connack, ConnackProperties, ConnackReason,
    Connect, ConnectProperties, Disconnect, DisconnectProperties, DisconnectReason, Packet, PubAck,
    PubAckReason, PubRel, PubRelReason, Publish, PublishProperties, QoS, RetainHandling, Suback,
    SubackReason, Subscribe, SubscribeProperties, SubscriptionOptions, Unsuback, UnsubackReason,
    Unsubscribe, UnsubscribeProperties, Will, WillProperties,
};
use bytes::{Bytes, BytesMut};

fn user(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.into(), value.into())]
}

/// One valid packet of every type and each property kind, as the side that sends it would.
fn seed_packets() -> Vec<(&'static str, Vec<Packet>)> {
    let connect = Connect {
        clean_start: true,
        keep_alive: 60,
        properties: ConnectProperties::default(),
        client_id: "node-1".into(),
        will: None,
        username: None,
        password: None,
    };
    let full_connect = Connect {
        clean_start: false,
        keep_alive: 0,
        properties: ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: Some(10),
            maximum_packet_size: Some(4096),
            topic_alias_maximum: Some(5),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            user_properties: user("site", "kitchen"),
            authentication_method: Some("SCRAM-SHA-1".into()),
            authentication_data: Some(Bytes::from_static(b"n,,n=user")),
        },
        client_id: "esp-kitchen".into(),
        will: Some(Will {
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(10),
                payload_format_indicator: Some(true),
                message_expiry_interval: Some(60),
                content_type: Some("text/plain".into()),
                response_topic: Some("home/replies".into()),
                correlation_data: Some(Bytes::from_static(b"1")),
                user_properties: user("k", "v"),
            },
            topic: "home/kitchen/status".into(),
            payload: Bytes::from_static(b"offline"),
        }),
        username: Some("hearth".into()),
        password: Some(Bytes::from_static(b"s3cret")),
    };
    let publish = |qos, pkid, properties, payload: &[u8]| {
        Packet::Publish(Publish {
            dup: false,
            qos,
            retain: false,
            topic: "home/kitchen/temperature".into(),
            pkid,
            properties,
            payload: Bytes::copy_from_slice(payload),
        })
    };
    let publish_properties = PublishProperties {
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(30),
        topic_alias: Some(1),
        response_topic: Some("home/replies".into()),
        correlation_data: Some(Bytes::from_static(b"42")),
        user_properties: user("unit", "C"),
        subscription_identifiers: Vec::new(),
        content_type: Some("text/plain".into()),
    };
    let subscribe = Packet::Subscribe(Subscribe {
        pkid: 1,
        properties: SubscribeProperties {
            subscription_identifier: Some(7),
            user_properties: Vec::new(),
        },
        filters: vec![
            (
                "home/+/temperature".into(),
                SubscriptionOptions {
                    qos: QoS::AtMostOnce,
                    no_local: true,
                    retain_as_published: true,
                    retain_handling: RetainHandling::SendAtSubscribeIfNew,
                },
            ),
            (
                "$share/g/$SYS/#".into(),
                SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: false,
                    retain_as_published: false,
                    retain_handling: RetainHandling::DoNotSend,
                },
            ),
        ],
    });
    let ack = AckProperties {
        reason_string: Some("why".into()),
        user_properties: user("k", "v"),
    };
    let auth = |reason| {
        Packet::Auth(Auth {
            reason,
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"r=nonce")),
                reason_string: None,
                user_properties: Vec::new(),
            },
        })
    };
    let disconnect = |reason, properties| Packet::Disconnect(Disconnect { reason, properties });
    vec![
        ("connect", vec![Packet::Connect(connect.clone())]),
        (
            "connect-will-auth-properties",
            vec![Packet::Connect(full_connect)],
        ),
        (
            "connack",
            vec![Packet::Connack(Connack {
                session_present: true,
                reason: ConnackReason::Success,
                properties: ConnackProperties {
                    receive_maximum: Some(20),
                    maximum_qos: Some(QoS::AtLeastOnce),
                    retain_available: Some(true),
                    maximum_packet_size: Some(1 << 20),
                    assigned_client_identifier: Some("auto-1".into()),
                    topic_alias_maximum: Some(10),
                    wildcard_subscription_available: Some(true),
                    subscription_identifiers_available: Some(true),
                    shared_subscription_available: Some(false),
                    server_keep_alive: Some(30),
                    ..ConnackProperties::default()
                },
            })],
        ),
        (
            "publish-qos0",
            vec![publish(
                QoS::AtMostOnce,
                0,
                PublishProperties::default(),
                b"21.5",
            )],
        ),
        (
            "publish-qos1-properties",
            vec![publish(QoS::AtLeastOnce, 7, publish_properties, b"21.5")],
        ),
        (
            "publish-topic-alias",
            vec![Packet::Publish(Publish {
                dup: true,
                qos: QoS::ExactlyOnce,
                retain: true,
                topic: String::new(),
                pkid: u16::MAX,
                properties: PublishProperties {
                    topic_alias: Some(1),
                    ..PublishProperties::default()
                },
                payload: Bytes::new(),
            })],
        ),
        (
            "publish-subscription-identifiers",
            vec![publish(
                QoS::AtMostOnce,
                0,
                PublishProperties {
                    subscription_identifiers: vec![7, 200],
                    ..PublishProperties::default()
                },
                &[0x5a; 200],
            )],
        ),
        (
            "acks",
            vec![
                Packet::Puback(PubAck {
                    pkid: 7,
                    reason: PubAckReason::Success,
                    properties: AckProperties::default(),
                }),
                Packet::Pubrec(PubAck {
                    pkid: 8,
                    reason: PubAckReason::NoMatchingSubscribers,
                    properties: ack.clone(),
                }),
                Packet::Pubrel(PubRel {
                    pkid: 8,
                    reason: PubRelReason::Success,
                    properties: AckProperties::default(),
                }),
                Packet::Pubcomp(PubRel {
                    pkid: 8,
                    reason: PubRelReason::PacketIdentifierNotFound,
                    properties: AckProperties::default(),
                }),
            ],
        ),
        ("subscribe", vec![subscribe.clone()]),
        (
            "suback",
            vec![Packet::Suback(Suback {
                pkid: 1,
                properties: ack.clone(),
                reasons: vec![SubackReason::GrantedQos0, SubackReason::NotAuthorized],
            })],
        ),
        (
            "unsubscribe",
            vec![Packet::Unsubscribe(Unsubscribe {
                pkid: 2,
                properties: UnsubscribeProperties {
                    user_properties: user("k", "v"),
                },
                filters: vec!["home/+/temperature".into()],
            })],
        ),
        (
            "unsuback",
            vec![Packet::Unsuback(Unsuback {
                pkid: 2,
                properties: AckProperties::default(),
                reasons: vec![UnsubackReason::NoSubscriptionExisted],
            })],
        ),
        ("pingreq", vec![Packet::Pingreq]),
        ("pingresp", vec![Packet::Pingresp]),
        (
            "disconnect",
            vec![disconnect(
                DisconnectReason::NormalDisconnection,
                DisconnectProperties::default(),
            )],
        ),
        (
            "disconnect-properties",
            vec![disconnect(
                DisconnectReason::DisconnectWithWillMessage,
                DisconnectProperties {
                    session_expiry_interval: Some(0),
                    reason_string: Some("bye".into()),
                    user_properties: user("k", "v"),
                    server_reference: None,
                },
            )],
        ),
        (
            "auth",
            vec![
                auth(AuthReason::ContinueAuthentication),
                auth(AuthReason::ReAuthenticate),
            ],
        ),
        (
            "session",
            vec![
                Packet::Connect(connect),
                subscribe,
                publish(QoS::AtLeastOnce, 3, PublishProperties::default(), b"on"),
                Packet::Pingreq,
                disconnect(
                    DisconnectReason::NormalDisconnection,
                    DisconnectProperties::default(),
                ),
            ],
        ),
    ]
}

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(name)
        .join("decode_v5")
}

fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for packet in packets {
        packet.encode(&mut out);
    }
    out.to_vec()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn seed_files_are_the_encoded_seed_packets() {
    let seeds = dir("seeds");
    let write = std::env::var_os("WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&seeds).expect("create seeds/decode_v5");
    }
    let mut expected_names = Vec::new();
    for (name, packets) in seed_packets() {
        let path = seeds.join(name);
        let bytes = encode(&packets);
        if write {
            std::fs::write(&path, &bytes).expect("write seed");
        }
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; rerun with WRITE_SEEDS=1", path.display()));
        assert_eq!(on_disk, bytes, "{name} is stale; rerun with WRITE_SEEDS=1");
        expected_names.push(path);
    }
    expected_names.sort();
    assert_eq!(
        files(&seeds),
        expected_names,
        "seeds/decode_v5 has stray files"
    );
}

/// Checked from the packets rather than the files, which the test above compares with them.
#[test]
fn every_seed_passes_the_checks() {
    let mut stream = Vec::new();
    for (_, packets) in seed_packets() {
        let bytes = encode(&packets);
        broker_fuzz::v5::check_decode_v5(&bytes);
        stream.extend_from_slice(&bytes);
    }
    broker_fuzz::v5::check_decode_v5(&stream);
}

/// Long forms the encoder shortens, and properties out of the encoder's order: the checks'
/// two allowances, exercised.
#[test]
fn accepted_long_forms_pass_the_checks() {
    for bytes in [
        &[0x40, 0x03, 0x00, 0x01, 0x00][..],
        &[0x40, 0x04, 0x00, 0x01, 0x10, 0x00],
        &[0xe0, 0x02, 0x00, 0x00],
        // PUBLISH "t" with User Property before Payload Format Indicator.
        &[
            0x30, 0x0e, 0x00, 0x01, b't', 0x09, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', 0x01,
            0x01, b'x',
        ],
    ] {
        broker_fuzz::v5::check_decode_v5(bytes);
    }
}

#[test]
fn every_regression_input_passes_the_checks() {
    for path in files(&dir("regressions")) {
        let bytes = std::fs::read(&path).expect("read regression input");
        broker_fuzz::v5::check_decode_v5(&bytes);
    }
}
