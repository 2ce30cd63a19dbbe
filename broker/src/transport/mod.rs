//! Byte transports under the broker's connections: MQTT over WebSocket ([`ws`]), TLS
//! ([`tls`]), and recognising a client that reached the wrong kind of listener ([`sniff`]).
//!
//! Each yields a stream that is `AsyncRead + AsyncWrite + Unpin + Send` when the socket under
//! it is, so a connection serves `TcpStream`, `TlsStream<TcpStream>`, `WsStream<TcpStream>`
//! and `WsStream<TlsStream<TcpStream>>` (wss) alike. Two rules for the code that uses them:
//!
//! - Handshakes (`TlsAcceptor::accept`, [`ws::accept`]) only await I/O: run them on the
//!   connection's own task inside one `tokio::time::timeout`, never in the accept loop, so a
//!   silent client costs its own task only.
//! - After `write_all` of a batch, call `flush`: TLS and WebSocket may keep bytes buffered
//!   when the socket is momentarily full, and only `flush` (or the next write) sends them.
//!   For a plain `TcpStream` it costs nothing.

pub mod sniff;
pub mod tls;
pub mod ws;
