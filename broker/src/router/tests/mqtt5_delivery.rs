//! How messages reach MQTT 5 subscribers: properties passed through, subscription options,
//! message expiry, and the client's Receive Maximum and Maximum Packet Size.

use std::time::{Duration, Instant};

use super::harness::{client, TestBroker};
use super::harness5::{connect5, options, publish5};
use crate::codec::v5::{
    ConnectProperties, Packet, PubAckReason, PublishProperties, RetainHandling, SubackReason,
};
use crate::codec::QoS;
use crate::message::Message;

fn rich_properties() -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(true),
        content_type: Some("application/json".into()),
        response_topic: Some("phone/replies".into()),
        correlation_data: Some("req-17".into()),
        user_properties: vec![
            ("unit".into(), "C".into()),
            ("unit".into(), "C".into()),
            ("room".into(), "kitchen".into()),
        ],
        ..PublishProperties::default()
    }
}

#[test]
fn properties_reach_mqtt5_subscribers_unchanged_and_3_1_1_ones_without_them() {
    let broker = TestBroker::new();
    let (mut sub5, _) = broker.client5(connect5("sub5"));
    sub5.subscribe5("Kitchen/#", options(QoS::AtLeastOnce));
    let mut sub3 = broker.client(client("sub3"));
    sub3.subscribe("Kitchen/#", QoS::AtLeastOnce);
    let (mut publisher, _) = broker.client5(connect5("pub"));
    publisher.send_v5(Packet::Publish(crate::codec::v5::Publish {
        properties: PublishProperties {
            topic_alias: None,
            ..rich_properties()
        },
        ..publish5(
            "Kitchen/Fridge/temperature",
            "{\"t\":4.5}",
            QoS::AtLeastOnce,
            1,
        )
    }));
    assert_eq!(publisher.puback5().reason, PubAckReason::Success);
    let got = sub5.publishes_v5();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].properties, rich_properties());
    let got3 = sub3.ack_all();
    assert_eq!(got3.len(), 1);
    assert_eq!(&got3[0].payload[..], b"{\"t\":4.5}");
}

#[test]
fn no_local_keeps_a_clients_own_messages_from_it() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    let no_local = crate::codec::v5::SubscriptionOptions {
        no_local: true,
        ..options(QoS::AtMostOnce)
    };
    c.subscribe5("chat", no_local);
    let (mut other, _) = broker.client5(connect5("other"));
    other.subscribe5("chat", options(QoS::AtMostOnce));
    c.send_v5(Packet::Publish(publish5(
        "chat",
        "mine",
        QoS::AtMostOnce,
        0,
    )));
    assert!(c.drain_v5().is_empty(), "not sent back");
    assert_eq!(other.publishes_v5().len(), 1);
    other.send_v5(Packet::Publish(publish5(
        "chat",
        "theirs",
        QoS::AtMostOnce,
        0,
    )));
    assert_eq!(c.publishes_v5().len(), 1, "others' messages still arrive");
}

#[test]
fn retain_as_published_keeps_the_flag_on_live_messages() {
    let broker = TestBroker::new();
    let (mut keeps, _) = broker.client5(connect5("keeps"));
    keeps.subscribe5(
        "state/#",
        crate::codec::v5::SubscriptionOptions {
            retain_as_published: true,
            ..options(QoS::AtMostOnce)
        },
    );
    let (mut clears, _) = broker.client5(connect5("clears"));
    clears.subscribe5("state/#", options(QoS::AtMostOnce));
    broker.local_publish("state/relay", "ON", QoS::AtMostOnce, true);
    assert!(keeps.publishes_v5()[0].retain);
    assert!(!clears.publishes_v5()[0].retain);
}

#[test]
fn retain_handling_sends_retained_messages_always_only_when_new_or_never() {
    let broker = TestBroker::new();
    broker.local_publish("state/relay", "ON", QoS::AtMostOnce, true);
    let (mut c, _) = broker.client5(connect5("c"));
    let with = |handling| crate::codec::v5::SubscriptionOptions {
        retain_handling: handling,
        ..options(QoS::AtMostOnce)
    };
    for (filter, handling, first, again) in [
        ("state/#", RetainHandling::SendAtSubscribe, 1, 1),
        ("state/+", RetainHandling::SendAtSubscribeIfNew, 1, 0),
        ("+/relay", RetainHandling::DoNotSend, 0, 0),
    ] {
        for (round, expected) in [("first", first), ("again", again)] {
            assert_eq!(
                c.subscribe5(filter, with(handling)),
                SubackReason::GrantedQos0
            );
            assert_eq!(c.publishes_v5().len(), expected, "{handling:?} {round}");
        }
    }
}

#[test]
fn an_expired_message_is_not_delivered_and_a_live_one_says_what_is_left() {
    let broker = TestBroker::new();
    let expiring = |topic: &str, at: Instant| Message {
        expires_at: Some(at),
        ..Message::new(topic, "x", QoS::AtLeastOnce, true)
    };
    broker.local_message(expiring("gone", Instant::now() - Duration::from_secs(1)));
    broker.local_message(expiring("kept", Instant::now() + Duration::from_secs(100)));
    let (mut c, _) = broker.client5(connect5("c"));
    c.subscribe5("#", options(QoS::AtLeastOnce));
    let got = c.publishes_v5();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].topic, "kept");
    let left = got[0]
        .properties
        .message_expiry_interval
        .expect("expiry sent");
    assert!((99..=100).contains(&left), "{left}");
    // The gateway's own subscribers (rules, the web page) are spared it too.
    let (sink, mut local) = tokio::sync::mpsc::channel(8);
    let (reply, _key) = tokio::sync::oneshot::channel();
    broker.handle(crate::event::Event::LocalSubscribe {
        filters: vec!["#".into()],
        qos: QoS::AtLeastOnce,
        sink,
        reply,
    });
    let topics: Vec<_> = std::iter::from_fn(|| local.try_recv().ok())
        .map(|m| m.topic)
        .collect();
    assert_eq!(topics, [std::sync::Arc::from("kept")]);
}

#[test]
fn no_more_than_the_clients_receive_maximum_is_in_flight() {
    let broker = TestBroker::new();
    let (mut node, _) = broker.client5(crate::codec::v5::Connect {
        properties: ConnectProperties {
            receive_maximum: Some(2),
            ..ConnectProperties::default()
        },
        ..connect5("node")
    });
    node.subscribe5("n", options(QoS::AtLeastOnce));
    for i in 0..5 {
        broker.local_publish("n", &i.to_string(), QoS::AtLeastOnce, false);
    }
    let first = node.publishes_v5();
    assert_eq!(first.len(), 2, "two in flight");
    node.send_v5(Packet::Puback(crate::session::ack(first[0].pkid)));
    let next = node.publishes_v5();
    assert_eq!(next.len(), 1, "one more after one PUBACK");
    assert_eq!(&next[0].payload[..], b"2");
}

#[test]
fn a_message_larger_than_the_clients_maximum_is_not_sent_to_it() {
    let broker = TestBroker::new();
    let (mut small, _) = broker.client5(crate::codec::v5::Connect {
        properties: ConnectProperties {
            maximum_packet_size: Some(64),
            ..ConnectProperties::default()
        },
        ..connect5("small")
    });
    small.subscribe5("t", options(QoS::AtLeastOnce));
    let (mut big, _) = broker.client5(connect5("big"));
    big.subscribe5("t", options(QoS::AtLeastOnce));
    broker.local_publish("t", &"x".repeat(100), QoS::AtLeastOnce, false);
    broker.local_publish("t", "short", QoS::AtLeastOnce, false);
    let got: Vec<Vec<u8>> = small
        .publishes_v5()
        .iter()
        .map(|p| p.payload.to_vec())
        .collect();
    assert_eq!(got, [b"short".to_vec()]);
    assert_eq!(big.publishes_v5().len(), 2);
}

#[test]
fn a_3_1_1_publish_reaches_an_mqtt5_subscriber_without_properties() {
    let broker = TestBroker::new();
    let (mut sub, _) = broker.client5(connect5("sub"));
    sub.subscribe5("a", options(QoS::AtMostOnce));
    let mut node = broker.client(client("node"));
    node.publish("a", "1", QoS::AtMostOnce, false);
    let got = sub.publishes_v5();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].properties, PublishProperties::default());
}
