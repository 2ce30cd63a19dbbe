//! A byte-level MQTT 5.0 client: sends exactly what a test asks, encoded with the broker's own
//! v5 codec (`broker::codec::v5`), and decodes what the server sends strictly, as a server's
//! packets (`Sender::Server`), over TCP, TLS or WebSocket. Every wait is bounded.
//!
//! Besides what the codec refuses, reading checks two rules every server must keep towards
//! this client: no packet above the Maximum Packet Size it sent (MQTT-3.1.2-24), and no Topic
//! Alias above the Topic Alias Maximum it sent, which is 0 unless a test sets it
//! (MQTT-3.1.2-26, MQTT-3.1.2-27).

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use broker::codec::v5::{
    self, Connack, Connect, ConnectProperties, DecodeError, Disconnect, DisconnectProperties,
    DisconnectReason, Packet, PubAck, PubAckReason, PubRel, PubRelReason, Publish,
    PublishProperties, QoS, RetainHandling, Sender, Suback, SubackReason, Subscribe,
    SubscribeProperties, SubscriptionOptions, Unsuback, UnsubackReason, Unsubscribe,
    UnsubscribeProperties, Will, WillProperties,
};
use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::marker::Marker;
use crate::raw_link::{self, Dialect, Io, RawLink, Read};
use crate::WAIT;

/// The largest packet MQTT 5.0 can carry: a 5-byte fixed header and the largest Remaining
/// Length (2.1.4); what a client that sends no Maximum Packet Size accepts (3.1.2.11.4).
pub const PROTOCOL_MAX_PACKET_SIZE: usize = 5 + v5::MAX_VARIABLE_BYTE_INTEGER as usize;

/// A CONNECT for MQTT 5.0: clean start, 60 s keepalive, no properties, no will, no
/// credentials. Change its public fields for anything else.
pub fn connect(client_id: &str) -> Connect {
    Connect {
        clean_start: true,
        keep_alive: 60,
        properties: ConnectProperties::default(),
        client_id: client_id.to_owned(),
        will: None,
        username: None,
        password: None,
    }
}

/// A CONNECT with clean start 0 and Session Expiry Interval `expiry` seconds: a session that
/// outlives the connection when `expiry` is above 0 (3.1.2.11.2).
pub fn persistent(client_id: &str, expiry: u32) -> Connect {
    Connect {
        clean_start: false,
        properties: ConnectProperties {
            session_expiry_interval: Some(expiry),
            ..ConnectProperties::default()
        },
        ..connect(client_id)
    }
}

/// A Will Message without properties.
pub fn will(topic: &str, payload: impl AsRef<[u8]>, qos: QoS, retain: bool) -> Will {
    Will {
        qos,
        retain,
        properties: WillProperties::default(),
        topic: topic.to_owned(),
        payload: Bytes::copy_from_slice(payload.as_ref()),
    }
}

/// An application message without properties; the packet identifier is chosen when it is
/// sent.
pub fn message(topic: &str, payload: impl AsRef<[u8]>, qos: QoS, retain: bool) -> Publish {
    Publish {
        dup: false,
        qos,
        retain,
        topic: topic.to_owned(),
        pkid: 0,
        properties: PublishProperties::default(),
        payload: Bytes::copy_from_slice(payload.as_ref()),
    }
}

/// Subscription options with maximum QoS `qos` and every other option at 0: No Local off,
/// Retain As Published off, retained messages sent at every subscribe.
pub fn options(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: RetainHandling::SendAtSubscribe,
    }
}

/// The wire form of `packet`.
pub fn encode(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    packet.encode(&mut out);
    out.to_vec()
}

/// What the broker's v5 codec says about `bytes` sent by a client: the error a connection
/// gets from decoding them (and so the Reason Code it closes with,
/// [`DecodeError::disconnect_reason`]). Panics if the codec accepts them.
pub fn client_decode_error(bytes: &[u8]) -> DecodeError {
    let mut buf = BytesMut::from(bytes);
    match v5::decode(&mut buf, PROTOCOL_MAX_PACKET_SIZE, Sender::Client) {
        Err(e) => e,
        Ok(Some(p)) => panic!("the v5 codec accepts these bytes as {p:?}: {bytes:02x?}"),
        Ok(None) => panic!("the v5 codec wants more bytes than {bytes:02x?}"),
    }
}

/// A payload as text, for assertions.
pub fn text(p: &Publish) -> &str {
    std::str::from_utf8(&p.payload).unwrap_or("<not UTF-8>")
}

/// MQTT 5.0 as the broker's codec reads a server's packets, with the limits this client
/// announced in its CONNECT.
pub struct V5 {
    /// The Maximum Packet Size this client sent in CONNECT.
    max_packet_size: usize,
    /// The Topic Alias Maximum this client sent in CONNECT.
    topic_alias_maximum: u16,
}

impl Dialect for V5 {
    type Packet = Packet;

    fn decode(&self, buf: &mut BytesMut) -> Option<Packet> {
        let head: Vec<u8> = buf.iter().take(16).copied().collect();
        match v5::decode(buf, self.max_packet_size, Sender::Server) {
            Ok(Some(packet)) => {
                self.check(&packet);
                Some(packet)
            }
            Ok(None) => None,
            Err(e) => panic!("{}", invalid_packet(&head, &e)),
        }
    }
}

impl V5 {
    /// Rules on what the server sends this client that hold in every test.
    fn check(&self, packet: &Packet) {
        if let Packet::Publish(p) = packet {
            if let Some(alias) = p.properties.topic_alias {
                assert!(
                    alias <= self.topic_alias_maximum,
                    "the broker sent Topic Alias {alias} to a client whose Topic Alias Maximum \
                     is {} (MQTT-3.1.2-26, MQTT-3.1.2-27): {p:?}",
                    self.topic_alias_maximum
                );
            }
        }
    }
}

pub struct Raw5Client {
    link: RawLink<V5>,
    marker: Marker,
}

/// The connection's own operations (`send`, `recv`, `expect_closed`, `reset`, ...).
impl Deref for Raw5Client {
    type Target = RawLink<V5>;

    fn deref(&self) -> &RawLink<V5> {
        &self.link
    }
}

impl DerefMut for Raw5Client {
    fn deref_mut(&mut self) -> &mut RawLink<V5> {
        &mut self.link
    }
}

impl Raw5Client {
    /// Opens a TCP connection and sends nothing.
    pub async fn tcp(addr: SocketAddr) -> Self {
        Self::over(raw_link::tcp_stream(addr).await)
    }

    /// A client on a stream opened beforehand (a TLS or WebSocket handshake done).
    pub fn over(stream: impl Io + 'static) -> Self {
        let dialect = V5 {
            max_packet_size: PROTOCOL_MAX_PACKET_SIZE,
            topic_alias_maximum: 0,
        };
        Self {
            link: RawLink::over(stream, dialect),
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

    /// Connects over TCP with a clean start and no properties; asserts CONNACK 0x00.
    pub async fn connect(addr: SocketAddr, client_id: &str) -> (Self, Connack) {
        Self::connect_with(addr, &connect(client_id)).await
    }

    /// Sends `connect` over TCP; asserts CONNACK 0x00 and returns it.
    pub async fn connect_with(addr: SocketAddr, connect: &Connect) -> (Self, Connack) {
        Self::tcp(addr).await.handshake(connect).await
    }

    /// Sends `connect` on this stream; asserts CONNACK 0x00 and returns it.
    pub async fn handshake(mut self, connect: &Connect) -> (Self, Connack) {
        let ack = self.connack(connect).await;
        assert_eq!(
            ack.reason,
            v5::ConnackReason::Success,
            "CONNACK for {:?}: {ack:?}",
            connect.client_id
        );
        (self, ack)
    }

    /// Sends `connect` and returns the CONNACK, whatever its Reason Code.
    pub async fn connack(&mut self, connect: &Connect) -> Connack {
        self.link.dialect = V5 {
            max_packet_size: connect
                .properties
                .maximum_packet_size
                .map_or(PROTOCOL_MAX_PACKET_SIZE, |n| n as usize),
            topic_alias_maximum: connect.properties.topic_alias_maximum.unwrap_or(0),
        };
        self.send_packet(&Packet::Connect(connect.clone())).await;
        match self.recv().await {
            Packet::Connack(ack) => ack,
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Sends `connect`, which the broker must refuse: returns the CONNACK after checking its
    /// Reason Code is an error and that the broker then closed the connection (MQTT-3.2.2-7).
    pub async fn refused(addr: SocketAddr, connect: &Connect) -> Connack {
        let mut client = Self::tcp(addr).await;
        let ack = client.connack(connect).await;
        assert!(
            ack.reason.is_error(),
            "expected a refusing CONNACK (0x80 or above), got {ack:?}"
        );
        assert!(
            !ack.session_present,
            "session present on a refusal (MQTT-3.2.2-6)"
        );
        let after = client.expect_closed(WAIT).await;
        assert!(
            after.is_empty(),
            "nothing may follow a refusing CONNACK, got {after:?}"
        );
        ack
    }

    /// Encodes and sends `packet`.
    pub async fn send_packet(&mut self, packet: &Packet) {
        self.send(&encode(packet)).await;
    }

    /// Next packet, which must be a PUBLISH. Does not acknowledge it.
    pub async fn recv_publish(&mut self) -> Publish {
        match self.recv().await {
            Packet::Publish(p) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// Reads until the broker's DISCONNECT, then asserts that nothing follows it and that
    /// the broker closes the connection (MQTT-3.14.4-1, MQTT-3.14.4-2). Returns the
    /// DISCONNECT and the packets before it (PUBRECs of a flood, say), none of them answered.
    pub async fn expect_disconnect_after(&mut self) -> (Vec<Packet>, Disconnect) {
        let deadline = Instant::now() + WAIT;
        let mut before = Vec::new();
        let disconnect = loop {
            match self.read(deadline).await {
                Read::Packet(Packet::Disconnect(d)) => break d,
                Read::Packet(p) => before.push(p),
                Read::Timeout => panic!(
                    "no DISCONNECT within {WAIT:?}, the connection is still open (got {before:?})"
                ),
                Read::Closed => panic!(
                    "the broker closed the connection without a DISCONNECT, which should carry \
                     the Reason Code (4.13.1); before the close: {before:?}"
                ),
            }
        };
        let after = self.expect_closed(WAIT).await;
        assert!(
            after.is_empty(),
            "packets after the broker's DISCONNECT {disconnect:?} (MQTT-3.14.4-1): {after:?}"
        );
        (before, disconnect)
    }

    /// Reads until the broker's DISCONNECT and then the close; returns its Reason Code.
    pub async fn expect_disconnect(&mut self) -> DisconnectReason {
        self.expect_disconnect_after().await.1.reason
    }

    /// Subscribes to one filter with default options at `qos`; returns the SUBACK's code.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> SubackReason {
        self.subscribe_with(filter, options(qos)).await
    }

    /// Subscribes to one filter with `options`; returns the SUBACK's code.
    pub async fn subscribe_with(
        &mut self,
        filter: &str,
        options: SubscriptionOptions,
    ) -> SubackReason {
        self.subscribe_many(&[(filter, options)]).await[0]
    }

    /// Sends one SUBSCRIBE and returns the SUBACK's codes, one per filter.
    pub async fn subscribe_many(
        &mut self,
        filters: &[(&str, SubscriptionOptions)],
    ) -> Vec<SubackReason> {
        let filters = filters
            .iter()
            .map(|(filter, options)| ((*filter).to_owned(), *options))
            .collect();
        self.subscribe_packet(filters, SubscribeProperties::default())
            .await
            .reasons
    }

    /// Sends one SUBSCRIBE with `properties` and returns the whole SUBACK, checked for its
    /// packet identifier and count of codes.
    pub async fn subscribe_packet(
        &mut self,
        filters: Vec<(String, SubscriptionOptions)>,
        properties: SubscribeProperties,
    ) -> Suback {
        let pkid = self.next_pkid();
        let count = filters.len();
        self.send_packet(&Packet::Subscribe(Subscribe {
            pkid,
            properties,
            filters,
        }))
        .await;
        let Packet::Suback(ack) = self
            .recv_expected(|p| matches!(p, Packet::Suback(_)), "SUBACK")
            .await
        else {
            unreachable!()
        };
        assert_eq!(ack.pkid, pkid, "SUBACK packet identifier (MQTT-3.8.4-2)");
        assert_eq!(
            ack.reasons.len(),
            count,
            "one Reason Code per Topic Filter (MQTT-3.8.4-6): {ack:?}"
        );
        ack
    }

    /// Unsubscribes from one filter; returns the UNSUBACK's code.
    pub async fn unsubscribe(&mut self, filter: &str) -> UnsubackReason {
        self.unsubscribe_packet(vec![filter.to_owned()])
            .await
            .reasons[0]
    }

    /// Sends one UNSUBSCRIBE and returns the whole UNSUBACK, checked for its packet
    /// identifier and count of codes.
    pub async fn unsubscribe_packet(&mut self, filters: Vec<String>) -> Unsuback {
        let pkid = self.next_pkid();
        let count = filters.len();
        self.send_packet(&Packet::Unsubscribe(Unsubscribe {
            pkid,
            properties: UnsubscribeProperties::default(),
            filters,
        }))
        .await;
        let Packet::Unsuback(ack) = self
            .recv_expected(|p| matches!(p, Packet::Unsuback(_)), "UNSUBACK")
            .await
        else {
            unreachable!()
        };
        assert_eq!(ack.pkid, pkid, "UNSUBACK packet identifier (MQTT-3.11.2-1)");
        assert_eq!(
            ack.reasons.len(),
            count,
            "one Reason Code per Topic Filter (MQTT-3.11.3-1): {ack:?}"
        );
        ack
    }

    /// Publishes without properties and completes the QoS 1/2 handshake; asserts the broker
    /// accepted the message (a Reason Code below 0x80: 0x00, or 0x10 when nobody subscribes).
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: impl AsRef<[u8]>,
        qos: QoS,
        retain: bool,
    ) {
        let p = message(topic, payload, qos, retain);
        if let Some(reason) = self.publish_message(p).await {
            assert!(
                !reason.is_error(),
                "the broker refused the PUBLISH to {topic:?}: {reason:?}"
            );
        }
    }

    /// Sends `publish` (with the next packet identifier if it is QoS 1 or 2 and has none) and
    /// completes its handshake: returns the PUBACK's or PUBREC's Reason Code, `None` at QoS
    /// 0. A PUBREC below 0x80 is answered with PUBREL and its PUBCOMP awaited.
    pub async fn publish_message(&mut self, mut publish: Publish) -> Option<PubAckReason> {
        if publish.qos != QoS::AtMostOnce && publish.pkid == 0 {
            publish.pkid = self.next_pkid();
        }
        let pkid = publish.pkid;
        let qos = publish.qos;
        self.send_packet(&Packet::Publish(publish)).await;
        match qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => {
                let ack = self
                    .recv_expected(
                        |p| matches!(p, Packet::Puback(a) if a.pkid == pkid),
                        "PUBACK",
                    )
                    .await;
                let Packet::Puback(ack) = ack else {
                    unreachable!()
                };
                Some(ack.reason)
            }
            QoS::ExactlyOnce => {
                let rec = self
                    .recv_expected(
                        |p| matches!(p, Packet::Pubrec(a) if a.pkid == pkid),
                        "PUBREC",
                    )
                    .await;
                let Packet::Pubrec(rec) = rec else {
                    unreachable!()
                };
                if !rec.reason.is_error() {
                    self.send_packet(&pubrel(pkid)).await;
                    let comp = self
                        .recv_expected(
                            |p| matches!(p, Packet::Pubcomp(c) if c.pkid == pkid),
                            "PUBCOMP",
                        )
                        .await;
                    let Packet::Pubcomp(comp) = comp else {
                        unreachable!()
                    };
                    assert_eq!(comp.reason, PubRelReason::Success, "PUBCOMP {comp:?}");
                }
                Some(rec.reason)
            }
        }
    }

    /// Round trip through the broker: every packet sent before it has been processed.
    pub async fn ping(&mut self) {
        self.send_packet(&Packet::Pingreq).await;
        self.recv_expected(|p| *p == Packet::Pingresp, "PINGRESP")
            .await;
    }

    /// Sends PINGREQ and returns every packet the broker sent before its PINGRESP, none of
    /// them answered. Unlike a marker, the PINGRESP is not held back by flow control.
    pub async fn packets_before_pingresp(&mut self) -> Vec<Packet> {
        self.send_packet(&Packet::Pingreq).await;
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        loop {
            match self.read(deadline).await {
                Read::Packet(Packet::Pingresp) => return got,
                Read::Packet(p) => got.push(p),
                Read::Timeout => panic!("no PINGRESP within {WAIT:?} (got {got:?})"),
                Read::Closed => panic!("connection closed before the PINGRESP (got {got:?})"),
            }
        }
    }

    /// Completes the receiver's side of the handshake for `p`: PUBACK, or PUBREC and (after
    /// the broker's PUBREL) PUBCOMP.
    pub async fn ack(&mut self, p: &Publish) {
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.send_packet(&puback(p.pkid)).await,
            QoS::ExactlyOnce => {
                self.send_packet(&Packet::Pubrec(PubAck {
                    pkid: p.pkid,
                    reason: PubAckReason::Success,
                    properties: Default::default(),
                }))
                .await;
                let pkid = p.pkid;
                self.recv_expected(
                    |x| matches!(x, Packet::Pubrel(r) if r.pkid == pkid),
                    "PUBREL",
                )
                .await;
                self.send_packet(&Packet::Pubcomp(PubRel {
                    pkid,
                    reason: PubRelReason::Success,
                    properties: Default::default(),
                }))
                .await;
            }
        }
    }

    /// Next PUBLISH within `within`, acknowledged as its QoS requires; `None` if none came.
    /// Any other packet fails.
    pub async fn next_publish(&mut self, within: Duration) -> Option<Publish> {
        match self.read(Instant::now() + within).await {
            Read::Packet(Packet::Publish(p)) => {
                self.ack(&p).await;
                Some(p)
            }
            Read::Packet(other) => panic!("expected PUBLISH, got {other:?}"),
            Read::Timeout => None,
            Read::Closed => panic!("connection closed while waiting for a PUBLISH"),
        }
    }

    /// The next PUBLISH on `topic`, acknowledged like the others it skips; panics if none
    /// comes within `WAIT`.
    pub async fn next_on(&mut self, topic: &str) -> Publish {
        let deadline = Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_publish(left).await {
                Some(p) if p.topic == topic => return p,
                Some(p) => skipped.push(p.topic),
                None => panic!("nothing on {topic} within {WAIT:?} (other topics: {skipped:?})"),
            }
        }
    }

    /// Every message (acknowledged) the broker sent before a marker this client publishes now
    /// to a topic only it subscribes to (a `$` topic, which no `#` or `+` filter matches).
    ///
    /// The broker handles this connection's packets in order and delivers to a client in the
    /// order it routes, QoS 1 and 2 through one queue; the marker goes at QoS 1, behind any
    /// of them. So whatever this client's earlier packets (or anything the broker had routed
    /// before it) made the broker send is here. Any other packet before the marker fails.
    pub async fn collect_before_marker(&mut self) -> Vec<Publish> {
        if let Some(filter) = self.marker.subscription() {
            let granted = self.subscribe(&filter, QoS::AtLeastOnce).await;
            assert_eq!(granted, SubackReason::GrantedQos1, "marker subscription");
        }
        let (topic, payload) = self.marker.next_marker();
        self.publish(&topic, &payload, QoS::AtLeastOnce, false)
            .await;
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

    /// The topics and payloads of the messages before a marker, in order.
    pub async fn received_before_marker(&mut self) -> Vec<(String, String)> {
        let got = self.collect_before_marker().await;
        got.iter()
            .map(|p| (p.topic.clone(), text(p).to_owned()))
            .collect()
    }

    /// Asserts the broker sent this client nothing more and kept it connected.
    pub async fn expect_nothing_before_marker(&mut self) {
        let before = self.collect_before_marker().await;
        assert!(before.is_empty(), "expected nothing more, got {before:?}");
    }

    /// Sends DISCONNECT 0x00 (Normal disconnection) and closes, then waits for the broker's
    /// close, which proves the DISCONNECT was processed.
    pub async fn disconnect(self) {
        self.disconnect_with(
            DisconnectReason::NormalDisconnection,
            DisconnectProperties::default(),
        )
        .await;
    }

    /// Sends DISCONNECT with `reason` and `properties` and keeps the connection, to see what
    /// the broker answers.
    pub async fn send_disconnect(
        &mut self,
        reason: DisconnectReason,
        properties: DisconnectProperties,
    ) {
        self.send_packet(&Packet::Disconnect(Disconnect { reason, properties }))
            .await;
    }

    /// Sends DISCONNECT with `reason` and `properties`, then waits for the broker's close.
    pub async fn disconnect_with(
        mut self,
        reason: DisconnectReason,
        properties: DisconnectProperties,
    ) {
        self.send_disconnect(reason, properties).await;
        self.shutdown().await;
        let after = self.expect_closed(WAIT).await;
        assert!(
            after.iter().all(|p| matches!(
                p,
                Packet::Publish(_)
                    | Packet::Puback(_)
                    | Packet::Pubrec(_)
                    | Packet::Pubrel(_)
                    | Packet::Pubcomp(_)
            )),
            "the broker answered a client's DISCONNECT with {after:?}"
        );
    }

    /// Drops the connection with a TCP reset instead of a FIN, sending no DISCONNECT.
    pub fn reset(self) {
        self.link.reset();
    }
}

/// DISCONNECT properties that set the Session Expiry Interval to `seconds` (3.14.2.2.2).
pub fn session_expiry(seconds: u32) -> DisconnectProperties {
    DisconnectProperties {
        session_expiry_interval: Some(seconds),
        ..DisconnectProperties::default()
    }
}

/// PUBACK 0x00 for `pkid`.
pub fn puback(pkid: u16) -> Packet {
    Packet::Puback(PubAck {
        pkid,
        reason: PubAckReason::Success,
        properties: Default::default(),
    })
}

/// PUBREL 0x00 for `pkid`.
pub fn pubrel(pkid: u16) -> Packet {
    Packet::Pubrel(PubRel {
        pkid,
        reason: PubRelReason::Success,
        properties: Default::default(),
    })
}

/// The panic message for bytes from the broker that are not a valid MQTT 5.0 server packet.
fn invalid_packet(head: &[u8], e: &DecodeError) -> String {
    // What a broker without MQTT 5.0 answers a level 5 CONNECT with: a 3.1.1 CONNACK,
    // usually return code 1 (unacceptable protocol version).
    if let [0x20, 0x02, 0x00, code @ 1..=5, ..] = head {
        return format!(
            "the broker answered with an MQTT 3.1.1 CONNACK (return code {code}), not an MQTT \
             5.0 one: it refused protocol level 5 (bytes {head:02x?})"
        );
    }
    format!("the broker sent an invalid MQTT 5.0 packet: {e} (first bytes {head:02x?})")
}
