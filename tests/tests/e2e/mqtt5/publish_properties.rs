//! PUBLISH properties are forwarded (3.3.2.3): Payload Format Indicator, Content Type,
//! Response Topic, Correlation Data and User Properties reach every MQTT 5.0 subscriber as the
//! publisher sent them, User Properties in their order with duplicates kept (MQTT-3.3.2-4,
//! MQTT-3.3.2-15, MQTT-3.3.2-16, MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.2-20).

use broker::codec::v5::{PublishProperties, QoS, SubackReason};
use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{Filter, PublishProperties as RumqttcProperties};
use rumqttc::v5::mqttbytes::QoS as RumqttcQoS;
use tests::raw5::{self, Raw5Client};

use super::broker;
use super::rumqttc5::{self, V5Client};

/// Every forwarded property, User Properties out of alphabetical order and repeated.
pub(super) fn all_properties() -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(true),
        message_expiry_interval: None,
        topic_alias: None,
        response_topic: Some("props/reply/kitchen".into()),
        correlation_data: Some(Bytes::from_static(b"\x00\x01request-42\xff")),
        user_properties: vec![
            ("zone".into(), "kitchen".into()),
            ("unit".into(), "C".into()),
            ("zone".into(), "kitchen".into()),
            ("zone".into(), "fridge".into()),
        ],
        subscription_identifiers: Vec::new(),
        content_type: Some("application/json; charset=utf-8".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_properties_reach_a_v5_subscriber_unchanged_at_every_qos() {
    let b = broker().await;
    let (mut sub, _) = Raw5Client::connect(b.addr(), "sub").await;
    assert_eq!(
        sub.subscribe("props/#", QoS::ExactlyOnce).await,
        SubackReason::GrantedQos2
    );
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let topic = format!("props/q{}", qos as u8);
        let mut m = raw5::message(&topic, r#"{"t":4.2}"#, qos, false);
        m.properties = all_properties();
        publisher.publish_message(m).await;

        let p = sub.next_on(&topic).await;
        assert_eq!(p.qos, qos, "QoS of the delivery");
        assert_eq!(raw5::text(&p), r#"{"t":4.2}"#);
        assert_eq!(
            p.properties,
            all_properties(),
            "properties at QoS {} (MQTT-3.3.2-4, MQTT-3.3.2-17, MQTT-3.3.2-18)",
            qos as u8
        );
    }
}

// 3.3.2.3.2: Payload Format Indicator 0 (unspecified bytes) is forwarded as sent, and so is
// its absence: neither is made up by the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_format_indicator_0_and_no_properties_are_forwarded_as_sent() {
    let b = broker().await;
    let (mut sub, _) = Raw5Client::connect(b.addr(), "sub").await;
    sub.subscribe("pfi/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;

    let mut bytes = raw5::message("pfi/bytes", [0xffu8, 0x00, 0x7f], QoS::AtLeastOnce, false);
    bytes.properties.payload_format_indicator = Some(false);
    publisher.publish_message(bytes).await;
    publisher
        .publish("pfi/plain", "no properties", QoS::AtLeastOnce, false)
        .await;

    let p = sub.next_on("pfi/bytes").await;
    assert_eq!(&p.payload[..], [0xff, 0x00, 0x7f]);
    assert_eq!(
        p.properties,
        PublishProperties {
            payload_format_indicator: Some(false),
            ..PublishProperties::default()
        }
    );
    let p = sub.next_on("pfi/plain").await;
    assert_eq!(p.properties, PublishProperties::default());
}

// Each subscriber gets the same properties, whichever of its subscriptions matched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_gets_the_same_properties() {
    let b = broker().await;
    let mut subs = Vec::new();
    for (id, filter) in [("exact", "fan/out"), ("plus", "fan/+"), ("hash", "fan/#")] {
        let (mut c, _) = Raw5Client::connect(b.addr(), id).await;
        c.subscribe(filter, QoS::AtLeastOnce).await;
        subs.push(c);
    }
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    let mut m = raw5::message("fan/out", "x", QoS::AtLeastOnce, false);
    m.properties = all_properties();
    publisher.publish_message(m).await;
    for sub in &mut subs {
        let p = sub.next_on("fan/out").await;
        assert_eq!(p.properties, all_properties());
    }
}

/// The same properties in rumqttc's types.
fn rumqttc_properties() -> RumqttcProperties {
    let p = all_properties();
    RumqttcProperties {
        payload_format_indicator: Some(1),
        message_expiry_interval: None,
        topic_alias: None,
        response_topic: p.response_topic,
        correlation_data: p.correlation_data,
        user_properties: p.user_properties,
        subscription_identifiers: Vec::new(),
        content_type: p.content_type,
    }
}

// rumqttc's v5 client, an encoder and decoder independent of the broker's codec, on both
// ends: what it publishes reaches a raw v5 subscriber unchanged, and the reverse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_pass_between_rumqttc_v5_and_a_raw_v5_client_both_ways() {
    let b = broker().await;
    let (mut rumqttc, _) = V5Client::connect(rumqttc5::options(b.addr(), "rumqttc")).await;
    rumqttc
        .subscribe(Filter::new("to-rumqttc/#", RumqttcQoS::AtLeastOnce))
        .await;
    let (mut raw, _) = Raw5Client::connect(b.addr(), "raw").await;
    raw.subscribe("to-raw/#", QoS::AtLeastOnce).await;

    rumqttc
        .publish(
            "to-raw/reading",
            RumqttcQoS::AtLeastOnce,
            false,
            "21.5",
            rumqttc_properties(),
        )
        .await;
    let p = raw.next_on("to-raw/reading").await;
    assert_eq!(raw5::text(&p), "21.5");
    assert_eq!(p.properties, all_properties(), "from rumqttc v5");

    let mut m = raw5::message("to-rumqttc/command", "on", QoS::AtLeastOnce, false);
    m.properties = all_properties();
    raw.publish_message(m).await;
    let p = rumqttc.next_on("to-rumqttc/command").await;
    assert_eq!(&p.payload[..], b"on");
    assert_eq!(p.properties, Some(rumqttc_properties()), "at rumqttc v5");
}
