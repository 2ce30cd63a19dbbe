//! A client on the wrong kind of listener, as the log shows it: a TLS ClientHello or a
//! WebSocket upgrade on the plain MQTT listener, plain MQTT on the TLS listener, each named
//! for what it is, with the listener that serves it (not as a malformed PUBACK or CONNECT).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use broker::codec::{Connect, Packet, Protocol};
use bytes::BytesMut;

use super::harness::Daemon;

const WAIT: Duration = Duration::from_secs(20);

/// A self-signed certificate for 127.0.0.1 and its key, in a directory removed on drop.
struct Certificate {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Certificate {
    fn new(name: &str) -> Certificate {
        let dir = std::env::temp_dir().join(format!("hearth-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("self-signed certificate");
        let cert = dir.join("server.pem");
        let key = dir.join("server.key");
        std::fs::write(&cert, made.cert.pem()).expect("write certificate");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
        Certificate { dir, cert, key }
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `hearth run` with the plain listener from `listen`, a tls and a ws listener.
fn daemon(name: &str, cert: &Certificate) -> Daemon {
    Daemon::start(
        name,
        &format!(
            r#"
[[broker.listener]]
name = "tls"
kind = "tls"
address = "127.0.0.1:0"
cert_file = "{}"
key_file = "{}"

[[broker.listener]]
name = "ws"
kind = "ws"
address = "127.0.0.1:0"
"#,
            cert.cert.display(),
            cert.key.display()
        ),
    )
}

/// Sends `bytes` to `addr` and reads until the broker closes; returns the client's address.
fn send_and_wait_for_close(addr: SocketAddr, bytes: &[u8]) -> SocketAddr {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("read timeout");
    s.write_all(bytes).expect("send");
    let mut rest = Vec::new();
    // An error (a reset, the read timeout) ends the wait as well; the log says what happened.
    let _ = s.read_to_end(&mut rest);
    s.local_addr().expect("local address")
}

/// An MQTT 3.1.1 CONNECT, as an ESP8266 node sends it.
fn connect_bytes() -> BytesMut {
    let mut connect = BytesMut::new();
    Packet::Connect(Connect {
        protocol: Protocol::V311,
        clean_session: true,
        keep_alive: 60,
        client_id: "esp-hall".into(),
        will: None,
        username: None,
        password: None,
    })
    .encode(&mut connect);
    connect
}

fn log_line(daemon: &Daemon, needle: &str) -> String {
    match daemon.wait_for_log(needle, WAIT) {
        Some(line) => line,
        None => panic!("no log line with {needle:?}"),
    }
}

fn assert_contains(line: &str, parts: &[&str]) {
    for part in parts {
        assert!(line.contains(part), "{part:?} not in: {line}");
    }
}

#[test]
fn tls_client_hello_on_the_plain_listener_is_logged_naming_the_tls_listener() {
    let cert = Certificate::new("wrong-listener-tls");
    let daemon = daemon("wrong-listener-tls", &cert);
    // mosquitto_pub set up for TLS but given the plain port, as a user would get it wrong.
    let out = Command::new("mosquitto_pub")
        .args(["--cafile"])
        .arg(&cert.cert)
        .args(["-h", "127.0.0.1", "-p", &daemon.addr.port().to_string()])
        .args(["-t", "Hall/Door/state", "-m", "open"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run mosquitto_pub ({e}); install Debian's mosquitto-clients")
        });
    assert!(!out.status.success(), "TLS to the plain listener succeeded");

    let line = log_line(&daemon, "a TLS ClientHello arrived");
    let tls = daemon.listener("tls");
    assert_contains(
        &line,
        &[
            "a TLS ClientHello arrived on the plain MQTT listener",
            &format!("({})", daemon.addr),
            &format!("TLS connections are served on listener tls ({tls})"),
        ],
    );
}

#[test]
fn websocket_upgrade_on_the_plain_listener_is_logged_naming_the_ws_listener() {
    let cert = Certificate::new("wrong-listener-ws");
    let daemon = daemon("wrong-listener-ws", &cert);
    // What a browser's `new WebSocket("ws://pi:1883/mqtt", "mqtt")` sends.
    let upgrade = format!(
        "GET /mqtt HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: mqtt\r\n\r\n",
        daemon.addr
    );
    let client = send_and_wait_for_close(daemon.addr, upgrade.as_bytes());

    let line = log_line(&daemon, &format!("closed connection from {client}"));
    let ws = daemon.listener("ws");
    assert_contains(
        &line,
        &[
            "a WebSocket upgrade request arrived on the plain MQTT listener",
            &format!("WebSocket connections are served on listener ws ({ws})"),
        ],
    );
}

#[test]
fn plain_mqtt_on_the_tls_listener_is_logged_naming_the_plain_listeners() {
    let cert = Certificate::new("wrong-listener-mqtt");
    let daemon = daemon("wrong-listener-mqtt", &cert);
    let client = send_and_wait_for_close(daemon.listener("tls"), &connect_bytes());

    let line = log_line(&daemon, &format!("closed connection from {client}"));
    let (plain, ws) = (&daemon.listeners[0], daemon.listener("ws"));
    assert_contains(
        &line,
        &[
            "on TLS listener tls",
            "the client did not start TLS",
            &format!(
                "plain connections are served on listener {} ({})",
                plain.0, plain.1
            ),
            &format!("ws ({ws})"),
        ],
    );
}

#[test]
fn plain_mqtt_on_the_ws_listener_is_logged_naming_the_plain_listener() {
    let cert = Certificate::new("wrong-listener-ws-mqtt");
    let daemon = daemon("wrong-listener-ws-mqtt", &cert);
    let client = send_and_wait_for_close(daemon.listener("ws"), &connect_bytes());

    let line = log_line(&daemon, &format!("closed connection from {client}"));
    let plain = &daemon.listeners[0];
    assert_contains(
        &line,
        &[
            "on listener ws",
            "an MQTT CONNECT arrived instead of an HTTP upgrade request",
            &format!(
                "plain MQTT connections are served on listener {} ({})",
                plain.0, plain.1
            ),
        ],
    );
}
