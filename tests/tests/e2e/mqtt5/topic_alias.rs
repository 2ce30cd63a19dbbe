//! Topic Aliases from clients (3.3.2.3.4, 3.3.4): set with a topic, used with an empty one,
//! remapped; the errors a client can make with them; and subscribers, which asked for none,
//! never get one (MQTT-3.1.2-27; `Raw5Client` fails on any).

use broker::codec::v5::{DisconnectReason, Packet, Publish, QoS};
use tests::raw5::{self, Raw5Client};

use super::{broker, only_offender_disconnected};

/// A QoS 1 PUBLISH of `payload` to `topic` (empty: the alias's topic) with Topic Alias
/// `alias`.
fn aliased(topic: &str, alias: u16, payload: &str, pkid: u16) -> Publish {
    let mut m = raw5::message(topic, payload, QoS::AtLeastOnce, false);
    m.properties.topic_alias = Some(alias);
    m.pkid = pkid;
    m
}

fn bytes(p: Publish) -> Vec<u8> {
    raw5::encode(&Packet::Publish(p))
}

// 3.3.2.3.4: a PUBLISH with a topic and an alias sets the mapping; one with an empty topic
// and the alias is for that topic; a new topic with the same alias changes the mapping.
// Subscribers get the topic, never the alias.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_set_with_a_topic_stands_for_it_in_later_publishes() {
    let b = broker().await;
    let (mut sub, _) = Raw5Client::connect(b.addr(), "sub").await;
    sub.subscribe("a/#", QoS::AtLeastOnce).await;
    let (mut publisher, ack) = Raw5Client::connect(b.addr(), "pub").await;
    assert_eq!(ack.properties.topic_alias_maximum, Some(10));

    for (topic, alias, payload) in [
        ("a/b", 1, "sets 1"),
        ("", 1, "uses 1"),
        ("a/c", 10, "sets 10"),
        ("", 10, "uses 10"),
        ("a/d", 1, "remaps 1"),
        ("", 1, "uses 1 again"),
    ] {
        let reason = publisher
            .publish_message(aliased(topic, alias, payload, 0))
            .await;
        assert!(
            matches!(reason, Some(r) if !r.is_error()),
            "PUBACK for {payload:?}: {reason:?}"
        );
    }
    let got = sub.collect_before_marker().await;
    let got: Vec<(&str, &str, Option<u16>)> = got
        .iter()
        .map(|p| (p.topic.as_str(), raw5::text(p), p.properties.topic_alias))
        .collect();
    assert_eq!(
        got,
        [
            ("a/b", "sets 1", None),
            ("a/b", "uses 1", None),
            ("a/c", "sets 10", None),
            ("a/c", "uses 10", None),
            ("a/d", "remaps 1", None),
            ("a/d", "uses 1 again", None),
        ]
    );
}

// 3.3.4 ("A Topic Alias value of 0 or greater than the Maximum Topic Alias is a Protocol
// Error, the receiver uses DISCONNECT with Reason Code of 0x94"), MQTT-3.3.2-8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_alias_0_gets_disconnect_0x94() {
    only_offender_disconnected(
        &bytes(aliased("a/b", 0, "zero", 1)),
        DisconnectReason::TopicAliasInvalid,
    )
    .await;
}

// 3.3.4, MQTT-3.3.2-9: above the Topic Alias Maximum of the CONNACK (10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_alias_above_the_maximum_gets_disconnect_0x94() {
    only_offender_disconnected(
        &bytes(aliased("a/b", 11, "eleven", 1)),
        DisconnectReason::TopicAliasInvalid,
    )
    .await;
}

// 3.3.4: "If the receiver does not already have a mapping for this Topic Alias ... If the
// packet has a zero length Topic Name field it is a Protocol Error" (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_topic_with_an_unknown_alias_gets_disconnect_0x82() {
    only_offender_disconnected(
        &bytes(aliased("", 3, "unknown", 1)),
        DisconnectReason::ProtocolError,
    )
    .await;
}

// MQTT-3.3.2-7: mappings do not outlive their Network Connection, even with the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_is_forgotten_with_its_connection() {
    let b = broker().await;
    let (mut first, _) = Raw5Client::connect_with(b.addr(), &raw5::persistent("alias", 60)).await;
    first.publish_message(aliased("a/b", 1, "set", 0)).await;
    first.disconnect().await;

    let (mut second, ack) =
        Raw5Client::connect_with(b.addr(), &raw5::persistent("alias", 60)).await;
    assert!(ack.session_present);
    second.send(&bytes(aliased("", 1, "stale", 1))).await;
    assert_eq!(
        second.expect_disconnect().await,
        DisconnectReason::ProtocolError,
        "alias 1 is unknown on the new connection (MQTT-3.3.2-7)"
    );
}
