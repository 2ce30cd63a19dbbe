//! MQTT 3.1 (`MQIsdp`) over real sockets, byte for byte, where it differs from 3.1.1: client
//! ids of 1 to 23 characters and no server-assigned ones, no session present flag, no SUBACK
//! failure code. Each was checked against Mosquitto 2.0.11.

use tests::{start_broker, BrokerOptions, Connect, Packet, RawClient, TestBroker, WAIT};

async fn broker() -> TestBroker {
    start_broker(BrokerOptions::default()).await
}

/// What the broker sends before closing a connection that sent `connect`.
async fn refused(b: &TestBroker, connect: &Connect) -> Vec<Packet> {
    let mut c = RawClient::tcp(b.addr()).await;
    c.send(&connect.encode()).await;
    c.expect_closed(WAIT).await
}

const IDENTIFIER_REJECTED: Packet = Packet::ConnAck {
    session_present: false,
    code: 2,
};

#[tokio::test]
async fn an_empty_3_1_client_id_gets_connack_2_even_with_clean_session() {
    let b = broker().await;
    for clean in [true, false] {
        let connect = Connect::v31("").clean_session(clean);
        assert_eq!(
            refused(&b, &connect).await,
            [IDENTIFIER_REJECTED],
            "{clean}"
        );
    }
    // 3.1.1 assigns one.
    let (mut c, _) = RawClient::connect_with(b.addr(), &Connect::new("")).await;
    c.ping().await;
}

#[tokio::test]
async fn a_3_1_client_id_of_24_characters_gets_connack_2() {
    let b = broker().await;
    let id = "abcdefghijklmnopqrstuvwx";
    assert_eq!(refused(&b, &Connect::v31(id)).await, [IDENTIFIER_REJECTED]);
    let (mut c, _) = RawClient::connect_with(b.addr(), &Connect::v31(&id[..23])).await;
    c.ping().await;
}

#[tokio::test]
async fn a_resumed_3_1_session_is_acknowledged_with_a_zero_first_byte() {
    let b = broker().await;
    let connect = Connect::v31("node-31").clean_session(false);
    let (mut first, present) = RawClient::connect_with(b.addr(), &connect).await;
    assert!(!present);
    assert_eq!(first.subscribe("cmd/node-31", 1).await, 1);
    first.disconnect().await;

    let mut commander = RawClient::connect(b.addr(), "commander").await;
    commander.publish("cmd/node-31", "on", 1, false).await;

    let (mut again, present) = RawClient::connect_with(b.addr(), &connect).await;
    assert!(!present, "3.1's CONNACK has no session present flag");
    // The session was resumed: the command queued while away arrives.
    let p = again.recv_publish().await;
    assert_eq!(
        (p.topic.as_str(), &p.payload[..]),
        ("cmd/node-31", &b"on"[..])
    );
}

#[tokio::test]
async fn a_refused_3_1_filter_is_answered_with_the_qos_asked_for_and_delivers_nothing() {
    let b = broker().await;
    let mut old = RawClient::connect_with(b.addr(), &Connect::v31("old-31"))
        .await
        .0;
    // 1025 bytes, beyond max_topic_length, yet it matches a 1023-byte topic that is not.
    let long = "x".repeat(1023);
    let too_long = format!("{long}/#");
    let codes = old
        .subscribe_many(&[(&too_long, 1), ("a/#/b", 2), ("ok/#", 0)])
        .await;
    assert_eq!(codes, [1, 2, 0], "no 0x80 in MQTT 3.1");

    let mut publisher = RawClient::connect(b.addr(), "pub-31").await;
    publisher.publish(&long, "long", 0, false).await;
    publisher.publish("ok/1", "fine", 0, false).await;
    let p = old.recv_publish().await;
    assert_eq!(p.topic, "ok/1", "only the granted filter delivers");
    old.expect_nothing_before_marker().await;
}
