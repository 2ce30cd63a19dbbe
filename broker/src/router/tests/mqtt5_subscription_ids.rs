//! Subscription Identifiers (3.8.2.1.2, 3.3.4): kept one per subscription and sent back with
//! every message it matches, in one copy carrying all of a session's matching identifiers.

use super::harness::{FakeClient, TestBroker};
use super::harness5::{connect5, lasting5, options, publish5};
use crate::codec::v5::{self, Packet, SubackReason, Subscribe, SubscribeProperties};
use crate::codec::QoS;

/// Subscribes to `filter` at QoS 1 with identifier `id` (none if `None`).
fn subscribe_with_id(c: &mut FakeClient, filter: &str, id: Option<u32>) {
    c.send_v5(Packet::Subscribe(Subscribe {
        pkid: 31,
        properties: SubscribeProperties {
            subscription_identifier: id,
            ..SubscribeProperties::default()
        },
        filters: vec![(filter.to_string(), options(QoS::AtLeastOnce))],
    }));
    match c.next_v5() {
        Some(Packet::Suback(s)) => assert_eq!(s.reasons, [SubackReason::GrantedQos1]),
        other => panic!("SUBACK expected, got {other:?}"),
    }
}

fn ids(p: &v5::Publish) -> Vec<u32> {
    let mut ids = p.properties.subscription_identifiers.clone();
    ids.sort_unstable();
    ids
}

#[test]
fn overlapping_subscriptions_give_one_copy_with_every_identifier() {
    let broker = TestBroker::new();
    let (mut sub, _) = broker.client5(connect5("sub"));
    subscribe_with_id(&mut sub, "home/#", Some(7));
    subscribe_with_id(&mut sub, "home/+/temperature", Some(9));
    subscribe_with_id(&mut sub, "+/kitchen/temperature", None);
    let (publisher, _) = broker.client5(connect5("pub"));
    publisher.send_v5(Packet::Publish(publish5(
        "home/kitchen/temperature",
        "21",
        QoS::AtMostOnce,
        0,
    )));
    let got = sub.publishes_v5();
    assert_eq!(got.len(), 1, "one copy (MQTT-3.3.4-2): {got:?}");
    assert_eq!(ids(&got[0]), [7, 9], "MQTT-3.3.4-4/5");
    publisher.send_v5(Packet::Publish(publish5(
        "home/hall",
        "x",
        QoS::AtMostOnce,
        0,
    )));
    let got = sub.publishes_v5();
    assert_eq!(got.len(), 1);
    assert_eq!(ids(&got[0]), [7], "only the subscriptions that matched");
}

#[test]
fn a_subscriber_without_identifiers_gets_none_beside_one_with() {
    let broker = TestBroker::new();
    let (mut with, _) = broker.client5(connect5("with"));
    let (mut without, _) = broker.client5(connect5("without"));
    subscribe_with_id(&mut with, "t", Some(3));
    subscribe_with_id(&mut without, "t", None);
    let (publisher, _) = broker.client5(connect5("pub"));
    publisher.send_v5(Packet::Publish(publish5("t", "x", QoS::AtMostOnce, 0)));
    assert_eq!(ids(&with.publishes_v5()[0]), [3]);
    assert_eq!(ids(&without.publishes_v5()[0]), Vec::<u32>::new());
}

#[test]
fn subscribing_again_replaces_or_removes_the_identifier() {
    let broker = TestBroker::new();
    let (mut sub, _) = broker.client5(connect5("sub"));
    let (mut publisher, _) = broker.client5(connect5("pub"));
    let send = |p: &mut FakeClient| {
        p.send_v5(Packet::Publish(publish5("t", "x", QoS::AtMostOnce, 0)));
    };
    subscribe_with_id(&mut sub, "t", Some(3));
    subscribe_with_id(&mut sub, "t", Some(4));
    send(&mut publisher);
    assert_eq!(ids(&sub.publishes_v5()[0]), [4], "replaced");
    subscribe_with_id(&mut sub, "t", None);
    send(&mut publisher);
    assert_eq!(ids(&sub.publishes_v5()[0]), Vec::<u32>::new(), "removed");
}

#[test]
fn retained_messages_carry_the_new_subscriptions_identifier() {
    let broker = TestBroker::new();
    let (mut publisher, _) = broker.client5(connect5("pub"));
    let mut retained = publish5("home/door", "open", QoS::AtLeastOnce, 1);
    retained.retain = true;
    publisher.send_v5(Packet::Publish(retained));
    publisher.puback5();
    let (mut sub, _) = broker.client5(connect5("sub"));
    subscribe_with_id(&mut sub, "home/#", Some(12));
    let got = sub.publishes_v5();
    assert_eq!(got.len(), 1);
    assert!(got[0].retain);
    assert_eq!(ids(&got[0]), [12]);
}

#[test]
fn queued_messages_keep_the_identifiers_they_matched_with() {
    let broker = TestBroker::new();
    let (mut sub, _) = broker.client5(lasting5("sub", 600));
    subscribe_with_id(&mut sub, "t", Some(5));
    sub.disconnect();
    let (mut publisher, _) = broker.client5(connect5("pub"));
    publisher.send_v5(Packet::Publish(publish5("t", "x", QoS::AtLeastOnce, 1)));
    publisher.puback5();
    let (mut sub, connack) = broker.client5(lasting5("sub", 600));
    assert!(connack.session_present);
    let got = sub.publishes_v5();
    assert_eq!(got.len(), 1);
    assert_eq!(ids(&got[0]), [5]);
}
