//! QoS: the delivered level, the in-flight window and its acknowledgements, and incoming
//! QoS 2 delivered once.

use crate::codec::{Packet, Publish, QoS};
use crate::settings::BrokerSettings;

use super::harness::{client, payloads, publish, TestBroker, QOS};

fn window(max_inflight: usize) -> TestBroker {
    TestBroker::with(BrokerSettings {
        max_inflight,
        ..Default::default()
    })
}

#[test]
fn delivery_is_at_the_lower_of_publish_and_subscription_qos() {
    for pub_qos in QOS {
        for sub_qos in QOS {
            let case = format!("publish {pub_qos:?}, subscription {sub_qos:?}");
            let b = TestBroker::new();
            let mut sub = b.client(client("sub"));
            sub.subscribe("m/t", sub_qos);
            let mut publisher = b.client(client("pub"));
            // Checks PUBACK, or PUBREC and PUBCOMP, on the publisher's side.
            publisher.publish_acked("m/t", "matrix", pub_qos, false);

            let qos = pub_qos.min(sub_qos);
            let pkid = if qos == QoS::AtMostOnce { 0 } else { 1 };
            let want = Packet::Publish(publish("m/t", "matrix", qos, pkid));
            assert_eq!(sub.drain(), [want], "{case}");
            // The subscriber's side of the flow, then nothing more.
            match qos {
                QoS::AtMostOnce => {}
                QoS::AtLeastOnce => sub.send(Packet::Puback(pkid)),
                QoS::ExactlyOnce => {
                    sub.send(Packet::Pubrec(pkid));
                    assert_eq!(sub.drain(), [Packet::Pubrel(pkid)], "{case}");
                    sub.send(Packet::Pubcomp(pkid));
                }
            }
            assert_eq!(sub.drain(), [], "{case}");
            assert_eq!(publisher.drain(), [], "{case}");
        }
    }
}

#[test]
fn overlapping_subscriptions_deliver_one_copy_at_the_highest_qos() {
    let b = TestBroker::new();
    let mut sub = b.client(client("sub"));
    sub.subscribe("a/#", QoS::AtMostOnce);
    sub.subscribe("a/b", QoS::ExactlyOnce);
    b.local_publish("a/b", "both", QoS::ExactlyOnce, false);
    assert_eq!(
        sub.publishes(),
        [publish("a/b", "both", QoS::ExactlyOnce, 1)]
    );
}

#[test]
fn at_most_max_inflight_qos1_messages_are_unacknowledged() {
    let b = window(3);
    let mut sub = b.client(client("sub"));
    sub.subscribe("w/t", QoS::AtLeastOnce);
    for i in 0..5 {
        b.local_publish("w/t", &i.to_string(), QoS::AtLeastOnce, false);
    }
    let q1 = |payload: &str, pkid| publish("w/t", payload, QoS::AtLeastOnce, pkid);
    assert_eq!(sub.publishes(), [q1("0", 1), q1("1", 2), q1("2", 3)]);

    // Any acknowledged slot lets the next message out, in publish order.
    sub.send(Packet::Puback(2));
    assert_eq!(sub.publishes(), [q1("3", 4)]);
    sub.send(Packet::Puback(2));
    assert_eq!(sub.drain(), [], "a repeated PUBACK frees nothing");
    sub.send(Packet::Puback(1));
    assert_eq!(sub.publishes(), [q1("4", 5)]);
    for pkid in [3, 4, 5] {
        sub.send(Packet::Puback(pkid));
    }
    assert_eq!(sub.drain(), []);
}

#[test]
fn a_qos2_slot_is_freed_by_pubcomp_after_pubrec_and_pubrel() {
    let b = window(2);
    let mut sub = b.client(client("sub"));
    sub.subscribe("w/t", QoS::ExactlyOnce);
    for i in 0..3 {
        b.local_publish("w/t", &i.to_string(), QoS::ExactlyOnce, false);
    }
    let q2 = |payload: &str, pkid| publish("w/t", payload, QoS::ExactlyOnce, pkid);
    assert_eq!(sub.publishes(), [q2("0", 1), q2("1", 2)]);

    sub.send(Packet::Pubrec(1));
    assert_eq!(sub.drain(), [Packet::Pubrel(1)], "MQTT-4.3.3-1");
    sub.send(Packet::Pubrec(1));
    assert_eq!(
        sub.drain(),
        [Packet::Pubrel(1)],
        "a repeated PUBREC is answered again"
    );
    sub.send(Packet::Pubcomp(1));
    assert_eq!(sub.publishes(), [q2("2", 3)]);
}

#[test]
fn acknowledgements_of_the_wrong_kind_free_no_slot() {
    // (subscription QoS, acknowledgements that must not complete packet id 1)
    let cases = [
        (
            QoS::AtLeastOnce,
            vec![Packet::Pubrec(1), Packet::Pubcomp(1), Packet::Puback(7)],
        ),
        (
            QoS::ExactlyOnce,
            vec![Packet::Puback(1), Packet::Pubcomp(1), Packet::Pubrec(7)],
        ),
    ];
    for (qos, wrong) in cases {
        let b = window(1);
        let mut sub = b.client(client("sub"));
        sub.subscribe("w/t", qos);
        b.local_publish("w/t", "first", qos, false);
        b.local_publish("w/t", "second", qos, false);
        assert_eq!(sub.publishes(), [publish("w/t", "first", qos, 1)]);
        for ack in wrong {
            let name = format!("{qos:?} then {ack:?}");
            sub.send(ack);
            assert_eq!(sub.drain(), [], "{name}");
        }
        // The right flow still completes it, and lets the queued message out.
        if qos == QoS::AtLeastOnce {
            sub.send(Packet::Puback(1));
        } else {
            sub.send(Packet::Pubrec(1));
            assert_eq!(sub.drain(), [Packet::Pubrel(1)]);
            sub.send(Packet::Pubcomp(1));
        }
        assert_eq!(
            sub.publishes(),
            [publish("w/t", "second", qos, 2)],
            "{qos:?}"
        );
    }
}

#[test]
fn a_qos2_publish_resent_before_pubrel_is_acknowledged_but_delivered_once() {
    let b = TestBroker::new();
    let mut sub = b.client(client("sub"));
    sub.subscribe("m/once", QoS::ExactlyOnce);
    let mut publisher = b.client(client("pub"));
    let first = publish("m/once", "x", QoS::ExactlyOnce, 9);

    publisher.send(Packet::Publish(first.clone()));
    assert_eq!(publisher.drain(), [Packet::Pubrec(9)]);
    publisher.send(Packet::Publish(Publish {
        dup: true,
        ..first.clone()
    }));
    assert_eq!(publisher.drain(), [Packet::Pubrec(9)], "PUBREC again");
    assert_eq!(payloads(&sub.ack_all()), ["x"], "delivered once");

    publisher.send(Packet::Pubrel(9));
    assert_eq!(publisher.drain(), [Packet::Pubcomp(9)]);
    // Released, the id may carry a new message.
    publisher.send(Packet::Publish(Publish {
        payload: "y".into(),
        ..first
    }));
    assert_eq!(publisher.drain(), [Packet::Pubrec(9)]);
    assert_eq!(payloads(&sub.ack_all()), ["y"]);
}

#[test]
fn qos0_beyond_the_outbox_limit_is_dropped_for_a_client_not_reading() {
    let b = TestBroker::with(BrokerSettings {
        max_queued_messages: 3,
        ..Default::default()
    });
    let mut sub = b.client(client("slow"));
    sub.subscribe("fast/t", QoS::AtMostOnce);
    for i in 0..5 {
        b.local_publish("fast/t", &i.to_string(), QoS::AtMostOnce, false);
    }
    assert_eq!(b.dropped(), 2);
    assert_eq!(payloads(&sub.publishes()), ["0", "1", "2"]);
    // Once written, there is room again.
    b.local_publish("fast/t", "5", QoS::AtMostOnce, false);
    assert_eq!(payloads(&sub.publishes()), ["5"]);
    assert_eq!(b.dropped(), 2);
}

#[test]
fn a_connected_client_slow_to_acknowledge_loses_the_oldest_queued_messages() {
    let b = TestBroker::with(BrokerSettings {
        max_inflight: 2,
        max_queued_messages: 3,
        ..Default::default()
    });
    let mut sub = b.client(client("slow"));
    sub.subscribe("fast/t", QoS::AtLeastOnce);
    for i in 0..8 {
        b.local_publish("fast/t", &i.to_string(), QoS::AtLeastOnce, false);
    }
    // Two in flight, the newest three queued, three dropped.
    assert_eq!(b.dropped(), 3);
    assert_eq!(payloads(&sub.ack_all()), ["0", "1", "5", "6", "7"]);
}
