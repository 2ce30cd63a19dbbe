//! Retained messages: set, replaced, cleared (MQTT-3.3.1-5..11), every one delivered on
//! subscribe with RETAIN set, live deliveries with RETAIN clear.

use crate::codec::{Packet, Publish, QoS};
use crate::settings::BrokerSettings;

use super::harness::{client, payloads, publish, TestBroker, QOS};

/// What a new subscription to `filter` receives, acknowledged as a client would.
fn retained_for(b: &TestBroker, filter: &str, qos: QoS) -> Vec<Publish> {
    let mut probe = b.client(client("probe"));
    probe.subscribe(filter, qos);
    let got = probe.ack_all();
    probe.disconnect();
    got
}

fn retained(topic: &str, payload: &str, qos: QoS, pkid: u16) -> Publish {
    Publish {
        retain: true,
        ..publish(topic, payload, qos, pkid)
    }
}

#[test]
fn a_retained_message_is_set_replaced_and_cleared_by_an_empty_payload() {
    let b = TestBroker::new();
    let mut publisher = b.client(client("pub"));
    publisher.publish_acked("r/t", "v1", QoS::AtLeastOnce, true);
    assert_eq!(
        retained_for(&b, "r/t", QoS::AtLeastOnce),
        [retained("r/t", "v1", QoS::AtLeastOnce, 1)]
    );
    publisher.publish_acked("r/t", "v2", QoS::AtLeastOnce, true);
    assert_eq!(
        retained_for(&b, "r/t", QoS::AtLeastOnce),
        [retained("r/t", "v2", QoS::AtLeastOnce, 1)]
    );
    publisher.publish_acked("r/t", "", QoS::AtLeastOnce, true);
    assert_eq!(retained_for(&b, "r/t", QoS::AtLeastOnce), []);
    // A PUBLISH without RETAIN leaves the store alone.
    publisher.publish_acked("r/t", "v3", QoS::AtLeastOnce, true);
    publisher.publish_acked("r/t", "live", QoS::AtLeastOnce, false);
    assert_eq!(
        retained_for(&b, "r/t", QoS::AtLeastOnce),
        [retained("r/t", "v3", QoS::AtLeastOnce, 1)]
    );
}

#[test]
fn retained_messages_are_delivered_at_the_lower_of_stored_and_granted_qos() {
    for stored in QOS {
        for granted in QOS {
            let b = TestBroker::new();
            b.local_publish("r/q", "kept", stored, true);
            let qos = stored.min(granted);
            let pkid = if qos == QoS::AtMostOnce { 0 } else { 1 };
            assert_eq!(
                retained_for(&b, "r/q", granted),
                [retained("r/q", "kept", qos, pkid)],
                "stored {stored:?}, granted {granted:?}"
            );
        }
    }
}

#[test]
fn live_delivery_to_an_existing_subscription_has_retain_clear() {
    for qos in QOS {
        let b = TestBroker::new();
        let mut sub = b.client(client("sub"));
        sub.subscribe("r/live", qos);
        let mut publisher = b.client(client("pub"));
        publisher.publish_acked("r/live", "now", qos, true);
        let pkid = if qos == QoS::AtMostOnce { 0 } else { 1 };
        assert_eq!(
            sub.ack_all(),
            [publish("r/live", "now", qos, pkid)],
            "{qos:?}"
        );
    }
}

#[test]
fn every_retained_message_reaches_a_new_subscription_beyond_the_queue_limits() {
    const MANY: usize = 5000;
    for granted in QOS {
        let b = TestBroker::with(BrokerSettings {
            max_inflight: 5,
            max_queued_messages: 10,
            ..Default::default()
        });
        let mut want: Vec<String> = (0..MANY).map(|i| format!("bulk/{i:04}")).collect();
        for topic in &want {
            b.local_publish(topic, "r", QoS::ExactlyOnce, true);
        }
        let got = retained_for(&b, "#", granted);
        assert!(
            got.iter()
                .all(|p| p.retain && !p.dup && p.qos == granted && p.payload == "r"),
            "{granted:?}: RETAIN set, at the granted QoS"
        );
        let mut topics: Vec<String> = got.into_iter().map(|p| p.topic).collect();
        topics.sort();
        want.sort();
        assert_eq!(topics.len(), MANY, "{granted:?}: copies delivered");
        assert!(topics == want, "{granted:?}: each retained topic once");
        assert_eq!(b.dropped(), 0, "{granted:?}: nothing dropped");
    }
}

#[test]
fn live_messages_wait_behind_a_new_subscriptions_retained_ones() {
    let b = TestBroker::with(BrokerSettings {
        max_inflight: 1,
        ..Default::default()
    });
    for i in 0..3 {
        b.local_publish(&format!("o/{i}"), "old", QoS::AtLeastOnce, true);
    }
    let mut sub = b.client(client("sub"));
    sub.subscribe("o/#", QoS::AtLeastOnce);
    b.local_publish("o/1", "new", QoS::AtLeastOnce, false);
    let got = sub.ack_all();
    assert_eq!(
        got.iter().map(|p| p.retain).collect::<Vec<_>>(),
        [true, true, true, false]
    );
    assert_eq!(payloads(&got), ["old", "old", "old", "new"]);
}

#[test]
fn resubscribing_resends_the_retained_messages() {
    let b = TestBroker::new();
    b.local_publish("r/again", "same", QoS::AtMostOnce, true);
    let mut sub = b.client(client("sub"));
    for round in 0..2 {
        sub.subscribe("r/again", QoS::AtMostOnce);
        assert_eq!(
            sub.publishes(),
            [retained("r/again", "same", QoS::AtMostOnce, 0)],
            "round {round}"
        );
    }
}

#[test]
fn dollar_topics_are_not_matched_by_a_leading_wildcard() {
    // (filter, receives `$hearth/x`)
    let cases = [
        ("#", false),
        ("+/x", false),
        ("+/#", false),
        ("$hearth/#", true),
        ("$hearth/+", true),
        ("$hearth/x", true),
    ];
    for (filter, matched) in cases {
        let b = TestBroker::new();
        b.local_publish("$hearth/x", "stored", QoS::AtMostOnce, true);
        let mut sub = b.client(client("sub"));
        sub.subscribe(filter, QoS::AtMostOnce);
        b.local_publish("$hearth/x", "live", QoS::AtMostOnce, false);
        let want: &[&str] = if matched { &["stored", "live"] } else { &[] };
        assert_eq!(payloads(&sub.publishes()), want, "{filter}");
    }
}

#[test]
fn clients_cannot_publish_or_retain_on_sys_topics() {
    let b = TestBroker::new();
    let mut watcher = b.client(client("watcher"));
    watcher.subscribe("$SYS/#", QoS::AtLeastOnce);
    let mut forger = b.client(client("forger"));
    // Acknowledged like any PUBLISH, then dropped.
    forger.publish_acked(
        "$SYS/broker/clients/connected",
        "999",
        QoS::AtLeastOnce,
        true,
    );
    forger.publish_acked("$SYS", "999", QoS::ExactlyOnce, true);
    assert_eq!(watcher.drain(), []);
    assert_eq!(retained_for(&b, "$SYS/#", QoS::AtMostOnce), []);
    // The broker's own `$SYS` messages do get through.
    b.local_publish("$SYS/broker/uptime", "1 seconds", QoS::AtMostOnce, true);
    assert_eq!(
        watcher.drain(),
        [Packet::Publish(publish(
            "$SYS/broker/uptime",
            "1 seconds",
            QoS::AtMostOnce,
            0
        ))]
    );
}
