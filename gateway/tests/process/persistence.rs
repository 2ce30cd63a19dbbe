//! The broker's store across restarts of the real daemon: after SIGTERM, after `kill -9`,
//! with acknowledgements that wait for durability, a QoS 2 flow cut by a restart, wills at
//! shutdown, and stores the daemon cannot use.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use broker::codec::{Connect, LastWill, Packet, Publish, QoS, Subscribe};
use bytes::Bytes;

use super::harness::{connect_packet, hearth, Daemon, RawClient, TempDir};

const WAIT: Duration = Duration::from_secs(30);

fn persistent(client_id: &str) -> Connect {
    Connect {
        clean_session: false,
        ..connect_packet(client_id, None)
    }
}

/// Connects with clean session 0; the connection and whether a session was present.
fn resume(daemon: &Daemon, client_id: &str) -> (RawClient, bool) {
    let (c, ack) = RawClient::open_ack(daemon.addr, persistent(client_id));
    assert_eq!(ack.code, broker::codec::ConnectReturnCode::Accepted);
    (c, ack.session_present)
}

fn publish(c: &mut RawClient, topic: &str, payload: &str, qos: QoS, retain: bool, pkid: u16) {
    c.send(&Packet::Publish(Publish {
        dup: false,
        qos,
        retain,
        topic: topic.into(),
        pkid: if qos == QoS::AtMostOnce { 0 } else { pkid },
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    }));
}

/// Publishes at QoS 1 and waits for the PUBACK.
fn publish_acked(c: &mut RawClient, topic: &str, payload: &str, retain: bool, pkid: u16) {
    publish(c, topic, payload, QoS::AtLeastOnce, retain, pkid);
    match c.recv() {
        Some(Packet::Puback(id)) if id == pkid => {}
        other => panic!("expected PUBACK {pkid}, got {other:?}"),
    }
}

/// SUBSCRIBE round trip: the router has handled everything the client sent before.
fn barrier(c: &mut RawClient, pkid: u16) {
    c.send(&Packet::Subscribe(Subscribe {
        pkid,
        filters: vec![("test/barrier".into(), QoS::AtMostOnce)],
    }));
    loop {
        match c.recv() {
            Some(Packet::Suback(ack)) if ack.pkid == pkid => return,
            Some(_) => {}
            None => panic!("connection closed before SUBACK"),
        }
    }
}

/// Waits until what `c` made the broker change is in the store: a commit starts after the
/// changes were made (a fresh one is provoked) and finishes.
fn wait_durable(daemon: &Daemon, c: &mut RawClient) {
    barrier(c, 60_001);
    let mark = daemon.log_len();
    publish(c, "test/sync", &mark.to_string(), QoS::AtMostOnce, true, 0);
    barrier(c, 60_002);
    let start = daemon
        .wait_for_log_since(mark, "store commit starting", WAIT)
        .expect("a commit started");
    let after = daemon
        .whole_log()
        .iter()
        .skip(mark)
        .position(|l| *l == start)
        .map(|i| i + mark)
        .unwrap_or(mark);
    daemon
        .wait_for_log_since(after, "store commit finished", WAIT)
        .expect("the commit finished");
}

/// PUBLISHes until `n` have come, each QoS 1/2 one acknowledged (PUBACK, or PUBREC then
/// PUBCOMP on PUBREL); payloads in arrival order.
fn receive(c: &mut RawClient, n: usize) -> Vec<(String, String, bool)> {
    let mut seen = Vec::new();
    while seen.len() < n {
        match c.recv() {
            Some(Packet::Publish(p)) => {
                match p.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => c.send(&Packet::Puback(p.pkid)),
                    QoS::ExactlyOnce => c.send(&Packet::Pubrec(p.pkid)),
                }
                seen.push((
                    p.topic,
                    String::from_utf8_lossy(&p.payload).into_owned(),
                    p.retain,
                ));
            }
            Some(Packet::Pubrel(id)) => c.send(&Packet::Pubcomp(id)),
            Some(_) => {}
            None => panic!("connection ended after {} of {n}: {seen:?}", seen.len()),
        }
    }
    seen
}

/// A node's session: subscribed at QoS 1 to `cmd/#`, then gone.
fn leave_a_subscribed_session(daemon: &Daemon, client_id: &str) {
    let (mut node, _) = resume(daemon, client_id);
    node.subscribe("cmd/#", QoS::AtLeastOnce);
    assert!(matches!(node.recv(), Some(Packet::Suback(_))));
    node.send(&Packet::Disconnect);
    node.expect_closed();
}

/// Retained readings, then ten commands for the absent node.
fn publish_state(daemon: &Daemon) -> RawClient {
    let mut phone = RawClient::connect(daemon.addr, "phone", None);
    publish_acked(&mut phone, "Kitchen/Fridge/temperature", "4.5", true, 1);
    publish_acked(&mut phone, "Hall/node/status", "offline", true, 2);
    for i in 0..10u16 {
        publish_acked(&mut phone, "cmd/relay", &format!("c{i}"), false, 10 + i);
    }
    phone
}

fn check_state_survived(daemon: &Daemon) {
    let mut viewer = RawClient::connect(daemon.addr, "viewer", None);
    viewer.subscribe("Kitchen/#", QoS::AtMostOnce);
    assert!(matches!(viewer.recv(), Some(Packet::Suback(_))));
    assert_eq!(
        receive(&mut viewer, 1),
        [("Kitchen/Fridge/temperature".into(), "4.5".into(), true)]
    );
    viewer.subscribe("Hall/#", QoS::AtMostOnce);
    assert!(matches!(viewer.recv(), Some(Packet::Suback(_))));
    assert_eq!(receive(&mut viewer, 1)[0].1, "offline");

    let (mut node, present) = resume(daemon, "node");
    assert!(present, "the node's session was kept");
    let commands: Vec<String> = receive(&mut node, 10)
        .into_iter()
        .map(|(_, p, _)| p)
        .collect();
    let want: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    assert_eq!(commands, want, "queued commands, in order");
    // Its subscription was kept too.
    let mut phone = RawClient::connect(daemon.addr, "phone", None);
    publish_acked(&mut phone, "cmd/relay", "after", false, 1);
    assert_eq!(receive(&mut node, 1)[0].1, "after");
}

#[test]
fn retained_messages_sessions_and_queued_messages_survive_sigterm() {
    let state = TempDir::new("persist-sigterm-state");
    let mut daemon = Daemon::start_in("persist-sigterm", &state.0, "");
    leave_a_subscribed_session(&daemon, "node");
    let _phone = publish_state(&daemon);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT), Some(0));

    let daemon = Daemon::start_in("persist-sigterm", &state.0, "");
    check_state_survived(&daemon);
}

#[test]
fn what_was_committed_survives_kill_9() {
    let state = TempDir::new("persist-kill-state");
    let mut daemon = Daemon::start_in("persist-kill", &state.0, "commit_interval = \"50ms\"");
    leave_a_subscribed_session(&daemon, "node");
    let mut phone = publish_state(&daemon);
    wait_durable(&daemon, &mut phone);
    daemon.signal("KILL");
    let _ = daemon.wait_exit(WAIT);

    let daemon = Daemon::start_in("persist-kill", &state.0, "commit_interval = \"50ms\"");
    check_state_survived(&daemon);
}

/// A tiny deterministic generator, so each round kills at another moment.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn with_durable_acks_nothing_acknowledged_is_lost_to_kill_9() {
    let state = TempDir::new("persist-strict-state");
    // Room for every message: none is dropped as the oldest of a full queue.
    let extra = "durable_acks = true\ncommit_interval = \"1h\"\nmax_queued_messages = 100000";
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = 0u32;
    let mut acknowledged = BTreeSet::new();
    for round in 0..4 {
        let mut daemon = Daemon::start_in("persist-strict", &state.0, extra);
        if round == 0 {
            leave_a_subscribed_session(&daemon, "node");
        }
        let mut publisher = RawClient::connect(daemon.addr, "publisher", None);
        // Publishes with up to 20 in flight, and kills at a moment drawn anew each round.
        let kill_after = 50 + next_random(&mut seed) % 400;
        let mut in_flight = std::collections::VecDeque::new();
        let mut acked_this_round = 0;
        while acked_this_round < kill_after {
            while in_flight.len() < 20 {
                next += 1;
                let pkid = (next % 60_000 + 1) as u16;
                publish(
                    &mut publisher,
                    "cmd/relay",
                    &format!("m{next}"),
                    QoS::AtLeastOnce,
                    false,
                    pkid,
                );
                in_flight.push_back((pkid, next));
            }
            match publisher.recv() {
                Some(Packet::Puback(id)) => {
                    let (pkid, n) = in_flight.pop_front().expect("a PUBACK for something sent");
                    assert_eq!(id, pkid, "PUBACKs come in order");
                    acknowledged.insert(format!("m{n}"));
                    acked_this_round += 1;
                }
                other => panic!("expected PUBACK, got {other:?}"),
            }
        }
        daemon.signal("KILL");
        let _ = daemon.wait_exit(WAIT);
    }
    let daemon = Daemon::start_in("persist-strict", &state.0, extra);
    let (mut node, present) = resume(&daemon, "node");
    assert!(present, "{:#?}", daemon.startup_log);
    // Everything acknowledged is there (and perhaps some that were sent but not yet acked).
    let mut received = BTreeSet::new();
    while !acknowledged.is_subset(&received) {
        let (_, payload, _) = receive(&mut node, 1).remove(0);
        received.insert(payload);
    }
}

#[test]
fn a_qos2_flow_cut_by_a_restart_delivers_exactly_once() {
    let state = TempDir::new("persist-qos2-state");
    let mut daemon = Daemon::start_in("persist-qos2", &state.0, "");
    leave_a_subscribed_session(&daemon, "node");
    let (mut sender, _) = resume(&daemon, "sender");
    publish(&mut sender, "cmd/relay", "once", QoS::ExactlyOnce, false, 7);
    assert_eq!(sender.recv(), Some(Packet::Pubrec(7)));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT), Some(0));

    let daemon = Daemon::start_in("persist-qos2", &state.0, "");
    // The sender did not see the PUBREC, say, and sends the PUBLISH again, then releases it.
    let (mut sender, present) = resume(&daemon, "sender");
    assert!(present);
    sender.send(&Packet::Publish(Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "cmd/relay".into(),
        pkid: 7,
        payload: Bytes::from_static(b"once"),
    }));
    assert_eq!(sender.recv(), Some(Packet::Pubrec(7)));
    sender.send(&Packet::Pubrel(7));
    assert_eq!(sender.recv(), Some(Packet::Pubcomp(7)));
    // A marker after it, so the node's queue is known to be complete when it arrives.
    publish(
        &mut sender,
        "cmd/relay",
        "marker",
        QoS::AtLeastOnce,
        false,
        8,
    );
    assert_eq!(sender.recv(), Some(Packet::Puback(8)));

    let (mut node, present) = resume(&daemon, "node");
    assert!(present);
    let got: Vec<String> = receive(&mut node, 2)
        .into_iter()
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(got, ["once", "marker"], "delivered once, then the marker");
}

#[test]
fn wills_due_at_shutdown_reach_a_persistent_subscriber_after_the_restart() {
    const NODES: usize = 300;
    let state = TempDir::new("persist-wills-state");
    let mut daemon = Daemon::start_in("persist-wills", &state.0, "max_inflight = 20");
    let (mut watcher, _) = resume(&daemon, "watcher");
    watcher.subscribe("nodes/+/status", QoS::AtLeastOnce);
    assert!(matches!(watcher.recv(), Some(Packet::Suback(_))));
    let _nodes: Vec<RawClient> = (0..NODES)
        .map(|i| {
            let will = LastWill {
                topic: format!("nodes/{i}/status"),
                payload: Bytes::from_static(b"offline"),
                qos: QoS::AtLeastOnce,
                retain: false,
            };
            RawClient::connect(daemon.addr, &format!("node-{i}"), Some(will))
        })
        .collect();
    // The watcher reads nothing: its window fills and the rest wait in its queue.
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT), Some(0));
    drop(watcher);

    let daemon = Daemon::start_in("persist-wills", &state.0, "max_inflight = 20");
    let (mut watcher, present) = resume(&daemon, "watcher");
    assert!(present);
    let topics: BTreeSet<String> = receive(&mut watcher, NODES)
        .into_iter()
        .map(|(t, _, _)| t)
        .collect();
    assert_eq!(topics.len(), NODES, "every node's will, once each");
}

#[test]
fn an_unreadable_store_is_set_aside_and_the_gateway_starts_empty() {
    let state = TempDir::new("persist-corrupt-state");
    let garbage = vec![0x42u8; 16 * 1024];
    std::fs::write(state.0.join("broker.db"), &garbage).unwrap();
    let daemon = Daemon::start_in("persist-corrupt", &state.0, "");
    let line = daemon
        .wait_for_log_since(0, "could not be read", WAIT)
        .expect("the unreadable store is reported");
    assert!(line.contains("renamed to"), "{line}");
    let aside: Vec<_> = std::fs::read_dir(&state.0)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("broker.db.unreadable-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the old file is kept aside");
    assert_eq!(std::fs::read(aside[0].path()).unwrap(), garbage);
    // And the new store works.
    let mut c = RawClient::connect(daemon.addr, "c", None);
    publish_acked(&mut c, "t", "1", true, 1);
    wait_durable(&daemon, &mut c);
}

fn state_dir_that_is_a_file(dir: &TempDir) -> std::path::PathBuf {
    let file = dir.0.join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    file
}

#[test]
fn a_state_directory_that_cannot_be_written_is_reported_and_the_broker_runs() {
    let dir = TempDir::new("persist-unwritable-state");
    let state = state_dir_that_is_a_file(&dir);
    let daemon = Daemon::start_in("persist-unwritable", &state, "");
    let line = daemon
        .wait_for_log_since(0, "cannot write the broker's store", WAIT)
        .expect("reported");
    assert!(
        line.contains(&state.join("broker.db").display().to_string()),
        "{line}"
    );
    let mut c = RawClient::connect(daemon.addr, "c", None);
    publish_acked(&mut c, "t", "1", true, 1);
}

#[test]
fn check_refuses_a_state_directory_that_cannot_be_written() {
    let dir = TempDir::new("persist-check-state");
    let state = state_dir_that_is_a_file(&dir);
    let config = dir.0.join("hearth.toml");
    write_config(&config, &state);
    let out = hearth()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a directory"), "{err}");
    // With persistence off the directory does not matter.
    std::fs::write(
        &config,
        format!(
            "[gateway]\nstate_dir = {:?}\n[broker]\npersistence = false\n",
            state.display().to_string()
        ),
    )
    .unwrap();
    let out = hearth()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_config(path: &Path, state: &Path) {
    std::fs::write(
        path,
        format!("[gateway]\nstate_dir = {:?}\n", state.display().to_string()),
    )
    .unwrap();
}
