//! The connection under both byte-level clients ([`crate::RawClient`] for 3.1.1,
//! [`crate::raw5::Raw5Client`] for 5.0): a byte stream to the broker, the bytes read and not yet
//! decoded, and packets put aside while a test waited for another. Each client decodes with
//! its own [`Dialect`]; every wait is bounded.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::ws::WsStream;
use crate::WAIT;

/// A byte stream to the broker.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TCP socket at the bottom, to reset it.
    fn tcp(&self) -> &TcpStream;
}

impl Io for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl<S: Io> Io for tokio_rustls::client::TlsStream<S> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0.tcp()
    }
}

impl<S: Io> Io for WsStream<S> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().tcp()
    }
}

/// How one protocol revision reads the server's packets.
pub trait Dialect {
    type Packet: Debug;

    /// The next whole packet at the front of `buf`, taken out of it; `None` while it is
    /// incomplete. Panics, saying what was wrong, if the server sent something invalid.
    fn decode(&self, buf: &mut BytesMut) -> Option<Self::Packet>;
}

/// Outcome of one read attempt; returned at once and matched, so its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Read<P> {
    Packet(P),
    Timeout,
    Closed,
}

pub struct RawLink<D: Dialect> {
    stream: Box<dyn Io>,
    buf: BytesMut,
    /// Packets read while waiting for something else, handed out first.
    backlog: VecDeque<D::Packet>,
    next_pkid: u16,
    pub(crate) dialect: D,
}

impl<D: Dialect> RawLink<D> {
    pub(crate) fn over(stream: impl Io + 'static, dialect: D) -> Self {
        Self {
            stream: Box::new(stream),
            buf: BytesMut::new(),
            backlog: VecDeque::new(),
            next_pkid: 0,
            dialect,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes).await.expect("send to broker");
    }

    /// Sends without failing the test: the broker may already have closed.
    pub async fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        // TLS and WebSocket hold written bytes until flushed.
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        tokio::time::timeout(WAIT, write)
            .await
            .map_err(|_| std::io::Error::other("send timed out"))?
    }

    pub fn next_pkid(&mut self) -> u16 {
        self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
        self.next_pkid
    }

    pub(crate) async fn read(&mut self, deadline: Instant) -> Read<D::Packet> {
        if let Some(packet) = self.backlog.pop_front() {
            return Read::Packet(packet);
        }
        loop {
            if let Some(packet) = self.dialect.decode(&mut self.buf) {
                return Read::Packet(packet);
            }
            let mut chunk = [0u8; 16 * 1024];
            match timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Read::Timeout,
                Ok(Ok(0)) | Ok(Err(_)) => return Read::Closed,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Next packet; panics if none arrives within `WAIT`, or on close.
    pub async fn recv(&mut self) -> D::Packet {
        match self.read(Instant::now() + WAIT).await {
            Read::Packet(p) => p,
            Read::Timeout => panic!("no packet from broker within {WAIT:?}"),
            Read::Closed => panic!("connection closed while waiting for a packet"),
        }
    }

    /// Waits for `want`, keeping any other packets for later reads.
    pub(crate) async fn recv_expected(
        &mut self,
        want: impl Fn(&D::Packet) -> bool,
        what: &str,
    ) -> D::Packet {
        let deadline = Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            match self.read(deadline).await {
                Read::Packet(p) if want(&p) => {
                    for skipped in skipped.into_iter().rev() {
                        self.backlog.push_front(skipped);
                    }
                    return p;
                }
                Read::Packet(p) => skipped.push(p),
                Read::Timeout => panic!("no {what} within {WAIT:?} (got {skipped:?})"),
                Read::Closed => {
                    panic!("connection closed while waiting for {what} (got {skipped:?})")
                }
            }
        }
    }

    /// Asserts the broker closes the connection within `within`; returns the packets it sent
    /// before closing.
    pub async fn expect_closed(&mut self, within: Duration) -> Vec<D::Packet> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        loop {
            match self.read(deadline).await {
                Read::Packet(p) => got.push(p),
                Read::Closed => return got,
                Read::Timeout => panic!("connection still open after {within:?} (got {got:?})"),
            }
        }
    }

    /// Half-closes the stream (after DISCONNECT), ignoring a broker that closed first.
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Drops the connection with a TCP reset instead of a FIN.
    pub fn reset(self) {
        self.stream
            .tcp()
            .set_zero_linger()
            .expect("set SO_LINGER 0");
    }
}

pub(crate) async fn tcp_stream(addr: SocketAddr) -> TcpStream {
    let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("TCP connect timed out")
        .expect("TCP connect failed");
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    stream
}

/// A WebSocket to `path` on a `ws` listener over `stream`, offering subprotocol `mqtt`.
pub(crate) async fn ws_over<S: Io>(stream: S, addr: SocketAddr, path: &str) -> WsStream<S> {
    match crate::ws::upgrade(stream, addr, path, &["mqtt"]).await {
        Ok((ws, _)) => ws,
        Err(e) => panic!("WebSocket upgrade to {addr}{path} failed: {e}"),
    }
}

/// TLS to a `tls` listener.
pub(crate) async fn tls_stream(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    match crate::tls::connect(addr, config).await {
        Ok(tls) => tls,
        Err(e) => panic!("TLS handshake with {addr} failed: {e}"),
    }
}
