//! Malformed Packets and Protocol Errors (4.13): the broker closes the offending connection
//! with the Reason Code the specification gives (DISCONNECT, or a CONNACK when the error is
//! in the CONNECT), and every other client carries on. Where the broker's v5 codec finds the
//! error, the test first checks that the codec names the same Reason Code for those bytes
//! (`DecodeError::disconnect_reason`), so a disagreement shows as such.

use broker::codec::v5::{
    Auth, AuthProperties, AuthReason, ConnackReason, Connect, ConnectProperties, DisconnectReason,
    Packet, Publish, QoS, Subscribe, SubscribeProperties,
};
use tests::encode::{packet, put_str, remaining_length};
use tests::raw5::{self, Raw5Client};

use super::{broker, bystander, expect_bystander_served, only_offender_disconnected};

/// A PUBLISH at QoS 0 to `m/t` whose property block is `properties`, as raw bytes.
fn publish_with_properties(properties: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, "m/t");
    body.extend(remaining_length(properties.len()));
    body.extend_from_slice(properties);
    body.extend_from_slice(b"payload");
    packet(0x30, &body)
}

/// Asserts the codec refuses `bad` with `want`, then that the broker does the same.
async fn refused_as_the_codec_says(bad: &[u8], want: DisconnectReason) {
    let verdict = raw5::client_decode_error(bad);
    assert_eq!(
        verdict.disconnect_reason(),
        want,
        "the v5 codec's Reason Code for {bad:02x?} ({verdict})"
    );
    only_offender_disconnected(bad, want).await;
}

// 3.3.2.3.9: "It is a Protocol Error to include the Content Type more than once" (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicated_property_gets_disconnect_0x82() {
    let two_content_types = [0x03, 0x00, 0x01, b'a', 0x03, 0x00, 0x01, b'b'];
    refused_as_the_codec_says(
        &publish_with_properties(&two_content_types),
        DisconnectReason::ProtocolError,
    )
    .await;
}

// 2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its packet
// type ... is a Malformed Packet" (0x81): Session Expiry Interval in a PUBLISH.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_property_not_allowed_in_the_packet_gets_disconnect_0x81() {
    let session_expiry = [0x11, 0x00, 0x00, 0x00, 0x3c];
    refused_as_the_codec_says(
        &publish_with_properties(&session_expiry),
        DisconnectReason::MalformedPacket,
    )
    .await;
}

// 2.2.2.2: an identifier Table 2-4 does not define is malformed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_property_identifier_gets_disconnect_0x81() {
    refused_as_the_codec_says(
        &publish_with_properties(&[0x7f, 0x00]),
        DisconnectReason::MalformedPacket,
    )
    .await;
}

// MQTT-3.3.4-6: a PUBLISH from a client must not carry a Subscription Identifier; the codec
// calls it a Protocol Error (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_identifier_in_a_clients_publish_gets_disconnect_0x82() {
    let mut m = raw5::message("m/t", "x", QoS::AtMostOnce, false);
    m.properties.subscription_identifiers = vec![5];
    refused_as_the_codec_says(
        &raw5::encode(&Packet::Publish(m)),
        DisconnectReason::ProtocolError,
    )
    .await;
}

// 3.8.2.1.2: "It is a Protocol Error if the Subscription Identifier has a value of 0" (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_identifier_of_0_gets_disconnect_0x82() {
    let subscribe = Packet::Subscribe(Subscribe {
        pkid: 1,
        properties: SubscribeProperties {
            subscription_identifier: Some(0),
            ..SubscribeProperties::default()
        },
        filters: vec![("m/#".into(), raw5::options(QoS::AtLeastOnce))],
    });
    refused_as_the_codec_says(&raw5::encode(&subscribe), DisconnectReason::ProtocolError).await;
}

// MQTT-3.4.2-1: a PUBACK must carry one of the PUBACK Reason Codes; 0x05 is none of them.
// The codec calls a code outside its packet's table a Protocol Error (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_reason_code_in_a_clients_puback_gets_disconnect_0x82() {
    let b = broker().await;
    let mut bystander = bystander(&b).await;
    let (mut offender, _) = Raw5Client::connect(b.addr(), "offender").await;
    offender.subscribe("m/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    publisher
        .publish("m/t", "ack me", QoS::AtLeastOnce, false)
        .await;
    let p = offender.recv_publish().await;

    let mut body = p.pkid.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x05, 0x00]);
    let bad = packet(0x40, &body);
    let verdict = raw5::client_decode_error(&bad);
    assert_eq!(
        verdict.disconnect_reason(),
        DisconnectReason::ProtocolError,
        "the v5 codec's Reason Code ({verdict})"
    );
    offender.send(&bad).await;
    assert_eq!(
        offender.expect_disconnect().await,
        DisconnectReason::ProtocolError
    );
    expect_bystander_served(&b, &mut bystander).await;
}

// MQTT-3.1.0-2: "The Server MUST process a second CONNECT packet sent from a Client as a
// Protocol Error and close the Network Connection" (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connect_gets_disconnect_0x82() {
    only_offender_disconnected(
        &raw5::encode(&Packet::Connect(raw5::connect("offender"))),
        DisconnectReason::ProtocolError,
    )
    .await;
}

// MQTT-3.1.2-31 (4.12): a client that put no Authentication Method in its CONNECT must not
// send AUTH; the broker treats it as a Protocol Error (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_without_an_authentication_method_in_connect_gets_disconnect_0x82() {
    let auth = Packet::Auth(Auth {
        reason: AuthReason::ReAuthenticate,
        properties: AuthProperties {
            authentication_method: Some("SCRAM-SHA-256".into()),
            ..AuthProperties::default()
        },
    });
    only_offender_disconnected(&raw5::encode(&auth), DisconnectReason::ProtocolError).await;
}

// 4.12, MQTT-4.12.0-1: an Authentication Method the broker does not support is refused with
// CONNACK 0x8C (Bad authentication method) and the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_an_authentication_method_gets_connack_0x8c() {
    let b = broker().await;
    let mut bystander = bystander(&b).await;
    let connect = Connect {
        properties: ConnectProperties {
            authentication_method: Some("SCRAM-SHA-256".into()),
            authentication_data: Some(bytes::Bytes::from_static(b"n,,n=user,r=nonce")),
            ..ConnectProperties::default()
        },
        ..raw5::connect("scram")
    };
    let ack = Raw5Client::refused(b.addr(), &connect).await;
    assert_eq!(ack.reason, ConnackReason::BadAuthenticationMethod);
    assert_eq!(
        ack.properties.authentication_method, None,
        "no Authentication Method in a refusal of it"
    );
    expect_bystander_served(&b, &mut bystander).await;
}

// 4.13.1, MQTT-3.14.0-1: an error in the CONNECT may be answered with a CONNACK carrying the
// Reason Code before the close, but never with a DISCONNECT (none may come before a
// successful CONNACK). A Topic Alias property in CONNECT is malformed (2.2.2.2): 0x81.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_connect_gets_connack_0x81_or_a_bare_close() {
    let b = broker().await;
    let mut bystander = bystander(&b).await;
    let mut body = Vec::new();
    put_str(&mut body, "MQTT");
    body.extend_from_slice(&[5, 0x02, 0x00, 0x3c]);
    body.extend_from_slice(&[0x03, 0x23, 0x00, 0x01]);
    put_str(&mut body, "bad-connect");
    let bad = packet(0x10, &body);
    let verdict = raw5::client_decode_error(&bad);
    assert_eq!(
        verdict.connack_reason(),
        ConnackReason::MalformedPacket,
        "{verdict}"
    );

    let mut c = Raw5Client::tcp(b.addr()).await;
    c.send(&bad).await;
    let got = c.expect_closed(tests::WAIT).await;
    match got.as_slice() {
        [] => {}
        [Packet::Connack(ack)] => {
            assert_eq!(ack.reason, ConnackReason::MalformedPacket, "{ack:?}");
            assert!(!ack.session_present);
        }
        other => panic!("expected CONNACK 0x81 or nothing before the close, got {other:?}"),
    }
    expect_bystander_served(&b, &mut bystander).await;
}

// MQTT-3.1.2-22: no packet within one and a half times the Keep Alive closes the connection;
// a DISCONNECT before the close, if the broker sends one, says 0x8D (Keep Alive timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_expiry_closes_the_connection_and_says_0x8d_if_anything() {
    let b = broker().await;
    let connect = Connect {
        keep_alive: 1,
        ..raw5::connect("silent")
    };
    let (mut silent, _) = Raw5Client::connect_with(b.addr(), &connect).await;
    let got = silent.expect_closed(tests::WAIT).await;
    match got.as_slice() {
        [] => {}
        [Packet::Disconnect(d)] => assert_eq!(d.reason, DisconnectReason::KeepAliveTimeout),
        other => panic!("expected at most DISCONNECT 0x8D before the close, got {other:?}"),
    }
}

// 4.13.1: a PUBLISH with QoS 0 and DUP set is malformed (MQTT-3.3.1-2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos_0_publish_with_dup_gets_disconnect_0x81() {
    let m = raw5::encode(&Packet::Publish(Publish {
        dup: false,
        ..raw5::message("m/t", "x", QoS::AtMostOnce, false)
    }));
    let mut bad = m.clone();
    bad[0] |= 0x08;
    refused_as_the_codec_says(&bad, DisconnectReason::MalformedPacket).await;
}
