//! The client side of TLS through tokio-rustls (ring), for raw MQTT over `tls` and `wss`
//! listeners and for looking at the certificate a listener serves.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::WAIT;

/// Opens a TCP connection to `addr` and runs the TLS handshake for the name 127.0.0.1 (the
/// address's IP). An error is the handshake's: a refused or unverifiable certificate.
pub async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> io::Result<TlsStream<TcpStream>> {
    let tcp = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .map_err(|_| io::Error::other("TCP connect timed out"))??;
    tcp.set_nodelay(true)?;
    let name = ServerName::IpAddress(addr.ip().into());
    tokio::time::timeout(WAIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| io::Error::other("TLS handshake timed out"))?
}

/// The leaf certificate the server presented.
pub fn served_certificate(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let (_, conn) = stream.get_ref();
    conn.peer_certificates()
        .and_then(|chain| chain.first())
        .expect("the server presented a certificate")
        .clone()
        .into_owned()
}
