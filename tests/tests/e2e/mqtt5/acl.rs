//! Users and access rules answered in MQTT 5.0's Reason Codes: CONNACK 0x86 and 0x87,
//! PUBACK/PUBREC 0x87, SUBACK 0x87 (Tables 3-1, 3-4, 3-8); and Request Problem Information 0,
//! which keeps Reason Strings out of those answers (MQTT-3.1.2-29).

use broker::codec::v5::{
    ConnackReason, Connect, ConnectProperties, Packet, PubAckReason, Publish, QoS, SubackReason,
};
use bytes::Bytes;
use tests::raw5::{self, Raw5Client};
use tests::{start_gateway, BrokerOptions, TestBroker, Users};

/// Lets every client send itself markers (`$marker/...`); with any rule configured, nothing
/// else is allowed by default.
const MARKERS: &str = "\n[[broker.acl]]\nallow = \"readwrite\"\ntopic = \"$marker/#\"\n";

/// One `[[broker.acl]]` rule allowing `access` on `topic` to the client `id`.
fn allow_client(id: &str, access: &str, topic: &str) -> String {
    format!("\n[[broker.acl]]\nclient = \"{id}\"\nallow = \"{access}\"\ntopic = \"{topic}\"\n")
}

/// A broker with the markers rule and `rules`: `node` may write `home/#`, `phone` may read
/// `home/#`, `watcher` may read everything.
async fn broker_with_rules() -> TestBroker {
    let rules = format!(
        "{MARKERS}{}{}{}",
        allow_client("node", "write", "home/#"),
        allow_client("phone", "read", "home/#"),
        allow_client("watcher", "read", "#"),
    );
    start_gateway(
        BrokerOptions::default(),
        &format!("\n[homeassistant]\ndiscovery = false\n{rules}"),
    )
    .await
}

fn credentials(id: &str, user: &str, password: &str) -> Connect {
    Connect {
        username: Some(user.into()),
        password: Some(Bytes::copy_from_slice(password.as_bytes())),
        ..raw5::connect(id)
    }
}

/// The gateway with `users` as its only accounts and no access rules.
async fn gateway_with_users(users: &Users) -> TestBroker {
    start_gateway(
        BrokerOptions {
            broker_keys: users.broker_key(),
            ..BrokerOptions::default()
        },
        "\n[homeassistant]\ndiscovery = false\n",
    )
    .await
}

// Table 3-1: 0x86 Bad User Name or Password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_gets_connack_0x86() {
    let users = Users::new("mqtt5-wrong-password", &[("alice", "correct horse")]);
    let b = gateway_with_users(&users).await;
    let (mut alice, _) =
        Raw5Client::connect_with(b.addr(), &credentials("alice-1", "alice", "correct horse")).await;
    for (case, connect) in [
        (
            "wrong password",
            credentials("c", "alice", "correct horse "),
        ),
        ("unknown user", credentials("c", "mallory", "correct horse")),
    ] {
        let ack = Raw5Client::refused(b.addr(), &connect).await;
        assert_eq!(ack.reason, ConnackReason::BadUserNameOrPassword, "{case}");
    }
    alice.ping().await;
}

// Table 3-1: 0x87 Not authorized, for a client without credentials where users are required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_where_users_are_required_get_connack_0x87() {
    let users = Users::new("mqtt5-no-credentials", &[("alice", "correct horse")]);
    let b = gateway_with_users(&users).await;
    let ack = Raw5Client::refused(b.addr(), &raw5::connect("anonymous")).await;
    assert_eq!(ack.reason, ConnackReason::NotAuthorized);
}

// Table 3-4: a PUBLISH the rules deny is answered PUBACK (QoS 1) or PUBREC (QoS 2) 0x87 Not
// authorized, and delivered to nobody. A PUBREC of 0x80 or above ends the exchange: no
// PUBREL follows (4.3.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_publish_gets_puback_or_pubrec_0x87_and_is_not_delivered() {
    let b = broker_with_rules().await;
    let (mut watcher, _) = Raw5Client::connect(b.addr(), "watcher").await;
    watcher.subscribe("garage/#", QoS::AtLeastOnce).await;
    let (mut node, _) = Raw5Client::connect(b.addr(), "node").await;
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let reason = node
            .publish_message(raw5::message("garage/door", "spoofed", qos, false))
            .await;
        assert_eq!(
            reason,
            Some(PubAckReason::NotAuthorized),
            "QoS {}",
            qos as u8
        );
    }
    node.publish("home/temp", "allowed", QoS::AtLeastOnce, false)
        .await;
    watcher.expect_nothing_before_marker().await;
}

// Table 3-8: a filter the rules deny gets SUBACK 0x87; the others in the SUBSCRIBE are
// granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_filter_gets_suback_0x87_and_the_others_are_granted() {
    let b = broker_with_rules().await;
    let (mut phone, _) = Raw5Client::connect(b.addr(), "phone").await;
    let got = phone
        .subscribe_many(&[
            ("home/#", raw5::options(QoS::AtLeastOnce)),
            ("garage/#", raw5::options(QoS::AtLeastOnce)),
        ])
        .await;
    assert_eq!(
        got,
        [SubackReason::GrantedQos1, SubackReason::NotAuthorized]
    );
    let (mut node, _) = Raw5Client::connect(b.addr(), "node").await;
    node.publish("home/temp", "20.5", QoS::AtLeastOnce, false)
        .await;
    let p = phone.next_on("home/temp").await;
    assert_eq!(raw5::text(&p), "20.5");
}

// Table 3-4: 0x10 (No matching subscribers) is allowed for an accepted message nobody
// receives; 0x00 is too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_nobody_subscribes_to_gets_puback_0x00_or_0x10() {
    let b = super::broker().await;
    let (mut c, _) = Raw5Client::connect(b.addr(), "lonely").await;
    let reason = c
        .publish_message(raw5::message("nobody/here", "x", QoS::AtLeastOnce, false))
        .await;
    assert!(
        matches!(
            reason,
            Some(PubAckReason::Success | PubAckReason::NoMatchingSubscribers)
        ),
        "{reason:?}"
    );
}

// MQTT-3.1.2-29: with Request Problem Information 0 the server sends no Reason String and
// no User Property in any packet but PUBLISH, CONNACK and DISCONNECT: the refusals of a
// denied SUBSCRIBE and PUBLISH come bare.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_problem_information_0_keeps_reason_strings_out_of_refusals() {
    let b = broker_with_rules().await;
    let quiet = |id: &str| Connect {
        properties: ConnectProperties {
            request_problem_information: Some(false),
            ..ConnectProperties::default()
        },
        ..raw5::connect(id)
    };
    let (mut phone, _) = Raw5Client::connect_with(b.addr(), &quiet("phone")).await;
    let ack = phone
        .subscribe_packet(
            vec![("garage/#".into(), raw5::options(QoS::AtLeastOnce))],
            Default::default(),
        )
        .await;
    assert_eq!(ack.reasons, [SubackReason::NotAuthorized]);
    assert_eq!(
        ack.properties,
        Default::default(),
        "SUBACK without Reason String or User Properties (MQTT-3.1.2-29)"
    );

    let (mut node, _) = Raw5Client::connect_with(b.addr(), &quiet("node")).await;
    let pkid = node.next_pkid();
    node.send_packet(&Packet::Publish(Publish {
        pkid,
        ..raw5::message("garage/door", "spoofed", QoS::AtLeastOnce, false)
    }))
    .await;
    match node.recv().await {
        Packet::Puback(ack) => {
            assert_eq!(ack.pkid, pkid);
            assert_eq!(ack.reason, PubAckReason::NotAuthorized);
            assert_eq!(
                ack.properties,
                Default::default(),
                "PUBACK without Reason String or User Properties (MQTT-3.1.2-29)"
            );
        }
        other => panic!("expected PUBACK, got {other:?}"),
    }
}
