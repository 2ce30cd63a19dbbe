//! SIGHUP (`systemctl reload hearth`): rules are reloaded without dropping a client, and a
//! file with errors leaves the running rules in place.

use std::time::Duration;

use broker::codec::{Packet, Publish, QoS};
use bytes::Bytes;

use super::harness::{Daemon, RawClient};

const WAIT: Duration = Duration::from_secs(10);

/// A rule that answers a door opening with `payload` on `alerts/door`.
fn door_rule(payload: &str) -> String {
    format!(
        r#"
[[rule]]
name = "door"
when = "Hall/Door/state"
equals = "open"
on_enter = {{ publish = "alerts/door", payload = "{payload}" }}
"#
    )
}

fn open_and_close_the_door(node: &mut RawClient) {
    for state in ["open", "closed"] {
        node.send(&Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "Hall/Door/state".into(),
            pkid: 0,
            payload: Bytes::from(state),
        }));
    }
}

/// The payload of the next PUBLISH on `alerts/door`.
fn next_alert(phone: &mut RawClient) -> String {
    loop {
        match phone.recv() {
            Some(Packet::Publish(p)) if p.topic == "alerts/door" => {
                return String::from_utf8_lossy(&p.payload).into_owned()
            }
            Some(_) => {}
            None => panic!("the phone's connection ended before an alert"),
        }
    }
}

fn subscribed_phone(daemon: &Daemon) -> RawClient {
    let mut phone = RawClient::connect(daemon.addr, "phone", None);
    phone.subscribe("alerts/#", QoS::AtMostOnce);
    assert!(matches!(phone.recv(), Some(Packet::Suback(_))));
    phone
}

#[test]
fn sighup_applies_new_rules_and_keeps_every_client_connected() {
    let daemon = Daemon::start("reload-ok", &door_rule("first"));
    let mut phone = subscribed_phone(&daemon);
    let mut node = RawClient::connect(daemon.addr, "esp-hall", None);
    open_and_close_the_door(&mut node);
    assert_eq!(next_alert(&mut phone), "first");

    daemon.rewrite_config(&door_rule("second"));
    daemon.signal("HUP");
    assert!(
        daemon.wait_for_log("rules reloaded", WAIT).is_some(),
        "the reload was logged"
    );
    // The same two connections carry on.
    open_and_close_the_door(&mut node);
    assert_eq!(next_alert(&mut phone), "second");
}

#[test]
fn sighup_with_a_broken_file_keeps_the_running_rules() {
    let mut daemon = Daemon::start("reload-bad", &door_rule("first"));
    let mut phone = subscribed_phone(&daemon);
    let mut node = RawClient::connect(daemon.addr, "esp-hall", None);

    daemon.rewrite_config(&format!("{}\nabove = \"high\"\n", door_rule("second")));
    daemon.signal("HUP");
    assert!(
        daemon
            .wait_for_log("the running configuration carries on", WAIT)
            .is_some(),
        "the errors were reported"
    );
    open_and_close_the_door(&mut node);
    // The rules answered after the failed reload, so the daemon carried on past it.
    assert_eq!(next_alert(&mut phone), "first");
    assert!(
        daemon.child.try_wait().expect("try_wait").is_none(),
        "still running"
    );
}
