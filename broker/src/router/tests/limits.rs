//! Topic length and depth limits, and the cap on retained messages: what is refused, what is
//! still acknowledged or delivered, and how it is counted in `$SYS`.

use crate::codec::{Packet, Publish, QoS, Suback, SubackCode, Subscribe};
use crate::event::CloseReason;
use crate::settings::BrokerSettings;
use crate::sys::{REFUSED_RETAINED, REFUSED_TOPIC_PUBLISH, REFUSED_TOPIC_SUBSCRIBE};

use super::harness::{client, with_will, TestBroker, QOS};

/// Limits that still let `sys_value` read `$SYS/broker/hearth/refused/publish/topic_limit`
/// (47 bytes, 6 levels).
const LENGTH: usize = 64;
const LEVELS: usize = 6;

fn limited(max_topic_length: usize, max_topic_levels: usize) -> TestBroker {
    TestBroker::with(BrokerSettings {
        max_topic_length,
        max_topic_levels,
        ..Default::default()
    })
}

#[test]
fn a_publish_beyond_the_topic_limits_is_acknowledged_counted_and_dropped() {
    let b = limited(LENGTH, LEVELS);
    let mut watcher = b.client(client("watcher"));
    watcher.subscribe("#", QoS::ExactlyOnce);
    let mut publisher = b.client(client("pub"));
    let longest = "x".repeat(LENGTH);
    let too_long = "x".repeat(LENGTH + 1);
    for qos in QOS {
        // The acknowledgement flow completes as for any PUBLISH (checked by publish_acked).
        publisher.publish_acked("a/b/c/d/e/f/g", "deep", qos, false);
        publisher.publish_acked(&too_long, "long", qos, true);
    }
    publisher.publish_acked("a/b/c/d/e/f", "fits", QoS::AtMostOnce, false);
    publisher.publish_acked(&longest, "fits", QoS::AtMostOnce, false);
    let topics: Vec<String> = watcher.publishes().into_iter().map(|p| p.topic).collect();
    assert_eq!(topics, ["a/b/c/d/e/f", longest.as_str()]);
    assert_eq!(b.sys_value(REFUSED_TOPIC_PUBLISH).as_deref(), Some("6"));
    // Nothing of the long retained one was stored.
    let mut late = b.client(client("late"));
    late.subscribe("#", QoS::AtMostOnce);
    assert_eq!(late.publishes(), []);
}

#[test]
fn a_filter_beyond_the_topic_limits_gets_suback_0x80_and_others_in_it_are_granted() {
    let b = limited(LENGTH, LEVELS);
    let mut c = b.client(client("c"));
    c.send(Packet::Subscribe(Subscribe {
        pkid: 3,
        filters: vec![
            ("a/b/c/d/e/f/#".into(), QoS::AtLeastOnce),
            ("a/+/c/d/e/#".into(), QoS::AtLeastOnce),
            (format!("{}/#", "x".repeat(LENGTH - 1)), QoS::AtMostOnce),
        ],
    }));
    assert_eq!(
        c.drain(),
        [Packet::Suback(Suback {
            pkid: 3,
            codes: vec![
                SubackCode::Failure,
                SubackCode::Granted(QoS::AtLeastOnce),
                SubackCode::Failure,
            ],
        })]
    );
    assert_eq!(b.sys_value(REFUSED_TOPIC_SUBSCRIBE).as_deref(), Some("2"));
}

#[test]
fn a_will_beyond_the_topic_limits_is_dropped_when_the_client_connects() {
    let b = limited(LENGTH, LEVELS);
    let mut watcher = b.client(client("watcher"));
    watcher.subscribe("#", QoS::AtMostOnce);
    let node = b.client(with_will(
        "node",
        "a/b/c/d/e/f/g",
        "gone",
        QoS::AtMostOnce,
        false,
    ));
    node.close(CloseReason::PeerClosed);
    assert_eq!(watcher.publishes(), []);
    assert_eq!(b.sys_value(REFUSED_TOPIC_PUBLISH).as_deref(), Some("1"));
}

#[test]
fn the_defaults_allow_topics_of_home_setups_and_refuse_absurd_ones() {
    let b = TestBroker::new();
    let mut c = b.client(client("c"));
    let discovery = "homeassistant/sensor/hearth-kitchen/kitchen_fridge_temperature/config";
    assert_eq!(
        c.subscribe(discovery, QoS::AtMostOnce),
        SubackCode::Granted(QoS::AtMostOnce)
    );
    assert_eq!(
        c.subscribe(&"+/".repeat(40), QoS::AtMostOnce),
        SubackCode::Failure
    );
    assert_eq!(
        c.subscribe(&"x".repeat(2000), QoS::AtMostOnce),
        SubackCode::Failure
    );
}

fn capped(max_retained_messages: usize) -> TestBroker {
    TestBroker::with(BrokerSettings {
        max_retained_messages,
        ..Default::default()
    })
}

/// The retained messages a new subscription to `#` gets, as (topic, payload).
fn retained(b: &TestBroker) -> Vec<(String, String)> {
    let mut probe = b.client(client("probe"));
    probe.subscribe("#", QoS::AtMostOnce);
    let got = probe.publishes();
    probe.disconnect();
    let mut got: Vec<_> = got
        .into_iter()
        .map(|p: Publish| (p.topic, String::from_utf8_lossy(&p.payload).into_owned()))
        .collect();
    got.sort();
    got
}

fn pair(topic: &str, payload: &str) -> (String, String) {
    (topic.to_string(), payload.to_string())
}

#[test]
fn beyond_max_retained_messages_a_new_topic_is_delivered_but_not_stored() {
    let b = capped(2);
    let mut live = b.client(client("live"));
    live.subscribe("#", QoS::AtMostOnce);
    let mut node = b.client(client("node"));
    node.publish_acked("a", "1", QoS::AtLeastOnce, true);
    node.publish_acked("b", "1", QoS::AtLeastOnce, true);
    node.publish_acked("c", "1", QoS::AtLeastOnce, true);
    // Delivered live all the same, acknowledged all the same (publish_acked checked it).
    let topics: Vec<String> = live.publishes().into_iter().map(|p| p.topic).collect();
    assert_eq!(topics, ["a", "b", "c"]);
    assert_eq!(retained(&b), [pair("a", "1"), pair("b", "1")]);

    // Retained topics can always be updated and cleared, and a cleared place is free again.
    node.publish_acked("a", "2", QoS::AtMostOnce, true);
    node.publish_acked("b", "", QoS::AtMostOnce, true);
    node.publish_acked("c", "2", QoS::AtMostOnce, true);
    assert_eq!(retained(&b), [pair("a", "2"), pair("c", "2")]);
    // Read last: `$SYS` topics are retained too, and count against the cap.
    assert_eq!(b.sys_value(REFUSED_RETAINED).as_deref(), Some("1"));
}

#[test]
fn the_gateway_own_retained_topics_are_stored_beyond_the_cap() {
    let b = capped(1);
    let mut node = b.client(client("node"));
    node.publish_acked("node/state", "on", QoS::AtMostOnce, true);
    b.local_publish("hearth/gw/status", "online", QoS::AtLeastOnce, true);
    assert_eq!(
        retained(&b),
        [pair("hearth/gw/status", "online"), pair("node/state", "on")]
    );
    // A client's will is a client's message: capped too.
    let will = b.client(with_will("w", "node/will", "gone", QoS::AtMostOnce, true));
    will.close(CloseReason::PeerClosed);
    assert_eq!(
        retained(&b),
        [pair("hearth/gw/status", "online"), pair("node/state", "on")]
    );
    assert_eq!(b.sys_value(REFUSED_RETAINED).as_deref(), Some("1"));
}
