//! Access rules as the router enforces them on network clients: denied PUBLISHes acknowledged
//! and dropped, SUBACK 0x80 per filter, deliveries and retained messages filtered per topic,
//! `%u`/`%c`, first match wins, the default deny, protected topics, wills, and reloads that
//! narrow rights or remove users while clients are connected.

use crate::auth::acl::{Access, AclRule, Who};
use crate::auth::Acl;
use crate::codec::{ConnectReturnCode, Packet, QoS, Suback, SubackCode, Subscribe, Unsubscribe};
use crate::event::CloseReason;

use super::harness::{
    client, connack, open_acl, payloads, persistent, with_will, FakeClient, TestBroker, QOS,
};

const GATEWAY_TOPICS: &str = "hearth/pi/#";

fn rule(who: Who, allow: bool, access: Access, filter: &str) -> AclRule {
    AclRule {
        who,
        allow,
        access,
        filter: filter.to_string(),
    }
}

fn allow(who: Who, access: Access, filter: &str) -> AclRule {
    rule(who, true, access, filter)
}

fn deny(who: Who, access: Access, filter: &str) -> AclRule {
    rule(who, false, access, filter)
}

fn user(name: &str) -> Who {
    Who::User(name.to_string())
}

fn client_id(id: &str) -> Who {
    Who::Client(id.to_string())
}

/// `rules` with the protected topics a gateway called `pi` gives its broker.
fn acl(rules: Vec<AclRule>) -> Acl {
    Acl::new(
        rules,
        vec!["$SYS/#".to_string(), GATEWAY_TOPICS.to_string()],
    )
    .expect("valid rules")
}

/// A client allowed to read everything, subscribed to `#` (which leaves out `$` topics).
fn watcher(b: &TestBroker) -> FakeClient {
    let mut w = b.client(client("watcher"));
    assert_eq!(
        w.subscribe("#", QoS::ExactlyOnce),
        SubackCode::Granted(QoS::ExactlyOnce)
    );
    w
}

fn watcher_rule() -> AclRule {
    allow(client_id("watcher"), Access::Read, "#")
}

/// What `c` received, as payloads, acknowledging it.
fn received(c: &mut FakeClient) -> Vec<String> {
    payloads(&c.ack_all())
}

/// The codes of one SUBSCRIBE with several filters.
fn subscribe_many(c: &mut FakeClient, filters: &[(&str, QoS)]) -> Vec<SubackCode> {
    c.send(Packet::Subscribe(Subscribe {
        pkid: 7,
        filters: filters.iter().map(|(f, q)| (f.to_string(), *q)).collect(),
    }));
    match c.next() {
        Some(Packet::Suback(Suback { pkid: 7, codes })) => codes,
        other => panic!("SUBACK expected, got {other:?}"),
    }
}

#[test]
fn a_denied_publish_is_acknowledged_at_every_qos_and_never_delivered() {
    let b = TestBroker::with_acl(acl(vec![
        allow(client_id("esp-kitchen"), Access::Write, "Kitchen/#"),
        watcher_rule(),
    ]));
    let mut w = watcher(&b);
    let mut node = b.client(client("esp-kitchen"));
    for qos in QOS {
        // Acknowledged as if routed (PUBACK; PUBREC, PUBREL, PUBCOMP), as Mosquitto does for
        // 3.1.1: the client cannot tell, and a QoS 1/2 node does not resend it forever.
        node.publish_acked("Garage/Door/state", "spoofed", qos, false);
    }
    node.publish_acked("Kitchen/Fridge/temperature", "4.2", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut w), ["4.2"]);
    assert_eq!(b.publishes_denied(), 3, "each denied PUBLISH is counted");
}

#[test]
fn a_denied_retained_publish_replaces_nothing() {
    let b = TestBroker::with_acl(acl(vec![watcher_rule()]));
    b.local_publish("Hall/Lamp/state", "OFF", QoS::AtLeastOnce, true);
    let mut node = b.client(client("esp-hall"));
    node.publish_acked("Hall/Lamp/state", "ON", QoS::AtLeastOnce, true);
    let mut w = b.client(client("watcher"));
    w.subscribe("Hall/#", QoS::AtLeastOnce);
    assert_eq!(
        received(&mut w),
        ["OFF"],
        "the stored value is the gateway's"
    );
}

#[test]
fn one_subscribe_gets_0x80_for_a_denied_filter_and_grants_the_others() {
    let b = TestBroker::with_acl(acl(vec![allow(
        client_id("phone"),
        Access::Read,
        "Kitchen/#",
    )]));
    let mut phone = b.client(client("phone"));
    let codes = subscribe_many(
        &mut phone,
        &[
            ("Kitchen/#", QoS::AtLeastOnce),
            ("Garage/#", QoS::AtLeastOnce),
            ("Kitchen/Fridge/+", QoS::ExactlyOnce),
            // Overlaps what the phone may read: granted, and filtered topic by topic.
            ("#", QoS::AtMostOnce),
        ],
    );
    assert_eq!(
        codes,
        [
            SubackCode::Granted(QoS::AtLeastOnce),
            SubackCode::Failure,
            SubackCode::Granted(QoS::ExactlyOnce),
            SubackCode::Granted(QoS::AtMostOnce),
        ]
    );
    assert_eq!(b.subscriptions_denied(), 1);

    b.local_publish("Garage/Door/state", "open", QoS::AtLeastOnce, false);
    b.local_publish("Kitchen/Fridge/temperature", "4.2", QoS::AtLeastOnce, false);
    let got = phone.ack_all();
    assert_eq!(payloads(&got), ["4.2"], "once, through the granted filters");
    assert_eq!(got[0].qos, QoS::AtLeastOnce);
    assert_eq!(b.deliveries_denied(), 1, "the garage message, through #");
}

#[test]
fn retained_messages_reach_a_wildcard_subscriber_only_on_topics_it_may_read() {
    let b = TestBroker::with_acl(acl(vec![allow(
        client_id("phone"),
        Access::Read,
        "Kitchen/#",
    )]));
    b.local_publish("Kitchen/Fridge/temperature", "4.2", QoS::AtLeastOnce, true);
    b.local_publish("Garage/Door/state", "open", QoS::AtLeastOnce, true);
    b.local_publish("hearth/pi/status", "online", QoS::AtLeastOnce, true);
    let mut phone = b.client(client("phone"));
    assert_eq!(
        phone.subscribe("#", QoS::AtLeastOnce),
        SubackCode::Granted(QoS::AtLeastOnce)
    );
    let got = phone.ack_all();
    assert_eq!(payloads(&got), ["4.2"]);
    assert!(got[0].retain);
    assert_eq!(b.deliveries_denied(), 2);
}

#[test]
fn u_and_c_give_each_node_its_own_topics() {
    // The node: it may write only under its user name and read only its own `set`.
    let b = TestBroker::with_acl(acl(vec![
        allow(Who::Everyone, Access::Write, "%u/Fridge/#"),
        allow(Who::Everyone, Access::Read, "%c/set"),
        watcher_rule(),
    ]));
    let mut w = watcher(&b);
    let mut node = b.user_client(client("esp-fridge"), "Kitchen");
    node.publish_acked("Kitchen/Fridge/temperature", "4.2", QoS::AtLeastOnce, false);
    node.publish_acked("Kitchen/Oven/temperature", "200", QoS::AtLeastOnce, false);
    node.publish_acked("Garage/Fridge/temperature", "9", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut w), ["4.2"]);

    // Without a user name, `%u` names nobody: the rule does not apply, the default denies.
    let mut anonymous = b.client(client("esp-anon"));
    anonymous.publish_acked("Kitchen/Fridge/temperature", "-40", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut w), Vec::<String>::new());

    assert_eq!(
        node.subscribe("esp-fridge/set", QoS::AtLeastOnce),
        SubackCode::Granted(QoS::AtLeastOnce)
    );
    assert_eq!(
        node.subscribe("esp-oven/set", QoS::AtLeastOnce),
        SubackCode::Failure
    );
    // Overlaps its own topic: granted, and another node's command never comes through it.
    assert_eq!(
        node.subscribe("+/set", QoS::AtLeastOnce),
        SubackCode::Granted(QoS::AtLeastOnce)
    );
    b.local_publish("esp-oven/set", "ON", QoS::AtLeastOnce, false);
    b.local_publish("esp-fridge/set", "defrost", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut node), ["defrost"]);
}

#[test]
fn a_client_id_with_wildcards_or_a_slash_is_not_substituted() {
    let b = TestBroker::with_acl(acl(vec![
        allow(Who::Everyone, Access::ReadWrite, "%c/#"),
        watcher_rule(),
    ]));
    let mut w = watcher(&b);
    for id in ["+", "#", "Kitchen/Fridge"] {
        let mut c = b.client(client(id));
        // Substituted, `+/#` or `Kitchen/Fridge/#` would reach other clients' topics.
        assert_eq!(
            c.subscribe("+/#", QoS::AtMostOnce),
            SubackCode::Failure,
            "{id}"
        );
        c.publish_acked("Kitchen/Fridge/door", id, QoS::AtLeastOnce, false);
    }
    assert_eq!(received(&mut w), Vec::<String>::new());
}

#[test]
fn the_first_matching_rule_decides() {
    let b = TestBroker::with_acl(acl(vec![
        deny(user("alice"), Access::Write, "Kitchen/Fridge/#"),
        allow(user("alice"), Access::Write, "Kitchen/#"),
        allow(user("bob"), Access::Write, "Kitchen/#"),
        deny(user("bob"), Access::Write, "Kitchen/Fridge/#"),
        watcher_rule(),
    ]));
    let mut w = watcher(&b);
    let mut alice = b.user_client(client("alice-phone"), "alice");
    alice.publish_acked(
        "Kitchen/Fridge/door",
        "alice fridge",
        QoS::AtLeastOnce,
        false,
    );
    alice.publish_acked("Kitchen/Oven/set", "alice oven", QoS::AtLeastOnce, false);
    let mut bob = b.user_client(client("bob-phone"), "bob");
    bob.publish_acked("Kitchen/Fridge/door", "bob fridge", QoS::AtLeastOnce, false);
    bob.publish_acked("Kitchen/Oven/set", "bob oven", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut w), ["alice oven", "bob fridge", "bob oven"]);
}

#[test]
fn once_any_rule_exists_what_no_rule_allows_is_denied() {
    let b = TestBroker::with_acl(acl(vec![
        allow(user("alice"), Access::ReadWrite, "Kitchen/#"),
        watcher_rule(),
    ]));
    let mut w = watcher(&b);
    let mut bob = b.user_client(client("bob-phone"), "bob");
    assert_eq!(
        bob.subscribe("Kitchen/#", QoS::AtMostOnce),
        SubackCode::Failure
    );
    assert_eq!(bob.subscribe("#", QoS::AtMostOnce), SubackCode::Failure);
    bob.publish_acked("Kitchen/Oven/set", "bob", QoS::AtLeastOnce, false);
    let mut alice = b.user_client(client("alice-phone"), "alice");
    assert_eq!(
        alice.subscribe("Garage/#", QoS::AtMostOnce),
        SubackCode::Failure
    );
    alice.publish_acked("Garage/Door/set", "alice garage", QoS::AtLeastOnce, false);
    alice.publish_acked("Kitchen/Oven/set", "alice", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut w), ["alice"]);

    // With no rule at all, the same clients may do anything but write protected topics.
    let open = TestBroker::with_acl(acl(Vec::new()));
    let mut bob = open.user_client(client("bob-phone"), "bob");
    assert_eq!(
        bob.subscribe("#", QoS::AtMostOnce),
        SubackCode::Granted(QoS::AtMostOnce)
    );
    bob.publish_acked("Garage/Door/set", "open", QoS::AtMostOnce, false);
    bob.publish_acked("hearth/pi/status", "offline", QoS::AtMostOnce, false);
    assert_eq!(received(&mut bob), ["open"]);
}

#[test]
fn protected_topics_are_written_only_through_a_rule_that_names_them() {
    let b = TestBroker::with_acl(acl(vec![
        allow(client_id("admin"), Access::Write, "hearth/#"),
        // A blanket allow does not open protected topics.
        allow(Who::Everyone, Access::ReadWrite, "#"),
        allow(Who::Everyone, Access::Read, "$SYS/#"),
    ]));
    let mut w = b.client(client("watcher"));
    w.subscribe("#", QoS::AtLeastOnce);
    w.subscribe("$SYS/#", QoS::AtLeastOnce);
    let mut phone = b.client(client("phone"));
    phone.publish_acked("hearth/pi/status", "offline", QoS::AtLeastOnce, true);
    phone.publish_acked("$SYS/broker/version", "fake", QoS::AtLeastOnce, true);
    phone.publish_acked("Hall/Lamp/set", "ON", QoS::AtLeastOnce, false);
    let mut admin = b.client(client("admin"));
    admin.publish_acked("hearth/pi/explain", "by admin", QoS::AtLeastOnce, false);
    // `hearth/#` names hearth, not $SYS.
    admin.publish_acked("$SYS/broker/uptime", "0 seconds", QoS::AtLeastOnce, false);
    // The gateway itself is not subject to the rules.
    b.local_publish("hearth/pi/status", "online", QoS::AtLeastOnce, true);
    assert_eq!(received(&mut w), ["ON", "by admin", "online"]);
}

#[test]
fn with_no_rules_network_clients_still_cannot_write_sys() {
    let b = TestBroker::with_acl(open_acl());
    let mut w = b.client(client("watcher"));
    w.subscribe("$SYS/#", QoS::AtLeastOnce);
    let mut c = b.client(client("c"));
    c.publish_acked("$SYS/broker/version", "fake", QoS::AtLeastOnce, true);
    assert_eq!(received(&mut w), Vec::<String>::new());
    assert_eq!(b.publishes_denied(), 1);
}

#[test]
fn a_will_on_a_topic_the_client_may_not_write_gets_connack_5() {
    let b = TestBroker::with_acl(acl(vec![allow(
        Who::Everyone,
        Access::ReadWrite,
        "Nodes/#",
    )]));
    for topic in [
        "hearth/pi/status",
        "$SYS/broker/version",
        "Garage/Door/state",
    ] {
        let mut c = b.open(with_will("w", topic, "offline", QoS::AtLeastOnce, true));
        assert_eq!(
            c.next(),
            Some(connack(false, ConnectReturnCode::NotAuthorized)),
            "{topic}"
        );
        assert!(c.is_closed(), "{topic}: closed after the CONNACK");
    }
    let c = b.client(with_will(
        "w",
        "Nodes/w/status",
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    c.close(CloseReason::PeerClosed);
    let mut later = b.client(client("later"));
    later.subscribe("#", QoS::AtLeastOnce);
    assert_eq!(received(&mut later), ["offline"], "only the allowed will");
}

#[test]
fn a_reload_that_narrows_read_rights_removes_the_subscription_at_once() {
    let wide = || {
        acl(vec![allow(
            client_id("phone"),
            Access::ReadWrite,
            "Kitchen/#",
        )])
    };
    let b = TestBroker::with_acl(wide());
    let mut phone = b.client(client("phone"));
    phone.subscribe("Kitchen/#", QoS::AtLeastOnce);
    b.local_publish("Kitchen/Oven/state", "before", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut phone), ["before"]);

    b.reload_access(
        acl(vec![allow(client_id("phone"), Access::Read, "Garage/#")]),
        &[],
        &[],
    );
    b.local_publish("Kitchen/Oven/state", "narrowed", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut phone), Vec::<String>::new());
    // Removed, not only filtered: widening again does not bring it back.
    b.reload_access(wide(), &[], &[]);
    b.local_publish("Kitchen/Oven/state", "widened", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut phone), Vec::<String>::new());
    assert!(!phone.is_closed(), "the client stays connected");
    // Unsubscribing what is gone is still answered (MQTT-3.10.4-5).
    phone.send(Packet::Unsubscribe(Unsubscribe {
        pkid: 9,
        filters: vec!["Kitchen/#".into()],
    }));
    assert_eq!(phone.next(), Some(Packet::Unsuback(9)));
}

#[test]
fn a_reload_that_narrows_write_rights_drops_the_next_publish() {
    let b = TestBroker::with_acl(acl(vec![
        allow(client_id("phone"), Access::Write, "Kitchen/#"),
        watcher_rule(),
    ]));
    let mut w = watcher(&b);
    let mut phone = b.client(client("phone"));
    phone.publish_acked("Kitchen/Lamp/set", "ON", QoS::AtLeastOnce, false);
    b.reload_access(acl(vec![watcher_rule()]), &[], &[]);
    phone.publish_acked("Kitchen/Lamp/set", "OFF", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut w), ["ON"]);
}

#[test]
fn a_removed_user_is_disconnected_with_its_will_and_the_others_stay() {
    let b = TestBroker::with_acl(open_acl());
    let mut w = b.client(client("watcher"));
    w.subscribe("#", QoS::AtLeastOnce);
    let mut alice = b.user_client(
        with_will(
            "alice-phone",
            "Nodes/alice",
            "gone",
            QoS::AtLeastOnce,
            false,
        ),
        "alice",
    );
    let mut bob = b.user_client(client("bob-phone"), "bob");
    b.reload_access(open_acl(), &["alice"], &[]);
    assert!(alice.is_closed(), "alice's connection is closed");
    assert_eq!(received(&mut w), ["gone"], "its will, once");
    // Its connection's end, reported afterwards, changes nothing.
    alice.close(CloseReason::PeerClosed);
    bob.publish_acked("Nodes/bob", "still here", QoS::AtLeastOnce, false);
    assert_eq!(received(&mut w), ["still here"]);
    assert!(!bob.is_closed());
}

#[test]
fn a_client_checked_against_the_users_before_a_reload_is_asked_to_retry() {
    let b = TestBroker::with_acl(open_acl());
    // alice's password was verified against the users at start; before her CONNECT reached
    // the router, a reload removed her.
    b.reload_access(open_acl(), &["alice"], &[]);
    let mut late = b.open_checked_against(client("alice-phone"), Some("alice"), "test", 0);
    assert_eq!(
        late.next(),
        Some(connack(false, ConnectReturnCode::ServerUnavailable))
    );
    assert!(late.is_closed());
    // Checked against the users in force (as its retry would be), a client gets in.
    let mut bob = b.user_client(client("bob-phone"), "bob");
    assert!(!bob.is_closed());
}

#[test]
fn a_client_checked_against_the_new_users_stays_through_the_reload_that_brought_them() {
    let b = TestBroker::with_acl(open_acl());
    // alice's new password was verified against the reloaded users, and her CONNECT reached
    // the router before the reload's own event did.
    let mut alice = b.open_checked_against(client("alice-phone"), Some("alice"), "test", 1);
    assert_eq!(
        alice.next(),
        Some(connack(false, ConnectReturnCode::Accepted))
    );
    b.reload_access(open_acl(), &["alice"], &[]);
    assert!(!alice.is_closed(), "checked against these very users");
}

#[test]
fn anonymous_clients_go_when_their_listener_no_longer_lets_them_in() {
    let b = TestBroker::with_acl(open_acl());
    let mut lan_anonymous = b.open_as(client("lan-anon"), None, "lan");
    let mut lan_user = b.open_as(client("lan-alice"), Some("alice"), "lan");
    let mut local_anonymous = b.open_as(client("local-anon"), None, "local");
    for c in [&mut lan_anonymous, &mut lan_user, &mut local_anonymous] {
        assert_eq!(c.next(), Some(connack(false, ConnectReturnCode::Accepted)));
    }
    b.reload_access(open_acl(), &[], &["lan"]);
    assert!(lan_anonymous.is_closed());
    assert!(!lan_user.is_closed());
    assert!(!local_anonymous.is_closed());
}

#[test]
fn messages_held_for_an_absent_session_go_once_its_rights_no_longer_cover_them() {
    let b = TestBroker::with_acl(acl(vec![allow(
        client_id("phone"),
        Access::Read,
        "Kitchen/#",
    )]));
    let mut phone = b.client(persistent("phone"));
    phone.subscribe("Kitchen/#", QoS::AtLeastOnce);
    phone.close(CloseReason::PeerClosed);
    b.local_publish("Kitchen/Oven/state", "queued", QoS::AtLeastOnce, false);

    b.reload_access(
        acl(vec![allow(client_id("phone"), Access::Read, "Garage/#")]),
        &[],
        &[],
    );
    let (mut phone, session_present) = b.connect(persistent("phone"));
    assert!(session_present);
    assert_eq!(received(&mut phone), Vec::<String>::new());
}

#[test]
fn a_session_made_anonymously_and_taken_up_by_a_user_gets_only_what_that_user_may_read() {
    // Anonymous sessions are anyone's (passwords switched on keep the nodes' sessions), so a
    // user may take one up: with that user's rights, not the anonymous client's.
    let b = TestBroker::with_acl(acl(vec![
        deny(user("bob"), Access::Read, "Kitchen/#"),
        allow(Who::Everyone, Access::Read, "#"),
    ]));
    let mut phone = b.open_as(persistent("phone"), None, "test");
    assert_eq!(
        phone.next(),
        Some(connack(false, ConnectReturnCode::Accepted))
    );
    phone.subscribe("Kitchen/#", QoS::AtLeastOnce);
    // Sent and not acknowledged: in flight, resent on resume.
    b.local_publish("Kitchen/Oven/state", "in flight", QoS::AtLeastOnce, false);
    assert_eq!(payloads(&phone.publishes()), ["in flight"]);
    phone.close(CloseReason::PeerClosed);
    b.local_publish("Kitchen/Oven/state", "queued", QoS::AtLeastOnce, false);

    let mut phone = b.open_as(persistent("phone"), Some("bob"), "test");
    assert_eq!(
        phone.next(),
        Some(connack(true, ConnectReturnCode::Accepted))
    );
    assert_eq!(
        received(&mut phone),
        Vec::<String>::new(),
        "what bob may not read is not resent nor sent"
    );
    b.local_publish("Kitchen/Oven/state", "later", QoS::AtLeastOnce, false);
    assert_eq!(
        received(&mut phone),
        Vec::<String>::new(),
        "the subscription bob may not hold is gone"
    );
}

#[test]
fn a_will_the_client_may_no_longer_write_after_a_reload_is_not_published() {
    let b = TestBroker::with_acl(acl(vec![
        allow(Who::Everyone, Access::ReadWrite, "Hall/#"),
        allow(Who::Everyone, Access::ReadWrite, "Kitchen/#"),
        watcher_rule(),
    ]));
    let mut w = watcher(&b);
    let hall = b.user_client(
        with_will(
            "esp-hall",
            "Hall/Node/status",
            "hall offline",
            QoS::AtLeastOnce,
            true,
        ),
        "hall",
    );
    let oven = b.user_client(
        with_will(
            "esp-oven",
            "Kitchen/Oven/status",
            "oven offline",
            QoS::AtLeastOnce,
            true,
        ),
        "oven",
    );
    b.reload_access(
        acl(vec![
            allow(Who::Everyone, Access::ReadWrite, "Kitchen/#"),
            watcher_rule(),
        ]),
        &[],
        &[],
    );
    hall.close(CloseReason::PeerClosed);
    oven.close(CloseReason::PeerClosed);
    assert_eq!(
        received(&mut w),
        ["oven offline"],
        "only the will still allowed"
    );
}

#[test]
fn refusals_and_denials_are_counted_in_sys() {
    let b = TestBroker::with_acl(acl(vec![
        allow(client_id("esp-kitchen"), Access::ReadWrite, "Kitchen/#"),
        allow(client_id("sys-probe"), Access::Read, "$SYS/#"),
    ]));
    let mut node = b.client(client("esp-kitchen"));
    node.publish_acked("Garage/Door/state", "spoofed", QoS::AtLeastOnce, false);
    assert_eq!(
        subscribe_many(&mut node, &[("Garage/#", QoS::AtMostOnce)]),
        [SubackCode::Failure]
    );
    assert_eq!(
        b.sys_value("$SYS/broker/hearth/denied/publish").as_deref(),
        Some("1")
    );
    assert_eq!(
        b.sys_value("$SYS/broker/hearth/denied/subscribe")
            .as_deref(),
        Some("1")
    );
}
