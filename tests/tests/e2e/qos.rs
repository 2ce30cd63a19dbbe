//! QoS delivery: granted QoS, ack flows in both directions, duplicates, order.

use tests::{
    encode, mqtt_options, start_broker, BrokerOptions, MqttClient, Packet, QoS, RawClient,
};

/// Publishes at `pub_qos` to a subscription at `sub_qos` with hand-checked
/// acks on both legs; delivery must be at min(pub_qos, sub_qos) (MQTT-3.8.4-6).
async fn delivered_at_min_qos(pub_qos: u8, sub_qos: u8) {
    let b = start_broker(BrokerOptions::default()).await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    assert_eq!(sub.subscribe("m/t", sub_qos).await, sub_qos, "granted QoS");
    let mut publ = RawClient::connect(b.addr(), "pub").await;

    // Publisher leg: PUBACK for QoS 1 (MQTT-4.3.2-2), PUBREC then PUBCOMP for
    // QoS 2 (MQTT-4.3.3-2).
    publ.send(&encode::publish("m/t", b"matrix", pub_qos, false, false, 7))
        .await;
    match pub_qos {
        1 => assert_eq!(publ.recv().await, Packet::PubAck(7)),
        2 => {
            assert_eq!(publ.recv().await, Packet::PubRec(7));
            publ.send(&encode::pubrel(7)).await;
            assert_eq!(publ.recv().await, Packet::PubComp(7));
        }
        _ => {}
    }

    // Subscriber leg: the server drives the same flows towards the client.
    let p = sub.recv_publish().await;
    assert_eq!((p.topic.as_str(), p.payload_str()), ("m/t", "matrix"));
    assert_eq!(p.qos, pub_qos.min(sub_qos), "delivered QoS (MQTT-3.8.4-6)");
    assert!(
        !p.dup && !p.retain,
        "first live delivery: DUP=0, RETAIN=0 (MQTT-3.3.1-9)"
    );
    match p.qos {
        1 => sub.send(&encode::puback(p.pkid)).await,
        2 => {
            sub.send(&encode::pubrec(p.pkid)).await;
            assert_eq!(
                sub.recv().await,
                Packet::PubRel(p.pkid),
                "PUBREL (MQTT-4.3.3-1)"
            );
            sub.send(&encode::pubcomp(p.pkid)).await;
        }
        _ => {}
    }
    // No retry or duplicate once the flow has completed.
    tokio::join!(
        sub.expect_nothing_before_marker(),
        publ.expect_nothing_before_marker()
    );
}

macro_rules! qos_matrix {
    ($($name:ident: $pub_qos:expr, $sub_qos:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            delivered_at_min_qos($pub_qos, $sub_qos).await;
        }
    )*};
}

qos_matrix! {
    publish_qos0_to_sub_qos0_delivers_qos0: 0, 0;
    publish_qos0_to_sub_qos1_delivers_qos0: 0, 1;
    publish_qos0_to_sub_qos2_delivers_qos0: 0, 2;
    publish_qos1_to_sub_qos0_delivers_qos0: 1, 0;
    publish_qos1_to_sub_qos1_delivers_qos1: 1, 1;
    publish_qos1_to_sub_qos2_delivers_qos1: 1, 2;
    publish_qos2_to_sub_qos0_delivers_qos0: 2, 0;
    publish_qos2_to_sub_qos1_delivers_qos1: 2, 1;
    publish_qos2_to_sub_qos2_delivers_qos2: 2, 2;
}

// MQTT-4.3.3-2: a QoS 2 PUBLISH resent with DUP before PUBREL must not be
// delivered twice, whether the server stores the message or only its id.
#[tokio::test]
async fn qos2_duplicate_publish_before_pubrel_is_delivered_once() {
    let b = start_broker(BrokerOptions::default()).await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    sub.subscribe("m/once", 2).await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;

    publ.send(&encode::publish("m/once", b"x", 2, false, false, 9))
        .await;
    assert_eq!(publ.recv().await, Packet::PubRec(9));
    publ.send(&encode::publish("m/once", b"x", 2, false, true, 9))
        .await;
    assert_eq!(
        publ.recv().await,
        Packet::PubRec(9),
        "PUBREC again for the resend"
    );
    publ.send(&encode::pubrel(9)).await;
    assert_eq!(publ.recv().await, Packet::PubComp(9));

    let got = sub.collect_before_marker().await;
    assert_eq!(got.len(), 1, "delivered {} times: {got:?}", got.len());
}

// MQTT-4.6.0-6: a topic is ordered by default; QoS 1 keeps publish order.
#[tokio::test]
async fn qos1_order_is_preserved_for_1000_messages() {
    let b = start_broker(BrokerOptions::default()).await;
    let (mut sub, _) = MqttClient::connect(mqtt_options(b.addr(), "sub")).await;
    sub.subscribe("m/seq", QoS::AtLeastOnce).await;
    let (publ, _) = MqttClient::connect(mqtt_options(b.addr(), "pub")).await;
    for i in 0..1000 {
        publ.publish("m/seq", QoS::AtLeastOnce, false, i.to_string())
            .await;
    }
    let got: Vec<String> = sub
        .collect(1000)
        .await
        .iter()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect();
    let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(got.len(), 1000, "received {} of 1000", got.len());
    assert_eq!(got, want, "order");
}

// MQTT-3.3.5-1: with overlapping subscriptions the message is delivered at
// the maximum granted QoS. A server may send one copy or one per subscription
// (Mosquitto sends two).
#[tokio::test]
async fn overlapping_subscriptions_deliver_at_maximum_qos() {
    let b = start_broker(BrokerOptions::default()).await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    assert_eq!(
        sub.subscribe_many(&[("a/#", 0), ("a/b", 2)]).await,
        vec![0, 2]
    );
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("a/b", "both", 2, false).await;

    let got = sub.collect_before_marker().await;
    println!(
        "broker sent {} copies for overlapping subscriptions",
        got.len()
    );
    assert!((1..=2).contains(&got.len()), "copies: {got:?}");
    assert!(
        got.iter().all(|p| p.topic == "a/b" && p.payload == b"both"),
        "{got:?}"
    );
    assert!(got.iter().any(|p| p.qos == 2), "no copy at QoS 2: {got:?}");
}
