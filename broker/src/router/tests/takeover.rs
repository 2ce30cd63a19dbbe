//! Takeover: a CONNECT with the id of a client still connected closes the first connection
//! (MQTT-3.1.4-2), which, having sent no DISCONNECT, publishes its will (MQTT-3.1.2-8). The
//! ESP8266 reconnect pattern depends on it being the *first* connection's will.

use crate::codec::ConnectReturnCode::Accepted;
use crate::codec::{Connect, Packet, Publish, QoS, Subscribe};
use crate::event::CloseReason;

use super::harness::{client, connack, payloads, publish, with_will, FakeClient, TestBroker};

const STATUS: &str = "home/node-1/status";

fn node(offline: &str) -> Connect {
    with_will("node-1", STATUS, offline, QoS::AtLeastOnce, true)
}

/// An observer of the status topic, a first connection and the second that takes it over.
fn taken_over(b: &TestBroker) -> (FakeClient, FakeClient, FakeClient) {
    let mut observer = b.client(client("observer"));
    observer.subscribe(STATUS, QoS::AtLeastOnce);
    let mut first = b.client(node("offline-1"));
    first.publish_acked(STATUS, "online-1", QoS::AtLeastOnce, true);
    let (second, present) = b.connect(node("offline-2"));
    assert!(!present, "clean sessions are not resumed");
    (observer, first, second)
}

#[test]
fn takeover_aborts_the_first_connection_and_publishes_its_will_not_the_new_ones() {
    let b = TestBroker::new();
    let (mut observer, mut first, mut second) = taken_over(&b);
    assert!(
        first.is_aborted(),
        "the first connection is dropped at once"
    );
    assert_eq!(first.drain(), [], "nothing more for the first connection");
    assert_eq!(
        observer.ack_all(),
        [
            publish(STATUS, "online-1", QoS::AtLeastOnce, 1),
            publish(STATUS, "offline-1", QoS::AtLeastOnce, 2),
        ]
    );

    // The new connection is live, and its own will is due when it dies.
    second.publish_acked(STATUS, "online-2", QoS::AtLeastOnce, true);
    second.close(CloseReason::PeerClosed);
    assert_eq!(payloads(&observer.ack_all()), ["online-2", "offline-2"]);

    // What stays retained is the last connection's will.
    let mut fresh = b.client(client("fresh"));
    fresh.subscribe(STATUS, QoS::AtLeastOnce);
    assert_eq!(
        fresh.ack_all(),
        [Publish {
            retain: true,
            ..publish(STATUS, "offline-2", QoS::AtLeastOnce, 1)
        }]
    );
}

/// What the first connection's task may still report after the takeover.
enum Stale {
    Packet(Packet),
    Closed(CloseReason),
}

#[test]
fn events_from_the_taken_over_connection_are_ignored() {
    let stale = [
        (
            "PUBLISH",
            Stale::Packet(Packet::Publish(publish(
                STATUS,
                "ghost",
                QoS::AtLeastOnce,
                7,
            ))),
        ),
        (
            "SUBSCRIBE",
            Stale::Packet(Packet::Subscribe(Subscribe {
                pkid: 8,
                filters: vec![("#".into(), QoS::AtMostOnce)],
            })),
        ),
        ("PUBREL", Stale::Packet(Packet::Pubrel(9))),
        ("closed by peer", Stale::Closed(CloseReason::PeerClosed)),
        ("writer closed", Stale::Closed(CloseReason::WriterClosed)),
        ("DISCONNECT", Stale::Closed(CloseReason::disconnected())),
    ];
    for (name, event) in stale {
        let b = TestBroker::new();
        let (mut observer, mut first, mut second) = taken_over(&b);
        second.subscribe("cmd", QoS::AtMostOnce);
        observer.ack_all();

        match event {
            Stale::Packet(packet) => first.send(packet),
            Stale::Closed(reason) => first.close(reason),
        }
        assert_eq!(first.drain(), [], "{name}: no reply to the old connection");
        assert_eq!(
            observer.drain(),
            [],
            "{name}: nothing routed, no will again"
        );
        assert_eq!(second.drain(), [], "{name}");
        assert!(!second.is_closed(), "{name}: the new connection stays");

        b.local_publish("cmd", "still here", QoS::AtMostOnce, false);
        assert_eq!(
            second.publishes(),
            [publish("cmd", "still here", QoS::AtMostOnce, 0)],
            "{name}"
        );
    }
}

#[test]
fn takeover_resumes_the_session_only_when_both_connections_are_persistent() {
    // (first clean session, second clean session, session present)
    let cases = [
        (false, false, true),
        (false, true, false),
        (true, false, false),
        (true, true, false),
    ];
    for (first_clean, second_clean, resumed) in cases {
        let case = format!("clean session {first_clean} then {second_clean}");
        let b = TestBroker::new();
        let mut first = b.client(Connect {
            clean_session: first_clean,
            ..client("node")
        });
        first.subscribe("cmd", QoS::AtLeastOnce);
        b.local_publish("cmd", "unacked", QoS::AtLeastOnce, false);
        assert_eq!(
            first.publishes(),
            [publish("cmd", "unacked", QoS::AtLeastOnce, 1)]
        );

        let mut second = b.open(Connect {
            clean_session: second_clean,
            ..client("node")
        });
        assert!(first.is_aborted(), "{case}");
        let mut want = vec![connack(resumed, Accepted)];
        if resumed {
            // MQTT-4.4.0-1: what the first connection left unacknowledged is re-sent.
            want.push(Packet::Publish(Publish {
                dup: true,
                ..publish("cmd", "unacked", QoS::AtLeastOnce, 1)
            }));
        }
        assert_eq!(second.drain(), want, "{case}");

        // The subscription is part of the session: kept only if it was resumed.
        b.local_publish("cmd", "next", QoS::AtLeastOnce, false);
        let want: Vec<Publish> = if resumed {
            vec![publish("cmd", "next", QoS::AtLeastOnce, 2)]
        } else {
            vec![]
        };
        assert_eq!(second.publishes(), want, "{case}");
    }
}
