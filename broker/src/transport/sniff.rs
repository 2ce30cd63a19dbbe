//! Recognises what a client sent when it reached the wrong kind of listener, so the broker can
//! say "a TLS ClientHello arrived on the plain MQTT listener" instead of "malformed PUBACK".
//!
//! On a plain listener, classify the bytes buffered when decoding failed (or the first read);
//! on a TLS listener, [`is_plaintext_on_tls`] reads the handshake error. Only a CONNECT may
//! open an MQTT connection, so one byte tells MQTT apart from TLS (0x16) and HTTP ('G', 'P',
//! ...), which the MQTT codec would otherwise read as PUBACK, PUBREC and the like.

use std::fmt;
use std::io;

/// What the first bytes of a connection look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// An MQTT CONNECT (first byte 0x10).
    Mqtt,
    /// A TLS ClientHello record (0x16 0x03 ..).
    Tls,
    /// An HTTP request carrying `Upgrade: websocket`.
    WebSocket,
    /// Any other HTTP request (`GET /`, `POST`, an HTTP/2 preface, ...).
    Http,
    /// None of the above.
    Unknown,
    /// Too few bytes to tell (none yet, or a prefix such as `GE` or 0x16 alone).
    Incomplete,
}

impl Arrival {
    /// A noun phrase for log lines: "{} arrived on the plain MQTT listener `tcp`".
    pub fn describe(self) -> &'static str {
        match self {
            Arrival::Mqtt => "an MQTT CONNECT",
            Arrival::Tls => "a TLS ClientHello",
            Arrival::WebSocket => "a WebSocket upgrade request",
            Arrival::Http => "an HTTP request",
            Arrival::Unknown => "data that is neither MQTT, TLS nor HTTP",
            Arrival::Incomplete => "too few bytes to recognise",
        }
    }
}

impl fmt::Display for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

const CONNECT: u8 = 0x10;
const TLS_HANDSHAKE: u8 = 0x16;

/// Request methods, each with the space that ends it (RFC 9110, plus HTTP/2's preface `PRI`).
const METHODS: [&[u8]; 10] = [
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"OPTIONS ",
    b"DELETE ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"PRI ",
];

/// Classifies the first bytes a client sent.
pub fn classify(first: &[u8]) -> Arrival {
    match first {
        [] => Arrival::Incomplete,
        [CONNECT, ..] => Arrival::Mqtt,
        // Record type handshake, then the record version 3.x: SSL 3.0 (3.0) to TLS 1.3, whose
        // ClientHello still says 3.1 or 3.3 here.
        [TLS_HANDSHAKE] | [TLS_HANDSHAKE, 0x03] => Arrival::Incomplete,
        [TLS_HANDSHAKE, 0x03, minor, ..] if *minor <= 0x04 => Arrival::Tls,
        _ => classify_http(first),
    }
}

fn classify_http(first: &[u8]) -> Arrival {
    if METHODS.iter().any(|m| first.starts_with(m)) {
        if upgrades_to_websocket(first) {
            Arrival::WebSocket
        } else {
            Arrival::Http
        }
    } else if METHODS.iter().any(|m| m.starts_with(first)) {
        Arrival::Incomplete
    } else {
        Arrival::Unknown
    }
}

/// Whether the request head (as much of it as arrived) has an `Upgrade: websocket` header.
fn upgrades_to_websocket(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n')
        .skip(1)
        .take_while(|line| !line.is_empty() && *line != b"\r")
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some((&line[..colon], &line[colon + 1..]))
        })
        .any(|(name, value)| {
            name.trim_ascii().eq_ignore_ascii_case(b"upgrade")
                && value
                    .split(|&b| b == b',')
                    .any(|v| v.trim_ascii().eq_ignore_ascii_case(b"websocket"))
        })
}

/// Whether a failed TLS accept means the client did not speak TLS at all (plain MQTT, HTTP,
/// ...): rustls then rejects the first record header's content type or version.
pub fn is_plaintext_on_tls(err: &io::Error) -> bool {
    use rustls::{Error, InvalidMessage};
    matches!(
        err.get_ref().and_then(|e| e.downcast_ref::<Error>()),
        Some(Error::InvalidMessage(
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion
        ))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CONNECT for MQTT 3.1.1, client id "a".
    const MQTT_CONNECT: &[u8] = b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01a";

    #[test]
    fn mqtt_connect_is_mqtt() {
        assert_eq!(classify(MQTT_CONNECT), Arrival::Mqtt);
        assert_eq!(classify(&MQTT_CONNECT[..1]), Arrival::Mqtt);
        // MQTT 3.1's CONNECT starts the same way.
        assert_eq!(classify(b"\x10\x0f\x00\x06MQIsdp\x03"), Arrival::Mqtt);
    }

    #[test]
    fn tls_client_hello_is_tls() {
        // Record header of a TLS 1.2/1.3 ClientHello: handshake, version 3.1, length, type 1.
        assert_eq!(
            classify(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            Arrival::Tls
        );
        assert_eq!(classify(b"\x16\x03\x03"), Arrival::Tls);
        assert_eq!(classify(b"\x16\x03\x00"), Arrival::Tls);
    }

    #[test]
    fn tls_prefix_is_incomplete() {
        assert_eq!(classify(b"\x16"), Arrival::Incomplete);
        assert_eq!(classify(b"\x16\x03"), Arrival::Incomplete);
        assert_eq!(classify(b""), Arrival::Incomplete);
    }

    #[test]
    fn handshake_byte_with_another_version_is_unknown() {
        assert_eq!(classify(b"\x16\x02\x00"), Arrival::Unknown);
        assert_eq!(classify(b"\x16\x03\x09"), Arrival::Unknown);
    }

    #[test]
    fn websocket_upgrade_is_recognised() {
        let request = b"GET /mqtt HTTP/1.1\r\nHost: pi:1883\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
        assert_eq!(classify(request), Arrival::WebSocket);
        let odd_case = b"GET / HTTP/1.1\r\nupgrade :  WebSocket\r\n\r\n";
        assert_eq!(classify(odd_case), Arrival::WebSocket);
    }

    #[test]
    fn other_http_is_http() {
        assert_eq!(
            classify(b"GET / HTTP/1.1\r\nHost: pi\r\n\r\n"),
            Arrival::Http
        );
        assert_eq!(classify(b"POST /api HTTP/1.1\r\n"), Arrival::Http);
        assert_eq!(classify(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Arrival::Http);
        // An Upgrade header after the head ends belongs to the body.
        assert_eq!(
            classify(b"POST / HTTP/1.1\r\n\r\nUpgrade: websocket\r\n"),
            Arrival::Http
        );
        // Upgrading to something else (h2c) is not a WebSocket.
        assert_eq!(
            classify(b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"),
            Arrival::Http
        );
    }

    #[test]
    fn method_prefix_is_incomplete() {
        assert_eq!(classify(b"G"), Arrival::Incomplete);
        assert_eq!(classify(b"GET"), Arrival::Incomplete);
        assert_eq!(classify(b"OPTIO"), Arrival::Incomplete);
    }

    #[test]
    fn other_bytes_are_unknown() {
        // PUBACK, a lowercase "get" and a bare newline.
        assert_eq!(classify(b"\x40\x02\x00\x01"), Arrival::Unknown);
        assert_eq!(classify(b"get / HTTP/1.1\r\n"), Arrival::Unknown);
        assert_eq!(classify(b"GETS"), Arrival::Unknown);
        assert_eq!(classify(b"\n"), Arrival::Unknown);
    }

    #[test]
    fn descriptions_read_as_sentences() {
        assert_eq!(
            format!("{} arrived on the plain MQTT listener `tcp`", Arrival::Tls),
            "a TLS ClientHello arrived on the plain MQTT listener `tcp`"
        );
    }

    #[test]
    fn other_io_errors_are_not_plaintext() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(!is_plaintext_on_tls(&reset));
        let cert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::NoCertificatesPresented,
        );
        assert!(!is_plaintext_on_tls(&cert));
    }
}
