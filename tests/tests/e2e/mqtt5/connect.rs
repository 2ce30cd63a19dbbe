//! CONNECT with protocol level 5 on every listener kind, and what the CONNACK tells the client
//! about the broker (3.2.2.3): its limits, what it supports, an assigned client identifier,
//! a lowered Session Expiry Interval.

use broker::codec::v5::{Connack, ConnackReason, ConnectProperties, QoS, SubackReason};
use rumqttc::v5::mqttbytes::v5::ConnectReturnCode;
use tests::raw5::{self, Raw5Client, PROTOCOL_MAX_PACKET_SIZE};
use tests::{start_broker, start_gateway, BrokerOptions, Pki, WS_LISTENER};

use super::broker;
use super::rumqttc5::{self, V5Client};

/// The Topic Alias Maximum the broker offers clients.
const TOPIC_ALIAS_MAXIMUM: u16 = 10;

/// Subscribes `c` to `echo/#` and gets back its own message: the connection carries MQTT 5.0
/// traffic both ways.
async fn echo(c: &mut Raw5Client) {
    assert_eq!(
        c.subscribe("echo/#", QoS::AtLeastOnce).await,
        SubackReason::GrantedQos1
    );
    c.publish("echo/1", "hello", QoS::AtLeastOnce, false).await;
    let p = c.next_on("echo/1").await;
    assert_eq!(raw5::text(&p), "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_connect_over_tcp_gets_connack_0x00_with_the_brokers_limits() {
    let b = broker().await;
    let (mut c, ack) = Raw5Client::connect(b.addr(), "limits").await;
    assert!(!ack.session_present, "new session (MQTT-3.2.2-2)");
    let p = &ack.properties;
    assert_eq!(p.topic_alias_maximum, Some(TOPIC_ALIAS_MAXIMUM), "{ack:?}");
    assert_eq!(
        p.receive_maximum,
        Some(20),
        "Receive Maximum: the broker's max_inflight (absent would mean 65,535, 3.2.2.3.3)"
    );
    let max = BrokerOptions::default().max_packet_size;
    assert!(max < PROTOCOL_MAX_PACKET_SIZE);
    assert_eq!(
        p.maximum_packet_size,
        Some(max as u32),
        "Maximum Packet Size: the broker's max_packet_size (absent would mean no limit, 3.2.2.3.6)"
    );
    assert_ne!(
        p.retain_available,
        Some(false),
        "retained messages are supported (3.2.2.3.5)"
    );
    assert_eq!(
        p.maximum_qos, None,
        "QoS 2 is supported, so Maximum QoS is absent (3.2.2.3.4)"
    );
    assert_ne!(
        p.wildcard_subscription_available,
        Some(false),
        "wildcard subscriptions are supported (3.2.2.3.11)"
    );
    assert_eq!(
        p.assigned_client_identifier, None,
        "the client chose its identifier"
    );
    assert_eq!(
        p.session_expiry_interval, None,
        "the client's Session Expiry Interval (0) was not lowered"
    );
    echo(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connack_receive_maximum_and_maximum_packet_size_follow_the_brokers_settings() {
    let b = start_broker(BrokerOptions {
        max_inflight: 7,
        max_packet_size: 4096,
        ..BrokerOptions::default()
    })
    .await;
    let (_c, ack) = Raw5Client::connect(b.addr(), "settings").await;
    assert_eq!(ack.properties.receive_maximum, Some(7), "{ack:?}");
    assert_eq!(ack.properties.maximum_packet_size, Some(4096), "{ack:?}");
}

/// Asserts a v5 client over another transport gets what one over TCP gets: the CONNACK's
/// Topic Alias Maximum and its own messages back.
async fn expect_served_as_over_tcp(c: &mut Raw5Client, ack: &Connack) {
    assert_eq!(
        ack.properties.topic_alias_maximum,
        Some(TOPIC_ALIAS_MAXIMUM),
        "CONNACK Topic Alias Maximum (3.2.2.3.8): {ack:?}"
    );
    echo(c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_connect_over_websocket_is_accepted() {
    let b = start_gateway(BrokerOptions::default(), WS_LISTENER).await;
    let (mut c, ack) = Raw5Client::ws(b.listener_addr("ws"), "/mqtt")
        .await
        .handshake(&raw5::connect("ws-v5"))
        .await;
    expect_served_as_over_tcp(&mut c, &ack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_connect_over_tls_is_accepted() {
    let pki = Pki::new();
    let b = start_gateway(
        BrokerOptions::default(),
        &format!(
            "{}\n[homeassistant]\ndiscovery = false\n",
            pki.listener("tls", "tls", "")
        ),
    )
    .await;
    let (mut c, ack) = Raw5Client::tls(b.listener_addr("tls"), pki.client_config(None))
        .await
        .handshake(&raw5::connect("tls-v5"))
        .await;
    expect_served_as_over_tcp(&mut c, &ack).await;
}

// MQTT-3.1.3-6, MQTT-3.2.2-16: an empty Client Identifier is allowed in MQTT 5.0, with clean
// start 0 too (unlike MQTT-3.1.3-7 of 3.1.1), and the server then names the client in CONNACK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_client_id_gets_an_assigned_client_identifier() {
    let b = broker().await;
    let (mut first, ack) = Raw5Client::connect(b.addr(), "").await;
    let first_id = assigned(&ack.properties.assigned_client_identifier, "clean start 1");

    let (mut second, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("", 60)).await;
    let second_id = assigned(&ack.properties.assigned_client_identifier, "clean start 0");
    assert!(!ack.session_present, "a new identifier has no session");
    assert_ne!(
        first_id, second_id,
        "each connection gets its own identifier"
    );

    // Both are connected at once: neither took the other over.
    first.ping().await;
    second.ping().await;
    echo(&mut first).await;
}

fn assigned(id: &Option<String>, case: &str) -> String {
    match id {
        Some(id) if id.starts_with("hearth-") => id.clone(),
        other => panic!(
            "{case}: expected an Assigned Client Identifier starting with \"hearth-\" \
             (MQTT-3.2.2-16), got {other:?}"
        ),
    }
}

// 3.2.2.3.2: the server tells the client the Session Expiry Interval it uses when it is not
// the one the client asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_expiry_above_the_brokers_cap_is_lowered_in_connack() {
    let b = start_broker(BrokerOptions {
        broker_keys: "session_expiry = \"1m\"\n".into(),
        ..BrokerOptions::default()
    })
    .await;
    for (id, asked) in [("hour", 3600), ("never", u32::MAX)] {
        let (c, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent(id, asked)).await;
        assert_eq!(
            ack.properties.session_expiry_interval,
            Some(60),
            "asked for {asked} s with session_expiry = 1m: {ack:?}"
        );
        c.disconnect().await;
    }
    let (_c, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("short", 30)).await;
    assert!(
        matches!(ack.properties.session_expiry_interval, None | Some(30)),
        "30 s is below the cap, so it is kept: {ack:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_session_expiry_cap_is_30_days() {
    let b = broker().await;
    let thirty_days = 30 * 24 * 3600;
    let (_c, ack) =
        Raw5Client::connect_with(b.addr(), &raw5::persistent("forever", u32::MAX)).await;
    assert_eq!(
        ack.properties.session_expiry_interval,
        Some(thirty_days),
        "0xFFFFFFFF (never expires) capped at the default session_expiry, 30 days: {ack:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rumqttc_v5_connects_and_sees_the_brokers_limits() {
    let b = broker().await;
    let (mut c, ack) = V5Client::connect(rumqttc5::options(b.addr(), "rumqttc-v5")).await;
    assert_eq!(ack.code, ConnectReturnCode::Success);
    assert!(!ack.session_present);
    let props = ack.properties.expect("CONNACK properties");
    assert_eq!(props.topic_alias_max, Some(TOPIC_ALIAS_MAXIMUM));
    assert_eq!(props.receive_max, Some(20));
    assert_eq!(props.max_qos, None);
    c.subscribe(rumqttc::v5::mqttbytes::v5::Filter::new(
        "echo/#",
        rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
    ))
    .await;
    c.publish(
        "echo/rumqttc",
        rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        false,
        "hi",
        Default::default(),
    )
    .await;
    let p = c.next_on("echo/rumqttc").await;
    assert_eq!(&p.payload[..], b"hi");
}

// 3.1.2.11: the properties a client may send in CONNECT are accepted (the ones the broker
// does not act on are ignored), and a Receive Maximum or Maximum Packet Size of its own does
// not change what the broker offers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_every_client_property_is_accepted() {
    let b = broker().await;
    let mut connect = raw5::connect("all-properties");
    connect.properties = ConnectProperties {
        session_expiry_interval: Some(10),
        receive_maximum: Some(5),
        maximum_packet_size: Some(65_536),
        topic_alias_maximum: Some(4),
        request_response_information: Some(false),
        request_problem_information: Some(true),
        user_properties: vec![("site".into(), "kitchen".into())],
        authentication_method: None,
        authentication_data: None,
    };
    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &connect).await;
    assert_eq!(ack.reason, ConnackReason::Success);
    assert_eq!(ack.properties.receive_maximum, Some(20));
    assert_eq!(
        ack.properties.topic_alias_maximum,
        Some(TOPIC_ALIAS_MAXIMUM)
    );
    assert_eq!(
        ack.properties.response_information, None,
        "no Response Information when it was not requested (MQTT-3.1.2-28)"
    );
    echo(&mut c).await;
}
