//! The Will in MQTT 5.0: Will Delay Interval (3.1.3.2.2), Will Properties (3.1.3.2), and
//! DISCONNECT with Reason Code 0x04 (3.14.2.1).

use broker::codec::v5::{
    Connect, DisconnectProperties, DisconnectReason, PublishProperties, QoS, WillProperties,
};
use bytes::Bytes;
use tests::raw5::{self, Raw5Client};
use tests::TestBroker;

use super::broker;

/// A client subscribed to `will/#` at QoS 1.
async fn observer(b: &TestBroker) -> Raw5Client {
    let (mut obs, _) = Raw5Client::connect(b.addr(), "observer").await;
    obs.subscribe("will/#", QoS::AtLeastOnce).await;
    obs
}

/// A CONNECT for `id` with a persistent session (`expiry` seconds) and a QoS 1 will on
/// `will/<id>` published `delay` seconds after the connection is lost.
fn delayed(id: &str, expiry: u32, delay: Option<u32>) -> Connect {
    let mut will = raw5::will(
        &format!("will/{id}"),
        format!("{id} gone"),
        QoS::AtLeastOnce,
        false,
    );
    will.properties.will_delay_interval = delay;
    Connect {
        will: Some(will),
        ..raw5::persistent(id, expiry)
    }
}

/// Waits for the next will at `obs` and returns its topic.
async fn next_will(obs: &mut Raw5Client) -> String {
    match obs.next_publish(tests::WAIT).await {
        Some(p) => p.topic,
        None => panic!("no will within {:?}", tests::WAIT),
    }
}

// MQTT-3.1.2-8, MQTT-3.1.3-9: a will with a delay is published once the delay has passed.
// Shown by order: two clients with a 2 s delay end first, one with DISCONNECT 0x04 (which
// keeps the will and its delay; the broker's close shows it has handled the end), one by a
// dropped socket; then a client without a delay drops. Its will must arrive first, and the
// delayed ones after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_will_is_published_after_its_delay() {
    let b = broker().await;
    let mut obs = observer(&b).await;
    let (asked, _) = Raw5Client::connect_with(b.addr(), &delayed("asked", 60, Some(2))).await;
    let (dropped, _) = Raw5Client::connect_with(b.addr(), &delayed("dropped", 60, Some(2))).await;
    let (prompt, _) = Raw5Client::connect_with(b.addr(), &delayed("prompt", 60, None)).await;
    asked
        .disconnect_with(
            DisconnectReason::DisconnectWithWillMessage,
            DisconnectProperties::default(),
        )
        .await;
    dropped.reset();
    prompt.reset();
    assert_eq!(
        next_will(&mut obs).await,
        "will/prompt",
        "the will without a delay comes first; the others wait for their Will Delay Interval \
         (MQTT-3.1.3-9)"
    );
    let mut delayed_wills = [next_will(&mut obs).await, next_will(&mut obs).await];
    delayed_wills.sort();
    assert_eq!(
        delayed_wills,
        ["will/asked", "will/dropped"],
        "the delayed wills, once their delay has passed"
    );
    obs.expect_nothing_before_marker().await;
}

// MQTT-3.1.3-9: "If a new Network Connection to this Session is made before the Will Delay
// Interval has passed, the Server MUST NOT send the Will Message." Shown by a clock: another
// client with the same delay, dropped after the first one has reconnected, whose will arrives
// after the first one's delay has passed; nothing may come before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_will_is_not_published_when_the_client_reconnects_in_time() {
    let b = broker().await;
    let mut obs = observer(&b).await;
    let (node, _) = Raw5Client::connect_with(b.addr(), &delayed("node", 60, Some(2))).await;
    let (clock, _) = Raw5Client::connect_with(b.addr(), &delayed("clock", 60, Some(2))).await;

    node.reset();
    let (mut node, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("node", 60)).await;
    assert!(ack.session_present, "back to its session");
    clock.reset();

    assert_eq!(
        next_will(&mut obs).await,
        "will/clock",
        "the reconnected client's will was cancelled (MQTT-3.1.3-9)"
    );
    obs.expect_nothing_before_marker().await;
    node.ping().await;
}

// 3.1.3.2.2: the will is published when the Will Delay Interval passes "or the Session
// ends, whichever happens first": with Session Expiry Interval 0 the session ends with the
// connection, so a will delayed by an hour comes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_will_is_published_when_the_session_ends_before_the_will_delay() {
    let b = broker().await;
    let mut obs = observer(&b).await;
    let (c, _) = Raw5Client::connect_with(b.addr(), &delayed("short", 0, Some(3600))).await;
    c.reset();
    assert_eq!(
        next_will(&mut obs).await,
        "will/short",
        "at the end of the session, long before the hour"
    );
}

// 3.1.3.2: the Will Properties become the properties of the published will.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_properties_reach_a_v5_subscriber() {
    let b = broker().await;
    let mut obs = observer(&b).await;
    let mut will = raw5::will(
        "will/props",
        r#"{"state":"offline"}"#,
        QoS::AtLeastOnce,
        false,
    );
    will.properties = WillProperties {
        will_delay_interval: None,
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(3600),
        content_type: Some("application/json".into()),
        response_topic: Some("will/props/reply".into()),
        correlation_data: Some(Bytes::from_static(b"node-7")),
        user_properties: vec![
            ("reason".into(), "power".into()),
            ("room".into(), "hall".into()),
            ("reason".into(), "power".into()),
        ],
    };
    let expected = PublishProperties {
        payload_format_indicator: Some(true),
        content_type: Some("application/json".into()),
        response_topic: Some("will/props/reply".into()),
        correlation_data: Some(Bytes::from_static(b"node-7")),
        user_properties: will.properties.user_properties.clone(),
        ..PublishProperties::default()
    };
    let connect = Connect {
        will: Some(will),
        ..raw5::connect("props")
    };
    let (c, _) = Raw5Client::connect_with(b.addr(), &connect).await;
    c.reset();

    let p = obs.next_on("will/props").await;
    assert_eq!(raw5::text(&p), r#"{"state":"offline"}"#);
    let left = p.properties.message_expiry_interval;
    assert!(
        matches!(left, Some(n) if n <= 3600),
        "the will's Message Expiry Interval, what is left of it (3.1.3.2.4): {left:?}"
    );
    assert_eq!(
        PublishProperties {
            message_expiry_interval: None,
            ..p.properties
        },
        expected,
        "Will Properties as published (3.1.3.2)"
    );
}

// 3.14.2.1: DISCONNECT with Reason Code 0x04 (Disconnect with Will Message) closes the
// connection and publishes the will.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_0x04_publishes_the_will() {
    let b = broker().await;
    let mut obs = observer(&b).await;
    let (c, _) = Raw5Client::connect_with(b.addr(), &delayed("asked", 0, None)).await;
    c.disconnect_with(
        DisconnectReason::DisconnectWithWillMessage,
        DisconnectProperties::default(),
    )
    .await;
    let p = obs.next_on("will/asked").await;
    assert_eq!(raw5::text(&p), "asked gone");
}

// MQTT-3.1.2-10, 3.14.2.1: a normal DISCONNECT (0x00) deletes the will unpublished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_disconnect_does_not_publish_the_will() {
    let b = broker().await;
    let mut obs = observer(&b).await;
    let (c, _) = Raw5Client::connect_with(b.addr(), &delayed("polite", 0, None)).await;
    // Returns once the broker closed the connection, which it does after handling its end.
    c.disconnect().await;
    obs.expect_nothing_before_marker().await;
}

// 3.14.2.2.2: a DISCONNECT with a non-zero Session Expiry Interval after 0 in CONNECT is not
// a valid DISCONNECT: the server closes with 0x82, and as for any protocol error the will is
// published (3.1.2.5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_that_is_a_protocol_error_publishes_the_will() {
    let b = broker().await;
    let mut obs = observer(&b).await;
    let (mut c, _) = Raw5Client::connect_with(b.addr(), &delayed("invalid", 0, None)).await;
    c.send_disconnect(
        DisconnectReason::NormalDisconnection,
        raw5::session_expiry(60),
    )
    .await;
    assert_eq!(c.expect_disconnect().await, DisconnectReason::ProtocolError);
    let p = obs.next_on("will/invalid").await;
    assert_eq!(raw5::text(&p), "invalid gone");
}
