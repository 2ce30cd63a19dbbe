//! Shared subscriptions (`$share/{group}/{filter}`, 4.8.2): one member of each group per
//! message, chosen round robin among those that can take it now; no retained messages at
//! subscribe; malformed names refused per filter; 3.1.1 clients too.

use super::harness::{client, persistent, FakeClient, TestBroker};
use super::harness5::{connect5, lasting5, options, publish5};
use crate::auth::acl::{Access, AclRule, Who};
use crate::auth::Acl;
use crate::codec::v5::{
    self, ConnectProperties, Packet, SubackReason, Subscribe, SubscribeProperties,
};
use crate::codec::{QoS, SubackCode};

fn members(broker: &TestBroker, filter: &str, ids: &[&str]) -> Vec<FakeClient> {
    ids.iter()
        .map(|id| {
            let (mut c, _) = broker.client5(connect5(id));
            assert_eq!(
                c.subscribe5(filter, options(QoS::AtLeastOnce)),
                SubackReason::GrantedQos1
            );
            c
        })
        .collect()
}

fn publish_numbered(publisher: &FakeClient, topic: &str, count: u32, qos: QoS) {
    for n in 1..=count {
        let pkid = if qos == QoS::AtMostOnce { 0 } else { n as u16 };
        publisher.send_v5(Packet::Publish(publish5(topic, &n.to_string(), qos, pkid)));
    }
}

fn payloads(c: &mut FakeClient) -> Vec<String> {
    c.publishes_v5()
        .iter()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect()
}

#[test]
fn each_message_goes_to_one_member_in_turn() {
    let broker = TestBroker::new();
    let mut group = members(&broker, "$share/workers/sensors/#", &["a", "b", "c"]);
    let (publisher, _) = broker.client5(connect5("pub"));
    publish_numbered(&publisher, "sensors/kitchen", 6, QoS::AtMostOnce);
    let got: Vec<_> = group.iter_mut().map(payloads).collect();
    assert_eq!(got, [["1", "4"], ["2", "5"], ["3", "6"]], "round robin");
}

#[test]
fn every_group_and_every_plain_subscription_gets_its_own_copy() {
    let broker = TestBroker::new();
    let mut first = members(&broker, "$share/one/t", &["a1", "a2"]);
    let mut second = members(&broker, "$share/two/t", &["b1", "b2"]);
    let (mut plain, _) = broker.client5(connect5("plain"));
    plain.subscribe5("t", options(QoS::AtMostOnce));
    let (publisher, _) = broker.client5(connect5("pub"));
    publish_numbered(&publisher, "t", 4, QoS::AtMostOnce);
    assert_eq!(payloads(&mut plain), ["1", "2", "3", "4"]);
    for group in [&mut first, &mut second] {
        let mut all: Vec<_> = group.iter_mut().flat_map(payloads).collect();
        all.sort();
        assert_eq!(all, ["1", "2", "3", "4"], "each message once per group");
    }
}

#[test]
fn a_member_with_a_plain_subscription_too_gets_a_second_copy() {
    let broker = TestBroker::new();
    let mut group = members(&broker, "$share/g/t", &["only"]);
    group[0].subscribe5("t", options(QoS::AtMostOnce));
    let (publisher, _) = broker.client5(connect5("pub"));
    publish_numbered(&publisher, "t", 1, QoS::AtMostOnce);
    assert_eq!(payloads(&mut group[0]), ["1", "1"], "4.8.2 allows both");
}

#[test]
fn retained_messages_are_not_sent_at_subscribe_but_live_ones_are() {
    let broker = TestBroker::new();
    let (publisher, _) = broker.client5(connect5("pub"));
    let retained = v5::Publish {
        retain: true,
        ..publish5("status/node", "online", QoS::AtMostOnce, 0)
    };
    publisher.send_v5(Packet::Publish(retained.clone()));
    let mut group = members(&broker, "$share/g/status/#", &["m"]);
    assert_eq!(
        group[0].drain_v5(),
        [],
        "no retained message for a shared subscription (4.8.2)"
    );
    publisher.send_v5(Packet::Publish(retained));
    let live = group[0].publishes_v5();
    assert_eq!(live.len(), 1);
    assert!(!live[0].retain, "RETAIN cleared on a live delivery");
}

#[test]
fn malformed_shared_filters_are_refused_one_by_one() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    let filters = [
        "$share/g",
        "$share//t",
        "$share/g+/t",
        "$share/g#/t",
        "$share/g/",
        "$share/g/a#",
        "$share/g/ok/#",
    ];
    c.send_v5(Packet::Subscribe(Subscribe {
        pkid: 1,
        properties: SubscribeProperties::default(),
        filters: filters
            .iter()
            .map(|f| (f.to_string(), options(QoS::AtMostOnce)))
            .collect(),
    }));
    match c.next_v5() {
        Some(Packet::Suback(s)) => {
            let invalid = SubackReason::TopicFilterInvalid;
            let mut want = vec![invalid; filters.len() - 1];
            want.push(SubackReason::GrantedQos0);
            assert_eq!(s.reasons, want);
        }
        other => panic!("SUBACK expected, got {other:?}"),
    }
}

#[test]
fn an_mqtt_3_1_1_client_can_be_a_member() {
    let broker = TestBroker::new();
    let mut old = broker.client(client("old"));
    assert_eq!(
        old.subscribe("$share/g/t", QoS::AtLeastOnce),
        SubackCode::Granted(QoS::AtLeastOnce)
    );
    let mut new = members(&broker, "$share/g/t", &["new"]);
    let (publisher, _) = broker.client5(connect5("pub"));
    publish_numbered(&publisher, "t", 2, QoS::AtMostOnce);
    assert_eq!(super::harness::payloads(&old.publishes()), ["1"]);
    assert_eq!(payloads(&mut new[0]), ["2"]);
}

#[test]
fn members_that_leave_stop_getting_messages() {
    let broker = TestBroker::new();
    let mut group = members(&broker, "$share/g/t", &["a", "b", "c"]);
    let (publisher, _) = broker.client5(connect5("pub"));
    group[1].send_v5(Packet::Unsubscribe(v5::Unsubscribe {
        pkid: 2,
        properties: Default::default(),
        filters: vec!["$share/g/t".to_string()],
    }));
    match group[1].next_v5() {
        Some(Packet::Unsuback(u)) => assert_eq!(u.reasons, [v5::UnsubackReason::Success]),
        other => panic!("UNSUBACK expected, got {other:?}"),
    }
    group[2].disconnect();
    publish_numbered(&publisher, "t", 3, QoS::AtMostOnce);
    assert_eq!(payloads(&mut group[0]), ["1", "2", "3"]);
    assert_eq!(payloads(&mut group[1]), Vec::<String>::new());
}

#[test]
fn a_member_whose_window_is_full_is_passed_over() {
    let broker = TestBroker::new();
    let narrow = v5::Connect {
        properties: ConnectProperties {
            receive_maximum: Some(1),
            ..ConnectProperties::default()
        },
        ..connect5("narrow")
    };
    let (mut narrow, _) = broker.client5(narrow);
    narrow.subscribe5("$share/g/t", options(QoS::AtLeastOnce));
    let mut wide = members(&broker, "$share/g/t", &["wide"]);
    let (publisher, _) = broker.client5(connect5("pub"));
    publisher.send_v5(Packet::Publish(publish5("t", "1", QoS::AtLeastOnce, 1)));
    publisher.send_v5(Packet::Publish(publish5("t", "2", QoS::AtLeastOnce, 2)));
    // `narrow` holds message 1 unacknowledged: its Receive Maximum of 1 is used up, so its
    // next turn goes to `wide`, which can send at once.
    publisher.send_v5(Packet::Publish(publish5("t", "3", QoS::AtLeastOnce, 3)));
    assert_eq!(payloads(&mut narrow), ["1"]);
    assert_eq!(payloads(&mut wide[0]), ["2", "3"]);
}

#[test]
fn an_offline_member_is_chosen_only_when_no_member_is_connected() {
    let broker = TestBroker::new();
    let (mut away, _) = broker.client5(lasting5("away", 3600));
    away.subscribe5("$share/g/t", options(QoS::AtLeastOnce));
    away.disconnect();
    let mut here = members(&broker, "$share/g/t", &["here"]);
    let (publisher, _) = broker.client5(connect5("pub"));
    publish_numbered(&publisher, "t", 2, QoS::AtLeastOnce);
    assert_eq!(payloads(&mut here[0]), ["1", "2"], "the connected member");
    here[0].disconnect();
    publish_numbered(&publisher, "t", 1, QoS::AtLeastOnce);
    let (mut back, connack) = broker.client5(lasting5("away", 3600));
    assert!(connack.session_present);
    assert_eq!(
        payloads(&mut back),
        ["1"],
        "queued in the persistent session"
    );
}

#[test]
fn a_shared_delivery_carries_its_subscription_identifier() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("c"));
    c.send_v5(Packet::Subscribe(Subscribe {
        pkid: 1,
        properties: SubscribeProperties {
            subscription_identifier: Some(42),
            ..SubscribeProperties::default()
        },
        filters: vec![("$share/g/t".to_string(), options(QoS::AtMostOnce))],
    }));
    assert!(matches!(c.next_v5(), Some(Packet::Suback(_))));
    let (publisher, _) = broker.client5(connect5("pub"));
    publish_numbered(&publisher, "t", 1, QoS::AtMostOnce);
    let got = c.publishes_v5();
    assert_eq!(got[0].properties.subscription_identifiers, [42]);
}

fn read(user: &str, allow: bool, filter: &str) -> AclRule {
    AclRule {
        who: Who::User(user.into()),
        allow,
        access: Access::Read,
        filter: filter.into(),
    }
}

fn anyone_writes() -> AclRule {
    AclRule {
        who: Who::Everyone,
        allow: true,
        access: Access::Write,
        filter: "#".into(),
    }
}

#[test]
fn a_member_that_may_not_read_the_topic_is_never_chosen() {
    let rules = vec![
        read("guest", false, "home/private"),
        read("guest", true, "home/#"),
        read("owner", true, "home/#"),
        anyone_writes(),
    ];
    let broker = TestBroker::with_acl(Acl::new(rules, Vec::new()).expect("valid rules"));
    let (mut guest, _) = broker.user_client5(connect5("guest"), Some("guest"));
    let (mut owner, _) = broker.user_client5(connect5("owner"), Some("owner"));
    for c in [&mut guest, &mut owner] {
        assert_eq!(
            c.subscribe5("$share/g/home/#", options(QoS::AtMostOnce)),
            SubackReason::GrantedQos0
        );
    }
    let (publisher, _) = broker.user_client5(connect5("pub"), Some("owner"));
    publish_numbered(&publisher, "home/private", 2, QoS::AtMostOnce);
    assert_eq!(payloads(&mut guest), Vec::<String>::new());
    assert_eq!(payloads(&mut owner), ["1", "2"]);
}

#[test]
fn a_persistent_member_is_still_in_its_group_when_it_comes_back() {
    let broker = TestBroker::new();
    let mut c = broker.client(persistent("node"));
    assert_eq!(
        c.subscribe("$share/g/t", QoS::AtLeastOnce),
        SubackCode::Granted(QoS::AtLeastOnce)
    );
    c.disconnect();
    let mut again = broker.client(persistent("node"));
    let (publisher, _) = broker.client5(connect5("pub"));
    publish_numbered(&publisher, "t", 1, QoS::AtLeastOnce);
    assert_eq!(super::harness::payloads(&again.publishes()), ["1"]);
}

// The access rules are those of the group's filter, at a reload as at SUBSCRIBE: a reload
// keeps a member its rules still allow and removes one they no longer do.
#[test]
fn a_reload_judges_a_shared_subscription_by_its_filter() {
    let rules = |filter: &str| {
        Acl::new(
            vec![read("node", true, filter), anyone_writes()],
            Vec::new(),
        )
        .expect("rules")
    };
    let broker = TestBroker::with_acl(rules("home/#"));
    let (mut node, _) = broker.user_client5(connect5("node"), Some("node"));
    assert_eq!(
        node.subscribe5("$share/g/home/#", options(QoS::AtMostOnce)),
        SubackReason::GrantedQos0
    );
    let (publisher, _) = broker.user_client5(connect5("pub"), Some("node"));
    broker.reload_access(rules("home/#"), &[], &[]);
    publish_numbered(&publisher, "home/hall", 1, QoS::AtMostOnce);
    assert_eq!(payloads(&mut node), ["1"], "still a member");
    broker.reload_access(rules("garden/#"), &[], &[]);
    broker.reload_access(rules("#"), &[], &[]);
    publish_numbered(&publisher, "home/hall", 1, QoS::AtMostOnce);
    assert_eq!(
        payloads(&mut node),
        Vec::<String>::new(),
        "removed at the reload"
    );
}
