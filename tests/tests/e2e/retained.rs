//! Retained messages: storage, replacement, clearing and delivery flags.

use tests::{
    encode, start_broker, BrokerOptions, Packet, RawClient, TestBroker, GATEWAY_STATUS_TOPIC, WAIT,
};

async fn broker() -> TestBroker {
    start_broker(BrokerOptions::default()).await
}

/// Retained payloads a new `filter` subscriber receives, checking RETAIN=1.
async fn retained_for(b: &TestBroker, filter: &str) -> Vec<(String, String)> {
    let mut sub = RawClient::connect(b.addr(), "probe").await;
    sub.subscribe(filter, 1).await;
    let got = sub.collect_before_marker().await;
    assert!(
        got.iter().all(|p| p.retain),
        "RETAIN=1 on subscribe (MQTT-3.3.1-8): {got:?}"
    );
    let mut got: Vec<_> = got
        .iter()
        .map(|p| (p.topic.clone(), p.payload_str().to_owned()))
        .collect();
    got.sort();
    got
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect()
}

// MQTT-3.3.1-5: stored; MQTT-3.3.1-7: replaced; MQTT-3.3.1-10/11: an empty
// retained payload removes it and is not stored itself.
#[tokio::test]
async fn retained_message_is_set_replaced_and_cleared() {
    let b = broker().await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("r/t", "v1", 1, true).await;
    assert_eq!(retained_for(&b, "r/t").await, pairs(&[("r/t", "v1")]));
    publ.publish("r/t", "v2", 1, true).await;
    assert_eq!(retained_for(&b, "r/t").await, pairs(&[("r/t", "v2")]));
    publ.publish("r/t", "", 1, true).await;
    assert_eq!(retained_for(&b, "r/t").await, vec![]);
}

// MQTT-3.3.1-8: a retained message sent because of a new subscription has
// RETAIN=1.
#[tokio::test]
async fn retained_is_delivered_on_subscribe_with_retain_flag() {
    let b = broker().await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("r/flag", "kept", 0, true).await;
    publ.ping().await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    sub.subscribe("r/flag", 0).await;
    let p = sub.recv_publish().await;
    assert!(p.retain, "RETAIN=1 (MQTT-3.3.1-8)");
    assert_eq!(p.payload_str(), "kept");
}

// MQTT-3.3.1-9: a retained PUBLISH forwarded to an existing subscription has
// RETAIN=0.
#[tokio::test]
async fn live_delivery_to_existing_subscription_has_retain_clear() {
    let b = broker().await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    sub.subscribe("r/live", 1).await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("r/live", "now", 1, true).await;
    let p = sub.next_publish(WAIT).await.expect("live message");
    assert!(!p.retain, "RETAIN=0 for live delivery (MQTT-3.3.1-9)");
}

#[tokio::test]
async fn retained_is_delivered_for_wildcard_subscriptions() {
    let b = broker().await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    for (topic, payload) in [("w/a/1", "a1"), ("w/b/2", "b2"), ("x/other", "no")] {
        publ.publish(topic, payload, 1, true).await;
    }
    assert_eq!(
        retained_for(&b, "w/#").await,
        pairs(&[("w/a/1", "a1"), ("w/b/2", "b2")])
    );
    assert_eq!(retained_for(&b, "w/+/2").await, pairs(&[("w/b/2", "b2")]));
}

// MQTT-3.8.4-3: a repeated SUBSCRIBE replaces the subscription and re-sends
// the matching retained messages.
#[tokio::test]
async fn resubscribing_resends_retained() {
    let b = broker().await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("r/again", "same", 1, true).await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    for round in 0..2 {
        sub.subscribe("r/again", 1).await;
        let got = sub.collect_before_marker().await;
        assert_eq!(got.len(), 1, "round {round}: {got:?}");
        assert!(
            got[0].retain && got[0].payload == b"same",
            "round {round}: {got:?}"
        );
    }
}

const MANY: usize = 5000;

/// Stores MANY retained QoS 1 topics, then checks a `#` subscriber at `qos`
/// gets every one of them once, at `qos`, with RETAIN=1.
async fn many_retained_reach_hash_subscriber(qos: u8) {
    let b = broker().await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    let mut batch = Vec::new();
    for i in 1..=MANY {
        let topic = format!("bulk/{i:04}");
        batch.extend(encode::publish(&topic, b"r", 1, true, false, i as u16));
    }
    publ.send(&batch).await;
    for i in 1..=MANY {
        assert_eq!(publ.recv().await, Packet::PubAck(i as u16));
    }

    let mut sub = RawClient::connect(b.addr(), "sub").await;
    sub.subscribe("#", qos).await;
    let mut got = sub.collect_before_marker().await;
    // Besides the bulk topics, `#` matches the gateway's own retained status, exactly once.
    let before = got.len();
    got.retain(|p| p.topic != GATEWAY_STATUS_TOPIC);
    assert_eq!(before - got.len(), 1, "the gateway status arrives once");
    let mut topics: Vec<&str> = got.iter().map(|p| p.topic.as_str()).collect();
    topics.sort();
    topics.dedup();
    assert_eq!(topics.len(), MANY, "distinct retained topics received");
    assert_eq!(got.len(), MANY, "copies received");
    assert!(
        got.iter().all(|p| p.retain && p.qos == qos),
        "RETAIN=1 at the granted QoS"
    );
}

// MQTT-3.3.1-6: on a new subscription every matching retained message is sent.
#[tokio::test]
async fn retained_5000_topics_reach_hash_subscriber_qos0() {
    many_retained_reach_hash_subscriber(0).await;
}

// Fails on Mosquitto: retained QoS 1 messages sent on subscribe go through
// the client's queue, and those beyond max_inflight + max_queued_messages
// (1020) are dropped.
#[tokio::test]
async fn retained_5000_topics_reach_hash_subscriber_qos1() {
    many_retained_reach_hash_subscriber(1).await;
}
