//! One client connection: a reader that decodes packets and hands them to the router, and a
//! writer that encodes what the router sends back. A malformed packet, a protocol violation or
//! a silent client ends this connection only.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use log::{debug, Level};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::accept_gate::AcceptGate;
use super::admission;
use super::codec::v5::{self, ConnackReason, DisconnectReason, Sender};
use super::codec::{self, encode_publish, DecodeError};
use super::counters::Counters;
use super::event::{ClientIdentity, CloseReason, Event, Goodbye};
use super::listener::{ListenerInfo, Origin};
use super::log_limit::{LogLimiter, Refusal};
use super::outbox::{self, ConnHandle, Outgoing, WriterSide};
use super::read_room::ReadRoom;
use super::router::SharedRouter;
use super::session::ConnId;
use super::settings::ListenerKind;
use super::topic_alias::TopicAliases;
use super::transport::sniff::{self, Arrival};
use super::wire::{self, Version};

/// What every connection needs from the broker.
pub(crate) struct ConnContext {
    /// Packets are handled on the connection's own task, under the router's lock.
    pub router: SharedRouter,
    pub counters: Arc<Counters>,
    pub max_packet_size: usize,
    pub connect_timeout: Duration,
    /// Every listener, so a client on the wrong one can be told where to go.
    pub listeners: Vec<Arc<ListenerInfo>>,
    /// Per-address limits and descriptor exhaustion, checked as sockets are accepted.
    pub gate: AcceptGate,
    /// Refusals from one source are logged a few times a minute, then counted.
    pub refusals: Arc<LogLimiter>,
}

impl ConnContext {
    /// "… are served on listener tls:8883 (0.0.0.0:8883)", or that no listener serves them.
    pub(crate) fn served_elsewhere(&self, kinds: &[&str], what: &str) -> String {
        let serving: Vec<String> = self
            .listeners
            .iter()
            .filter(|l| kinds.contains(&l.kind.word()))
            .map(|l| format!("{} ({})", l.name, l.addr))
            .collect();
        if serving.is_empty() {
            format!("no listener serves {what}")
        } else {
            format!("{what} are served on listener {}", serving.join(", "))
        }
    }
}

/// Written in one go once this much is buffered, so one busy client cannot starve the socket.
const WRITE_BATCH: usize = 64 * 1024;
/// A write buffer larger than this is released once the client has nothing more queued.
const IDLE_WRITE_BUFFER: usize = 4 * 1024;

/// Serves one client over any byte stream (TCP, TLS, WebSocket), from its CONNECT to its end.
pub(crate) async fn serve<R, W>(
    mut reader: R,
    mut writer: W,
    origin: Origin,
    conn: ConnId,
    ctx: Arc<ConnContext>,
) where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = BytesMut::with_capacity(4096);
    // On the heap while it runs: the resting connection's future (every idle node's) then
    // holds none of the CONNECT's state.
    let Some((version, connect, admitted)) =
        Box::pin(handshake(&mut reader, &mut writer, &mut buf, &origin, &ctx)).await
    else {
        return;
    };
    let mut inbound = Inbound {
        version,
        aliases: TopicAliases::default(),
        session_ends_with_connection: connect.properties.session_expiry_interval.unwrap_or(0) == 0,
    };

    // In a plain function: what the CONNECT carried is gone before the connection rests, not
    // kept in its future for as long as it lasts.
    let Some((handle, abort, keep_alive)) =
        start(writer, version, connect, admitted, &origin, conn, &ctx)
    else {
        return;
    };
    let reason = read_loop(
        &mut reader,
        &mut buf,
        &ctx,
        conn,
        keep_alive,
        &handle,
        &abort,
        &mut inbound,
    )
    .await;
    // An MQTT 5 client is told why the server ends its connection (4.13.2); a 3.1.1 one
    // only sees it close.
    if let (true, Some(code)) = (version.is_v5(), reason.server_disconnect()) {
        handle.close_with(disconnect_packet(code));
    }
    let _ = ctx.router.handle(Event::Closed { conn, reason });
}

/// What a connection's reader keeps between packets.
struct Inbound {
    version: Version,
    aliases: TopicAliases,
    /// The CONNECT's Session Expiry Interval was 0: a DISCONNECT may not raise it
    /// (3.14.2.2.2).
    session_ends_with_connection: bool,
}

/// A server's DISCONNECT with `reason` and nothing else.
pub(crate) fn disconnect_packet(reason: DisconnectReason) -> v5::Packet {
    v5::Packet::Disconnect(v5::Disconnect {
        reason,
        properties: Default::default(),
    })
}

/// Starts the connection's writer and hands its CONNECT to the router; `None` if the router
/// has stopped. Returns the router's line to the writer, the token that ends both, and the
/// client's keepalive.
fn start<W>(
    writer: W,
    version: Version,
    connect: v5::Connect,
    admitted: admission::Admitted,
    origin: &Origin,
    conn: ConnId,
    ctx: &ConnContext,
) -> Option<(ConnHandle, CancellationToken, u16)>
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (handle, writer_side) = outbox::channel();
    let abort = writer_side.abort.clone();
    let wire = Outbound {
        version,
        // What the client accepts (3.1.2.11.4); beyond the protocol's own maximum means none.
        max_packet_size: connect
            .properties
            .maximum_packet_size
            .map_or(usize::MAX, |max| max as usize),
    };
    tokio::spawn(write_loop(writer, writer_side, ctx.counters.clone(), wire));
    let keep_alive = connect.keep_alive;
    debug!(
        "CONNECT from {} client={} conn={conn} mqtt={version}",
        origin.peer, connect.client_id
    );
    let identity = ClientIdentity {
        peer: origin.peer,
        listener: origin.listener.name.clone(),
        username: admitted.username,
        users_generation: admitted.users_generation,
    };
    let event = Event::Connect {
        conn,
        version,
        connect,
        identity,
        handle: handle.clone(),
    };
    ctx.router.handle(event).ok()?;
    Some((handle, abort, keep_alive))
}

/// Reads the CONNECT (within `connect_timeout`) and checks the client's credentials; a client
/// refused or gone is answered as the protocol says and logged, and `None` returned.
async fn handshake<R, W>(
    reader: &mut R,
    writer: &mut W,
    buf: &mut BytesMut,
    origin: &Origin,
    ctx: &ConnContext,
) -> Option<(Version, v5::Connect, admission::Admitted)>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let peer = origin.peer;
    let first = tokio::time::timeout(ctx.connect_timeout, read_connect(reader, buf, ctx)).await;
    // Refusals here are what a fuzzer or a misdirected client repeats: rate-limited.
    let refused = |line: std::fmt::Arguments<'_>| {
        ctx.refusals
            .log(Level::Info, Some(peer.ip()), Refusal::Protocol, line);
    };
    let (version, connect) =
        match first.map(|read| read.map(|first| first.map(First::into_connect))) {
            Ok(Ok(Some(Ok(connect)))) => connect,
            Ok(Ok(Some(Err(other)))) => {
                refused(format_args!(
                    "closed connection from {peer}: first packet was {other} instead of CONNECT"
                ));
                return None;
            }
            Ok(Ok(None)) => return None,
            Ok(Err(e)) => {
                // The codecs say which violations are answered with a CONNACK before the close
                // (MQTT-3.1.2-2, MQTT-3.1.4-1 .. -2 in 5.0); all others close silently.
                if let Some((version, reason)) = e.connack() {
                    refused(format_args!(
                        "refused connection from {peer} with CONNACK {reason:?}: {e}"
                    ));
                    refuse(writer, version, reason, &e.to_string()).await;
                } else if let Some(hint) = wrong_listener(origin, ctx, buf) {
                    refused(format_args!("closed connection from {peer}: {hint}"));
                } else {
                    refused(format_args!(
                        "closed connection from {peer} before CONNECT: {e}"
                    ));
                }
                return None;
            }
            Err(_) => {
                refused(format_args!(
                    "closed connection from {peer}: no CONNECT within {:?}",
                    ctx.connect_timeout
                ));
                return None;
            }
        };

    if let Some(method) = &connect.properties.authentication_method {
        // Enhanced authentication (4.12) is not offered: user name and password are.
        let why = format!(
            "authentication method {method:?} is not supported; use a user name and password"
        );
        refused(format_args!(
            "refused connection from {peer} with CONNACK BadAuthenticationMethod: {why}"
        ));
        refuse(
            writer,
            version,
            ConnackReason::BadAuthenticationMethod,
            &why,
        )
        .await;
        return None;
    }

    let admitted = match admission::admit(origin, &connect, &ctx.refusals).await {
        Ok(admitted) => admitted,
        Err(reason) => {
            Counters::add(&ctx.counters.connects_refused_auth, 1);
            refuse(writer, version, reason, "").await;
            return None;
        }
    };

    Some((version, connect, admitted))
}

/// What a client that is not speaking MQTT on a plain TCP listener seems to want, and where
/// it is served: better than "malformed PUBACK" for a phone app set to TLS or WebSocket.
fn wrong_listener(origin: &Origin, ctx: &ConnContext, first: &[u8]) -> Option<String> {
    if origin.listener.kind != ListenerKind::Tcp {
        return None;
    }
    let arrival = sniff::classify(first);
    let (kinds, what): (&[&str], &str) = match arrival {
        Arrival::Tls => (&["tls", "wss"], "TLS connections"),
        Arrival::WebSocket | Arrival::Http => (&["ws", "wss"], "WebSocket connections"),
        Arrival::Mqtt | Arrival::Unknown | Arrival::Incomplete => return None,
    };
    Some(format!(
        "{arrival} arrived on the plain MQTT listener {} ({}); {}",
        origin.listener.name,
        origin.listener.addr,
        ctx.served_elsewhere(kinds, what)
    ))
}

/// Answers a CONNECT with a refusal and closes the connection. An MQTT 5 client is told why
/// in a Reason String; a 3.1.1 one gets the nearest return code.
async fn refuse<W: AsyncWrite + Unpin>(
    writer: &mut W,
    version: Version,
    reason: ConnackReason,
    why: &str,
) {
    let mut out = BytesMut::new();
    let connack = wire::refusing_connack(reason, why);
    if version.is_v5() {
        connack.encode(&mut out);
    } else if let Some(v3) = wire::packet_to_v3(&connack) {
        v3.encode(&mut out);
    }
    let _ = writer.write_all(&out).await;
    let _ = writer.shutdown().await;
}

/// Hands packets to the router until the connection ends, and says why it ended.
#[allow(clippy::too_many_arguments)]
async fn read_loop<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    ctx: &ConnContext,
    conn: ConnId,
    keep_alive: u16,
    handle: &ConnHandle,
    abort: &CancellationToken,
    inbound: &mut Inbound,
) -> CloseReason {
    // The server allows one and a half keepalive periods of silence (MQTT-3.1.2-24). One timer
    // for the connection, moved on once per read that completes a packet rather than made
    // anew for each packet: a busy publisher's packets come many to a read.
    let silence = (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500));
    let mut silent = silence.map(|limit| Box::pin(tokio::time::sleep(limit)));
    let mut room = ReadRoom::default();
    loop {
        match handle_buffered(buf, ctx, conn, handle, inbound) {
            Ok(0) => {}
            Ok(_) => {
                if let (Some(timer), Some(limit)) = (&mut silent, silence) {
                    timer.as_mut().reset(tokio::time::Instant::now() + limit);
                }
            }
            Err(reason) => return reason,
        }
        let space = room.prepare(buf);
        let read = tokio::select! {
            _ = abort.cancelled() => return CloseReason::WriterClosed,
            () = until(&mut silent) => return CloseReason::KeepAliveExpired,
            read = reader.read_buf(buf) => read,
        };
        match read {
            Ok(0) if buf.is_empty() => return CloseReason::PeerClosed,
            Ok(0) => return CloseReason::Io("connection closed in the middle of a packet".into()),
            Ok(n) => {
                Counters::add(&ctx.counters.bytes_received, n as u64);
                room.after_read(n, space);
            }
            Err(e) => return CloseReason::Io(e.to_string()),
        }
    }
}

/// The next whole packet in `buf`, in the broker's MQTT 5.0 terms whichever protocol the
/// client speaks.
fn decode_next(
    buf: &mut BytesMut,
    ctx: &ConnContext,
    version: Version,
) -> Result<Option<v5::Packet>, CloseReason> {
    if version.is_v5() {
        return v5::decode(buf, ctx.max_packet_size, Sender::Client)
            .map_err(|e| CloseReason::ProtocolError(e.disconnect_reason(), e.to_string()));
    }
    let malformed =
        |why: String| CloseReason::ProtocolError(DisconnectReason::MalformedPacket, why);
    let Some(packet) =
        codec::decode(buf, ctx.max_packet_size).map_err(|e| malformed(e.to_string()))?
    else {
        return Ok(None);
    };
    wire::packet_from_v3(packet)
        .map(Some)
        .map_err(|kind| malformed(format!("{kind} is only sent by servers")))
}

/// Handles every whole packet in `buf` and says how many there were, or why the connection
/// ends. Not async, so no packet is kept in the connection's future while it waits.
fn handle_buffered(
    buf: &mut BytesMut,
    ctx: &ConnContext,
    conn: ConnId,
    handle: &ConnHandle,
    inbound: &mut Inbound,
) -> Result<usize, CloseReason> {
    let protocol_error =
        |why: &str| CloseReason::ProtocolError(DisconnectReason::ProtocolError, why.into());
    let mut handled = 0;
    while let Some(packet) = decode_next(buf, ctx, inbound.version)? {
        Counters::add(&ctx.counters.packets_received, 1);
        handled += 1;
        let packet = match packet {
            v5::Packet::Pingreq => {
                handle.send_packet(v5::Packet::Pingresp);
                continue;
            }
            v5::Packet::Disconnect(d) => {
                let session_expiry = d.properties.session_expiry_interval;
                if inbound.session_ends_with_connection && session_expiry.is_some_and(|s| s > 0) {
                    return Err(protocol_error(
                        "DISCONNECT sets a Session Expiry Interval after CONNECT set 0 (3.14.2.2.2)",
                    ));
                }
                return Err(CloseReason::Disconnected(Goodbye {
                    with_will: d.reason == DisconnectReason::DisconnectWithWillMessage,
                    session_expiry,
                }));
            }
            v5::Packet::Connect(_) => {
                return Err(protocol_error(
                    "second CONNECT on one connection (MQTT-3.1.0-2)",
                ))
            }
            v5::Packet::Auth(_) => {
                return Err(protocol_error(
                    "AUTH from a client that gave no Authentication Method (MQTT-4.12.0-1)",
                ))
            }
            v5::Packet::Publish(mut p) => {
                if let Err(bad) = inbound.aliases.resolve(&mut p) {
                    return Err(CloseReason::ProtocolError(bad.reason, bad.why));
                }
                v5::Packet::Publish(p)
            }
            other => other,
        };
        if ctx.router.handle(Event::Packet { conn, packet }).is_err() {
            return Err(CloseReason::WriterClosed);
        }
    }
    Ok(handled)
}

/// Resolves when `timer` fires; never without one (keepalive 0).
async fn until(timer: &mut Option<std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match timer {
        Some(timer) => timer.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The first packet, decoded by the codec its protocol level chose.
enum First {
    V3(codec::Packet),
    V5(Box<v5::Packet>),
}

impl First {
    /// The CONNECT, in 5.0's terms, or the name of the packet that came instead.
    fn into_connect(self) -> Result<(Version, v5::Connect), &'static str> {
        match self {
            First::V3(codec::Packet::Connect(connect)) => Ok(wire::connect_from_v3(connect)),
            First::V3(other) => Err(other.packet_type().name()),
            First::V5(packet) => match *packet {
                v5::Packet::Connect(connect) => Ok((Version::V5, connect)),
                other => Err(other.packet_type().name()),
            },
        }
    }
}

/// Reads until one whole packet (the CONNECT) is buffered, and decodes it as MQTT 5.0 if its
/// protocol level says 5, as 3.1 / 3.1.1 otherwise (which also refuses any other level).
/// `Ok(None)` is a clean end of stream.
async fn read_connect<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    ctx: &ConnContext,
) -> Result<Option<First>, HandshakeError> {
    loop {
        let first = if v5::connect_protocol_level(buf) == Some(v5::PROTOCOL_LEVEL) {
            v5::decode(buf, ctx.max_packet_size, Sender::Client)
                .map_err(HandshakeError::V5)?
                .map(|p| First::V5(Box::new(p)))
        } else {
            codec::decode(buf, ctx.max_packet_size)
                .map_err(HandshakeError::V3)?
                .map(First::V3)
        };
        if let Some(first) = first {
            Counters::add(&ctx.counters.packets_received, 1);
            return Ok(Some(first));
        }
        buf.reserve(4096);
        let n = reader
            .read_buf(buf)
            .await
            .map_err(|e| HandshakeError::Io(e.to_string()))?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(HandshakeError::Io(
                    "connection closed in the middle of a packet".into(),
                ))
            };
        }
        Counters::add(&ctx.counters.bytes_received, n as u64);
    }
}

/// The first packet failed to decode, as MQTT 3.1.1 or as 5.0, or the socket failed.
enum HandshakeError {
    V3(DecodeError),
    V5(v5::DecodeError),
    Io(String),
}

impl HandshakeError {
    /// The CONNACK to refuse with, in the protocol the client spoke, where the codec says
    /// one is due; a socket error is never answered.
    fn connack(&self) -> Option<(Version, ConnackReason)> {
        match self {
            // The 3.1.1 codec answers only an unknown protocol level (return code 1).
            HandshakeError::V3(e) => e
                .connack_code()
                .map(|_| (Version::V311, ConnackReason::UnsupportedProtocolVersion)),
            HandshakeError::V5(e) => Some((Version::V5, e.connack_reason())),
            HandshakeError::Io(_) => None,
        }
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::V3(e) => write!(f, "{e}"),
            HandshakeError::V5(e) => write!(f, "{e}"),
            HandshakeError::Io(e) => f.write_str(e),
        }
    }
}

/// How the writer puts packets on the wire for this client.
struct Outbound {
    version: Version,
    /// The client's Maximum Packet Size (MQTT 5); the router sends no PUBLISH beyond it.
    max_packet_size: usize,
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut side: WriterSide,
    counters: Arc<Counters>,
    wire: Outbound,
) {
    // Grown by the first batch; an idle client keeps no large buffer (see below).
    let mut buf = BytesMut::new();
    loop {
        // Scoped so the item waited for is not kept in the future while the batch is written.
        let batch = {
            let first = tokio::select! {
                _ = side.abort.cancelled() => break,
                next = side.rx.recv() => next,
            };
            let Some(first) = first else { break };
            buf.clear();
            Batch::collect(first, &mut side.rx, &mut buf, &wire)
        };
        // A TLS or WebSocket stream holds bytes until flushed; TCP's flush is free.
        let written = tokio::select! {
            _ = side.abort.cancelled() => break,
            result = async { writer.write_all(&buf).await?; writer.flush().await } => result,
        };
        if written.is_err() {
            break;
        }
        side.pending.fetch_sub(batch.publishes, Ordering::Relaxed);
        Counters::add(&counters.bytes_sent, buf.len() as u64);
        Counters::add(&counters.packets_sent, batch.packets);
        Counters::add(&counters.publish_sent, batch.publishes as u64);
        if batch.close {
            break;
        }
        // A burst (retained messages on subscribe, a backlog) grew the buffer; with nothing
        // more to send, give it back rather than hold it for an idle client.
        if side.rx.is_empty() {
            if buf.capacity() > IDLE_WRITE_BUFFER {
                buf = BytesMut::new();
            }
            side.rx.release_idle();
        }
    }
    let _ = writer.shutdown().await;
    // Wake the reader so the router learns the connection is gone.
    side.abort.cancel();
}

#[derive(Default)]
struct Batch {
    publishes: usize,
    packets: u64,
    close: bool,
}

impl Batch {
    /// Encodes `first` and whatever else is queued, up to [`WRITE_BATCH`] bytes or a Close.
    fn collect(
        first: Outgoing,
        rx: &mut outbox::Receiver,
        buf: &mut BytesMut,
        wire: &Outbound,
    ) -> Batch {
        let mut batch = Batch::default();
        batch.encode(first, buf, wire);
        while buf.len() < WRITE_BATCH && !batch.close {
            match rx.try_recv() {
                Ok(next) => batch.encode(next, buf, wire),
                Err(_) => break,
            }
        }
        batch
    }

    fn encode(&mut self, item: Outgoing, buf: &mut BytesMut, wire: &Outbound) {
        match item {
            Outgoing::Packet(packet) => {
                if wire.version.is_v5() {
                    // A Reason String or User Properties are left out if the client's
                    // maximum says so; a packet that still does not fit is not sent.
                    if let Err(e) = packet.encode_within(buf, wire.max_packet_size) {
                        debug!("not sent: {e}");
                        return;
                    }
                } else if let Some(packet) = wire::packet_to_v3(&packet) {
                    packet.encode(buf);
                } else {
                    return;
                }
                self.packets += 1;
            }
            Outgoing::Publish {
                message,
                qos,
                retain,
                dup,
                pkid,
            } => {
                if wire.version.is_v5() {
                    wire::encode_publish_v5(buf, &message, qos, retain, dup, pkid);
                } else {
                    encode_publish(
                        buf,
                        &message.topic,
                        &message.payload,
                        qos,
                        retain,
                        dup,
                        pkid,
                    );
                }
                self.publishes += 1;
                self.packets += 1;
            }
            Outgoing::Close => self.close = true,
        }
    }
}
