//! MQTT 5 clients connecting: what CONNACK says, session expiry and clean start, takeover and
//! shutdown told with DISCONNECT, and wills with their properties.

use std::time::Duration;

use super::harness::{client, TestBroker};
use super::harness5::{connect5, lasting5, options};
use crate::codec::v5::{DisconnectReason, Packet, SubackReason, Will, WillProperties};
use crate::codec::QoS;
use crate::event::{CloseReason, Goodbye};
use crate::settings::BrokerSettings;

#[test]
fn connack_says_what_the_broker_allows() {
    let broker = TestBroker::new();
    let (_c, connack) = broker.client5(connect5("node"));
    let p = connack.properties;
    assert_eq!(p.receive_maximum, Some(20), "max_inflight");
    assert_eq!(p.topic_alias_maximum, Some(10));
    assert_eq!(p.maximum_packet_size, Some(1024 * 1024), "max_packet_size");
    assert_eq!(
        p.subscription_identifiers_available, None,
        "Subscription Identifiers are available"
    );
    assert_eq!(
        p.shared_subscription_available, None,
        "shared subscriptions are available"
    );
    assert_eq!(p.maximum_qos, None, "QoS 2 is available");
    assert_eq!(p.retain_available, None, "retain is available");
    assert_eq!(
        p.assigned_client_identifier, None,
        "the client named itself"
    );
    assert_eq!(p.session_expiry_interval, None, "0 was asked and granted");
}

#[test]
fn an_empty_client_id_is_assigned_even_for_a_lasting_session() {
    let broker = TestBroker::new();
    let (mut c, connack) = broker.client5(lasting5("", 300));
    let id = connack
        .properties
        .assigned_client_identifier
        .expect("assigned id in CONNACK");
    assert!(id.starts_with("hearth-"), "{id}");
    assert_eq!(
        c.subscribe5("a", options(QoS::AtLeastOnce)),
        SubackReason::GrantedQos1
    );
    c.disconnect();
    let (_again, connack) = broker.client5(lasting5(&id, 300));
    assert!(connack.session_present, "resumable under the assigned id");
}

#[test]
fn an_expiry_beyond_the_brokers_is_lowered_and_said() {
    let broker = TestBroker::with(BrokerSettings {
        session_expiry: Some(Duration::from_secs(3600)),
        ..BrokerSettings::default()
    });
    let (_c, connack) = broker.client5(lasting5("node", u32::MAX));
    assert_eq!(connack.properties.session_expiry_interval, Some(3600));
    let (_d, connack) = broker.client5(lasting5("other", 60));
    assert_eq!(
        connack.properties.session_expiry_interval, None,
        "60 s granted"
    );
}

#[test]
fn a_session_expiry_of_zero_ends_the_session_with_its_connection() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(lasting5("node", 0));
    c.subscribe5("a/#", options(QoS::AtLeastOnce));
    c.disconnect();
    let (_c, connack) = broker.client5(lasting5("node", 0));
    assert!(!connack.session_present);
    assert!(broker.client_ids().contains(&"node".to_string()));
}

#[test]
fn a_lasting_session_keeps_its_subscriptions_and_messages_while_away() {
    let broker = TestBroker::new();
    let (mut node, _) = broker.client5(lasting5("node", 600));
    node.subscribe5("node/set", options(QoS::AtLeastOnce));
    node.disconnect();
    let mut phone = broker.client(client("phone"));
    phone.publish_acked("node/set", "ON", QoS::AtLeastOnce, false);
    let (mut node, connack) = broker.client5(lasting5("node", 600));
    assert!(connack.session_present);
    let got = node.publishes_v5();
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].payload[..], b"ON");
}

#[test]
fn clean_start_discards_a_lasting_session() {
    let broker = TestBroker::new();
    let (mut node, _) = broker.client5(lasting5("node", 600));
    node.subscribe5("node/set", options(QoS::AtLeastOnce));
    node.disconnect();
    let connect = crate::codec::v5::Connect {
        clean_start: true,
        ..lasting5("node", 600)
    };
    let (_node, connack) = broker.client5(connect);
    assert!(!connack.session_present);
}

#[test]
fn a_disconnect_may_end_the_session_or_keep_it_longer() {
    let broker = TestBroker::new();
    let (node, _) = broker.client5(lasting5("node", 600));
    node.close(CloseReason::Disconnected(Goodbye {
        with_will: false,
        session_expiry: Some(0),
    }));
    let (node, connack) = broker.client5(lasting5("node", 600));
    assert!(!connack.session_present, "DISCONNECT set 0: ended");

    node.close(CloseReason::Disconnected(Goodbye {
        with_will: false,
        session_expiry: Some(7200),
    }));
    broker.expire_sessions_after(Duration::from_secs(30 * 24 * 3600));
    let (_node, connack) = broker.client5(lasting5("node", 600));
    assert!(connack.session_present);
}

#[test]
fn a_session_whose_expiry_passed_is_not_resumed() {
    let broker = TestBroker::new();
    let (node, _) = broker.client5(lasting5("node", 1));
    node.disconnect();
    // The session's client went away in the current second; with a zero expiry in force the
    // sweep takes it.
    broker.expire_sessions_after(Duration::ZERO);
    let (_node, connack) = broker.client5(lasting5("node", 1));
    assert!(!connack.session_present);
}

#[test]
fn a_taken_over_client_is_told_why_and_closed() {
    let broker = TestBroker::new();
    let (mut first, _) = broker.client5(connect5("node"));
    let (_second, _) = broker.client5(connect5("node"));
    match first.next_v5() {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason, DisconnectReason::SessionTakenOver),
        other => panic!("DISCONNECT 0x8E expected, got {other:?}"),
    }
    assert!(first.is_closed());
}

#[test]
fn shutting_down_tells_mqtt5_clients() {
    let broker = TestBroker::new();
    let (mut c, _) = broker.client5(connect5("node"));
    broker.shutdown();
    match c.next_v5() {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason, DisconnectReason::ServerShuttingDown),
        other => panic!("DISCONNECT 0x8B expected, got {other:?}"),
    }
    assert!(c.is_closed());
}

fn will(topic: &str) -> Will {
    Will {
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            content_type: Some("text/plain".into()),
            response_topic: Some("nodes/fridge/ask".into()),
            user_properties: vec![("why".into(), "lost".into())],
            ..WillProperties::default()
        },
        topic: topic.into(),
        payload: "offline".into(),
    }
}

#[test]
fn a_will_keeps_its_properties_and_reaches_both_protocols() {
    let broker = TestBroker::new();
    let (mut watcher5, _) = broker.client5(connect5("watcher5"));
    watcher5.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let mut watcher3 = broker.client(client("watcher3"));
    watcher3.subscribe("nodes/#", QoS::AtLeastOnce);
    let (node, _) = broker.client5(crate::codec::v5::Connect {
        will: Some(will("nodes/fridge")),
        ..connect5("fridge")
    });
    node.close(CloseReason::PeerClosed);
    let got = watcher5.publishes_v5();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].properties.content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(
        got[0].properties.response_topic.as_deref(),
        Some("nodes/fridge/ask")
    );
    assert_eq!(
        got[0].properties.user_properties,
        vec![("why".into(), "lost".into())]
    );
    let got3 = watcher3.ack_all();
    assert_eq!(got3.len(), 1);
    assert_eq!(&got3[0].payload[..], b"offline");
}

#[test]
fn disconnect_with_will_message_publishes_the_will() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtMostOnce));
    for (with_will, expected) in [(false, 0), (true, 1)] {
        let (node, _) = broker.client5(crate::codec::v5::Connect {
            will: Some(will("nodes/fridge")),
            ..connect5("fridge")
        });
        node.close(CloseReason::Disconnected(Goodbye {
            with_will,
            session_expiry: None,
        }));
        assert_eq!(
            watcher.publishes_v5().len(),
            expected,
            "with_will={with_will}"
        );
    }
}

#[test]
fn a_3_1_1_will_and_retained_message_reach_an_mqtt5_client_without_properties() {
    let broker = TestBroker::new();
    let mut node = broker.client(client("node"));
    node.publish_acked("Kitchen/Fridge/temperature", "4.5", QoS::AtLeastOnce, true);
    let (mut phone, _) = broker.client5(connect5("phone"));
    phone.subscribe5("Kitchen/#", options(QoS::AtLeastOnce));
    let got = phone.publishes_v5();
    assert_eq!(got.len(), 1);
    assert!(got[0].retain);
    assert_eq!(got[0].properties, Default::default());
}
