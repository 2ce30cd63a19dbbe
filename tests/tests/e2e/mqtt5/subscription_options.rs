//! Subscription Options (3.8.3.1): No Local, Retain As Published, Retain Handling; the
//! Reason Codes of SUBACK (3.9.3) and UNSUBACK (3.11.3); Subscription Identifiers (3.8.2.1.2)
//! where the broker offers them.

use broker::codec::v5::{
    Publish, QoS, RetainHandling, SubackReason, SubscribeProperties, SubscriptionOptions,
    UnsubackReason,
};
use rumqttc::v5::mqttbytes::v5::Filter;
use rumqttc::v5::mqttbytes::QoS as RumqttcQoS;
use tests::raw5::{self, Raw5Client};
use tests::TestBroker;

use super::rumqttc5::{self, V5Client};
use super::{broker, with_retain_handling};

fn no_local(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        no_local: true,
        ..raw5::options(qos)
    }
}

fn retain_as_published(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        retain_as_published: true,
        ..raw5::options(qos)
    }
}

/// Leaves a retained message on `topic`.
async fn retain(b: &TestBroker, topic: &str, payload: &str) {
    let (mut c, _) = Raw5Client::connect(b.addr(), "retainer").await;
    c.publish(topic, payload, QoS::AtLeastOnce, true).await;
    c.disconnect().await;
}

// MQTT-3.8.3-3: with No Local the server does not forward a client's own messages to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_local_keeps_a_clients_own_messages_from_it() {
    let b = broker().await;
    let (mut quiet, _) = Raw5Client::connect(b.addr(), "quiet").await;
    assert_eq!(
        quiet
            .subscribe_with("chat/#", no_local(QoS::AtLeastOnce))
            .await,
        SubackReason::GrantedQos1
    );
    let (mut other, _) = Raw5Client::connect(b.addr(), "other").await;
    other.subscribe("chat/#", QoS::AtLeastOnce).await;

    quiet
        .publish("chat/quiet", "mine", QoS::AtLeastOnce, false)
        .await;
    other
        .publish("chat/other", "theirs", QoS::AtLeastOnce, false)
        .await;

    let got = quiet.received_before_marker().await;
    assert_eq!(
        got,
        [("chat/other".to_owned(), "theirs".to_owned())],
        "only the other client's message (MQTT-3.8.3-3)"
    );
    // Without No Local a client does get its own messages.
    let got = other.received_before_marker().await;
    assert_eq!(
        got,
        [
            ("chat/quiet".to_owned(), "mine".to_owned()),
            ("chat/other".to_owned(), "theirs".to_owned())
        ]
    );
}

// The same with rumqttc's v5 encoder for the options byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_local_set_by_rumqttc_v5_is_honoured() {
    let b = broker().await;
    let (mut c, _) = V5Client::connect(rumqttc5::options(b.addr(), "rumqttc-nl")).await;
    let ack = c
        .subscribe(Filter {
            nolocal: true,
            ..Filter::new("nl/#", RumqttcQoS::AtLeastOnce)
        })
        .await;
    assert_eq!(
        ack.return_codes,
        [rumqttc::v5::mqttbytes::v5::SubscribeReasonCode::Success(
            RumqttcQoS::AtLeastOnce
        )]
    );
    c.publish(
        "nl/own",
        RumqttcQoS::AtLeastOnce,
        false,
        "own",
        Default::default(),
    )
    .await;
    let (mut peer, _) = Raw5Client::connect(b.addr(), "peer").await;
    peer.publish("nl/peer", "peer", QoS::AtLeastOnce, false)
        .await;
    let got = c.collect_before_marker().await;
    let topics: Vec<&[u8]> = got.iter().map(|p| &p.topic[..]).collect();
    assert_eq!(topics, [b"nl/peer".as_slice()], "not its own message");
}

// MQTT-3.3.1-12, MQTT-3.3.1-13: Retain As Published keeps the RETAIN flag of a live message;
// without it the flag is 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_as_published_keeps_the_retain_flag_of_live_messages() {
    let b = broker().await;
    let (mut kept, _) = Raw5Client::connect(b.addr(), "rap").await;
    kept.subscribe_with("rap/#", retain_as_published(QoS::AtLeastOnce))
        .await;
    let (mut cleared, _) = Raw5Client::connect(b.addr(), "no-rap").await;
    cleared.subscribe("rap/#", QoS::AtLeastOnce).await;

    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    publisher
        .publish("rap/retained", "r", QoS::AtLeastOnce, true)
        .await;
    publisher
        .publish("rap/plain", "p", QoS::AtLeastOnce, false)
        .await;

    let flags = |got: Vec<Publish>| -> Vec<(String, bool)> {
        got.into_iter().map(|p| (p.topic, p.retain)).collect()
    };
    assert_eq!(
        flags(kept.collect_before_marker().await),
        [("rap/retained".into(), true), ("rap/plain".into(), false)],
        "Retain As Published 1 (MQTT-3.3.1-13)"
    );
    assert_eq!(
        flags(cleared.collect_before_marker().await),
        [("rap/retained".into(), false), ("rap/plain".into(), false)],
        "Retain As Published 0 (MQTT-3.3.1-12)"
    );
}

// MQTT-3.3.1-9, MQTT-3.8.4-3: Retain Handling 0 sends the retained messages at every
// SUBSCRIBE, a repeated one too, with RETAIN 1 whatever Retain As Published says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_handling_0_sends_retained_messages_at_every_subscribe() {
    let b = broker().await;
    retain(&b, "rh0/t", "kept").await;
    let (mut c, _) = Raw5Client::connect(b.addr(), "rh0").await;
    for round in 1..=2 {
        c.subscribe_with(
            "rh0/#",
            with_retain_handling(QoS::AtLeastOnce, RetainHandling::SendAtSubscribe),
        )
        .await;
        let got = c.collect_before_marker().await;
        let got: Vec<(&str, &str, bool)> = got
            .iter()
            .map(|p| (p.topic.as_str(), raw5::text(p), p.retain))
            .collect();
        assert_eq!(got, [("rh0/t", "kept", true)], "SUBSCRIBE number {round}");
    }
}

// MQTT-3.3.1-10: Retain Handling 1 sends them only when the subscription is new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_handling_1_sends_retained_messages_only_for_a_new_subscription() {
    let b = broker().await;
    retain(&b, "rh1/t", "kept").await;
    let (mut c, _) = Raw5Client::connect(b.addr(), "rh1").await;
    let options = with_retain_handling(QoS::AtLeastOnce, RetainHandling::SendAtSubscribeIfNew);

    c.subscribe_with("rh1/#", options).await;
    assert_eq!(
        c.received_before_marker().await,
        [("rh1/t".to_owned(), "kept".to_owned())],
        "a new subscription"
    );
    c.subscribe_with("rh1/#", options).await;
    assert_eq!(
        c.received_before_marker().await,
        [],
        "the subscription existed already (MQTT-3.3.1-10)"
    );
    assert_eq!(c.unsubscribe("rh1/#").await, UnsubackReason::Success);
    c.subscribe_with("rh1/#", options).await;
    assert_eq!(
        c.received_before_marker().await,
        [("rh1/t".to_owned(), "kept".to_owned())],
        "new again after UNSUBSCRIBE"
    );
}

// MQTT-3.3.1-11: Retain Handling 2 never sends retained messages; live ones still come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_handling_2_never_sends_retained_messages() {
    let b = broker().await;
    retain(&b, "rh2/t", "kept").await;
    let (mut c, _) = Raw5Client::connect(b.addr(), "rh2").await;
    c.subscribe_with(
        "rh2/#",
        with_retain_handling(QoS::AtLeastOnce, RetainHandling::DoNotSend),
    )
    .await;
    c.expect_nothing_before_marker().await;
    retain(&b, "rh2/t", "updated").await;
    let p = c.next_on("rh2/t").await;
    assert_eq!(raw5::text(&p), "updated", "live messages are delivered");
}

// 3.9.3: the SUBACK's Reason Codes are the granted QoS, 0x00 to 0x02.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suback_grants_the_requested_qos() {
    let b = broker().await;
    let (mut c, _) = Raw5Client::connect(b.addr(), "granted").await;
    let got = c
        .subscribe_many(&[
            ("g/0", raw5::options(QoS::AtMostOnce)),
            ("g/1", raw5::options(QoS::AtLeastOnce)),
            ("g/2", raw5::options(QoS::ExactlyOnce)),
        ])
        .await;
    assert_eq!(
        got,
        [
            SubackReason::GrantedQos0,
            SubackReason::GrantedQos1,
            SubackReason::GrantedQos2
        ]
    );
}

// 4.7.1, 3.9.3: a Topic Filter with a misplaced wildcard is refused with 0x8F (Topic Filter
// invalid) in its place in the SUBACK; the others are granted and the client stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_topic_filter_gets_suback_0x8f_and_the_others_are_granted() {
    let b = broker().await;
    let (mut c, _) = Raw5Client::connect(b.addr(), "filters").await;
    let got = c
        .subscribe_many(&[
            ("bad/#/middle", raw5::options(QoS::AtLeastOnce)),
            ("good/+", raw5::options(QoS::AtLeastOnce)),
            ("bad/sport+", raw5::options(QoS::AtLeastOnce)),
        ])
        .await;
    assert_eq!(
        got,
        [
            SubackReason::TopicFilterInvalid,
            SubackReason::GrantedQos1,
            SubackReason::TopicFilterInvalid
        ]
    );
    c.publish("good/1", "ok", QoS::AtLeastOnce, false).await;
    assert_eq!(
        c.received_before_marker().await,
        [("good/1".to_owned(), "ok".to_owned())]
    );
}

// 3.11.3: UNSUBACK 0x00 for a subscription that was removed, 0x11 (No subscription existed)
// for a filter the client had not subscribed to; one code per filter, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsuback_says_which_subscriptions_existed() {
    let b = broker().await;
    let (mut c, _) = Raw5Client::connect(b.addr(), "unsub").await;
    c.subscribe("u/a", QoS::AtLeastOnce).await;
    c.subscribe("u/+", QoS::AtLeastOnce).await;
    let ack = c
        .unsubscribe_packet(vec!["u/a".into(), "u/b".into(), "u/+".into()])
        .await;
    assert_eq!(
        ack.reasons,
        [
            UnsubackReason::Success,
            UnsubackReason::NoSubscriptionExisted,
            UnsubackReason::Success
        ]
    );
    assert_eq!(
        c.unsubscribe("u/a").await,
        UnsubackReason::NoSubscriptionExisted,
        "already removed"
    );
    c.publish("u/a", "after", QoS::AtLeastOnce, false).await;
    c.expect_nothing_before_marker().await;
}

/// SUBSCRIBEs `filter` at QoS 1 with Subscription Identifier `id` (3.8.2.1.2).
async fn subscribe_with_identifier(c: &mut Raw5Client, filter: &str, id: u32) {
    let ack = c
        .subscribe_packet(
            vec![(filter.into(), raw5::options(QoS::AtLeastOnce))],
            SubscribeProperties {
                subscription_identifier: Some(id),
                ..SubscribeProperties::default()
            },
        )
        .await;
    assert_eq!(
        ack.reasons,
        [SubackReason::GrantedQos1],
        "SUBSCRIBE {filter} with Subscription Identifier {id} (3.8.2.1.2)"
    );
}

// The broker supports Subscription Identifiers (3.2.2.3.12: CONNACK leaves Subscription
// Identifiers Available out or sets it to 1) and sends the identifier of each matching
// subscription with a message (MQTT-3.3.4-3); with two overlapping subscriptions it sends
// one copy carrying both, in any order (MQTT-3.3.4-4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_identifiers_are_sent_with_matching_messages() {
    let b = broker().await;
    let (mut c, ack) = Raw5Client::connect(b.addr(), "sub-ids").await;
    assert_ne!(
        ack.properties.subscription_identifiers_available,
        Some(false),
        "the broker offers Subscription Identifiers (3.2.2.3.12)"
    );
    subscribe_with_identifier(&mut c, "ids/#", 7).await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    publisher
        .publish("ids/plain", "x", QoS::AtLeastOnce, false)
        .await;
    let p = c.next_on("ids/plain").await;
    assert_eq!(
        p.properties.subscription_identifiers,
        [7],
        "the subscription's identifier (MQTT-3.3.4-3)"
    );

    subscribe_with_identifier(&mut c, "ids/+", 9).await;
    publisher
        .publish("ids/both", "y", QoS::AtLeastOnce, false)
        .await;
    let got = c.collect_before_marker().await;
    let copies: Vec<_> = got.iter().filter(|p| p.topic == "ids/both").collect();
    assert_eq!(
        copies.len(),
        1,
        "overlapping subscriptions of one session get one copy (3.3.4): {got:?}"
    );
    let mut ids = copies[0].properties.subscription_identifiers.clone();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [7, 9],
        "a single copy carries the identifiers of all matching subscriptions (MQTT-3.3.4-4)"
    );
    publisher.disconnect().await;
}
