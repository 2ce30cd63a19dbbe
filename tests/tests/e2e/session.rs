//! Persistent sessions (clean session 0): queueing, resumption, redelivery.

use tests::{encode, payloads, start_broker, BrokerOptions, Connect, Packet, RawClient, WAIT};

fn persistent(id: &str) -> Connect {
    Connect::new(id).clean_session(false)
}

/// Creates a persistent session subscribed to `filter`, then disconnects.
async fn park_session(b: &tests::TestBroker, id: &str, filter: &str, qos: u8) {
    let (mut sub, present) = RawClient::connect_with(b.addr(), &persistent(id)).await;
    assert!(!present, "no session yet (MQTT-3.2.2-3)");
    assert_eq!(sub.subscribe(filter, qos).await, qos);
    sub.disconnect().await;
}

async fn publish_n(b: &tests::TestBroker, topic: &str, n: usize) {
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    for i in 0..n {
        publ.publish(topic, i.to_string(), 1, false).await;
    }
}

// MQTT-3.1.2-4/5: the session, with its QoS 1 messages, outlives the
// connection; MQTT-3.2.2-2: session present is 1 on resumption.
#[tokio::test]
async fn offline_qos1_messages_are_queued_and_delivered_in_order() {
    let b = start_broker(BrokerOptions::default()).await;
    park_session(&b, "sess", "s/t", 1).await;
    publish_n(&b, "s/t", 100).await;

    let (mut sub, present) = RawClient::connect_with(b.addr(), &persistent("sess")).await;
    assert!(present, "session present (MQTT-3.2.2-2)");
    let got = payloads(&sub.collect_before_marker().await);
    let want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(got, want, "all 100, in order");
}

// MQTT-3.1.2-4: subscriptions are part of the session state.
#[tokio::test]
async fn subscriptions_survive_reconnect_without_resubscribing() {
    let b = start_broker(BrokerOptions::default()).await;
    park_session(&b, "keep", "s/keep", 1).await;
    let (mut sub, present) = RawClient::connect_with(b.addr(), &persistent("keep")).await;
    assert!(present);
    publish_n(&b, "s/keep", 1).await;
    let p = sub
        .next_publish(WAIT)
        .await
        .expect("live message on the kept subscription");
    assert_eq!((p.topic.as_str(), p.qos), ("s/keep", 1));
}

// MQTT-3.1.2-6: clean session 1 discards the previous session; nothing
// queued is delivered and the old subscription is gone afterwards.
#[tokio::test]
async fn clean_session_discards_persistent_session() {
    let b = start_broker(BrokerOptions::default()).await;
    park_session(&b, "gone", "s/gone", 1).await;
    publish_n(&b, "s/gone", 5).await;

    let (mut clean, present) = RawClient::connect_with(b.addr(), &Connect::new("gone")).await;
    assert!(!present, "clean session: session present 0 (MQTT-3.2.2-1)");
    clean.expect_nothing_before_marker().await;
    clean.disconnect().await;

    let (mut again, present) = RawClient::connect_with(b.addr(), &persistent("gone")).await;
    assert!(!present, "the clean session must not have been kept");
    publish_n(&b, "s/gone", 1).await;
    again.expect_nothing_before_marker().await;
}

// The offline queue is bounded by max_queued_messages (plus what may be
// marked in flight); which messages survive is broker policy.
#[tokio::test]
async fn offline_queue_is_bounded_and_broker_keeps_working() {
    let opts = BrokerOptions {
        max_queued_messages: 10,
        ..Default::default()
    };
    let bound = opts.max_queued_messages + opts.max_inflight;
    let b = start_broker(opts).await;
    park_session(&b, "bounded", "s/q", 1).await;
    publish_n(&b, "s/q", 50).await;

    let (mut sub, present) = RawClient::connect_with(b.addr(), &persistent("bounded")).await;
    assert!(present);
    let got = sub.collect_before_marker().await;
    assert!(got.len() <= bound, "delivered {} > {bound}", got.len());

    let mut publ = RawClient::connect(b.addr(), "after").await;
    publ.publish("s/q", "after", 1, false).await;
    let p = sub
        .next_publish(WAIT)
        .await
        .expect("delivery works after overflow");
    assert_eq!(p.payload_str(), "after");
}

// MQTT-4.4.0-1: unacknowledged PUBLISH is resent on reconnect with DUP=1
// (MQTT-3.3.1-1) and the same packet id.
#[tokio::test]
async fn unacked_qos1_is_redelivered_with_dup_after_reconnect() {
    let b = start_broker(BrokerOptions::default()).await;
    let (mut sub, _) = RawClient::connect_with(b.addr(), &persistent("dup")).await;
    sub.subscribe("s/dup", 1).await;
    publish_n(&b, "s/dup", 1).await;
    let first = sub.recv_publish().await;
    assert!(!first.dup && first.qos == 1);
    drop(sub);

    let (mut sub, present) = RawClient::connect_with(b.addr(), &persistent("dup")).await;
    assert!(present);
    let again = sub.recv_publish().await;
    assert!(again.dup, "DUP=1 on redelivery (MQTT-3.3.1-1)");
    assert_eq!((again.pkid, &again.payload), (first.pkid, &first.payload));
    sub.send(&encode::puback(again.pkid)).await;
    sub.expect_nothing_before_marker().await;
}

// MQTT-4.4.0-1: after PUBREC was received but PUBCOMP not, the server
// resends PUBREL (not the PUBLISH) on reconnect.
#[tokio::test]
async fn pending_pubrel_is_resent_after_reconnect() {
    let b = start_broker(BrokerOptions::default()).await;
    let (mut sub, _) = RawClient::connect_with(b.addr(), &persistent("rel")).await;
    sub.subscribe("s/rel", 2).await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("s/rel", "x", 2, false).await;
    let p = sub.recv_publish().await;
    assert_eq!(p.qos, 2);
    sub.send(&encode::pubrec(p.pkid)).await;
    assert_eq!(sub.recv().await, Packet::PubRel(p.pkid));
    drop(sub);

    let (mut sub, present) = RawClient::connect_with(b.addr(), &persistent("rel")).await;
    assert!(present);
    assert_eq!(sub.recv().await, Packet::PubRel(p.pkid), "PUBREL resent");
    sub.send(&encode::pubcomp(p.pkid)).await;
    sub.expect_nothing_before_marker().await;
}
