//! Message Expiry Interval (3.3.2.3.3): a message is forwarded with what is left of its
//! interval (MQTT-3.3.2-6) and not at all once it has passed (MQTT-3.3.2-5), whether it waits
//! as a retained message or in an offline session's queue.

use broker::codec::v5::QoS;
use tests::raw5::{self, Raw5Client};

use super::{broker, broker_clock_passes, retained_now};

/// Asserts `got`, forwarded from a message sent with interval `sent`, carries a Message
/// Expiry Interval no larger (MQTT-3.3.2-6); how much smaller depends on the machine.
fn assert_remaining(got: Option<u32>, sent: u32, what: &str) {
    match got {
        Some(left) if left <= sent => {}
        other => panic!(
            "{what}: expected a Message Expiry Interval of at most {sent} (what is left of it, \
             MQTT-3.3.2-6), got {other:?}"
        ),
    }
}

// MQTT-3.3.2-6, for a live message and a retained one. The interval is an hour so that no
// slowness of the machine can make it pass before the subscriber gets the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_forwarded_with_the_rest_of_their_expiry_interval() {
    let b = broker().await;
    let (mut sub, _) = Raw5Client::connect(b.addr(), "sub").await;
    sub.subscribe("exp/live", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    for (topic, retain) in [("exp/live", false), ("exp/retained", true)] {
        let mut m = raw5::message(topic, "x", QoS::AtLeastOnce, retain);
        m.properties.message_expiry_interval = Some(3600);
        publisher.publish_message(m).await;
    }

    let live = sub.next_on("exp/live").await;
    assert_remaining(
        live.properties.message_expiry_interval,
        3600,
        "live message",
    );
    let retained = retained_now(&mut sub, "exp/retained")
        .await
        .expect("the retained message, an hour before it expires");
    assert!(retained.retain);
    assert_remaining(
        retained.properties.message_expiry_interval,
        3600,
        "retained message",
    );
    // Without an interval, none is made up.
    publisher
        .publish("exp/live", "forever", QoS::AtLeastOnce, false)
        .await;
    let p = sub.next_on("exp/live").await;
    assert_eq!(p.properties.message_expiry_interval, None);
}

// MQTT-3.3.2-5: a retained message whose interval has passed is no longer delivered. Asked
// once, after 3 s have passed on the broker's clock for an interval of 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_message_is_not_delivered_once_its_expiry_interval_has_passed() {
    let b = broker().await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    let mut m = raw5::message("exp/soon", "brief", QoS::AtLeastOnce, true);
    m.properties.message_expiry_interval = Some(2);
    publisher.publish_message(m).await;
    publisher
        .publish("exp/keep", "kept", QoS::AtLeastOnce, true)
        .await;
    broker_clock_passes(&b, 3).await;

    let (mut sub, _) = Raw5Client::connect(b.addr(), "sub").await;
    let expired = retained_now(&mut sub, "exp/soon").await;
    assert!(
        expired.is_none(),
        "a retained message whose Message Expiry Interval has passed is not delivered \
         (MQTT-3.3.2-5): {expired:?}"
    );
    // Only that one expired.
    let kept = retained_now(&mut sub, "exp/keep")
        .await
        .expect("a retained message without an interval stays");
    assert_eq!(raw5::text(&kept), "kept");
}

// MQTT-3.3.2-5, MQTT-3.3.2-6 for a persistent session's queue: of two QoS 1 messages queued
// while the client was away, the one whose 2 s passed (3 s on the broker's clock) is dropped, the other delivered with
// what is left of its hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_message_whose_expiry_interval_passed_is_not_delivered() {
    let b = broker().await;
    let (mut sub, _) = Raw5Client::connect_with(b.addr(), &raw5::persistent("away", 300)).await;
    sub.subscribe("queue/#", QoS::AtLeastOnce).await;
    sub.disconnect().await;

    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    for (topic, interval) in [("queue/brief", 2), ("queue/hour", 3600)] {
        let mut m = raw5::message(topic, topic, QoS::AtLeastOnce, false);
        m.properties.message_expiry_interval = Some(interval);
        publisher.publish_message(m).await;
    }
    broker_clock_passes(&b, 3).await;

    let (mut sub, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("away", 300)).await;
    assert!(ack.session_present);
    let got = sub.collect_before_marker().await;
    let topics: Vec<&str> = got.iter().map(|p| p.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["queue/hour"],
        "the expired message is dropped (MQTT-3.3.2-5)"
    );
    assert_remaining(
        got[0].properties.message_expiry_interval,
        3600,
        "queued message",
    );
}
