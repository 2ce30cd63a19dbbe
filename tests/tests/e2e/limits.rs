//! Topic length and depth limits over real sockets, with the defaults (1024 bytes, 32
//! levels): what is refused, what is still acknowledged, and the `$SYS` counts.

use std::time::Duration;

use tests::{start_broker, BrokerOptions, RawClient, TestBroker, WAIT};
use tokio::time::Instant;

async fn broker() -> TestBroker {
    start_broker(BrokerOptions {
        sys_interval: Duration::from_millis(200),
        ..Default::default()
    })
    .await
}

/// Waits until `$SYS` `topic` says `want` (it is published when it changes).
async fn sys_reaches(c: &mut RawClient, topic: &str, want: &str) {
    assert_eq!(c.subscribe(topic, 0).await, 0);
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let p = c
            .next_publish(left)
            .await
            .unwrap_or_else(|| panic!("{topic} never said {want}"));
        if p.topic == topic && p.payload == want.as_bytes() {
            return;
        }
    }
}

#[tokio::test]
async fn a_too_deep_publish_is_acknowledged_and_dropped_and_counted() {
    let b = broker().await;
    let mut watcher = RawClient::connect(b.addr(), "watcher").await;
    assert_eq!(watcher.subscribe("x/#", 1).await, 1);
    let mut node = RawClient::connect(b.addr(), "node").await;
    let deep = vec!["x"; 33].join("/");
    // `publish` checks the PUBACK and the PUBREC/PUBREL/PUBCOMP exchange.
    node.publish(&deep, "deep", 1, false).await;
    node.publish(&deep, "deep", 2, true).await;
    node.publish(&"x".repeat(1025), "long", 1, false).await;
    node.publish(&vec!["x"; 32].join("/"), "fits", 1, false)
        .await;
    let got = watcher.topics_before_marker().await;
    assert_eq!(got, [vec!["x"; 32].join("/")]);

    let mut sys = RawClient::connect(b.addr(), "sys").await;
    sys_reaches(
        &mut sys,
        "$SYS/broker/hearth/refused/publish/topic_limit",
        "3",
    )
    .await;
}

#[tokio::test]
async fn a_too_long_filter_gets_suback_0x80_and_is_counted() {
    let b = broker().await;
    let mut c = RawClient::connect(b.addr(), "c").await;
    let codes = c
        .subscribe_many(&[(&"x".repeat(1025), 1), ("fine/#", 1), (&"+/".repeat(32), 0)])
        .await;
    assert_eq!(codes, [0x80, 1, 0x80]);
    sys_reaches(
        &mut c,
        "$SYS/broker/hearth/refused/subscribe/topic_limit",
        "2",
    )
    .await;
}
