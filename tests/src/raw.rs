//! A byte-level MQTT client: sends exactly what a test asks and decodes
//! what the server answers, over TCP, TLS, WebSocket or WebSocket over TLS. Every wait is
//! bounded.

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::time::Instant;

use crate::decode::{decode, Packet, Publish};
use crate::encode::{self, Connect};
use crate::marker::Marker;
use crate::raw_link::{self, Dialect, Io, RawLink, Read};
use crate::WAIT;

/// MQTT 3.1.1 as the test suite's own decoder reads it.
pub struct V311;

impl Dialect for V311 {
    type Packet = Packet;

    fn decode(&self, buf: &mut BytesMut) -> Option<Packet> {
        match decode(buf) {
            Ok(Some((packet, used))) => {
                buf.advance(used);
                Some(packet)
            }
            Ok(None) => None,
            Err(e) => panic!("broker sent an invalid packet: {e}"),
        }
    }
}

pub struct RawClient {
    link: RawLink<V311>,
    marker: Marker,
}

/// The connection's own operations (`send`, `recv`, `expect_closed`, `reset`, ...).
impl Deref for RawClient {
    type Target = RawLink<V311>;

    fn deref(&self) -> &RawLink<V311> {
        &self.link
    }
}

impl DerefMut for RawClient {
    fn deref_mut(&mut self) -> &mut RawLink<V311> {
        &mut self.link
    }
}

impl RawClient {
    /// Opens a TCP connection and sends nothing.
    pub async fn tcp(addr: SocketAddr) -> Self {
        Self::over(raw_link::tcp_stream(addr).await)
    }

    /// A client on a stream opened beforehand (a TLS or WebSocket handshake done).
    pub fn over(stream: impl Io + 'static) -> Self {
        Self {
            link: RawLink::over(stream, V311),
            marker: Marker::new(),
        }
    }

    /// Opens a WebSocket to `path` on a `ws` listener, offering subprotocol `mqtt`, and sends
    /// nothing more.
    pub async fn ws(addr: SocketAddr, path: &str) -> Self {
        let tcp = raw_link::tcp_stream(addr).await;
        Self::over(raw_link::ws_over(tcp, addr, path).await)
    }

    /// Opens TLS to a `tls` listener and sends nothing more.
    pub async fn tls(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Self {
        Self::over(raw_link::tls_stream(addr, config).await)
    }

    /// Opens TLS and then a WebSocket to `path` on a `wss` listener.
    pub async fn wss(addr: SocketAddr, path: &str, config: Arc<rustls::ClientConfig>) -> Self {
        let tls = raw_link::tls_stream(addr, config).await;
        Self::over(raw_link::ws_over(tls, addr, path).await)
    }

    /// MQTT 3.1.1 clean-session connection that must be accepted.
    pub async fn connect(addr: SocketAddr, client_id: &str) -> Self {
        Self::connect_with(addr, &Connect::new(client_id)).await.0
    }

    /// Sends `connect`, asserts CONNACK 0 and returns the session-present flag.
    pub async fn connect_with(addr: SocketAddr, connect: &Connect) -> (Self, bool) {
        Self::tcp(addr).await.handshake(connect).await
    }

    /// Sends `connect` on this stream, asserts CONNACK 0 and returns the session-present flag.
    pub async fn handshake(mut self, connect: &Connect) -> (Self, bool) {
        self.send(&connect.encode()).await;
        match self.recv().await {
            Packet::ConnAck {
                session_present,
                code: 0,
            } => (self, session_present),
            other => panic!("expected CONNACK 0, got {other:?}"),
        }
    }

    /// Sends `connect`, which the broker must refuse: returns the CONNACK's return code after
    /// checking that the broker then closed the connection (MQTT-3.2.2-5).
    pub async fn refused(addr: SocketAddr, connect: &Connect) -> u8 {
        let mut client = Self::tcp(addr).await;
        client.send(&connect.encode()).await;
        let got = client.expect_closed(WAIT).await;
        match got.as_slice() {
            [Packet::ConnAck {
                session_present: false,
                code,
            }] if *code != 0 => *code,
            other => panic!("expected a refusing CONNACK, then the close; got {other:?}"),
        }
    }

    /// Next packet, which must be a PUBLISH. Does not acknowledge it.
    pub async fn recv_publish(&mut self) -> Publish {
        match self.recv().await {
            Packet::Publish(p) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// Subscribes to one filter and returns the granted return code.
    pub async fn subscribe(&mut self, filter: &str, qos: u8) -> u8 {
        self.subscribe_many(&[(filter, qos)]).await[0]
    }

    /// Sends one SUBSCRIBE and returns the SUBACK return codes.
    pub async fn subscribe_many(&mut self, filters: &[(&str, u8)]) -> Vec<u8> {
        let pkid = self.next_pkid();
        self.send(&encode::subscribe(pkid, filters)).await;
        let ack = self
            .recv_expected(|p| matches!(p, Packet::SubAck { .. }), "SUBACK")
            .await;
        let Packet::SubAck { pkid: got, codes } = ack else {
            unreachable!()
        };
        assert_eq!(got, pkid, "SUBACK packet id (MQTT-3.8.4-2)");
        assert_eq!(
            codes.len(),
            filters.len(),
            "one return code per filter (MQTT-3.8.4-5)"
        );
        codes
    }

    pub async fn unsubscribe(&mut self, filter: &str) {
        let pkid = self.next_pkid();
        self.send(&encode::unsubscribe(pkid, &[filter])).await;
        let ack = self
            .recv_expected(|p| matches!(p, Packet::UnsubAck(_)), "UNSUBACK")
            .await;
        assert_eq!(
            ack,
            Packet::UnsubAck(pkid),
            "UNSUBACK packet id (MQTT-3.10.4-4)"
        );
    }

    /// Publishes and completes the QoS 1/2 handshake.
    pub async fn publish(&mut self, topic: &str, payload: impl AsRef<[u8]>, qos: u8, retain: bool) {
        let pkid = if qos > 0 { self.next_pkid() } else { 0 };
        self.send(&encode::publish(
            topic,
            payload.as_ref(),
            qos,
            retain,
            false,
            pkid,
        ))
        .await;
        match qos {
            0 => {}
            1 => {
                let ack = self
                    .recv_expected(|p| matches!(p, Packet::PubAck(_)), "PUBACK")
                    .await;
                assert_eq!(ack, Packet::PubAck(pkid));
            }
            _ => {
                let rec = self
                    .recv_expected(|p| matches!(p, Packet::PubRec(_)), "PUBREC")
                    .await;
                assert_eq!(rec, Packet::PubRec(pkid));
                self.send(&encode::pubrel(pkid)).await;
                let comp = self
                    .recv_expected(|p| matches!(p, Packet::PubComp(_)), "PUBCOMP")
                    .await;
                assert_eq!(comp, Packet::PubComp(pkid));
            }
        }
    }

    /// Round trip through the broker: every packet sent before it is processed.
    pub async fn ping(&mut self) {
        self.send(&encode::pingreq()).await;
        self.recv_expected(|p| *p == Packet::PingResp, "PINGRESP")
            .await;
    }

    /// Completes the receiver side of the handshake for `p` (PUBACK, or
    /// PUBREC / PUBREL / PUBCOMP with the PUBREL checked).
    pub async fn ack(&mut self, p: &Publish) {
        match p.qos {
            1 => self.send(&encode::puback(p.pkid)).await,
            2 => {
                self.send(&encode::pubrec(p.pkid)).await;
                let rel = self
                    .recv_expected(|x| matches!(x, Packet::PubRel(_)), "PUBREL")
                    .await;
                assert_eq!(rel, Packet::PubRel(p.pkid), "PUBREL packet id");
                self.send(&encode::pubcomp(p.pkid)).await;
            }
            _ => {}
        }
    }

    /// Next PUBLISH within `within`, acknowledged as its QoS requires.
    pub async fn next_publish(&mut self, within: Duration) -> Option<Publish> {
        match self.read(Instant::now() + within).await {
            Read::Packet(Packet::Publish(p)) => {
                self.ack(&p).await;
                Some(p)
            }
            Read::Packet(other) => panic!("expected PUBLISH, got {other:?}"),
            Read::Timeout => None,
            Read::Closed => panic!("connection closed while collecting messages"),
        }
    }

    /// The next PUBLISH `want` accepts, acknowledged like the others it skips; panics if none
    /// comes within `WAIT`.
    pub async fn next_publish_where(
        &mut self,
        want: impl Fn(&Publish) -> bool,
        what: &str,
    ) -> Publish {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_publish(left).await {
                Some(p) if want(&p) => return p,
                Some(_) => {}
                None => panic!("no {what} within {WAIT:?}"),
            }
        }
    }

    /// Collects `count` messages, acknowledged, waiting at most `WAIT` for each; fewer if one
    /// does not come.
    pub async fn collect(&mut self, count: usize) -> Vec<Publish> {
        let mut got = Vec::new();
        while got.len() < count {
            match self.next_publish(WAIT).await {
                Some(p) => got.push(p),
                None => break,
            }
        }
        got
    }

    /// Every message (acknowledged) the broker sent before a marker this client publishes
    /// now to a topic only it subscribes to (a `$` topic, which no `#` or `+` filter matches).
    ///
    /// The broker handles this connection's packets in order and delivers to a client in the
    /// order it routes, QoS 1 and 2 through one queue; the marker goes at QoS 1, behind any
    /// of them. So whatever this client's earlier packets (or anything the broker had routed
    /// before it) made the broker send is here. Any other packet before the marker fails.
    pub async fn collect_before_marker(&mut self) -> Vec<Publish> {
        if let Some(filter) = self.marker.subscription() {
            assert_eq!(self.subscribe(&filter, 1).await, 1, "marker subscription");
        }
        let (topic, payload) = self.marker.next_marker();
        self.publish(&topic, &payload, 1, false).await;
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        loop {
            match self.read(deadline).await {
                Read::Packet(Packet::Publish(p)) => {
                    self.ack(&p).await;
                    if p.topic == topic && p.payload == payload.as_bytes() {
                        return got;
                    }
                    got.push(p);
                }
                Read::Packet(other) => {
                    panic!("expected only PUBLISH before the marker, got {other:?} after {got:?}")
                }
                Read::Timeout => panic!("no marker within {WAIT:?}; before it: {got:?}"),
                Read::Closed => panic!("connection closed before the marker; before it: {got:?}"),
            }
        }
    }

    /// The topics of the messages before a marker, in order (see
    /// [`RawClient::collect_before_marker`]).
    pub async fn topics_before_marker(&mut self) -> Vec<String> {
        let got = self.collect_before_marker().await;
        got.into_iter().map(|p| p.topic).collect()
    }

    /// Asserts the broker sent this client nothing more and kept it connected: nothing
    /// arrives before a marker (see [`RawClient::collect_before_marker`]).
    pub async fn expect_nothing_before_marker(&mut self) {
        let before = self.collect_before_marker().await;
        assert!(before.is_empty(), "expected nothing more, got {before:?}");
    }

    /// Sends DISCONNECT and closes (MQTT-3.14.4-1), then waits for the
    /// broker's close, which proves the DISCONNECT was processed.
    pub async fn disconnect(mut self) {
        self.send(&encode::disconnect()).await;
        self.shutdown().await;
        self.expect_closed(WAIT).await;
    }

    /// Drops the connection with a TCP reset instead of a FIN.
    pub fn reset(self) {
        self.link.reset();
    }
}
