//! The gateway around the broker: its in-process publish/subscribe handle and its own status.

use std::time::Duration;

use broker::{LocalError, QoS as LocalQoS};
use rumqttc::QoS;
use tests::{
    expect_nothing_before_local, mqtt_options, next_local, start_broker, BrokerOptions, MqttClient,
    RawClient, GATEWAY_STATUS_TOPIC, WAIT,
};

#[tokio::test]
async fn gateway_announces_online_retained_and_offline_when_stopped() {
    let mut b = start_broker(BrokerOptions::default()).await;
    let mut phone = RawClient::connect(b.addr(), "phone").await;
    phone.subscribe("hearth/+/status", 1).await;
    let online = phone.recv_publish().await;
    assert_eq!(online.topic, GATEWAY_STATUS_TOPIC);
    assert_eq!(online.payload_str(), "online");
    assert!(
        online.retain,
        "a phone sees the status the moment it subscribes"
    );

    b.stop().await;
    let offline = phone
        .next_publish(WAIT)
        .await
        .expect("offline before close");
    assert_eq!(offline.payload_str(), "offline");
    phone.expect_closed(WAIT).await;
}

#[tokio::test]
async fn in_process_subscriber_receives_network_publishes_with_wildcards() {
    let b = start_broker(BrokerOptions::default()).await;
    let mut readings = b
        .handle()
        .subscribe("+/Fridge/#", LocalQoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let (node, _) = MqttClient::connect(mqtt_options(b.addr(), "esp-kitchen")).await;
    node.publish("Kitchen/Fridge/temperature", QoS::AtLeastOnce, false, "4.2")
        .await;
    node.publish("Kitchen/Oven/temperature", QoS::AtLeastOnce, false, "180")
        .await;
    node.publish("Garage/Fridge/door", QoS::AtMostOnce, false, "closed")
        .await;
    // Sent last by the same client, at QoS 1 like the oven reading: routed after it.
    node.publish("Marker/Fridge/end", QoS::AtLeastOnce, false, "")
        .await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let m = next_local(&mut readings).await;
        got.push((m.topic.to_string(), m.payload.to_vec(), m.qos));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "Garage/Fridge/door".into(),
                b"closed".to_vec(),
                LocalQoS::AtMostOnce
            ),
            (
                "Kitchen/Fridge/temperature".into(),
                b"4.2".to_vec(),
                LocalQoS::AtLeastOnce
            ),
        ]
    );
    // The oven reading does not match.
    expect_nothing_before_local(&mut readings, "Marker/Fridge/end").await;
}

#[tokio::test]
async fn in_process_retained_publish_reaches_a_phone_that_connects_later() {
    let b = start_broker(BrokerOptions::default()).await;
    b.handle()
        .publish(
            "Kitchen/Fridge/temperature",
            "4.5",
            LocalQoS::AtLeastOnce,
            true,
        )
        .await
        .expect("publish");
    let (mut phone, _) = MqttClient::connect(mqtt_options(b.addr(), "phone")).await;
    phone.subscribe("Kitchen/#", QoS::AtLeastOnce).await;
    let got = phone.next().await;
    assert_eq!(got.topic, "Kitchen/Fridge/temperature");
    assert_eq!(&got.payload[..], b"4.5");
    assert!(got.retain);
}

#[tokio::test]
async fn in_process_subscriber_gets_retained_messages_first() {
    let b = start_broker(BrokerOptions::default()).await;
    let handle = b.handle();
    handle
        .publish("Hall/door", "open", LocalQoS::AtMostOnce, true)
        .await
        .expect("publish");
    let mut sub = handle
        .subscribe("Hall/#", LocalQoS::AtMostOnce)
        .await
        .expect("subscribe");
    let m = next_local(&mut sub).await;
    assert!(m.retain);
    assert_eq!(&m.payload[..], b"open");
}

#[tokio::test]
async fn in_process_api_rejects_invalid_topics_and_filters() {
    let b = start_broker(BrokerOptions::default()).await;
    let h = b.handle();
    let bad_topic = h.publish("a/+/b", "x", LocalQoS::AtMostOnce, false).await;
    assert!(
        matches!(bad_topic, Err(LocalError::InvalidTopic { .. })),
        "{bad_topic:?}"
    );
    let bad_filter = h.subscribe("a/#/b", LocalQoS::AtMostOnce).await;
    assert!(matches!(bad_filter, Err(LocalError::InvalidFilter { .. })));
}

/// An ESP8266-like node on rumqttc (MQTT 3.1.1, keepalive, Last Will) whose network vanishes:
/// a phone on rumqttc sees it go offline.
#[tokio::test]
async fn rumqttc_node_losing_its_network_goes_offline_for_a_rumqttc_phone() {
    let b = start_broker(BrokerOptions::default()).await;
    let (mut phone, _) = MqttClient::connect(mqtt_options(b.addr(), "phone")).await;
    phone.subscribe("home/esp-1/status", QoS::AtLeastOnce).await;

    let mut opts = mqtt_options(b.addr(), "esp-1");
    opts.set_keep_alive(Duration::from_secs(5))
        .set_last_will(rumqttc::LastWill::new(
            "home/esp-1/status",
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
    let (node, _) = MqttClient::connect(opts).await;
    node.publish("home/esp-1/status", QoS::AtLeastOnce, true, "online")
        .await;
    let online = phone.next().await;
    assert_eq!(&online.payload[..], b"online");

    drop(node); // aborts the client's event loop: the socket closes without DISCONNECT
    let offline = phone.next().await;
    assert_eq!(&offline.payload[..], b"offline", "will published");
}

#[tokio::test]
async fn in_process_subscriber_with_overlapping_filters_gets_each_message_once() {
    let b = start_broker(BrokerOptions::default()).await;
    let (node, _) = MqttClient::connect(mqtt_options(b.addr(), "esp-living")).await;
    node.publish("LivingRoom/AirQuality/co2", QoS::AtLeastOnce, true, "650")
        .await;
    // Make sure the retained reading is stored before subscribing.
    let mut probe = b
        .handle()
        .subscribe("LivingRoom/AirQuality/co2", LocalQoS::AtMostOnce)
        .await
        .expect("subscribe");
    next_local(&mut probe).await;

    let mut rules = b
        .handle()
        .subscribe_all(&["+/AirQuality/co2", "LivingRoom/#"], LocalQoS::AtLeastOnce)
        .await
        .expect("subscribe_all");
    let retained = next_local(&mut rules).await;
    assert!(retained.retain);
    assert_eq!(&*retained.payload, b"650");

    node.publish("LivingRoom/AirQuality/co2", QoS::AtLeastOnce, false, "1042")
        .await;
    // Sent after the reading by the same client: routed after it, and matching one filter.
    node.publish("LivingRoom/marker", QoS::AtLeastOnce, false, "")
        .await;
    let live = next_local(&mut rules).await;
    assert_eq!(&*live.payload, b"1042");
    // A message matching both filters arrives once.
    expect_nothing_before_local(&mut rules, "LivingRoom/marker").await;
}
