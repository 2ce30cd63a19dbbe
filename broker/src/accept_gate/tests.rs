//! The accept path over real sockets on 127.0.0.1: per-address limits refuse at once with
//! CONNACK 3, and a flood of garbage connections writes a bounded number of log lines.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::log_limit::LINES_PER_WINDOW;
use crate::sys::REFUSED_PER_ADDRESS;
use crate::{Broker, BrokerSettings, ListenerSettings, QoS};

/// Bounds every wait; each ends as soon as what it waits for happens.
const WAIT: Duration = Duration::from_secs(30);

/// A CONNECT for MQTT 3.1.1, clean session, keepalive 60 s.
fn connect(client_id: &str) -> Vec<u8> {
    let mut body = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c];
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend(body);
    packet
}

async fn start(settings: BrokerSettings) -> (Broker, SocketAddr) {
    let settings = BrokerSettings {
        listeners: vec![ListenerSettings::tcp("127.0.0.1:0".parse().unwrap())],
        ..settings
    };
    let broker = Broker::start(settings).await.unwrap();
    let addr = broker.local_addr();
    (broker, addr)
}

/// Everything the broker sends until it closes the connection (a reset counts as a close).
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut chunk)).await {
            Err(_) => panic!("connection still open after {WAIT:?}; got {got:02x?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Connects and sends CONNECT; returns the socket and the broker's first 4 bytes (a CONNACK),
/// or what it sent before closing.
async fn try_connect(addr: SocketAddr, client_id: &str) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(&connect(client_id)).await;
    let mut connack = vec![0u8; 4];
    match tokio::time::timeout(WAIT, stream.read_exact(&mut connack)).await {
        Ok(Ok(_)) => (stream, connack),
        Ok(Err(_)) => (stream, Vec::new()),
        Err(_) => panic!("no CONNACK and no close within {WAIT:?}"),
    }
}

const ACCEPTED: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const SERVER_UNAVAILABLE: [u8; 4] = [0x20, 0x02, 0x00, 0x03];

#[tokio::test]
async fn connections_beyond_the_per_address_limit_get_connack_3_at_once() {
    let (broker, addr) = start(BrokerSettings {
        max_connections_per_address: 3,
        max_connects_per_address_per_second: 0,
        limit_loopback: true,
        sys_interval: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let mut open = Vec::new();
    for i in 0..3 {
        let (stream, connack) = try_connect(addr, &format!("node-{i}")).await;
        assert_eq!(connack, ACCEPTED);
        open.push(stream);
    }
    let (mut refused, connack) = try_connect(addr, "node-3").await;
    assert_eq!(
        connack, SERVER_UNAVAILABLE,
        "refused before its CONNECT was read"
    );
    assert_eq!(read_to_close(&mut refused).await, b"");

    // Once a connection ends its place is free again. The broker gives it back as the
    // connection's task ends, which races with the close the client sees: retry until then.
    let mut leaving = open.pop().unwrap();
    leaving.write_all(&[0xe0, 0x00]).await.unwrap(); // DISCONNECT
    read_to_close(&mut leaving).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (stream, connack) = try_connect(addr, "node-3").await;
        if connack == ACCEPTED {
            open.push(stream);
            break;
        }
        assert_eq!(connack, SERVER_UNAVAILABLE);
        assert!(tokio::time::Instant::now() < deadline, "place never freed");
    }

    // Counted in $SYS (published each second here; the first may predate the refusal).
    let mut sys = broker
        .handle()
        .subscribe(REFUSED_PER_ADDRESS, QoS::AtMostOnce)
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(WAIT, sys.recv())
            .await
            .expect("$SYS published")
            .unwrap();
        let refused: u64 = std::str::from_utf8(&message.payload)
            .unwrap()
            .parse()
            .unwrap();
        if refused > 0 {
            break;
        }
    }
    drop(open);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_thousand_garbage_connections_write_a_bounded_number_of_log_lines() {
    let (broker, addr) = start(BrokerSettings::default()).await;
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // Packet type 0 is reserved: the connection is closed before any CONNECT.
        let _ = stream.write_all(&[0x00, 0x00]).await;
        read_to_close(&mut stream).await;
    }
    let written = broker.refusals.lines_written();
    // The first few of a minute, and a summary per minute the test took beyond the first.
    assert!(
        written <= 3 * (u64::from(LINES_PER_WINDOW) + 1),
        "{written} lines"
    );
    assert!(broker.refusals.lines_suppressed() >= 1000 - written);
    // Still serving.
    let (_client, connack) = try_connect(addr, "after").await;
    assert_eq!(connack, ACCEPTED);
    broker.shutdown().await;
}
