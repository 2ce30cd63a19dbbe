//! CONNECT: which client ids are accepted, the connected-clients limit, and whose session a
//! client id names.

use crate::codec::ConnectReturnCode::{self, Accepted, IdentifierRejected, ServerUnavailable};
use crate::codec::{Connect, Protocol, QoS};
use crate::event::CloseReason;
use crate::settings::BrokerSettings;

use super::harness::{client, connack, persistent, publish, with_will, TestBroker};

#[test]
fn client_ids_are_accepted_or_refused_by_protocol_and_clean_session() {
    let long_ascii = "abcdefghijklmnopqrstuvw";
    assert_eq!(long_ascii.len(), 23);
    let cases: [(&str, Protocol, bool, String, ConnectReturnCode); 10] = [
        // MQTT-3.1.3-8: no id to resume a session by.
        (
            "empty, persistent",
            Protocol::V311,
            false,
            String::new(),
            IdentifierRejected,
        ),
        (
            "empty, persistent, 3.1",
            Protocol::V31,
            false,
            String::new(),
            IdentifierRejected,
        ),
        // MQTT-3.1.3-6: the server assigns one.
        (
            "empty, clean",
            Protocol::V311,
            true,
            String::new(),
            Accepted,
        ),
        // MQTT 3.1 has no server-assigned ids: 1 to 23 characters.
        (
            "empty, clean, 3.1",
            Protocol::V31,
            true,
            String::new(),
            IdentifierRejected,
        ),
        // MQTT 3.1 allows at most 23 characters; 3.1.1 leaves longer ids to the server.
        (
            "23 chars, 3.1",
            Protocol::V31,
            true,
            long_ascii.to_string(),
            Accepted,
        ),
        (
            "24 chars, 3.1",
            Protocol::V31,
            true,
            format!("{long_ascii}x"),
            IdentifierRejected,
        ),
        (
            "24 chars, 3.1.1",
            Protocol::V311,
            true,
            format!("{long_ascii}x"),
            Accepted,
        ),
        (
            "23 chars, 3.1, persistent",
            Protocol::V31,
            false,
            long_ascii.to_string(),
            Accepted,
        ),
        // Characters are counted, not bytes.
        (
            "23 two-byte chars, 3.1",
            Protocol::V31,
            true,
            "é".repeat(23),
            Accepted,
        ),
        (
            "24 two-byte chars, 3.1",
            Protocol::V31,
            true,
            "é".repeat(24),
            IdentifierRejected,
        ),
    ];
    for (name, protocol, clean_session, client_id, code) in cases {
        let b = TestBroker::new();
        let mut c = b.open(Connect {
            protocol,
            clean_session,
            client_id,
            ..client("")
        });
        assert_eq!(c.drain(), [connack(false, code)], "{name}");
        assert_eq!(
            c.is_closed(),
            code != Accepted,
            "{name}: closed after refusal"
        );
    }
}

#[test]
fn clients_without_an_id_get_distinct_sessions() {
    let b = TestBroker::new();
    let mut first = b.client(client(""));
    let mut second = b.client(client(""));
    assert!(
        !first.is_aborted(),
        "an assigned id never takes over another"
    );
    first.subscribe("to/first", QoS::AtMostOnce);
    second.subscribe("to/second", QoS::AtMostOnce);
    b.local_publish("to/first", "1", QoS::AtMostOnce, false);
    b.local_publish("to/second", "2", QoS::AtMostOnce, false);
    assert_eq!(
        first.publishes(),
        [publish("to/first", "1", QoS::AtMostOnce, 0)]
    );
    assert_eq!(
        second.publishes(),
        [publish("to/second", "2", QoS::AtMostOnce, 0)]
    );
}

#[test]
fn assigned_client_ids_are_random_not_numbered() {
    let b = TestBroker::new();
    let clients: Vec<_> = (0..50).map(|_| b.client(client(""))).collect();
    let ids = b.client_ids();
    assert_eq!(ids.len(), clients.len(), "all distinct: {ids:?}");
    let mut values = Vec::new();
    for id in &ids {
        let hex = id.strip_prefix("hearth-").unwrap_or_else(|| panic!("{id}"));
        assert_eq!(hex.len(), 16, "{id}");
        values.push(u64::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{id}")));
    }
    // Nothing to guess from the connection number: no id ends with it, and sorted ids are not
    // a run of neighbours (two of 50 random 64-bit values fall within a million of each other
    // about once in ten billion runs).
    for client in &clients {
        assert!(!ids
            .iter()
            .any(|id| id.ends_with(&format!("-{}", client.conn))));
    }
    values.sort_unstable();
    assert!(
        values.windows(2).all(|w| w[1] - w[0] > 1_000_000),
        "{ids:?}"
    );
}

#[test]
fn connections_beyond_max_clients_are_refused_with_server_unavailable() {
    let b = TestBroker::with(BrokerSettings {
        max_clients: 3,
        ..Default::default()
    });
    let mut observer = b.client(client("observer"));
    observer.subscribe("will/#", QoS::AtMostOnce);
    let a = b.client(client("a"));
    let second = b.client(client("b"));

    let mut refused = b.open(with_will("c", "will/c", "gone", QoS::AtMostOnce, false));
    assert_eq!(refused.drain(), [connack(false, ServerUnavailable)]);
    assert!(refused.is_closed());
    // The refused connection's end is not a client's end: no will, no effect on others.
    refused.close(CloseReason::PeerClosed);
    assert_eq!(observer.drain(), []);

    // A takeover replaces a connection instead of adding one, so it is not refused.
    let (_a_again, _) = b.connect(client("a"));
    assert!(a.is_aborted());

    // Room again once a client leaves.
    second.disconnect();
    let (_c, _) = b.connect(client("c"));
}

fn as_user(user: &str, connect: Connect) -> Connect {
    Connect {
        username: Some(user.to_string()),
        ..connect
    }
}

#[test]
fn a_users_session_is_taken_up_by_that_user_only() {
    let b = TestBroker::new();
    let (mut node, _) = b.connect(as_user("kitchen", persistent("esp-kitchen")));
    node.subscribe("Kitchen/set", QoS::AtLeastOnce);

    // Same client id, another user (or none), while the node is connected: refused.
    for connect in [
        as_user("guest", persistent("esp-kitchen")),
        persistent("esp-kitchen"),
    ] {
        let mut intruder = b.open(connect);
        assert_eq!(intruder.drain(), [connack(false, IdentifierRejected)]);
        assert!(!node.is_aborted(), "the node keeps its connection");
    }

    // Offline too: its queue waits for its own user.
    node.close(CloseReason::PeerClosed);
    b.local_publish("Kitchen/set", "ON", QoS::AtLeastOnce, false);
    let mut intruder = b.open(as_user("guest", client("esp-kitchen")));
    assert_eq!(intruder.drain(), [connack(false, IdentifierRejected)]);
    let (mut node, present) = b.connect(as_user("kitchen", persistent("esp-kitchen")));
    assert!(present);
    assert_eq!(
        node.publishes(),
        [publish("Kitchen/set", "ON", QoS::AtLeastOnce, 1)]
    );
}

#[test]
fn an_anonymous_session_is_kept_when_its_client_starts_logging_in() {
    let b = TestBroker::new();
    let (mut node, _) = b.connect(persistent("esp-kitchen"));
    node.subscribe("Kitchen/set", QoS::AtLeastOnce);
    node.close(CloseReason::PeerClosed);
    let (_node, present) = b.connect(as_user("kitchen", persistent("esp-kitchen")));
    assert!(
        present,
        "passwords switched on: the node's session carries on"
    );
}
