use std::time::Duration;

use broker::codec::{LastWill, Packet, QoS};
use bytes::Bytes;

use super::harness::{Daemon, RawClient};

/// Collects PUBLISHes as (topic, payload) until the connection closes.
fn publishes_until_closed(client: &mut RawClient) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    while let Some(p) = client.recv() {
        if let Packet::Publish(p) = p {
            seen.push((p.topic, String::from_utf8_lossy(&p.payload).into_owned()));
        }
    }
    seen
}

#[test]
fn sigterm_announces_offline_publishes_due_wills_and_exits_0() {
    let mut daemon = Daemon::start("sigterm", "");
    let mut observer = RawClient::connect(daemon.addr, "observer", None);
    observer.subscribe("#", QoS::AtLeastOnce);
    assert!(matches!(observer.recv(), Some(Packet::Suback(_))));
    let will = LastWill {
        topic: "home/node-1/status".into(),
        payload: Bytes::from_static(b"offline"),
        qos: QoS::AtLeastOnce,
        retain: true,
    };
    let _node = RawClient::connect(daemon.addr, "node-1", Some(will));
    // The retained `online` status arrives on subscribe, among the other retained messages
    // (the gateway's Home Assistant document); wait for it before signalling.
    loop {
        match observer.recv() {
            Some(Packet::Publish(p)) if p.topic == "hearth/test/status" => break,
            Some(Packet::Publish(_)) => {}
            other => panic!("expected the retained status, got {other:?}"),
        }
    }
    daemon.signal("TERM");
    let seen = publishes_until_closed(&mut observer);
    assert!(
        seen.contains(&("hearth/test/status".into(), "offline".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("home/node-1/status".into(), "offline".into())),
        "{seen:?}"
    );
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn sigint_exits_0() {
    let mut daemon = Daemon::start("sigint", "");
    daemon.signal("INT");
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn sighup_is_logged_and_does_not_stop_the_daemon() {
    let mut daemon = Daemon::start("sighup", "");
    daemon.signal("HUP");
    assert!(
        daemon
            .wait_for_log("received SIGHUP", Duration::from_secs(10))
            .is_some(),
        "no log line for SIGHUP"
    );
    // Still serving after the signal.
    let _client = RawClient::connect(daemon.addr, "after-hup", None);
    assert!(daemon.child.try_wait().expect("try_wait").is_none());
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
}
