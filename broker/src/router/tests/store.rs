//! The router with a store: what it records, what it restores, and acknowledgements that wait
//! for durability.

use std::time::{Duration, Instant};

use crate::codec::v5::{self, PublishProperties};
use crate::codec::QoS;
use crate::message::Message;
use crate::store::{self, HeldMessage, Journal, Op, Snapshot, StoredSession};
use crate::subscriptions::Grant;

use super::harness::{client, persistent, TestBroker};
use super::harness5::{lasting5, publish5};

fn stored(client_id: &str, offline_for: Duration) -> StoredSession {
    StoredSession {
        client_id: client_id.into(),
        username: None,
        offline_since: Some(store::unix_now() - offline_for.as_secs()),
        expiry_interval: u32::MAX,
        subscriptions: vec![("cmd/#".into(), Grant::qos(QoS::AtLeastOnce))],
        messages: Vec::new(),
        incoming_qos2: Vec::new(),
    }
}

fn removed(ops: &std::sync::mpsc::Receiver<Op>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(op) = ops.try_recv() {
        if let Op::SessionRemoved { client_id } = op {
            out.push(client_id.to_string());
        }
    }
    out
}

#[test]
fn sessions_away_longer_than_the_expiry_are_removed_at_start_and_later() {
    let (journal, ops) = Journal::for_tests(false, usize::MAX);
    let settings = crate::settings::BrokerSettings {
        session_expiry: Some(Duration::from_secs(3600)),
        ..Default::default()
    };
    let b = TestBroker::with_journal(settings, journal);
    b.restore(Snapshot {
        sessions: vec![
            stored("gone", Duration::from_secs(7200)),
            stored("recent", Duration::from_secs(600)),
        ],
        ..Default::default()
    });
    assert_eq!(b.client_ids(), ["recent"]);
    assert_eq!(removed(&ops), ["gone"], "removed from the store too");
    // The restored session kept its subscription.
    let (mut node, present) = b.connect(persistent("recent"));
    assert!(present);
    b.local_publish("cmd/x", "hello", QoS::AtLeastOnce, false);
    assert_eq!(node.publishes().len(), 1);
    node.disconnect();
    b.expire_sessions_after(Duration::from_secs(3600));
    assert_eq!(b.client_ids(), ["recent"], "away for less than the expiry");
    b.expire_sessions_after(Duration::ZERO);
    assert!(b.client_ids().is_empty());
    assert_eq!(removed(&ops), ["recent"]);
}

#[test]
fn with_durable_acks_the_puback_waits_behind_what_the_publish_changed() {
    let (journal, ops) = Journal::for_tests(true, usize::MAX);
    let b = TestBroker::with_journal(Default::default(), journal);
    let (mut node, _) = b.connect(persistent("node"));
    node.subscribe("cmd/#", QoS::AtLeastOnce);
    node.disconnect();
    let mut phone = b.client(client("phone"));
    let pkid = phone.publish("cmd/relay", "ON", QoS::AtLeastOnce, true);
    assert!(
        phone.drain().is_empty(),
        "no PUBACK before the store has it"
    );
    let kinds: Vec<&'static str> = std::iter::from_fn(|| ops.try_recv().ok())
        .map(|op| match op {
            Op::Retained { .. } => "retained",
            Op::Held { .. } => "held",
            Op::AckWhenDurable { packet, .. }
                if matches!(&*packet, crate::codec::v5::Packet::Puback(a) if a.pkid == pkid) =>
            {
                "puback"
            }
            _ => "other",
        })
        .filter(|k| *k != "other")
        .collect();
    assert_eq!(kinds, ["retained", "held", "puback"]);
}

#[test]
fn a_full_store_keeps_no_new_retained_topic_but_still_updates_and_delivers() {
    // Room for the first reading's row and not for a second topic's.
    let cap = store::message_bytes("Kitchen/temperature", b"21.5") + 8;
    let (journal, _ops) = Journal::for_tests(false, cap);
    let b = TestBroker::with_journal(Default::default(), journal);
    let (mut watcher, _) = b.connect(client("watcher"));
    watcher.subscribe("#", QoS::AtMostOnce);
    let mut node = b.client(client("node"));
    node.publish("Kitchen/temperature", "21.5", QoS::AtMostOnce, true);
    node.publish("Hall/temperature", "19.0", QoS::AtMostOnce, true);
    // An update of a retained topic is always kept, so nothing retained is stuck.
    node.publish("Kitchen/temperature", "22.0", QoS::AtMostOnce, true);
    assert_eq!(watcher.publishes().len(), 3, "all delivered");
    assert_eq!(b.store_dropped(), 1);
    let (mut late, _) = b.connect(client("late"));
    late.subscribe("#", QoS::AtMostOnce);
    let kept: Vec<(String, String)> = late
        .publishes()
        .into_iter()
        .map(|p| {
            (
                p.topic.to_string(),
                String::from_utf8_lossy(&p.payload).into_owned(),
            )
        })
        .collect();
    assert_eq!(kept, [("Kitchen/temperature".into(), "22.0".into())]);
}

/// An MQTT 5 session as the store gives it back: `expiry` seconds, its client away for
/// `offline_for`, subscribed to `home/+/cmd` with No Local and identifier 7, one message
/// queued with its properties and 100 s of its expiry left.
fn stored_v5(client_id: &str, expiry: u32, offline_for: Duration) -> StoredSession {
    let grant = Grant {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: false,
        id: std::num::NonZeroU32::new(7),
    };
    let queued = Message {
        properties: Some(std::sync::Arc::new(PublishProperties {
            user_properties: vec![("origin".into(), "phone".into())],
            subscription_identifiers: vec![7],
            ..PublishProperties::default()
        })),
        expires_at: Some(Instant::now() + Duration::from_secs(100)),
        ..Message::new("home/lamp/cmd", "ON", QoS::AtLeastOnce, false)
    };
    StoredSession {
        expiry_interval: expiry,
        subscriptions: vec![("home/+/cmd".into(), grant)],
        messages: vec![(
            0,
            HeldMessage::of(&queued, QoS::AtLeastOnce, false, false, None),
        )],
        ..stored(client_id, offline_for)
    }
}

fn user_properties(p: &v5::Publish) -> Vec<(&str, &str)> {
    p.properties
        .user_properties
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn an_mqtt5_session_comes_back_with_its_subscription_options_and_message_properties() {
    let (journal, _ops) = Journal::for_tests(false, usize::MAX);
    let b = TestBroker::with_journal(Default::default(), journal);
    b.restore(Snapshot {
        sessions: vec![stored_v5("hub", 600, Duration::from_secs(10))],
        ..Default::default()
    });
    let (mut hub, connack) = b.client5(lasting5("hub", 600));
    assert!(connack.session_present);
    let queued = hub.publishes_v5();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let p = &queued[0];
    assert_eq!(p.properties.subscription_identifiers, [7]);
    assert_eq!(user_properties(p), [("origin", "phone")]);
    let left = p.properties.message_expiry_interval.expect("its expiry");
    assert!(
        (99..=100).contains(&left),
        "{left} s of 100 left (MQTT-3.3.2-6)"
    );
    hub.send_v5(v5::Packet::Puback(crate::session::ack(p.pkid)));

    // The subscription kept its identifier...
    b.local_publish("home/hall/cmd", "OFF", QoS::AtLeastOnce, false);
    let live = hub.publishes_v5();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].properties.subscription_identifiers, [7]);
    hub.send_v5(v5::Packet::Puback(crate::session::ack(live[0].pkid)));
    // ...and No Local: its own message does not come back (MQTT-3.8.3-3).
    hub.send_v5(v5::Packet::Publish(publish5(
        "home/door/cmd",
        "LOCK",
        QoS::AtLeastOnce,
        5,
    )));
    assert_eq!(hub.puback5().pkid, 5);
    assert!(hub.drain_v5().is_empty());
}

#[test]
fn a_restored_session_expires_by_its_own_interval_bounded_by_the_brokers() {
    let (journal, ops) = Journal::for_tests(false, usize::MAX);
    let settings = crate::settings::BrokerSettings {
        session_expiry: Some(Duration::from_secs(3600)),
        ..Default::default()
    };
    let b = TestBroker::with_journal(settings, journal);
    b.restore(Snapshot {
        sessions: vec![
            // Its 60 s ran out while the broker was down.
            stored_v5("lapsed", 60, Duration::from_secs(120)),
            // 50 s left of its 60.
            stored_v5("brief", 60, Duration::from_secs(10)),
            // Asked for a day; the broker keeps sessions an hour: 3590 s left.
            stored_v5("greedy", 86_400, Duration::from_secs(10)),
            // A 3.1.1 session: the broker's hour.
            stored("node", Duration::from_secs(10)),
        ],
        ..Default::default()
    });
    assert_eq!(removed(&ops), ["lapsed"], "removed from the store too");
    let mut ids = b.client_ids();
    ids.sort();
    assert_eq!(ids, ["brief", "greedy", "node"]);
    // Whole Unix seconds: the 50 s left may be 49.
    b.run_due_after(Duration::from_secs(45));
    assert_eq!(b.client_ids().len(), 3, "none expired yet");
    b.run_due_after(Duration::from_secs(51));
    assert_eq!(removed(&ops), ["brief"]);
    b.run_due_after(Duration::from_secs(3585));
    assert_eq!(b.client_ids().len(), 2);
    b.run_due_after(Duration::from_secs(3591));
    assert!(b.client_ids().is_empty());
    let mut gone = removed(&ops);
    gone.sort();
    assert_eq!(gone, ["greedy", "node"]);
}

#[test]
fn a_session_connected_when_the_broker_stopped_counts_from_the_restart() {
    let (journal, ops) = Journal::for_tests(false, usize::MAX);
    let b = TestBroker::with_journal(Default::default(), journal);
    b.restore(Snapshot {
        sessions: vec![
            StoredSession {
                offline_since: None,
                ..stored_v5("resumed-with-0", 0, Duration::ZERO)
            },
            StoredSession {
                offline_since: None,
                ..stored_v5("hub", 60, Duration::ZERO)
            },
        ],
        ..Default::default()
    });
    // Its last CONNECT asked for 0: it ended with the connection the stop closed.
    assert_eq!(removed(&ops), ["resumed-with-0"]);
    b.run_due_after(Duration::from_secs(59));
    assert_eq!(b.client_ids(), ["hub"]);
    b.run_due_after(Duration::from_secs(60));
    assert_eq!(removed(&ops), ["hub"]);
}

#[test]
fn a_new_expiry_interval_is_recorded_with_the_session() {
    let (journal, ops) = Journal::for_tests(false, usize::MAX);
    let b = TestBroker::with_journal(Default::default(), journal);
    let (hub, _) = b.client5(lasting5("hub", 600));
    // The DISCONNECT lengthens it (3.14.2.2.2).
    hub.close(crate::event::CloseReason::Disconnected(
        crate::event::Goodbye {
            with_will: false,
            session_expiry: Some(7200),
        },
    ));
    let mut folded = crate::store::tests_support::Folded::default();
    while let Ok(op) = ops.try_recv() {
        folded.apply(op);
    }
    let row = folded.session("hub");
    assert_eq!(row.expiry_interval, 7200);
    assert!(row.offline_since.is_some());
}
