//! One broker with listeners of every kind: `$SYS` counts clients on all of them, and a client
//! that stalls in its TLS or WebSocket handshake holds up no one and is closed once the
//! CONNECT timeout has passed.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tests::encode::Connect;
use tests::{
    start_gateway, tls_options, ws_options, BrokerOptions, MqttClient, Pki, Publish, RawClient,
    TestBroker, WAIT,
};

/// A ws, a tls and a wss listener beside the plain one.
fn all_kinds(pki: &Pki) -> String {
    format!(
        "\n[[broker.listener]]\nname = \"ws\"\nkind = \"ws\"\naddress = \"127.0.0.1:0\"\n{}{}\
         \n[homeassistant]\ndiscovery = false\n",
        pki.listener("tls", "tls", ""),
        pki.listener("wss", "wss", ""),
    )
}

async fn broker(pki: &Pki, opts: BrokerOptions) -> TestBroker {
    start_gateway(opts, &all_kinds(pki)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_clients_connected_counts_ws_tls_and_wss_clients() {
    const TOPIC: &str = "$SYS/broker/clients/connected";
    let pki = Pki::new();
    let opts = BrokerOptions {
        sys_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let b = broker(&pki, opts).await;
    let mut sys = RawClient::connect(b.addr(), "sys").await;
    sys.subscribe(TOPIC, 0).await;
    let count =
        |n: u64| move |p: &Publish| p.topic == TOPIC && p.payload_str().trim().parse() == Ok(n);

    let ws = MqttClient::connect(ws_options(b.listener_addr("ws"), "/mqtt", "ws")).await;
    let tls = MqttClient::connect(tls_options(
        b.listener_addr("tls"),
        "tls",
        pki.client_config(None),
    ))
    .await;
    let (wss, _) = RawClient::wss(b.listener_addr("wss"), "/mqtt", pki.client_config(None))
        .await
        .handshake(&Connect::new("wss"))
        .await;
    // Nothing else connects to this broker: the plain client and the three others.
    sys.next_publish_where(count(4), "clients/connected = 4")
        .await;

    drop((ws, tls));
    wss.reset();
    sys.next_publish_where(count(1), "clients/connected back to 1")
        .await;
}

/// A TCP connection that sends `bytes` and then nothing: a client stuck in its handshake.
fn stall(addr: SocketAddr, bytes: &[u8]) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(bytes).expect("send");
    s
}

/// The first half of a real ClientHello for 127.0.0.1.
fn half_client_hello(config: Arc<rustls::ClientConfig>) -> Vec<u8> {
    let name =
        rustls::pki_types::ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
    let mut conn = rustls::ClientConnection::new(config, name).expect("client connection");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("ClientHello");
    hello.truncate(hello.len() / 2);
    hello
}

const HALF_UPGRADE: &[u8] = b"GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";

/// The connections a stuck client leaves open on each handshaking listener.
fn stall_every_handshake(b: &TestBroker, pki: &Pki) -> Vec<(&'static str, std::net::TcpStream)> {
    let half_hello = half_client_hello(pki.client_config(None));
    vec![
        ("silent on tls", stall(b.listener_addr("tls"), b"")),
        (
            "half a ClientHello on tls",
            stall(b.listener_addr("tls"), &half_hello),
        ),
        ("silent on wss", stall(b.listener_addr("wss"), b"")),
        (
            "half a ClientHello on wss",
            stall(b.listener_addr("wss"), &half_hello),
        ),
        ("silent on ws", stall(b.listener_addr("ws"), b"")),
        (
            "half an upgrade on ws",
            stall(b.listener_addr("ws"), HALF_UPGRADE),
        ),
    ]
}

/// Whether the broker has closed `s` (or sent it anything): a read that does not wait.
fn closed_or_answered(s: &mut std::net::TcpStream) -> bool {
    s.set_nonblocking(true).expect("non-blocking");
    let mut buf = [0u8; 64];
    !matches!(s.read(&mut buf), Err(e) if e.kind() == ErrorKind::WouldBlock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_stalled_in_a_handshake_do_not_hold_up_other_clients() {
    let pki = Pki::new();
    // Longer than any wait below: a stalled handshake still open after the others were served
    // shows that they were served while it was pending.
    let opts = BrokerOptions {
        connect_timeout: WAIT * 4,
        ..Default::default()
    };
    let b = broker(&pki, opts).await;
    let mut stalled = stall_every_handshake(&b, &pki);

    // Each listener serves a new client at once, handshake and CONNACK included.
    let _tls = MqttClient::connect(tls_options(
        b.listener_addr("tls"),
        "tls",
        pki.client_config(None),
    ))
    .await;
    let (_wss, _) = RawClient::wss(b.listener_addr("wss"), "/mqtt", pki.client_config(None))
        .await
        .handshake(&Connect::new("wss"))
        .await;
    let _ws = MqttClient::connect(ws_options(b.listener_addr("ws"), "/mqtt", "ws")).await;
    let _tcp = RawClient::connect(b.addr(), "tcp").await;

    for (what, s) in &mut stalled {
        assert!(!closed_or_answered(s), "{what}: closed before its timeout");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_stalled_in_a_handshake_are_closed_after_the_connect_timeout() {
    let pki = Pki::new();
    let opts = BrokerOptions {
        connect_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let b = broker(&pki, opts).await;
    let stalled = stall_every_handshake(&b, &pki);
    // Handshakes done, then no CONNECT: the same timeout applies to the CONNECT.
    let after_tls = RawClient::tls(b.listener_addr("tls"), pki.client_config(None)).await;
    let after_ws = RawClient::ws(b.listener_addr("ws"), "/mqtt").await;

    for (what, s) in stalled {
        s.set_nonblocking(true).expect("non-blocking");
        let s = tokio::net::TcpStream::from_std(s).expect("tokio stream");
        let got = RawClient::over(s).expect_closed(WAIT).await;
        assert!(got.is_empty(), "{what}: got {got:?}");
    }
    for mut c in [after_tls, after_ws] {
        assert!(c.expect_closed(WAIT).await.is_empty());
    }
}
