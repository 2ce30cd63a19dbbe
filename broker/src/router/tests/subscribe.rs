//! SUBSCRIBE and UNSUBSCRIBE: codes granted, and what a subscription then receives.

use crate::codec::{Packet, QoS, Suback, SubackCode, Subscribe, Unsubscribe};

use super::harness::{client, publish, TestBroker, QOS};

#[test]
fn suback_grants_the_requested_qos_and_refuses_bad_filters() {
    let b = TestBroker::new();
    let mut c = b.client(client("c"));
    c.send(Packet::Subscribe(Subscribe {
        pkid: 5,
        filters: vec![
            ("a/#".into(), QoS::AtMostOnce),
            ("a/#/b".into(), QoS::AtLeastOnce),
            ("+/b".into(), QoS::AtLeastOnce),
            ("a+".into(), QoS::ExactlyOnce),
            ("c".into(), QoS::ExactlyOnce),
            (String::new(), QoS::AtMostOnce),
        ],
    }));
    assert_eq!(
        c.drain(),
        [Packet::Suback(Suback {
            pkid: 5,
            codes: vec![
                SubackCode::Granted(QoS::AtMostOnce),
                SubackCode::Failure,
                SubackCode::Granted(QoS::AtLeastOnce),
                SubackCode::Failure,
                SubackCode::Granted(QoS::ExactlyOnce),
                SubackCode::Failure,
            ],
        })]
    );
    // The granted filters deliver, each once.
    b.local_publish("z/b", "x", QoS::AtMostOnce, false);
    b.local_publish("c", "y", QoS::AtMostOnce, false);
    assert_eq!(
        c.publishes(),
        [
            publish("z/b", "x", QoS::AtMostOnce, 0),
            publish("c", "y", QoS::AtMostOnce, 0)
        ]
    );
}

#[test]
fn unsubscribe_is_acknowledged_and_stops_delivery() {
    for qos in QOS {
        let b = TestBroker::new();
        let mut c = b.client(client("c"));
        c.subscribe("u/t", qos);
        c.subscribe("u/other", qos);
        // MQTT-3.10.4-5: UNSUBACK even when there was nothing to remove.
        c.send(Packet::Unsubscribe(Unsubscribe {
            pkid: 9,
            filters: vec!["u/t".into(), "never/subscribed".into()],
        }));
        assert_eq!(c.drain(), [Packet::Unsuback(9)], "{qos:?}");
        b.local_publish("u/t", "gone", qos, false);
        b.local_publish("u/other", "kept", qos, false);
        let got = c.ack_all();
        assert_eq!(got.len(), 1, "{qos:?}: {got:?}");
        assert_eq!((got[0].topic.as_str(), got[0].qos), ("u/other", qos));
    }
}

#[test]
fn resubscribing_replaces_the_granted_qos() {
    let b = TestBroker::new();
    let mut c = b.client(client("c"));
    assert_eq!(
        c.subscribe("r/t", QoS::ExactlyOnce),
        SubackCode::Granted(QoS::ExactlyOnce)
    );
    assert_eq!(
        c.subscribe("r/t", QoS::AtMostOnce),
        SubackCode::Granted(QoS::AtMostOnce)
    );
    b.local_publish("r/t", "x", QoS::ExactlyOnce, false);
    assert_eq!(
        c.publishes(),
        [publish("r/t", "x", QoS::AtMostOnce, 0)],
        "one copy, at QoS 0"
    );
    c.unsubscribe("r/t");
    b.local_publish("r/t", "y", QoS::ExactlyOnce, false);
    assert_eq!(c.drain(), []);
}
