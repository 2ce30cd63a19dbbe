//! Users: a CONNECT's user name and password checked against the password file, written by
//! Hearth (argon2id) or by Mosquitto's `mosquitto_passwd`, with the MQTT 3.1.1 return codes
//! (4: bad user name or password, 5: not authorised).

use std::process::Command;

use rumqttc::QoS;
use tests::{Connect, RawClient, Users};

use super::{broker, login, with_users};
use crate::e2e::mosquitto_clients::{run, stdout};

const BAD_CREDENTIALS: u8 = 4;
const NOT_AUTHORISED: u8 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_password_is_accepted_and_a_wrong_one_or_an_unknown_user_gets_connack_4() {
    let users = Users::new(
        "users-codes",
        &[("alice", "correct horse"), ("bob", "b0b's pa55")],
    );
    let b = broker(with_users(&users), "").await;

    let (mut node, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("alice-node").credentials("alice", "correct horse"),
    )
    .await;
    let mut phone = login(b.addr(), "bob-phone", "bob", "b0b's pa55").await;
    phone.subscribe("Kitchen/#", QoS::AtLeastOnce).await;
    node.publish("Kitchen/Fridge/temperature", "4.2", 1, false)
        .await;
    phone.expect_on("Kitchen/Fridge/temperature", "4.2").await;

    for (case, connect) in [
        (
            "wrong password",
            Connect::new("c").credentials("alice", "correct horse "),
        ),
        (
            "another user's password",
            Connect::new("c").credentials("alice", "b0b's pa55"),
        ),
        ("empty password", Connect::new("c").credentials("alice", "")),
        (
            "unknown user",
            Connect::new("c").credentials("mallory", "correct horse"),
        ),
        (
            "user name of another case",
            Connect::new("c").credentials("Alice", "correct horse"),
        ),
    ] {
        assert_eq!(
            RawClient::refused(b.addr(), &connect).await,
            BAD_CREDENTIALS,
            "{case}"
        );
    }
    // The refusals did not disturb the clients that are in.
    node.ping().await;
    node.publish("Kitchen/Fridge/temperature", "4.3", 1, false)
        .await;
    phone.expect_on("Kitchen/Fridge/temperature", "4.3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_where_users_are_required_get_connack_5() {
    let users = Users::new("users-missing", &[("alice", "correct horse")]);
    let b = broker(with_users(&users), "").await;
    for (case, connect) in [
        ("no user name", Connect::new("anonymous")),
        (
            "a user name without a password",
            Connect::new("named").username("alice"),
        ),
        ("MQTT 3.1, no user name", Connect::v31("anonymous-31")),
    ] {
        assert_eq!(
            RawClient::refused(b.addr(), &connect).await,
            NOT_AUTHORISED,
            "{case}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_file_without_users_lets_nobody_in() {
    let users = Users::new("users-empty", &[]);
    let b = broker(with_users(&users), "").await;
    assert_eq!(
        RawClient::refused(b.addr(), &Connect::new("c").credentials("alice", "pw")).await,
        BAD_CREDENTIALS
    );
    assert_eq!(
        RawClient::refused(b.addr(), &Connect::new("c")).await,
        NOT_AUTHORISED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_with_allow_anonymous_takes_clients_without_credentials_while_users_exist() {
    let users = Users::new("users-guests", &[("alice", "correct horse")]);
    let guests = "\n[[broker.listener]]\nname = \"guests\"\naddress = \"127.0.0.1:0\"\n\
                  allow_anonymous = true\n";
    let b = broker(with_users(&users), guests).await;
    let guest_addr = b.listener_addr("guests");

    let (mut guest, _) = RawClient::connect_with(guest_addr, &Connect::new("guest")).await;
    // Users are still checked there: a known user logs in, a wrong password is refused.
    let mut alice = login(guest_addr, "alice-phone", "alice", "correct horse").await;
    assert_eq!(
        RawClient::refused(guest_addr, &Connect::new("c").credentials("alice", "wrong")).await,
        BAD_CREDENTIALS
    );
    // The other listener still asks everyone for a password.
    assert_eq!(
        RawClient::refused(b.addr(), &Connect::new("guest-2")).await,
        NOT_AUTHORISED
    );
    let mut alice_main = login(b.addr(), "alice-node", "alice", "correct horse").await;

    // One broker behind both listeners.
    alice.subscribe("Hall/#", QoS::AtLeastOnce).await;
    alice_main.subscribe("Hall/#", QoS::AtLeastOnce).await;
    guest.publish("Hall/Door/state", "open", 1, false).await;
    alice.expect_on("Hall/Door/state", "open").await;
    alice_main.expect_on("Hall/Door/state", "open").await;
}

/// Runs Debian's `mosquitto_passwd` (package `mosquitto`).
fn mosquitto_passwd(args: &[&str]) {
    let out = Command::new("mosquitto_passwd")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run mosquitto_passwd ({e}); install Debian's mosquitto")
        });
    assert!(
        out.status.success(),
        "mosquitto_passwd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_of_a_file_written_by_mosquitto_passwd_log_in_with_rumqttc_and_mosquitto_sub() {
    let users = Users::new("users-mosquitto", &[]);
    let file = users.path().to_str().expect("UTF-8 path");
    mosquitto_passwd(&["-b", file, "alice", "correct horse"]);
    mosquitto_passwd(&["-H", "sha512", "-b", file, "carol", "hunter2"]);
    let written = std::fs::read_to_string(users.path()).expect("read the password file");
    assert!(
        written.contains("alice:$7$") && written.contains("carol:$6$"),
        "PBKDF2-SHA512 and SHA-512 lines: {written}"
    );
    let b = broker(with_users(&users), "").await;

    // rumqttc, for both schemes.
    let mut alice = login(b.addr(), "alice-phone", "alice", "correct horse").await;
    let carol = login(b.addr(), "carol-node", "carol", "hunter2").await;
    alice.subscribe("Kitchen/#", QoS::AtLeastOnce).await;
    carol
        .publish("Kitchen/Fridge/temperature", QoS::AtLeastOnce, true, "4.2")
        .await;
    alice.expect_on("Kitchen/Fridge/temperature", "4.2").await;

    // Debian's mosquitto_sub, with -u and -P, gets the retained reading.
    let got = run(
        "mosquitto_sub",
        b.addr(),
        &[
            "-u",
            "carol",
            "-P",
            "hunter2",
            "-i",
            "carol-sub",
            "-t",
            "Kitchen/+/temperature",
            "-v",
            "-C",
            "1",
        ],
    )
    .await;
    assert_eq!(stdout(&got).trim(), "Kitchen/Fridge/temperature 4.2");

    // And is told what a wrong password means.
    let refused = run(
        "mosquitto_sub",
        b.addr(),
        &["-u", "alice", "-P", "hunter2", "-t", "#", "-C", "1"],
    )
    .await;
    assert!(!refused.status.success(), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("bad user name or password"),
        "mosquitto_sub's message: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_added_with_hearths_own_hashes_beside_mosquittos_lines_logs_in() {
    let users = Users::new("users-mixed", &[]);
    let file = users.path().to_str().expect("UTF-8 path");
    mosquitto_passwd(&["-b", file, "alice", "correct horse"]);
    // As `hearth passwd` does: the Mosquitto line is kept, an argon2id one added.
    users.set("esp-kitchen", "wifi node");
    let written = std::fs::read_to_string(users.path()).expect("read the password file");
    assert!(
        written.contains("alice:$7$") && written.contains("esp-kitchen:$argon2id$"),
        "{written}"
    );
    let b = broker(with_users(&users), "").await;
    let (mut node, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("esp-kitchen").credentials("esp-kitchen", "wifi node"),
    )
    .await;
    let mut alice = login(b.addr(), "alice-phone", "alice", "correct horse").await;
    alice.subscribe("Kitchen/#", QoS::AtLeastOnce).await;
    node.publish("Kitchen/Fridge/door", "closed", 2, false)
        .await;
    alice.expect_on("Kitchen/Fridge/door", "closed").await;
}
