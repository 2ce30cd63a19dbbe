//! Persistent sessions (clean session 0): what survives the client's absence, what is re-sent
//! when it comes back, and the bounded queue's drop policy.

use crate::codec::ConnectReturnCode::Accepted;
use crate::codec::{Packet, Publish, QoS};
use crate::event::CloseReason;
use crate::settings::BrokerSettings;

use super::harness::{client, connack, payloads, persistent, publish, TestBroker, QOS};

/// How the first connection of a persistent session ends before the client returns.
#[derive(Debug, Clone, Copy)]
enum End {
    Lost,
    Disconnected,
    /// The client connects again while the first connection is still open.
    TakenOver,
}

#[test]
fn reconnecting_resends_unacknowledged_publishes_with_dup_and_pubrel_for_pubrec_ones() {
    for end in [End::Lost, End::Disconnected, End::TakenOver] {
        let b = TestBroker::new();
        let (mut sub, present) = b.connect(persistent("sess"));
        assert!(!present, "{end:?}: no session yet (MQTT-3.2.2-3)");
        sub.subscribe("q1", QoS::AtLeastOnce);
        sub.subscribe("q2", QoS::ExactlyOnce);
        b.local_publish("q1", "one", QoS::AtLeastOnce, false);
        b.local_publish("q2", "two", QoS::ExactlyOnce, false);
        b.local_publish("q2", "three", QoS::ExactlyOnce, false);
        assert_eq!(
            sub.publishes(),
            [
                publish("q1", "one", QoS::AtLeastOnce, 1),
                publish("q2", "two", QoS::ExactlyOnce, 2),
                publish("q2", "three", QoS::ExactlyOnce, 3),
            ],
            "{end:?}"
        );
        sub.send(Packet::Pubrec(2));
        assert_eq!(sub.drain(), [Packet::Pubrel(2)], "{end:?}");
        match end {
            End::Lost => sub.close(CloseReason::Io("connection reset".into())),
            End::Disconnected => sub.disconnect(),
            End::TakenOver => {}
        }

        let mut again = b.open(persistent("sess"));
        if let End::TakenOver = end {
            assert!(sub.is_aborted());
        }
        // MQTT-4.4.0-1: in the original order, with the original packet ids.
        let dup = |p: Publish| Packet::Publish(Publish { dup: true, ..p });
        assert_eq!(
            again.drain(),
            [
                connack(true, Accepted),
                dup(publish("q1", "one", QoS::AtLeastOnce, 1)),
                Packet::Pubrel(2),
                dup(publish("q2", "three", QoS::ExactlyOnce, 3)),
            ],
            "{end:?}"
        );
        again.send(Packet::Puback(1));
        again.send(Packet::Pubcomp(2));
        again.send(Packet::Pubrec(3));
        assert_eq!(again.drain(), [Packet::Pubrel(3)], "{end:?}");
        again.send(Packet::Pubcomp(3));
        assert_eq!(again.drain(), [], "{end:?}: nothing re-sent once complete");
    }
}

#[test]
fn an_offline_session_keeps_the_newest_max_queued_messages_and_counts_the_rest() {
    // (max_queued_messages, messages published while offline)
    let cases: [(usize, usize); 5] = [(5, 8), (5, 5), (1, 4), (3, 0), (0, 3)];
    for (max_queued, sent) in cases {
        let case = format!("max_queued_messages {max_queued}, {sent} sent");
        let b = TestBroker::with(BrokerSettings {
            max_inflight: 2,
            max_queued_messages: max_queued,
            ..Default::default()
        });
        let (mut sub, _) = b.connect(persistent("away"));
        sub.subscribe("q/t", QoS::AtLeastOnce);
        sub.disconnect();
        let mut publisher = b.client(client("pub"));
        for i in 0..sent {
            publisher.publish_acked("q/t", &i.to_string(), QoS::AtLeastOnce, false);
        }
        let dropped = sent.saturating_sub(max_queued);
        assert_eq!(b.dropped(), dropped as u64, "{case}: publish_dropped");

        let (mut sub, present) = b.connect(persistent("away"));
        assert!(present, "{case}");
        let got = sub.ack_all();
        let want: Vec<Publish> = (dropped..sent)
            .zip(1..)
            .map(|(i, pkid)| publish("q/t", &i.to_string(), QoS::AtLeastOnce, pkid))
            .collect();
        assert_eq!(got, want, "{case}: the newest, in order");
    }
}

#[test]
fn qos0_deliveries_are_not_stored_for_an_absent_client() {
    for sub_qos in QOS {
        for pub_qos in QOS {
            let case = format!("publish {pub_qos:?}, subscription {sub_qos:?}");
            let b = TestBroker::new();
            let (mut sub, _) = b.connect(persistent("away"));
            sub.subscribe("q/t", sub_qos);
            sub.close(CloseReason::PeerClosed);
            b.local_publish("q/t", "while away", pub_qos, false);

            let (mut sub, _) = b.connect(persistent("away"));
            let qos = pub_qos.min(sub_qos);
            let want: Vec<Publish> = if qos == QoS::AtMostOnce {
                vec![]
            } else {
                vec![publish("q/t", "while away", qos, 1)]
            };
            assert_eq!(sub.ack_all(), want, "{case}");
            assert_eq!(b.dropped(), 0, "{case}: not stored is not a drop");
        }
    }
}

#[test]
fn subscriptions_survive_a_reconnect_without_resubscribing() {
    let b = TestBroker::new();
    let (mut sub, _) = b.connect(persistent("keep"));
    sub.subscribe("s/keep", QoS::AtLeastOnce);
    sub.disconnect();
    let (mut sub, present) = b.connect(persistent("keep"));
    assert!(present);
    b.local_publish("s/keep", "live", QoS::AtLeastOnce, false);
    assert_eq!(
        sub.publishes(),
        [publish("s/keep", "live", QoS::AtLeastOnce, 1)]
    );
}

#[test]
fn a_clean_session_ends_with_its_connection_and_replaces_a_persistent_one() {
    let b = TestBroker::new();
    let (mut sub, _) = b.connect(persistent("id"));
    sub.subscribe("s/t", QoS::AtLeastOnce);
    sub.disconnect();
    b.local_publish("s/t", "queued", QoS::AtLeastOnce, false);

    // MQTT-3.1.2-6: clean session 1 discards the stored session.
    let (mut clean, present) = b.connect(client("id"));
    assert!(!present, "MQTT-3.2.2-1");
    assert_eq!(clean.drain(), [], "nothing queued is delivered");
    b.local_publish("s/t", "live", QoS::AtLeastOnce, false);
    assert_eq!(clean.drain(), [], "the old subscription is gone");
    clean.subscribe("s/t", QoS::AtLeastOnce);
    clean.disconnect();

    // Nor is the clean session kept after it ends.
    let (mut again, present) = b.connect(persistent("id"));
    assert!(!present, "the clean session was not kept");
    b.local_publish("s/t", "later", QoS::AtLeastOnce, false);
    assert_eq!(again.drain(), []);
}

#[test]
fn incoming_qos2_ids_survive_a_reconnect_of_a_persistent_session() {
    let b = TestBroker::new();
    let mut sub = b.client(client("sub"));
    sub.subscribe("in/t", QoS::AtMostOnce);
    let (mut publisher, _) = b.connect(persistent("pub"));
    let message = publish("in/t", "once", QoS::ExactlyOnce, 4);
    publisher.send(Packet::Publish(message.clone()));
    assert_eq!(publisher.drain(), [Packet::Pubrec(4)]);
    publisher.close(CloseReason::PeerClosed);

    // The publisher never saw PUBREC, so it sends the PUBLISH again (MQTT-4.4.0-1).
    let (mut publisher, present) = b.connect(persistent("pub"));
    assert!(present);
    publisher.send(Packet::Publish(Publish {
        dup: true,
        ..message
    }));
    assert_eq!(publisher.drain(), [Packet::Pubrec(4)]);
    publisher.send(Packet::Pubrel(4));
    assert_eq!(publisher.drain(), [Packet::Pubcomp(4)]);
    assert_eq!(payloads(&sub.publishes()), ["once"], "delivered once");
}

#[test]
fn the_store_count_adds_queued_and_in_flight_messages_of_every_session() {
    let b = TestBroker::with(BrokerSettings {
        max_inflight: 2,
        ..Default::default()
    });
    let (mut away, _) = b.connect(persistent("away"));
    away.subscribe("s/away", QoS::AtLeastOnce);
    away.disconnect();
    let mut here = b.client(client("here"));
    here.subscribe("s/here", QoS::AtLeastOnce);
    for _ in 0..3 {
        b.local_publish("s/away", "queued", QoS::AtLeastOnce, false);
        // Two in flight and one queued behind them.
        b.local_publish("s/here", "sent", QoS::AtLeastOnce, false);
    }
    assert_eq!(
        b.sys_value("$SYS/broker/store/messages/count").as_deref(),
        Some("6")
    );
    here.ack_all();
    assert_eq!(
        b.sys_value("$SYS/broker/store/messages/count").as_deref(),
        Some("3")
    );
}
