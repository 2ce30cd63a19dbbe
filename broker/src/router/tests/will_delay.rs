//! The Will Delay Interval (3.1.3.2.2): a will waits out its delay after the connection ends,
//! is cancelled by a new connection resuming the session in time (MQTT-3.1.3-9), and is
//! published when the session ends first; sessions end when their expiry interval passes,
//! timed by the router's deadlines rather than a periodic sweep.

use std::time::Duration;

use super::harness::TestBroker;
use super::harness5::{connect5, lasting5, options};
use crate::codec::v5::{Connect, Packet, Will, WillProperties};
use crate::codec::QoS;
use crate::event::CloseReason;

fn delayed_will(delay: u32) -> Will {
    Will {
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: Some(delay),
            ..WillProperties::default()
        },
        topic: "nodes/phone/status".into(),
        payload: "offline".into(),
    }
}

/// A phone whose session lasts `expiry` seconds, with a will delayed by `delay`.
fn phone(expiry: u32, delay: u32) -> Connect {
    Connect {
        will: Some(delayed_will(delay)),
        ..lasting5("phone", expiry)
    }
}

#[test]
fn a_delayed_will_is_published_only_once_its_delay_has_passed() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let (node, _) = broker.client5(phone(3600, 30));
    node.close(CloseReason::PeerClosed);
    assert!(watcher.publishes_v5().is_empty(), "not before its delay");
    let next = broker.next_deadline_in().expect("the will is timed");
    assert!(next <= Duration::from_secs(30), "woken by {next:?}");
    broker.run_due_after(Duration::from_secs(29));
    assert!(
        watcher.publishes_v5().is_empty(),
        "29 s is within the delay"
    );
    broker.run_due_after(Duration::from_secs(31));
    let got = watcher.publishes_v5();
    assert_eq!(got.len(), 1, "published once its delay passed: {got:?}");
    assert_eq!(&got[0].payload[..], b"offline");
    broker.run_due_after(Duration::from_secs(60));
    assert!(watcher.publishes_v5().is_empty(), "published once only");
}

#[test]
fn a_client_back_within_the_delay_cancels_its_will() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let (node, _) = broker.client5(phone(3600, 30));
    node.close(CloseReason::PeerClosed);
    let (_back, connack) = broker.client5(lasting5("phone", 3600));
    assert!(connack.session_present);
    broker.run_due_after(Duration::from_secs(60));
    assert!(
        watcher.publishes_v5().is_empty(),
        "a new connection to the session within the delay cancels the will (MQTT-3.1.3-9)"
    );
}

#[test]
fn a_takeover_resuming_the_session_does_not_publish_a_delayed_will() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let (_old, _) = broker.client5(phone(3600, 30));
    let (_new, connack) = broker.client5(lasting5("phone", 3600));
    assert!(connack.session_present);
    broker.run_due_after(Duration::from_secs(60));
    assert!(watcher.publishes_v5().is_empty(), "the session goes on");
}

#[test]
fn a_clean_start_ends_the_session_and_publishes_the_delayed_will() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let (node, _) = broker.client5(phone(3600, 30));
    node.close(CloseReason::PeerClosed);
    let (_fresh, connack) = broker.client5(connect5("phone"));
    assert!(!connack.session_present);
    assert_eq!(
        watcher.publishes_v5().len(),
        1,
        "the old session ended, so its will is due (3.1.2.5)"
    );
}

#[test]
fn the_session_ending_before_the_delay_publishes_the_will_then() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let (node, _) = broker.client5(phone(10, 600));
    node.close(CloseReason::PeerClosed);
    broker.run_due_after(Duration::from_secs(9));
    assert!(watcher.publishes_v5().is_empty());
    broker.run_due_after(Duration::from_secs(11));
    assert_eq!(watcher.publishes_v5().len(), 1, "sent as the session ends");
    let (_back, connack) = broker.client5(lasting5("phone", 3600));
    assert!(!connack.session_present, "the session expired");
}

#[test]
fn a_session_that_ends_with_its_connection_publishes_the_will_at_once() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let (node, _) = broker.client5(phone(0, 600));
    node.close(CloseReason::PeerClosed);
    assert_eq!(watcher.publishes_v5().len(), 1);
}

#[test]
fn an_mqtt5_session_expires_on_its_own_interval_without_a_broker_cap() {
    let broker = TestBroker::new();
    let (node, _) = broker.client5(lasting5("node", 5));
    node.close(CloseReason::PeerClosed);
    broker.run_due_after(Duration::from_secs(4));
    let (again, connack) = broker.client5(lasting5("node", 5));
    assert!(connack.session_present, "within its expiry");
    again.close(CloseReason::PeerClosed);
    broker.run_due_after(Duration::from_secs(6));
    assert!(
        !broker.client_ids().contains(&"node".to_string()),
        "removed once its 5 s passed: {:?}",
        broker.client_ids()
    );
}

#[test]
fn shutdown_publishes_wills_still_waiting_out_their_delay() {
    let broker = TestBroker::new();
    let (mut watcher, _) = broker.client5(connect5("watcher"));
    watcher.subscribe5("nodes/#", options(QoS::AtLeastOnce));
    let (node, _) = broker.client5(phone(3600, 600));
    node.close(CloseReason::PeerClosed);
    broker.shutdown();
    let wills = watcher
        .drain_v5()
        .into_iter()
        .filter(|p| matches!(p, Packet::Publish(_)))
        .count();
    assert_eq!(wills, 1, "published before the connections close");
}
