//! Flow control (4.9) and packet sizes: the broker keeps within the client's Receive Maximum
//! and Maximum Packet Size, and holds clients to its own.

use broker::codec::v5::{
    Connect, ConnectProperties, DisconnectReason, Packet, PubAckReason, Publish, QoS,
};
use tests::raw5::{self, Raw5Client};
use tests::{start_broker, BrokerOptions};

use super::{broker, bystander, expect_bystander_served};

/// The PUBLISHes among `packets`, which must hold nothing else.
fn publishes(packets: Vec<Packet>) -> Vec<Publish> {
    packets
        .into_iter()
        .map(|p| match p {
            Packet::Publish(p) => p,
            other => panic!("expected only PUBLISH, got {other:?}"),
        })
        .collect()
}

fn payloads(got: &[Publish]) -> Vec<&str> {
    got.iter().map(raw5::text).collect()
}

// MQTT-3.3.4-9, 4.9: the server sends no more than the client's Receive Maximum of QoS 1
// PUBLISHes it has not acknowledged; each PUBACK lets one more through. The PINGRESP is the
// marker here: a QoS 1 marker would be held back by the very quota under test, while the
// PINGRESP comes behind whatever the broker was willing to send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_sends_at_most_the_clients_receive_maximum_unacknowledged() {
    let b = broker().await;
    let connect = Connect {
        properties: ConnectProperties {
            receive_maximum: Some(2),
            ..ConnectProperties::default()
        },
        ..raw5::connect("slow")
    };
    let (mut slow, _) = Raw5Client::connect_with(b.addr(), &connect).await;
    slow.subscribe("flow/#", QoS::AtLeastOnce).await;

    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    for i in 1..=5 {
        // Acknowledged to the publisher: routed to the slow client's session.
        publisher
            .publish("flow/t", i.to_string(), QoS::AtLeastOnce, false)
            .await;
    }

    let mut got = vec![slow.recv_publish().await, slow.recv_publish().await];
    let more = publishes(slow.packets_before_pingresp().await);
    assert!(
        more.is_empty(),
        "Receive Maximum 2: a third PUBLISH before any PUBACK (MQTT-3.3.4-9): {:?}",
        payloads(&more)
    );
    let mut acked = 0;
    while acked < 5 {
        slow.send_packet(&raw5::puback(got[acked].pkid)).await;
        acked += 1;
        if got.len() < 5 {
            got.push(slow.recv_publish().await);
        }
        let more = publishes(slow.packets_before_pingresp().await);
        assert!(
            more.is_empty(),
            "after {acked} PUBACKs, more than {} PUBLISHes: {:?}",
            got.len(),
            payloads(&more)
        );
    }
    assert_eq!(payloads(&got), ["1", "2", "3", "4", "5"], "all, in order");
    assert!(got.iter().all(|p| p.qos == QoS::AtLeastOnce));
}

// MQTT-3.3.4-7, 3.3.4: a client that sends more QoS 2 PUBLISHes than the broker's Receive
// Maximum without completing them gets DISCONNECT 0x93 (Receive Maximum exceeded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_exceeding_the_brokers_receive_maximum_gets_disconnect_0x93() {
    let b = broker().await;
    let mut bystander = bystander(&b).await;
    let (mut flood, ack) = Raw5Client::connect(b.addr(), "flood").await;
    let receive_maximum = ack
        .properties
        .receive_maximum
        .expect("the broker's Receive Maximum in CONNACK");
    assert_eq!(receive_maximum, 20, "the default max_inflight");
    for _ in 0..=receive_maximum {
        let pkid = flood.next_pkid();
        let m = Publish {
            pkid,
            ..raw5::message("flood/t", "x", QoS::ExactlyOnce, false)
        };
        // Never followed by PUBREL: each stays unacknowledged by PUBCOMP.
        let _ = flood.try_send(&raw5::encode(&Packet::Publish(m))).await;
    }
    let (before, disconnect) = flood.expect_disconnect_after().await;
    assert_eq!(
        disconnect.reason,
        DisconnectReason::ReceiveMaximumExceeded,
        "DISCONNECT after {receive_maximum} + 1 unfinished QoS 2 PUBLISHes; before it: {before:?}"
    );
    let pubrecs = before
        .iter()
        .filter(|p| matches!(p, Packet::Pubrec(r) if r.reason == PubAckReason::Success || r.reason == PubAckReason::NoMatchingSubscribers))
        .count();
    assert!(
        pubrecs <= usize::from(receive_maximum),
        "PUBREC for at most the {receive_maximum} allowed: {before:?}"
    );
    expect_bystander_served(&b, &mut bystander).await;
}

// MQTT-3.1.2-24, MQTT-3.1.2-25: the server does not send a client a packet larger than the
// Maximum Packet Size it asked for; it drops that message for that client only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_larger_than_the_clients_maximum_packet_size_is_not_sent_to_it() {
    let b = broker().await;
    let connect = Connect {
        properties: ConnectProperties {
            maximum_packet_size: Some(256),
            ..ConnectProperties::default()
        },
        ..raw5::connect("small")
    };
    let (mut small, _) = Raw5Client::connect_with(b.addr(), &connect).await;
    small.subscribe("size/#", QoS::AtLeastOnce).await;
    let (mut large, _) = Raw5Client::connect(b.addr(), "large").await;
    large.subscribe("size/#", QoS::AtLeastOnce).await;

    let big = "x".repeat(1000);
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "pub").await;
    publisher
        .publish("size/big", &big, QoS::AtLeastOnce, false)
        .await;
    publisher
        .publish("size/small", "fits", QoS::AtLeastOnce, false)
        .await;

    // Raw5Client also fails on any packet above the size it sent (MQTT-3.1.2-24).
    assert_eq!(
        small.received_before_marker().await,
        [("size/small".to_owned(), "fits".to_owned())],
        "the 1,000-byte message was dropped for this client only"
    );
    let got = large.received_before_marker().await;
    let topics: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(topics, ["size/big", "size/small"]);
    assert_eq!(got[0].1, big);
}

// 3.2.2.3.6: a client's packet above the broker's Maximum Packet Size gets DISCONNECT 0x95
// (Packet too large).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_above_the_brokers_maximum_packet_size_gets_disconnect_0x95() {
    let b = start_broker(BrokerOptions {
        max_packet_size: 4096,
        ..BrokerOptions::default()
    })
    .await;
    let mut bystander = bystander(&b).await;
    let (mut c, ack) = Raw5Client::connect(b.addr(), "too-big").await;
    assert_eq!(ack.properties.maximum_packet_size, Some(4096));
    let m = raw5::message("size/t", "x".repeat(5000), QoS::AtLeastOnce, false);
    let _ = c
        .try_send(&raw5::encode(&Packet::Publish(Publish { pkid: 1, ..m })))
        .await;
    assert_eq!(
        c.expect_disconnect().await,
        DisconnectReason::PacketTooLarge
    );
    expect_bystander_served(&b, &mut bystander).await;
}
