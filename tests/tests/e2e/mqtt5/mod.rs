//! MQTT 5.0 end to end, held to the OASIS MQTT Version 5.0 specification (2019): CONNECT and
//! CONNACK, sessions and their expiry, properties, subscription options, message expiry,
//! will delay, flow control, topic aliases, malformed and refused packets, access rules,
//! and 3.1.1 and 5.0 clients side by side. Each test starts its own broker.
//!
//! The clients: `tests::Raw5Client`, which encodes and decodes with the broker's v5 codec
//! and sends raw bytes where a test needs what no encoder would produce; rumqttc's own v5
//! client ([`rumqttc5`]); and MQTT.js under Node.js ([`mqttjs`]).
//!
//! Expiry (of messages, sessions) is waited for on the broker's own clock: a delayed will is
//! the event that the time has passed there ([`broker_clock_passes`]), so no test sleeps for
//! a fixed time and asserts. It needs Will Delay Interval (3.1.3.2.2) to be honoured.

mod acl;
mod connect;
mod expiry;
mod flow_control;
mod interop;
mod malformed;
mod mqttjs;
mod persistence;
mod publish_properties;
mod rumqttc5;
mod session;
mod shared;
mod subscription_options;
mod sys;
mod topic_alias;
mod will;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use broker::codec::v5::{
    Connect, DisconnectReason, Publish, QoS, RetainHandling, SubackReason, SubscriptionOptions,
};
use tests::raw5::{self, Raw5Client};
use tests::{start_broker, BrokerOptions, TestBroker, WAIT};

/// A bare broker with the default limits (Receive Maximum 20, 1 MiB packets).
async fn broker() -> TestBroker {
    start_broker(BrokerOptions::default()).await
}

/// Subscription options at `qos` with Retain Handling `rh` and the other options off.
fn with_retain_handling(qos: QoS, rh: RetainHandling) -> SubscriptionOptions {
    SubscriptionOptions {
        retain_handling: rh,
        ..raw5::options(qos)
    }
}

/// The retained message on `topic` the broker delivers to `client` now, if any: a fresh
/// subscription to `topic` (Retain Handling 0, so the retained message comes with every
/// SUBSCRIBE, MQTT-3.3.1-9), and a marker after it.
async fn retained_now(client: &mut Raw5Client, topic: &str) -> Option<Publish> {
    let granted = client
        .subscribe_with(
            topic,
            with_retain_handling(QoS::AtLeastOnce, RetainHandling::SendAtSubscribe),
        )
        .await;
    assert_eq!(granted, SubackReason::GrantedQos1, "SUBSCRIBE {topic}");
    let got = client.collect_before_marker().await;
    let mut on_topic = got.into_iter().filter(|p| p.topic == topic);
    let first = on_topic.next();
    assert!(
        on_topic.next().is_none(),
        "one retained message on {topic} per SUBSCRIBE"
    );
    first
}

/// Numbers the clocks of [`broker_clock_passes`].
static NEXT_CLOCK: AtomicU64 = AtomicU64::new(1);

/// Returns once `seconds` have passed on the broker's clock since the call. The event is a
/// delayed will: a client connects with a Will whose Will Delay Interval is `seconds`, its
/// connection drops without DISCONNECT, and the broker publishes the will only once the delay
/// has passed (MQTT-3.1.3-9). Its session outlives the delay, so the will comes from the
/// delay and not from the session ending. Whatever the broker times from before the call
/// with an interval of `seconds - 1` or less has passed by then, whole seconds rounded as
/// the broker may.
async fn broker_clock_passes(b: &TestBroker, seconds: u32) {
    let n = NEXT_CLOCK.fetch_add(1, Ordering::Relaxed);
    let topic = format!("clock/{n}");
    let (mut watcher, _) = Raw5Client::connect(b.addr(), &format!("clock-watcher-{n}")).await;
    assert_eq!(
        watcher.subscribe(&topic, QoS::AtLeastOnce).await,
        SubackReason::GrantedQos1,
        "SUBSCRIBE {topic}"
    );
    let mut will = raw5::will(&topic, format!("{seconds} s"), QoS::AtLeastOnce, false);
    will.properties.will_delay_interval = Some(seconds);
    let connect = Connect {
        will: Some(will),
        ..raw5::persistent(&format!("clock-{n}"), seconds + 60)
    };
    let (clock, _) = Raw5Client::connect_with(b.addr(), &connect).await;
    clock.reset();
    let bound = Duration::from_secs(u64::from(seconds)) + WAIT;
    let tick = watcher.next_publish(bound).await.unwrap_or_else(|| {
        panic!(
            "the will on {topic} with Will Delay Interval {seconds} s was not published within \
             {bound:?} of its connection dropping (MQTT-3.1.3-9)"
        )
    });
    assert_eq!(tick.topic, topic, "the clock's will");
    watcher.disconnect().await;
}

/// A client subscribed to `bystander/#`, to show that one client's error leaves the others
/// alone.
async fn bystander(b: &TestBroker) -> Raw5Client {
    let (mut c, _) = Raw5Client::connect(b.addr(), "bystander").await;
    assert_eq!(
        c.subscribe("bystander/#", QoS::AtLeastOnce).await,
        SubackReason::GrantedQos1
    );
    c
}

/// Asserts the broker still serves `bystander` (connected before the error) and new clients:
/// a newcomer's message reaches it.
async fn expect_bystander_served(b: &TestBroker, bystander: &mut Raw5Client) {
    let (mut newcomer, _) = Raw5Client::connect(b.addr(), "newcomer").await;
    newcomer
        .publish("bystander/after", "still here", QoS::AtLeastOnce, false)
        .await;
    let p = bystander.next_on("bystander/after").await;
    assert_eq!(raw5::text(&p), "still here", "bystander's message");
    newcomer.disconnect().await;
}

/// A fresh v5 client sends `bad` after its CONNECT: the broker must answer with DISCONNECT
/// `want` and close that connection only (4.13.1, MQTT-4.13.1-1), while a bystander and new
/// clients are still served.
async fn only_offender_disconnected(bad: &[u8], want: DisconnectReason) {
    let b = broker().await;
    let mut bystander = bystander(&b).await;
    let (mut offender, _) = Raw5Client::connect(b.addr(), "offender").await;
    // The broker may close before the whole of it is written.
    let _ = offender.try_send(bad).await;
    let got = offender.expect_disconnect().await;
    assert_eq!(got, want, "DISCONNECT Reason Code for {bad:02x?}");
    expect_bystander_served(&b, &mut bystander).await;
}
