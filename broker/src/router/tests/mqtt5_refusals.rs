//! What an MQTT 5 client is told when something is refused: reason codes in PUBACK, SUBACK,
//! UNSUBACK and DISCONNECT, and Reason Strings only for clients that want them.

use super::harness::TestBroker;
use super::harness5::{connect5, options, publish5};
use crate::auth::acl::{Access, AclRule, Who};
use crate::auth::Acl;
use crate::codec::v5::{
    ConnectProperties, DisconnectReason, Packet, PubAckReason, PublishProperties, SubackReason,
    Subscribe, UnsubackReason, Unsubscribe,
};
use crate::codec::QoS;

fn suback(c: &mut super::harness::FakeClient) -> crate::codec::v5::Suback {
    match c.next_v5() {
        Some(Packet::Suback(s)) => s,
        other => panic!("SUBACK expected, got {other:?}"),
    }
}

#[test]
fn a_publish_nobody_receives_is_acknowledged_with_no_matching_subscribers() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    c.send_v5(Packet::Publish(publish5(
        "nobody",
        "x",
        QoS::AtLeastOnce,
        1,
    )));
    assert_eq!(c.puback5().reason, PubAckReason::NoMatchingSubscribers);
}

#[test]
fn a_payload_that_is_not_the_utf_8_it_claims_is_refused() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    let (mut sub, _) = broker.client5(connect5("sub"));
    sub.subscribe5("t", options(QoS::AtMostOnce));
    let mut p = publish5("t", "", QoS::AtLeastOnce, 1);
    p.payload = vec![0xff, 0xfe].into();
    p.properties = PublishProperties {
        payload_format_indicator: Some(true),
        ..PublishProperties::default()
    };
    c.send_v5(Packet::Publish(p));
    let ack = c.puback5();
    assert_eq!(ack.reason, PubAckReason::PayloadFormatInvalid);
    assert!(
        ack.properties.reason_string.is_some(),
        "the client asked for reasons by default"
    );
    assert!(sub.drain_v5().is_empty());
}

#[test]
fn invalid_filters_are_refused() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    assert_eq!(
        c.subscribe5("a/#/b", options(QoS::AtMostOnce)),
        SubackReason::TopicFilterInvalid
    );
}

#[test]
fn unsuback_says_which_filters_had_no_subscription() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    c.subscribe5("a", options(QoS::AtMostOnce));
    c.send_v5(Packet::Unsubscribe(Unsubscribe {
        pkid: 8,
        properties: Default::default(),
        filters: vec!["a".into(), "b".into()],
    }));
    match c.next_v5() {
        Some(Packet::Unsuback(u)) => assert_eq!(
            u.reasons,
            [
                UnsubackReason::Success,
                UnsubackReason::NoSubscriptionExisted
            ]
        ),
        other => panic!("UNSUBACK expected, got {other:?}"),
    }
}

#[test]
fn more_unreleased_qos2_publishes_than_the_receive_maximum_end_the_connection() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    for pkid in 1..=20 {
        c.send_v5(Packet::Publish(publish5("t", "x", QoS::ExactlyOnce, pkid)));
    }
    assert_eq!(c.drain_v5().len(), 20, "twenty PUBRECs");
    c.send_v5(Packet::Publish(publish5("t", "x", QoS::ExactlyOnce, 21)));
    match c.next_v5() {
        Some(Packet::Disconnect(d)) => {
            assert_eq!(d.reason, DisconnectReason::ReceiveMaximumExceeded)
        }
        other => panic!("DISCONNECT 0x93 expected, got {other:?}"),
    }
    assert!(c.is_closed());
}

/// The user `node` may write only `Kitchen/#` and read only its own `set` topic.
fn node_acl() -> Acl {
    let allow = |access, filter: &str| AclRule {
        who: Who::User("node".into()),
        allow: true,
        access,
        filter: filter.into(),
    };
    let rules = vec![
        allow(Access::Write, "Kitchen/#"),
        allow(Access::Read, "%c/set"),
    ];
    Acl::new(rules, vec!["$SYS/#".to_string()]).expect("valid rules")
}

#[test]
fn access_refusals_say_not_authorized_with_a_reason_only_if_asked() {
    let broker = TestBroker::with_acl(node_acl());
    let (mut node, _) = broker.user_client5(connect5("fridge"), Some("node"));
    node.send_v5(Packet::Publish(publish5(
        "Hall/light",
        "ON",
        QoS::AtLeastOnce,
        1,
    )));
    let ack = node.puback5();
    assert_eq!(ack.reason, PubAckReason::NotAuthorized);
    assert!(ack.properties.reason_string.is_some());
    assert_eq!(
        node.subscribe5("Hall/#", options(QoS::AtMostOnce)),
        SubackReason::NotAuthorized
    );

    let quiet = crate::codec::v5::Connect {
        properties: ConnectProperties {
            request_problem_information: Some(false),
            ..ConnectProperties::default()
        },
        ..connect5("quiet")
    };
    let (mut quiet, _) = broker.user_client5(quiet, Some("node"));
    quiet.send_v5(Packet::Subscribe(Subscribe {
        pkid: 2,
        properties: Default::default(),
        filters: vec![("Hall/#".into(), options(QoS::AtMostOnce))],
    }));
    let s = suback(&mut quiet);
    assert_eq!(s.reasons, [SubackReason::NotAuthorized]);
    assert_eq!(
        s.properties.reason_string, None,
        "Request Problem Information 0"
    );
}
