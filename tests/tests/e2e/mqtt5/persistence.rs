//! MQTT 5.0 state across a restart of the gateway with its state directory: a session keeps
//! its Session Expiry Interval (3.1.2.11.2), its subscriptions their options and
//! Subscription Identifiers (3.8.3.1, 3.8.2.1.2), and held and retained messages their
//! properties and what is left of their Message Expiry Interval (MQTT-3.3.2-5, -6).

use broker::codec::v5::{
    Publish, PublishProperties, QoS, SubackReason, SubscribeProperties, SubscriptionOptions,
};
use tests::raw5::{self, Raw5Client};
use tests::{start_gateway_with_state, BrokerOptions, TempDir, TestBroker};

use super::{broker_clock_passes, retained_now};

/// The gateway as a bare broker, its state kept in `state`.
async fn broker_in(state: &TempDir) -> TestBroker {
    start_gateway_with_state(
        BrokerOptions::default(),
        state.path(),
        "\n[homeassistant]\ndiscovery = false\n",
    )
    .await
}

/// A message with a user property `origin` and a Message Expiry Interval of `expiry`.
fn from(origin: &str, topic: &str, payload: &str, expiry: Option<u32>) -> Publish {
    Publish {
        properties: PublishProperties {
            user_properties: vec![("origin".into(), origin.into())],
            message_expiry_interval: expiry,
            ..PublishProperties::default()
        },
        ..raw5::message(topic, payload, QoS::AtLeastOnce, false)
    }
}

fn origins(p: &Publish) -> Vec<(&str, &str)> {
    p.properties
        .user_properties
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Publishes `p` from a client of its own, which the broker must accept.
async fn publish_from(b: &TestBroker, client_id: &str, p: Publish) {
    let (mut c, _) = Raw5Client::connect(b.addr(), client_id).await;
    let reason = c.publish_message(p).await;
    assert!(reason.is_some_and(|r| !r.is_error()), "{reason:?}");
    c.disconnect().await;
}

// 3.1.2.11.2, 3.8.3.1, 3.8.2.1.2, MQTT-3.3.2-6: the hub's session, parked with a Session
// Expiry Interval of an hour, a No Local subscription with identifier 7 and a message
// queued while it was away, is all there after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v5_session_its_subscription_options_and_queued_properties_survive_a_restart() {
    let state = TempDir::new("v5-restart");
    let mut first = broker_in(&state).await;
    let (mut hub, _) = Raw5Client::connect_with(first.addr(), &raw5::persistent("hub", 3600)).await;
    let ack = hub
        .subscribe_packet(
            vec![(
                "home/+/cmd".into(),
                SubscriptionOptions {
                    no_local: true,
                    ..raw5::options(QoS::AtLeastOnce)
                },
            )],
            SubscribeProperties {
                subscription_identifier: Some(7),
                ..SubscribeProperties::default()
            },
        )
        .await;
    assert_eq!(ack.reasons, [SubackReason::GrantedQos1]);
    hub.disconnect().await;
    publish_from(
        &first,
        "phone",
        from("phone", "home/lamp/cmd", "ON", Some(3600)),
    )
    .await;
    let reading = Publish {
        properties: PublishProperties {
            content_type: Some("text/plain".into()),
            ..PublishProperties::default()
        },
        ..raw5::message("home/kitchen/temperature", "21.5", QoS::AtLeastOnce, true)
    };
    publish_from(&first, "sensor", reading).await;
    first.stop().await;

    let second = broker_in(&state).await;
    publish_from(
        &second,
        "tablet",
        from("tablet", "home/hall/cmd", "OFF", None),
    )
    .await;
    let (mut hub, connack) =
        Raw5Client::connect_with(second.addr(), &raw5::persistent("hub", 3600)).await;
    assert!(connack.session_present, "the session outlived the restart");
    let got = hub.collect_before_marker().await;
    let summary: Vec<_> = got
        .iter()
        .map(|p| {
            (
                p.topic.as_str(),
                raw5::text(p),
                p.properties.subscription_identifiers.clone(),
                origins(p),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("home/lamp/cmd", "ON", vec![7], vec![("origin", "phone")]),
            ("home/hall/cmd", "OFF", vec![7], vec![("origin", "tablet")]),
        ],
        "queued before the restart, then routed after it, both with the identifier"
    );
    let left = got[0]
        .properties
        .message_expiry_interval
        .expect("its expiry");
    // What is left, not the interval afresh; the lower bound only rules out nonsense.
    assert!(
        (3000..=3600).contains(&left),
        "{left} s left of 3600 (MQTT-3.3.2-6)"
    );
    assert_eq!(got[1].properties.message_expiry_interval, None);
    // No Local still holds (MQTT-3.8.3-3): its own command does not come back.
    hub.publish("home/door/cmd", "LOCK", QoS::AtLeastOnce, false)
        .await;
    hub.expect_nothing_before_marker().await;
    let retained = retained_now(&mut hub, "home/kitchen/temperature")
        .await
        .expect("the retained reading survived");
    assert_eq!(
        retained.properties.content_type.as_deref(),
        Some("text/plain")
    );
}

// 3.1.2.11.2: a session's own Session Expiry Interval holds after a restart; the broker's
// `session_expiry` (30 days) does not replace it. Its queued message expires likewise
// (MQTT-3.3.2-5) while a longer-lived one is delivered with what it has left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_a_session_and_a_message_expire_by_their_own_intervals() {
    let state = TempDir::new("v5-expiry-restart");
    let mut first = broker_in(&state).await;
    for (client_id, expiry) in [("brief", 2), ("lasting", 3600)] {
        let (mut c, _) =
            Raw5Client::connect_with(first.addr(), &raw5::persistent(client_id, expiry)).await;
        assert_eq!(
            c.subscribe("home/+/cmd", QoS::AtLeastOnce).await,
            SubackReason::GrantedQos1
        );
        c.disconnect().await;
    }
    publish_from(
        &first,
        "phone",
        from("phone", "home/oven/cmd", "OFF", Some(2)),
    )
    .await;
    publish_from(
        &first,
        "phone",
        from("phone", "home/lamp/cmd", "ON", Some(600)),
    )
    .await;
    first.stop().await;

    let second = broker_in(&state).await;
    // Beyond both 2 s on the broker's clock since the clients went away.
    broker_clock_passes(&second, 3).await;
    let (mut brief, connack) =
        Raw5Client::connect_with(second.addr(), &raw5::persistent("brief", 2)).await;
    assert!(
        !connack.session_present,
        "its 2 s interval passed, counted from before the restart (3.1.2.11.2)"
    );
    brief.expect_nothing_before_marker().await;
    let (mut lasting, connack) =
        Raw5Client::connect_with(second.addr(), &raw5::persistent("lasting", 3600)).await;
    assert!(connack.session_present);
    let got = lasting.collect_before_marker().await;
    let topics: Vec<&str> = got.iter().map(|p| p.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["home/lamp/cmd"],
        "the oven's 2 s message expired (MQTT-3.3.2-5)"
    );
    let left = got[0]
        .properties
        .message_expiry_interval
        .expect("its expiry");
    // At least 3 s have passed on the broker's clock (MQTT-3.3.2-6).
    assert!((500..=597).contains(&left), "{left} s left of 600");
}

// 4.8.2: a persistent session's shared subscription is kept like its others: after a restart
// the member is still in its group and gets the group's messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_subscription_of_a_persistent_session_survives_a_restart() {
    let state = TempDir::new("v5-shared-restart");
    let mut first = broker_in(&state).await;
    let (mut worker, _) =
        Raw5Client::connect_with(first.addr(), &raw5::persistent("worker", 3600)).await;
    assert_eq!(
        worker
            .subscribe("$share/workers/jobs/#", QoS::AtLeastOnce)
            .await,
        SubackReason::GrantedQos1
    );
    worker.disconnect().await;
    first.stop().await;

    let second = broker_in(&state).await;
    let (mut worker, connack) =
        Raw5Client::connect_with(second.addr(), &raw5::persistent("worker", 3600)).await;
    assert!(connack.session_present);
    publish_from(&second, "boss", from("boss", "jobs/1", "do it", None)).await;
    let got = worker.received_before_marker().await;
    assert_eq!(got, [("jobs/1".to_owned(), "do it".to_owned())]);
}

// The same seen by rumqttc's own v5 client: its session, asked to last an hour, is there after
// the restart with a message queued for it, which carries the publisher's user property.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rumqttc_v5_session_and_its_queued_message_survive_a_restart() {
    use rumqttc::v5::mqttbytes::v5::Filter;
    use rumqttc::v5::mqttbytes::QoS as RumqttcQoS;

    use super::rumqttc5::{self, V5Client};

    let state = TempDir::new("v5-rumqttc-restart");
    let options = |b: &TestBroker| {
        let mut o = rumqttc5::options(b.addr(), "rumqttc-hub");
        o.set_clean_start(false)
            .set_session_expiry_interval(Some(3600));
        o
    };
    let mut first = broker_in(&state).await;
    let (mut hub, _) = V5Client::connect(options(&first)).await;
    hub.subscribe(Filter::new("home/+/cmd", RumqttcQoS::AtLeastOnce))
        .await;
    hub.disconnect().await;
    publish_from(
        &first,
        "phone",
        from("phone", "home/lamp/cmd", "ON", Some(3600)),
    )
    .await;
    first.stop().await;

    let second = broker_in(&state).await;
    let (mut hub, connack) = V5Client::connect(options(&second)).await;
    assert!(connack.session_present, "the session outlived the restart");
    let got = hub.next_on("home/lamp/cmd").await;
    assert_eq!(&got.payload[..], b"ON");
    let user = got
        .properties
        .map(|p| p.user_properties)
        .unwrap_or_default();
    assert_eq!(user, [("origin".to_owned(), "phone".to_owned())]);
}
