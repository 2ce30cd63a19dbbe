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
use super::codec::{self, encode_publish, Connack, ConnectReturnCode, DecodeError, Packet};
use super::counters::Counters;
use super::event::{ClientIdentity, CloseReason, Event};
use super::listener::{ListenerInfo, Origin};
use super::log_limit::{LogLimiter, Refusal};
use super::outbox::{self, ConnHandle, Outgoing, WriterSide};
use super::read_room::ReadRoom;
use super::router::SharedRouter;
use super::session::ConnId;
use super::settings::ListenerKind;
use super::transport::sniff::{self, Arrival};

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
    let Some((connect, admitted)) =
        Box::pin(handshake(&mut reader, &mut writer, &mut buf, &origin, &ctx)).await
    else {
        return;
    };

    // In a plain function: what the CONNECT carried is gone before the connection rests, not
    // kept in its future for as long as it lasts.
    let Some((handle, abort, keep_alive)) = start(writer, connect, admitted, &origin, conn, &ctx)
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
    )
    .await;
    let _ = ctx.router.handle(Event::Closed { conn, reason });
}

/// Starts the connection's writer and hands its CONNECT to the router; `None` if the router
/// has stopped. Returns the router's line to the writer, the token that ends both, and the
/// client's keepalive.
fn start<W>(
    writer: W,
    connect: codec::Connect,
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
    tokio::spawn(write_loop(writer, writer_side, ctx.counters.clone()));
    let keep_alive = connect.keep_alive;
    debug!(
        "CONNECT from {} client={} conn={conn}",
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
) -> Option<(codec::Connect, admission::Admitted)>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let peer = origin.peer;
    let first = tokio::time::timeout(ctx.connect_timeout, read_packet(reader, buf, ctx)).await;
    // Refusals here are what a fuzzer or a misdirected client repeats: rate-limited.
    let refused = |line: std::fmt::Arguments<'_>| {
        ctx.refusals
            .log(Level::Info, Some(peer.ip()), Refusal::Protocol, line);
    };
    let connect = match first {
        Ok(Ok(Some(Packet::Connect(connect)))) => connect,
        Ok(Ok(Some(other))) => {
            refused(format_args!(
                "closed connection from {peer}: first packet was {} instead of CONNECT",
                other.packet_type()
            ));
            return None;
        }
        Ok(Ok(None)) => return None,
        Ok(Err(e)) => {
            // The codec says which violations are answered with a CONNACK before the close
            // (MQTT-3.1.2-2); all others close silently (MQTT-4.8.0-1).
            if let Some(code) = e.connack_code() {
                refused(format_args!(
                    "refused connection from {peer} with CONNACK {code:?}: {e}"
                ));
                refuse(writer, code).await;
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

    let admitted = match admission::admit(origin, &connect, &ctx.refusals).await {
        Ok(admitted) => admitted,
        Err(code) => {
            Counters::add(&ctx.counters.connects_refused_auth, 1);
            refuse(writer, code).await;
            return None;
        }
    };

    Some((connect, admitted))
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

/// Answers a CONNECT with a refusal and closes the connection.
async fn refuse<W: AsyncWrite + Unpin>(writer: &mut W, code: ConnectReturnCode) {
    let mut out = BytesMut::new();
    Packet::Connack(Connack {
        session_present: false,
        code,
    })
    .encode(&mut out);
    let _ = writer.write_all(&out).await;
    let _ = writer.shutdown().await;
}

/// Hands packets to the router until the connection ends, and says why it ended.
async fn read_loop<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    ctx: &ConnContext,
    conn: ConnId,
    keep_alive: u16,
    handle: &ConnHandle,
    abort: &CancellationToken,
) -> CloseReason {
    // The server allows one and a half keepalive periods of silence (MQTT-3.1.2-24). One timer
    // for the connection, moved on once per read that completes a packet rather than made
    // anew for each packet: a busy publisher's packets come many to a read.
    let silence = (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500));
    let mut silent = silence.map(|limit| Box::pin(tokio::time::sleep(limit)));
    let mut room = ReadRoom::default();
    loop {
        match handle_buffered(buf, ctx, conn, handle) {
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

/// Handles every whole packet in `buf` and says how many there were, or why the connection
/// ends. Not async, so no packet is kept in the connection's future while it waits.
fn handle_buffered(
    buf: &mut BytesMut,
    ctx: &ConnContext,
    conn: ConnId,
    handle: &ConnHandle,
) -> Result<usize, CloseReason> {
    let mut handled = 0;
    while let Some(packet) = codec::decode(buf, ctx.max_packet_size)
        .map_err(|e| CloseReason::ProtocolError(e.to_string()))?
    {
        Counters::add(&ctx.counters.packets_received, 1);
        handled += 1;
        match packet {
            Packet::Pingreq => handle.send_packet(Packet::Pingresp),
            Packet::Disconnect => return Err(CloseReason::Disconnected),
            Packet::Connect(_) => {
                return Err(CloseReason::ProtocolError(
                    "second CONNECT on one connection".into(),
                ))
            }
            Packet::Connack(_) | Packet::Suback(_) | Packet::Unsuback(_) | Packet::Pingresp => {
                return Err(CloseReason::ProtocolError(format!(
                    "{} is only sent by servers",
                    packet.packet_type()
                )))
            }
            packet => {
                if ctx.router.handle(Event::Packet { conn, packet }).is_err() {
                    return Err(CloseReason::WriterClosed);
                }
            }
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

/// Reads until one whole packet (the CONNECT) is buffered. `Ok(None)` is a clean end of stream.
async fn read_packet<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    ctx: &ConnContext,
) -> Result<Option<Packet>, DecodeErrorOr> {
    loop {
        if let Some(packet) = codec::decode(buf, ctx.max_packet_size)? {
            Counters::add(&ctx.counters.packets_received, 1);
            return Ok(Some(packet));
        }
        buf.reserve(4096);
        let n = reader
            .read_buf(buf)
            .await
            .map_err(|e| DecodeErrorOr::Io(e.to_string()))?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(DecodeErrorOr::Io(
                    "connection closed in the middle of a packet".into(),
                ))
            };
        }
        Counters::add(&ctx.counters.bytes_received, n as u64);
    }
}

/// A read either failed to decode or failed on the socket.
enum DecodeErrorOr {
    Decode(DecodeError),
    Io(String),
}

impl DecodeErrorOr {
    /// See [`DecodeError::connack_code`]; a socket error is never answered.
    fn connack_code(&self) -> Option<ConnectReturnCode> {
        match self {
            DecodeErrorOr::Decode(e) => e.connack_code(),
            DecodeErrorOr::Io(_) => None,
        }
    }
}

impl From<DecodeError> for DecodeErrorOr {
    fn from(e: DecodeError) -> Self {
        DecodeErrorOr::Decode(e)
    }
}

impl std::fmt::Display for DecodeErrorOr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeErrorOr::Decode(e) => write!(f, "{e}"),
            DecodeErrorOr::Io(e) => f.write_str(e),
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut side: WriterSide,
    counters: Arc<Counters>,
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
            Batch::collect(first, &mut side.rx, &mut buf)
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
    fn collect(first: Outgoing, rx: &mut outbox::Receiver, buf: &mut BytesMut) -> Batch {
        let mut batch = Batch::default();
        batch.encode(first, buf);
        while buf.len() < WRITE_BATCH && !batch.close {
            match rx.try_recv() {
                Ok(next) => batch.encode(next, buf),
                Err(_) => break,
            }
        }
        batch
    }

    fn encode(&mut self, item: Outgoing, buf: &mut BytesMut) {
        match item {
            Outgoing::Packet(packet) => {
                packet.encode(buf);
                self.packets += 1;
            }
            Outgoing::Publish {
                message,
                qos,
                retain,
                dup,
                pkid,
            } => {
                encode_publish(
                    buf,
                    &message.topic,
                    &message.payload,
                    qos,
                    retain,
                    dup,
                    pkid,
                );
                self.publishes += 1;
                self.packets += 1;
            }
            Outgoing::Close => self.close = true,
        }
    }
}
