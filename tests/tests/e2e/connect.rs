//! CONNECT handling: protocol versions, flags, client ids, keepalive.

use std::time::{Duration, Instant};

use tests::{encode, start_broker, BrokerOptions, Connect, Packet, RawClient, TestBroker, WAIT};

async fn broker() -> TestBroker {
    start_broker(BrokerOptions::default()).await
}

/// Sends `connect` on a fresh socket and returns what arrived before the close.
async fn rejected(connect: &Connect) -> Vec<Packet> {
    let b = broker().await;
    let mut c = RawClient::tcp(b.addr()).await;
    c.send(&connect.encode()).await;
    c.expect_closed(WAIT).await
}

fn accepted(packets: &[Packet]) -> bool {
    packets
        .iter()
        .any(|p| matches!(p, Packet::ConnAck { code: 0, .. }))
}

#[tokio::test]
async fn mqtt_311_connect_is_accepted() {
    let b = broker().await;
    let (mut c, session_present) = RawClient::connect_with(b.addr(), &Connect::new("c311")).await;
    assert!(
        !session_present,
        "clean session never has a session (MQTT-3.2.2-1)"
    );
    c.ping().await;
}

#[tokio::test]
async fn mqtt_31_mqisdp_connect_is_accepted() {
    let b = broker().await;
    let (mut c, _) = RawClient::connect_with(b.addr(), &Connect::v31("c31")).await;
    c.ping().await;
}

// MQTT-3.1.2-2: unsupported level -> CONNACK 0x01, then close.
// A level no MQTT revision has (3.1, 3.1.1 and 5.0 are served) is answered in 3.1.1's
// form, the one a client of any revision can read.
#[tokio::test]
async fn an_unknown_protocol_level_gets_connack_1_then_close() {
    let connect = Connect {
        level: 6,
        ..Connect::new("c6")
    };
    let got = rejected(&connect).await;
    assert_eq!(
        got,
        vec![Packet::ConnAck {
            session_present: false,
            code: 1
        }]
    );
}

// MQTT-3.1.2-1: an unknown protocol name may be closed without a CONNACK.
#[tokio::test]
async fn wrong_protocol_name_closes_without_connack() {
    let connect = Connect {
        protocol_name: b"MQTX".to_vec(),
        ..Connect::new("cx")
    };
    assert_eq!(rejected(&connect).await, vec![]);
}

// MQTT-3.1.2-3: the reserved connect flag must be zero.
#[tokio::test]
async fn reserved_connect_flag_closes() {
    let connect = Connect {
        reserved_flag: true,
        ..Connect::new("cr")
    };
    let got = rejected(&connect).await;
    assert!(!accepted(&got), "reserved flag accepted: {got:?}");
}

// MQTT-3.1.3-6: zero-length client id with clean session is accepted.
#[tokio::test]
async fn empty_client_id_with_clean_session_is_accepted() {
    let b = broker().await;
    let (mut c, _) = RawClient::connect_with(b.addr(), &Connect::new("")).await;
    c.ping().await;
}

// The id the broker assigns (MQTT-3.1.3-6) must be unique: an anonymous client must never
// take over a client that happens to use an id of the assigned form.
#[tokio::test]
async fn assigned_client_ids_never_take_over_an_existing_client() {
    let b = broker().await;
    // Connections are numbered in order from 1: these eight take 1..=8 and name themselves
    // after 5..=12, which is what the four anonymous ones (9..=12) would be assigned.
    let mut named = Vec::new();
    for i in 5..=12 {
        named.push(RawClient::connect(b.addr(), &format!("hearth-auto-{i}")).await);
    }
    let mut anonymous = Vec::new();
    for _ in 0..4 {
        anonymous.push(RawClient::connect_with(b.addr(), &Connect::new("")).await.0);
    }
    for c in named.iter_mut().chain(anonymous.iter_mut()) {
        c.ping().await;
    }
}

// MQTT-3.1.3-8: zero-length id without clean session -> CONNACK 0x02, then
// close (MQTT-3.2.2-5).
#[tokio::test]
async fn empty_client_id_without_clean_session_gets_connack_2() {
    let got = rejected(&Connect::new("").clean_session(false)).await;
    assert_eq!(
        got,
        vec![Packet::ConnAck {
            session_present: false,
            code: 2
        }]
    );
}

// MQTT-1.5.3-2: strings must not contain U+0000.
#[tokio::test]
async fn client_id_with_nul_is_closed() {
    let got = rejected(&Connect::new(b"node\0one")).await;
    assert!(!accepted(&got), "NUL in client id accepted: {got:?}");
}

// MQTT-1.5.3-1: strings must be well-formed UTF-8.
#[tokio::test]
async fn client_id_with_invalid_utf8_is_closed() {
    let got = rejected(&Connect::new([b'n', 0xFF, 0xFE, b'1'])).await;
    assert!(!accepted(&got), "invalid UTF-8 client id accepted: {got:?}");
}

// MQTT-3.1.0-1: the first packet must be CONNECT.
#[tokio::test]
async fn first_packet_not_connect_is_closed() {
    let b = broker().await;
    let mut c = RawClient::tcp(b.addr()).await;
    c.send(&encode::pingreq()).await;
    assert_eq!(
        c.expect_closed(WAIT).await,
        vec![],
        "no PINGRESP before CONNECT"
    );
}

// MQTT-3.1.0-2: a second CONNECT is a protocol violation.
#[tokio::test]
async fn second_connect_is_closed() {
    let b = broker().await;
    let mut c = RawClient::connect(b.addr(), "twice").await;
    c.send(&Connect::new("twice").encode()).await;
    let got = c.expect_closed(WAIT).await;
    assert!(!accepted(&got), "second CONNECT accepted: {got:?}");
}

// Keepalive 0 turns the keepalive mechanism off (MQTT 3.1.2.10).
#[tokio::test]
async fn keepalive_zero_is_never_timed_out() {
    let b = broker().await;
    let (mut c, _) = RawClient::connect_with(b.addr(), &Connect::new("idle").keep_alive(0)).await;
    // A client with keepalive 1 that connected after it and stayed as silent is closed first.
    let (mut timed, _) =
        RawClient::connect_with(b.addr(), &Connect::new("timed").keep_alive(1)).await;
    timed.expect_closed(WAIT).await;
    c.expect_nothing_before_marker().await;
    c.ping().await;
}

// MQTT-3.1.2-24: no packet for 1.5 x keepalive -> the server disconnects.
// Fails on Mosquitto 2.0.11: its keepalive check runs late; with keepalive
// 1 s it closes after about 4.6 s (2 s -> 6 s, 5 s -> 12 s).
#[tokio::test]
async fn keepalive_expiry_closes_after_one_and_a_half_periods() {
    let b = broker().await;
    let start = Instant::now();
    let (mut c, _) = RawClient::connect_with(b.addr(), &Connect::new("ka").keep_alive(1)).await;
    c.expect_closed(Duration::from_secs(4)).await;
    // Measured from before the CONNECT was sent, so load can only lengthen it.
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1),
        "closed too early: {elapsed:?}"
    );
}

// A socket that never sends CONNECT must not hold a slot forever (MQTT 3.1.4
// suggests closing it after a reasonable time).
// Fails on Mosquitto: it has no CONNECT timeout and keeps such sockets open.
#[tokio::test]
async fn silent_socket_is_closed_within_connect_timeout() {
    let opts = BrokerOptions {
        connect_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let b = start_broker(opts).await;
    let mut c = RawClient::tcp(b.addr()).await;
    // Well under the default 10 s, with room for a busy machine.
    assert_eq!(c.expect_closed(Duration::from_secs(5)).await, vec![]);
}
