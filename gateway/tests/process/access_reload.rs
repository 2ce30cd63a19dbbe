//! SIGHUP with users and access rules: a configuration or password file with errors is refused
//! whole and the users and rules in force stay, connected clients included; once fixed, the
//! reload applies.

use std::time::Duration;

use broker::auth::password_file::{delete_user, set_user};
use broker::codec::{ConnectReturnCode, Packet, Publish, QoS};
use bytes::Bytes;

use super::harness::{with_credentials, Daemon, RawClient, TempDir};

const WAIT: Duration = Duration::from_secs(20);

fn broker_keys(file: &std::path::Path, bobs_topic: &str) -> String {
    format!(
        r#"password_file = "{}"

[[broker.acl]]
user = "alice"
allow = "readwrite"
topic = "Kitchen/#"

[[broker.acl]]
user = "bob"
allow = "read"
topic = "{bobs_topic}"
"#,
        file.display()
    )
}

fn publish(c: &mut RawClient, payload: &str) {
    c.send(&Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "Kitchen/Oven/state".into(),
        pkid: 0,
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    }));
}

fn next_payload(c: &mut RawClient) -> String {
    loop {
        match c.recv() {
            Some(Packet::Publish(p)) => return String::from_utf8_lossy(&p.payload).into_owned(),
            Some(_) => {}
            None => panic!("the connection ended before a message"),
        }
    }
}

fn subscribed_bob(daemon: &Daemon) -> RawClient {
    let mut bob = RawClient::login(daemon.addr, "bob-phone", "bob", "b");
    bob.subscribe("Kitchen/#", QoS::AtMostOnce);
    match bob.recv() {
        Some(Packet::Suback(ack)) => assert_eq!(ack.codes.len(), 1),
        other => panic!("expected SUBACK, got {other:?}"),
    }
    bob
}

#[test]
fn sighup_with_a_broken_rule_or_password_file_keeps_the_users_and_rules_in_force() {
    let dir = TempDir::new("access-reload-files");
    let file = dir.0.join("passwd");
    set_user(&file, "alice", b"a").expect("add alice");
    set_user(&file, "bob", b"b").expect("add bob");
    let daemon = Daemon::start("access-reload", &broker_keys(&file, "Kitchen/#"));
    let mut bob = subscribed_bob(&daemon);
    let mut alice = RawClient::login(daemon.addr, "alice-phone", "alice", "a");
    publish(&mut alice, "1");
    assert_eq!(next_payload(&mut bob), "1");

    // An invalid filter in bob's rule: the whole file is refused, bob keeps his right.
    daemon.rewrite_config(&broker_keys(&file, "Kitchen/#/oven"));
    let mark = daemon.log_len();
    daemon.signal("HUP");
    let named = daemon
        .wait_for_log_since(mark, "broker.acl[1].topic", WAIT)
        .expect("the bad rule is named");
    assert!(named.contains("Kitchen/#/oven"), "{named}");
    assert!(daemon
        .wait_for_log_since(mark, "the running configuration carries on", WAIT)
        .is_some());
    publish(&mut alice, "2");
    assert_eq!(next_payload(&mut bob), "2");

    // Bob removed from a password file that now has a malformed line: refused too, so bob is
    // still in, and can still log in.
    daemon.rewrite_config(&broker_keys(&file, "Kitchen/#"));
    delete_user(&file, "bob").expect("remove bob");
    let mut text = std::fs::read_to_string(&file).expect("read");
    text.push_str("carol-without-a-hash\n");
    std::fs::write(&file, text).expect("write");
    let mark = daemon.log_len();
    daemon.signal("HUP");
    assert!(daemon
        .wait_for_log_since(
            mark,
            &format!("{}: 1 error in the password file", file.display()),
            WAIT
        )
        .is_some());
    assert!(
        daemon
            .wait_for_log_since(
                mark,
                "line 2: no `:` between the user name and the password hash",
                WAIT
            )
            .is_some(),
        "the bad line of the password file is named"
    );
    assert!(daemon
        .wait_for_log_since(mark, "the running configuration carries on", WAIT)
        .is_some());
    publish(&mut alice, "3");
    assert_eq!(next_payload(&mut bob), "3");
    let mut bob_again = RawClient::login(daemon.addr, "bob-tablet", "bob", "b");
    bob_again.ping();

    // Fixed: the file is read and bob's removal applies to both of his connections.
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, text.replace("carol-without-a-hash\n", "")).expect("write");
    let mark = daemon.log_len();
    daemon.signal("HUP");
    assert!(daemon
        .wait_for_log_since(mark, "disconnected users=bob", WAIT)
        .is_some());
    bob.expect_closed();
    bob_again.expect_closed();
    alice.ping();
    let (_, code) = RawClient::open(daemon.addr, with_credentials("bob-phone", "bob", "b"));
    assert_eq!(code, ConnectReturnCode::BadUserNameOrPassword);
}
