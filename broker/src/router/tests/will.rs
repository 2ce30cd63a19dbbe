//! Last Will: published when a connection ends without DISCONNECT (MQTT-3.1.2-8), never after
//! one (MQTT-3.1.2-10), at its own QoS and retain flag.

use crate::codec::{Publish, QoS};
use crate::event::CloseReason;

use super::harness::{client, payloads, publish, with_will, TestBroker, QOS};

#[test]
fn the_will_is_published_on_every_end_but_disconnect() {
    let cases = [
        (CloseReason::PeerClosed, true),
        (CloseReason::KeepAliveExpired, true),
        (
            CloseReason::ProtocolError(
                crate::codec::v5::DisconnectReason::MalformedPacket,
                "reserved flags".into(),
            ),
            true,
        ),
        (CloseReason::Io("connection reset".into()), true),
        (CloseReason::WriterClosed, true),
        (CloseReason::disconnected(), false),
    ];
    for clean_session in [true, false] {
        for (reason, published) in cases.clone() {
            let case = format!("{reason}, clean session {clean_session}");
            let b = TestBroker::new();
            let mut observer = b.client(client("observer"));
            observer.subscribe("will/#", QoS::AtMostOnce);
            let mut c = b.client(crate::codec::Connect {
                clean_session,
                ..with_will("w", "will/w", "gone", QoS::AtMostOnce, false)
            });

            c.close(reason);
            assert!(
                c.is_closed(),
                "{case}: the writer is told to flush and close"
            );
            let want = if published {
                vec![publish("will/w", "gone", QoS::AtMostOnce, 0)]
            } else {
                vec![]
            };
            assert_eq!(observer.publishes(), want, "{case}");

            // The connection is gone: a second report of its end publishes nothing.
            c.close(CloseReason::PeerClosed);
            assert_eq!(observer.drain(), [], "{case}: second report");
        }
    }
}

#[test]
fn a_retained_will_is_stored_for_later_subscribers() {
    let b = TestBroker::new();
    let mut observer = b.client(client("observer"));
    observer.subscribe("will/r", QoS::AtLeastOnce);
    let c = b.client(with_will("w", "will/r", "bye", QoS::AtLeastOnce, true));
    c.close(CloseReason::KeepAliveExpired);
    // Live subscribers see RETAIN clear (MQTT-3.3.1-9) ...
    assert_eq!(
        observer.ack_all(),
        [publish("will/r", "bye", QoS::AtLeastOnce, 1)]
    );
    // ... and a new subscription gets the stored will with RETAIN set (MQTT-3.1.2-17).
    let mut later = b.client(client("later"));
    later.subscribe("will/r", QoS::AtLeastOnce);
    assert_eq!(
        later.ack_all(),
        [Publish {
            retain: true,
            ..publish("will/r", "bye", QoS::AtLeastOnce, 1)
        }]
    );
}

#[test]
fn the_will_is_delivered_at_the_lower_of_will_and_subscription_qos() {
    for will_qos in QOS {
        for sub_qos in QOS {
            let b = TestBroker::new();
            let mut observer = b.client(client("observer"));
            observer.subscribe("will/q", sub_qos);
            let c = b.client(with_will("w", "will/q", "q", will_qos, false));
            c.close(CloseReason::PeerClosed);
            let qos = will_qos.min(sub_qos);
            let pkid = if qos == QoS::AtMostOnce { 0 } else { 1 };
            assert_eq!(
                observer.ack_all(),
                [publish("will/q", "q", qos, pkid)],
                "will {will_qos:?}, subscription {sub_qos:?}"
            );
        }
    }
}

#[test]
fn shutdown_publishes_the_wills_still_due_then_closes_every_connection() {
    let b = TestBroker::new();
    let mut observer = b.client(client("observer"));
    observer.subscribe("will/#", QoS::AtLeastOnce);
    let mut a = b.client(with_will("a", "will/a", "a", QoS::AtLeastOnce, false));
    let left = b.client(with_will(
        "left",
        "will/left",
        "left",
        QoS::AtLeastOnce,
        false,
    ));
    left.disconnect();
    let mut c = b.client(with_will("c", "will/c", "c", QoS::AtMostOnce, false));

    b.shutdown();
    let mut got = payloads(&observer.publishes());
    got.sort();
    assert_eq!(got, ["a", "c"], "the wills of clients still connected");
    assert!(observer.is_closed() && a.is_closed() && c.is_closed());
}
