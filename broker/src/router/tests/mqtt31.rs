//! MQTT 3.1 (protocol name `MQIsdp`) where it differs from 3.1.1: no session present flag in
//! CONNACK, no failure code in SUBACK (client id rules are in `connect.rs`).

use crate::codec::ConnectReturnCode::Accepted;
use crate::codec::{Connect, Packet, Protocol, QoS, Suback, SubackCode, Subscribe};
use crate::settings::BrokerSettings;

use super::harness::{connack, persistent, publish, TestBroker};

fn v31(connect: Connect) -> Connect {
    Connect {
        protocol: Protocol::V31,
        ..connect
    }
}

#[test]
fn a_resumed_3_1_session_is_acknowledged_without_session_present() {
    let b = TestBroker::new();
    let mut first = b.client(v31(persistent("node")));
    first.subscribe("cmd/node", QoS::AtLeastOnce);
    first.disconnect();
    b.local_publish("cmd/node", "on", QoS::AtLeastOnce, false);

    let mut again = b.open(v31(persistent("node")));
    // 3.1's CONNACK has a reserved byte where 3.1.1 has session present.
    assert_eq!(again.next(), Some(connack(false, Accepted)));
    // The session was resumed all the same: what was queued comes.
    assert_eq!(
        again.publishes(),
        [publish("cmd/node", "on", QoS::AtLeastOnce, 1)]
    );

    // 3.1.1 says so.
    let modern = b.client(persistent("modern"));
    modern.disconnect();
    let (_modern, present) = b.connect(persistent("modern"));
    assert!(present);
}

#[test]
fn a_refused_3_1_filter_is_granted_its_qos_in_suback_but_not_subscribed() {
    let b = TestBroker::with(BrokerSettings {
        max_topic_levels: 3,
        ..Default::default()
    });
    let mut c = b.client(v31(persistent("old")));
    c.send(Packet::Subscribe(Subscribe {
        pkid: 9,
        filters: vec![
            ("a/b/c/d".into(), QoS::AtLeastOnce),
            ("a/#/b".into(), QoS::ExactlyOnce),
            ("ok/+".into(), QoS::AtMostOnce),
        ],
    }));
    // No 0x80 in 3.1: Mosquitto answers a refused 3.1 filter with the QoS asked for.
    assert_eq!(
        c.drain(),
        [Packet::Suback(Suback {
            pkid: 9,
            codes: vec![
                SubackCode::Granted(QoS::AtLeastOnce),
                SubackCode::Granted(QoS::ExactlyOnce),
                SubackCode::Granted(QoS::AtMostOnce),
            ],
        })]
    );
    b.local_publish("a/b/c/d", "deep", QoS::AtMostOnce, false);
    b.local_publish("ok/1", "fine", QoS::AtMostOnce, false);
    assert_eq!(c.publishes(), [publish("ok/1", "fine", QoS::AtMostOnce, 0)]);
}
