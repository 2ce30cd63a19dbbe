//! `$SYS` statistics topics.

use std::collections::HashSet;
use std::time::Duration;

use tests::{start_broker, BrokerOptions, Publish, RawClient, TestBroker, WAIT};
use tokio::time::Instant;

const REQUIRED: &[&str] = &[
    "$SYS/broker/version",
    "$SYS/broker/uptime",
    "$SYS/broker/clients/connected",
    "$SYS/broker/messages/received",
    "$SYS/broker/messages/sent",
    "$SYS/broker/retained messages/count",
];

async fn broker() -> TestBroker {
    let opts = BrokerOptions {
        sys_interval: Duration::from_secs(1),
        ..Default::default()
    };
    start_broker(opts).await
}

/// Reads until every REQUIRED topic was seen in a message accepted by
/// `keep`, or `WAIT` passes; returns the topics still missing.
async fn await_topics(c: &mut RawClient, keep: impl Fn(&Publish) -> bool) -> Vec<&'static str> {
    let deadline = Instant::now() + WAIT;
    let mut seen = HashSet::new();
    while seen.len() < REQUIRED.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(p) = c.next_publish(left).await else {
            break;
        };
        if keep(&p) && REQUIRED.contains(&p.topic.as_str()) {
            seen.insert(p.topic);
        }
    }
    REQUIRED
        .iter()
        .copied()
        .filter(|t| !seen.contains(*t))
        .collect()
}

#[tokio::test]
async fn sys_topics_are_published_periodically_and_retained() {
    let b = broker().await;
    let mut sub = RawClient::connect(b.addr(), "sys").await;
    sub.subscribe("$SYS/#", 0).await;
    let missing = await_topics(&mut sub, |_| true).await;
    assert!(missing.is_empty(), "never published: {missing:?}");

    // They are retained: subscribing again (MQTT-3.8.4-3) re-sends each with
    // RETAIN=1 (MQTT-3.3.1-8).
    sub.subscribe("$SYS/#", 0).await;
    let missing = await_topics(&mut sub, |p| p.retain).await;
    assert!(missing.is_empty(), "not retained: {missing:?}");

    // Periodic: a live uptime update (RETAIN=0) follows, and the subscriber is
    // still connected.
    sub.next_publish_where(
        |p| p.topic == "$SYS/broker/uptime" && !p.retain,
        "periodic $SYS/broker/uptime update",
    )
    .await;
    sub.ping().await;
}

#[tokio::test]
async fn sys_clients_connected_counts_a_new_client() {
    const TOPIC: &str = "$SYS/broker/clients/connected";
    let b = broker().await;
    let mut sub = RawClient::connect(b.addr(), "sys").await;
    sub.subscribe(TOPIC, 0).await;
    let value =
        |p: &Publish| -> u64 { p.payload_str().trim().parse().expect("numeric $SYS value") };
    let before = value(&sub.recv_publish().await);

    let _extra = RawClient::connect(b.addr(), "extra").await;
    sub.next_publish_where(|p| value(p) > before, "rise of clients/connected")
        .await;
}
