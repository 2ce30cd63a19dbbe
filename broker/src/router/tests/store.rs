//! The router with a store: what it records, what it restores, and acknowledgements that wait
//! for durability.

use std::time::Duration;

use crate::codec::QoS;
use crate::store::{self, Journal, Op, Snapshot, StoredSession};

use super::harness::{client, persistent, TestBroker};

fn stored(client_id: &str, offline_for: Duration) -> StoredSession {
    StoredSession {
        client_id: client_id.into(),
        username: None,
        offline_since: Some(store::unix_now() - offline_for.as_secs()),
        subscriptions: vec![("cmd/#".into(), QoS::AtLeastOnce)],
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
