//! `$SYS` with MQTT 5.0 clients: they are counted like 3.1.1 ones, and a 5.0 subscriber to
//! `$SYS/#` (MQTT Explorer subscribes so) gets the statistics.

use std::time::Duration;

use broker::codec::v5::QoS;
use tests::raw5::{self, Raw5Client};
use tests::{start_broker, BrokerOptions, Publish, RawClient};

const CONNECTED: &str = "$SYS/broker/clients/connected";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt5_clients_are_counted_and_can_read_the_statistics() {
    let b = start_broker(BrokerOptions {
        sys_interval: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut watcher = RawClient::connect(b.addr(), "watcher").await;
    watcher.subscribe(CONNECTED, 0).await;
    let count =
        |n: u64| move |p: &Publish| p.topic == CONNECTED && p.payload_str().trim().parse() == Ok(n);

    let (mut v5, _) = Raw5Client::connect(b.addr(), "v5-dashboard").await;
    let (other, _) = Raw5Client::connect(b.addr(), "v5-node").await;
    // Nothing else connects to this broker: the 3.1.1 watcher and the two 5.0 clients.
    watcher
        .next_publish_where(count(3), "clients/connected = 3")
        .await;

    v5.subscribe("$SYS/#", QoS::AtMostOnce).await;
    let version = v5.next_on("$SYS/broker/version").await;
    assert!(raw5::text(&version).starts_with("hearth "), "{version:?}");

    other.disconnect().await;
    watcher
        .next_publish_where(count(2), "clients/connected = 2 after a 5.0 DISCONNECT")
        .await;
}
