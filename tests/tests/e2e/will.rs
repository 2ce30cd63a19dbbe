//! Last Will: when it is (and is not) published, its flags, and takeover.

use std::collections::HashMap;
use std::time::Duration;

use tests::{payloads, start_broker, BrokerOptions, Connect, RawClient, TestBroker, Will, WAIT};

async fn broker() -> TestBroker {
    start_broker(BrokerOptions::default()).await
}

async fn observer(b: &TestBroker, filter: &str, qos: u8) -> RawClient {
    let mut obs = RawClient::connect(b.addr(), "observer").await;
    obs.subscribe(filter, qos).await;
    obs
}

fn with_will(id: &str, will: Will) -> Connect {
    Connect::new(id).will(will)
}

/// Client "w" connected with `will`.
async fn willing(b: &TestBroker, will: Will) -> RawClient {
    RawClient::connect_with(b.addr(), &with_will("w", will))
        .await
        .0
}

// MQTT-3.1.2-8: the will is published when the connection closes without
// DISCONNECT.
#[tokio::test]
async fn will_is_published_on_socket_eof() {
    let b = broker().await;
    let mut obs = observer(&b, "will/t", 0).await;
    let c = willing(&b, Will::new("will/t", "gone", 0, false)).await;
    drop(c);
    let p = obs.next_publish(WAIT).await.expect("will");
    assert_eq!((p.topic.as_str(), p.payload_str()), ("will/t", "gone"));
}

// MQTT-3.1.2-8 with MQTT-3.1.2-24: keepalive expiry publishes the will.
// Fails on Mosquitto 2.0.11: it detects the expiry only after about 4.6 s.
#[tokio::test]
async fn will_is_published_on_keepalive_expiry() {
    let b = broker().await;
    let mut obs = observer(&b, "will/ka", 0).await;
    let connect = with_will("w", Will::new("will/ka", "timeout", 0, false)).keep_alive(1);
    let (_silent, _) = RawClient::connect_with(b.addr(), &connect).await;
    let p = obs
        .next_publish(Duration::from_secs(4))
        .await
        .expect("will after keepalive expiry");
    assert_eq!(p.payload_str(), "timeout");
}

// MQTT-3.1.2-10: DISCONNECT deletes the will without publishing it.
#[tokio::test]
async fn will_is_not_published_after_disconnect() {
    let b = broker().await;
    let mut obs = observer(&b, "will/t", 0).await;
    let c = willing(&b, Will::new("will/t", "no", 0, false)).await;
    // Returns once the broker closed the connection, which it does after handling its end.
    c.disconnect().await;
    obs.expect_nothing_before_marker().await;
}

// MQTT-3.1.2-17: will retain 1 -> published as retained.
#[tokio::test]
async fn retained_will_is_seen_by_later_subscriber() {
    let b = broker().await;
    let mut obs = observer(&b, "will/r", 0).await;
    let c = willing(&b, Will::new("will/r", "bye", 0, true)).await;
    drop(c);
    obs.next_publish(WAIT).await.expect("will published");

    let mut later = RawClient::connect(b.addr(), "later").await;
    later.subscribe("will/r", 0).await;
    let p = later.recv_publish().await;
    assert!(p.retain, "retained will (MQTT-3.1.2-17)");
    assert_eq!(p.payload_str(), "bye");
}

// The will is published at its Will QoS (MQTT 3.1.2.6), capped by the
// subscription.
#[tokio::test]
async fn qos1_will_reaches_qos1_subscriber_at_qos1() {
    let b = broker().await;
    let mut obs = observer(&b, "will/q", 1).await;
    let c = willing(&b, Will::new("will/q", "q1", 1, false)).await;
    drop(c);
    let p = obs.next_publish(WAIT).await.expect("will");
    assert_eq!(p.qos, 1);
}

// The ESP8266/PubSubClient pattern: a node reconnects with the same id while
// its old connection is still open. The old connection is closed (MQTT-3.1.4-2)
// and, having sent no DISCONNECT, publishes its will (MQTT-3.1.2-8) before the
// new connection is acknowledged, so the retained status ends up correct.
// QoS 1 throughout so every step is acknowledged.
#[tokio::test]
async fn esp8266_reconnect_keeps_status_order() {
    const STATUS: &str = "home/node-1/status";
    let b = broker().await;
    let mut obs = observer(&b, STATUS, 1).await;
    let node =
        |offline: &str| with_will("node-1", Will::new(STATUS, offline, 1, true)).keep_alive(15);

    let (mut first, _) = RawClient::connect_with(b.addr(), &node("offline-1")).await;
    first.publish(STATUS, "online-1", 1, true).await;
    let (mut second, _) = RawClient::connect_with(b.addr(), &node("offline-2")).await;
    first.expect_closed(WAIT).await;
    second.publish(STATUS, "online-2", 1, true).await;
    second.reset();

    // The last will shows that the broker has handled the reset; nothing may follow it.
    let mut got = obs.collect(4).await;
    got.extend(obs.collect_before_marker().await);
    assert_eq!(
        payloads(&got),
        ["online-1", "offline-1", "online-2", "offline-2"]
    );

    let mut fresh = RawClient::connect(b.addr(), "fresh").await;
    fresh.subscribe(STATUS, 1).await;
    let got = payloads(&fresh.collect_before_marker().await);
    assert_eq!(got, ["offline-2"], "retained status");
}

// MQTT-3.1.2-8 at scale: 200 connections lost at once, half by FIN, half
// by RST; each will is delivered exactly once.
#[tokio::test]
async fn wills_of_200_dropped_clients_are_each_delivered_once() {
    const N: usize = 200;
    let b = broker().await;
    let mut obs = observer(&b, "wills/#", 1).await;
    let mut clients = Vec::new();
    for i in 0..N {
        let will = Will::new(&format!("wills/{i}"), i.to_string(), 1, false);
        let (c, _) = RawClient::connect_with(b.addr(), &with_will(&format!("n{i}"), will)).await;
        clients.push(c);
    }
    for (i, c) in clients.into_iter().enumerate() {
        if i % 2 == 0 {
            drop(c);
        } else {
            c.reset();
        }
    }

    // N wills show that the broker has handled every lost connection; then nothing may follow.
    let mut got = obs.collect(N).await;
    got.extend(obs.collect_before_marker().await);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for p in &got {
        assert_eq!(
            p.topic,
            format!("wills/{}", p.payload_str()),
            "will payload"
        );
        *counts.entry(p.topic.clone()).or_default() += 1;
    }
    let missing: Vec<usize> = (0..N)
        .filter(|i| !counts.contains_key(&format!("wills/{i}")))
        .collect();
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(missing.is_empty(), "wills not delivered: {missing:?}");
    assert!(
        repeated.is_empty(),
        "wills delivered more than once: {repeated:?}"
    );
}
