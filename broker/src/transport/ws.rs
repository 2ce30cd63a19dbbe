//! MQTT over WebSocket, server side (MQTT 3.1.1 section 6): the HTTP upgrade on one path with
//! an MQTT subprotocol, then a byte stream made of the payloads of binary messages.
//!
//! The upgrade request is read and answered here rather than by tungstenite's `accept_hdr`,
//! because tungstenite answers a request that is not an upgrade (a browser opening
//! `http://pi:8080/mqtt`) with a bare close; here it gets a 400 or 404 that says what to do.
//! tungstenite still validates the upgrade headers and computes the accept key. After the
//! upgrade, frames are read and written here (`ws/frame.rs`): every MQTT byte crosses the
//! WebSocket layer with one copy and no allocation, which a general WebSocket library's
//! message per frame does not allow.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::server::create_response;
use tokio_tungstenite::tungstenite::http::{self, header};

use super::sniff::{self, Arrival};
use crate::read_room::ReadRoom;

/// The path MQTT clients use unless told otherwise (MQTT.js, Paho, Mosquitto's examples).
pub const DEFAULT_PATH: &str = "/mqtt";

/// Subprotocols we accept (MQTT-6.0.0-3/4): `mqtt` is 3.1.1's; `mqttv3.1` is what MQTT.js and
/// Paho send for MQTT 3.1; `mqttv3` is seen from a few older clients.
pub const SUBPROTOCOLS: [&str; 3] = ["mqtt", "mqttv3.1", "mqttv3"];

/// An upgrade request larger than this is refused (431); browsers send about 1 kB.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// Room above the broker's max packet size in one message: a client may pack a maximum-size
/// PUBLISH with a few small packets into one frame.
const MESSAGE_SLACK: usize = 64 * 1024;

/// Why an upgrade was refused. Where an HTTP answer was sent, the message says which.
#[derive(Debug, Error)]
pub enum WsError {
    #[error("during the WebSocket upgrade: {0}")]
    Io(#[from] io::Error),
    #[error("the client closed the connection before its HTTP upgrade request was complete")]
    Closed,
    #[error("{} arrived instead of an HTTP upgrade request{hint}", arrival.describe())]
    NotHttp {
        arrival: Arrival,
        hint: &'static str,
    },
    #[error("malformed HTTP request ({0}); answered 400")]
    BadRequest(String),
    #[error("the HTTP request head is longer than {MAX_REQUEST_HEAD} bytes; answered 431")]
    TooLarge,
    #[error("HTTP request for `{requested}`, but MQTT over WebSocket is served on `{served}`; answered 404")]
    WrongPath { requested: String, served: String },
    #[error("`{method} {path}` is not a WebSocket upgrade ({reason}); answered 400")]
    NotUpgrade {
        method: String,
        path: String,
        reason: String,
    },
    #[error("the WebSocket client offered subprotocols [{offered}], none of mqtt, mqttv3.1, mqttv3 (MQTT-6.0.0-3); answered 400")]
    NoSubprotocol { offered: String },
}

/// Answers one WebSocket upgrade request on `stream` and returns the MQTT byte stream.
///
/// Only `GET path` with an upgrade and an MQTT subprotocol is accepted. Messages larger than
/// `max_packet_size` plus some slack are refused when they arrive. This only awaits I/O; wrap
/// it in `tokio::time::timeout` on the connection's own task.
pub async fn accept<S>(
    mut stream: S,
    path: &str,
    max_packet_size: usize,
) -> Result<WsStream<S>, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (request, tail) = match read_request(&mut stream).await {
        Ok(parsed) => parsed,
        Err(e) => {
            match &e {
                WsError::BadRequest(_) => {
                    refuse(&mut stream, 400, "Bad Request", "malformed HTTP request\n").await
                }
                WsError::TooLarge => {
                    refuse(
                        &mut stream,
                        431,
                        "Request Header Fields Too Large",
                        "request head too large\n",
                    )
                    .await
                }
                _ => {}
            }
            return Err(e);
        }
    };
    let requested = request.uri().path();
    if requested != path {
        let body = format!("MQTT over WebSocket is served on {path}\n");
        refuse(&mut stream, 404, "Not Found", &body).await;
        return Err(WsError::WrongPath {
            requested: prefix(requested),
            served: path.to_string(),
        });
    }
    let response = match create_response(&request) {
        Ok(response) => response,
        Err(e) => {
            let body = format!(
                "This is an MQTT over WebSocket endpoint: connect an MQTT client to \
                 ws://HOST:PORT{path} with subprotocol mqtt.\n"
            );
            refuse(&mut stream, 400, "Bad Request", &body).await;
            return Err(WsError::NotUpgrade {
                method: prefix(request.method().as_str()),
                // Not the query: some clients put tokens there.
                path: prefix(requested),
                reason: e.to_string(),
            });
        }
    };
    let subprotocol = match choose_subprotocol(&request) {
        Ok(chosen) => chosen,
        Err(offered) => {
            let body = "MQTT over WebSocket needs the subprotocol mqtt (or mqttv3.1, mqttv3) \
                        in Sec-WebSocket-Protocol\n";
            refuse(&mut stream, 400, "Bad Request", body).await;
            return Err(WsError::NoSubprotocol {
                offered: prefix(&offered),
            });
        }
    };

    let mut head = String::from("HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in response.headers() {
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(value.to_str().unwrap_or_default());
        head.push_str("\r\n");
    }
    head.push_str("Sec-WebSocket-Protocol: ");
    head.push_str(subprotocol.offered);
    head.push_str("\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await?;

    Ok(WsStream {
        inner: stream,
        received: BytesMut::from(&tail[..]),
        room: ReadRoom::default(),
        frame: None,
        in_message: false,
        message_len: 0,
        max_message: max_packet_size.saturating_add(MESSAGE_SLACK),
        outgoing: Vec::new(),
        close_sent: false,
        eof: false,
        failed: None,
        subprotocol: subprotocol.canonical,
    })
}

/// Reads the request head; returns it and any bytes the client sent after it.
async fn read_request<S>(stream: &mut S) -> Result<(http::Request<()>, Vec<u8>), WsError>
where
    S: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(2048);
    loop {
        buf.reserve(2048);
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(WsError::Closed);
        }
        if let Some((request, len)) = parse_head(&buf)? {
            return Ok((request, buf[len..].to_vec()));
        }
        if buf.len() >= MAX_REQUEST_HEAD {
            return Err(WsError::TooLarge);
        }
    }
}

/// `Ok(None)` while the head is incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(http::Request<()>, usize)>, WsError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(match sniff::classify(buf) {
                Arrival::Http | Arrival::WebSocket => WsError::BadRequest(e.to_string()),
                arrival => WsError::NotHttp {
                    arrival,
                    hint: match arrival {
                        Arrival::Mqtt => {
                            "; the client speaks plain MQTT: point it at a tcp listener or make it use ws://"
                        }
                        Arrival::Tls => {
                            "; the client speaks TLS: point it at a wss listener or make it use ws://"
                        }
                        _ => "",
                    },
                },
            });
        }
    };
    let bad = |e: http::Error| WsError::BadRequest(e.to_string());
    let mut request = http::Request::builder()
        .method(parsed.method.unwrap_or_default())
        .uri(parsed.path.unwrap_or_default())
        .version(match parsed.version {
            Some(0) => http::Version::HTTP_10,
            _ => http::Version::HTTP_11,
        });
    for h in parsed.headers.iter() {
        request = request.header(h.name, h.value);
    }
    Ok(Some((request.body(()).map_err(bad)?, len)))
}

struct Chosen<'a> {
    /// As the client spelled it: the response must echo one of its offers exactly.
    offered: &'a str,
    canonical: &'static str,
}

/// The first subprotocol the client offered that we support, or the offered list.
fn choose_subprotocol(request: &http::Request<()>) -> Result<Chosen<'_>, String> {
    let offered = || {
        request
            .headers()
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
    };
    offered()
        .find_map(|p| {
            SUBPROTOCOLS
                .iter()
                .find(|s| s.eq_ignore_ascii_case(p))
                .map(|canonical| Chosen {
                    offered: p,
                    canonical,
                })
        })
        .ok_or_else(|| offered().collect::<Vec<_>>().join(", "))
}

/// At most the first 64 characters of what a client sent, for error messages and logs.
fn prefix(sent: &str) -> String {
    const MAX: usize = 64;
    match sent.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &sent[..end]),
        None => sent.to_string(),
    }
}

/// Sends a short plain-text HTTP error and closes; the client may already be gone.
async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, status: u16, reason: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// An accepted MQTT-over-WebSocket connection as a byte stream.
///
/// Reads yield the payloads of binary messages back to back, so a packet may span frames and
/// messages and a message may hold several packets; every frame that has arrived is read at
/// once. Payloads are unmasked in place in the receive buffer and copied out once, with no
/// allocation per frame. Pings are answered while reading, even if the broker writes nothing;
/// a Close ends the stream (EOF) after it is answered; a text message is an error
/// (MQTT-6.0.0-1) and closes the WebSocket with code 1003, a frame no server may accept with
/// 1002. Each write is sent as one binary frame; as with TLS, call `flush` after a batch.
pub struct WsStream<S> {
    inner: S,
    /// Bytes from the client not yet taken apart: frame headers and masked payloads.
    received: BytesMut,
    /// How much of `received` a read from the socket gets.
    room: ReadRoom,
    /// The data frame being read: its masking key, and its payload bytes read and left.
    frame: Option<DataFrame>,
    /// Within a fragmented binary message: the next data frame must be a continuation.
    in_message: bool,
    message_len: u64,
    max_message: usize,
    /// Frames to send (a batch of packets, a Pong, a Close), written before anything else.
    outgoing: Vec<u8>,
    close_sent: bool,
    /// The client's Close arrived: the stream ends once its data is read.
    eof: bool,
    /// A failure met after some bytes were read, returned by the next read.
    failed: Option<io::Error>,
    subprotocol: &'static str,
}

#[derive(Debug, Clone, Copy)]
struct DataFrame {
    mask: [u8; 4],
    read: u64,
    left: u64,
}

/// A write buffer beyond this is sent before more is taken.
const OUTGOING_HIGH_WATER: usize = 64 * 1024;

impl<S> WsStream<S> {
    /// The negotiated subprotocol (`mqtt`, `mqttv3.1` or `mqttv3`).
    pub fn subprotocol(&self) -> &'static str {
        self.subprotocol
    }

    /// The stream under the WebSocket (for a `wss` listener, the TLS stream).
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// What taking the next frame header apart led to.
enum Step {
    /// Go on reading frames or data.
    Continue,
    /// Not enough bytes for the next header or control frame: read from the socket.
    NeedBytes,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// Queues a Close with `code` (once) and tries to send it; the error that follows ends
    /// the connection whether or not it got out.
    fn close_with(&mut self, cx: &mut Context<'_>, code: u16, reason: &str) {
        if !self.close_sent {
            frame::put_close(&mut self.outgoing, code, reason);
            self.close_sent = true;
        }
        let _ = self.poll_send_outgoing(cx);
    }

    /// Closes with `code` and fails the read with `why`.
    fn fail_closing(
        &mut self,
        cx: &mut Context<'_>,
        code: u16,
        why: String,
    ) -> Result<Step, io::Error> {
        self.close_with(cx, code, "");
        Err(io::Error::new(io::ErrorKind::InvalidData, why))
    }

    /// Writes what is queued in `outgoing` and flushes it; Ready once all of it is out.
    fn poll_send_outgoing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.outgoing.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.outgoing))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.outgoing.drain(..n);
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Takes apart the frame header at the start of `received`, answering control frames.
    fn next_frame(&mut self, cx: &mut Context<'_>) -> Result<Step, io::Error> {
        let header = match frame::parse_header(&self.received) {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(Step::NeedBytes),
            Err(e) => {
                self.close_with(cx, frame::CLOSE_PROTOCOL_ERROR, "protocol error");
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
            }
        };
        if header.is_control() {
            // Whole control frames only: they are at most 125 bytes.
            let total = header.len + header.payload_len as usize;
            if self.received.len() < total {
                return Ok(Step::NeedBytes);
            }
            let mut control = self.received.split_to(total);
            control.advance(header.len);
            frame::unmask(&mut control, header.mask, 0);
            match header.opcode {
                frame::OP_PING => {
                    frame::put_header(&mut self.outgoing, frame::OP_PONG, control.len());
                    self.outgoing.extend_from_slice(&control);
                    // Best effort now; whatever is left goes out with the next write.
                    let _ = self.poll_send_outgoing(cx);
                }
                frame::OP_CLOSE => {
                    if !self.close_sent {
                        // Echo the client's code, as RFC 6455 section 5.5.1 suggests.
                        let code = control
                            .get(..2)
                            .map_or(frame::CLOSE_NORMAL, |c| u16::from_be_bytes([c[0], c[1]]));
                        frame::put_close(&mut self.outgoing, code, "");
                        self.close_sent = true;
                        let _ = self.poll_send_outgoing(cx);
                    }
                    self.eof = true;
                }
                _ => {} // Pong: nothing to do.
            }
            return Ok(Step::Continue);
        }
        match header.opcode {
            frame::OP_TEXT => {
                return self.fail_closing(
                    cx,
                    frame::CLOSE_UNSUPPORTED_DATA,
                    "the client sent a WebSocket text message; MQTT over WebSocket uses \
                     binary messages only (MQTT-6.0.0-1)"
                        .into(),
                );
            }
            frame::OP_BINARY if self.in_message => {
                return self.fail_closing(
                    cx,
                    frame::CLOSE_PROTOCOL_ERROR,
                    "a new WebSocket message began before the last one ended".into(),
                );
            }
            frame::OP_CONTINUATION if !self.in_message => {
                return self.fail_closing(
                    cx,
                    frame::CLOSE_PROTOCOL_ERROR,
                    "a WebSocket continuation frame with no message to continue".into(),
                );
            }
            frame::OP_BINARY => self.message_len = 0,
            _ => {}
        }
        self.message_len += header.payload_len;
        if self.message_len > self.max_message as u64 {
            return self.fail_closing(
                cx,
                frame::CLOSE_TOO_BIG,
                format!(
                    "WebSocket message too large: {} bytes or more, at most {}",
                    self.message_len, self.max_message
                ),
            );
        }
        self.in_message = !header.fin;
        self.received.advance(header.len);
        self.frame = Some(DataFrame {
            mask: header.mask,
            read: 0,
            left: header.payload_len,
        });
        Ok(Step::Continue)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(e) = this.failed.take() {
            return Poll::Ready(Err(e));
        }
        let mut filled = false;
        let failure = loop {
            // Payload of the data frame being read, as far as it has arrived.
            if let Some(frame) = &mut this.frame {
                if frame.left == 0 {
                    this.frame = None;
                    continue;
                }
                let n = (frame.left.min(this.received.len() as u64) as usize).min(buf.remaining());
                if n > 0 {
                    let mut payload = this.received.split_to(n);
                    frame::unmask(&mut payload, frame.mask, frame.read);
                    buf.put_slice(&payload);
                    frame.read += n as u64;
                    frame.left -= n as u64;
                    filled = true;
                    if buf.remaining() == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    continue;
                }
            } else if !this.eof {
                match this.next_frame(cx) {
                    Ok(Step::Continue) => continue,
                    Ok(Step::NeedBytes) => {}
                    Err(e) => break e,
                }
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            // More bytes from the socket.
            let space = this.room.prepare(&mut this.received);
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.received) {
                Poll::Pending if filled => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(n)) if n > 0 => this.room.after_read(n, space),
                Poll::Ready(Ok(_)) => {
                    break io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the WebSocket client went away without a Close frame",
                    )
                }
                Poll::Ready(Err(e)) => break e,
            }
        };
        // What was read before the failure is still the client's: deliver it first.
        if filled {
            this.failed = Some(failure);
            return Poll::Ready(Ok(()));
        }
        Poll::Ready(Err(failure))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let this = self.get_mut();
        if this.close_sent {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the WebSocket is closed",
            )));
        }
        if this.outgoing.len() >= OUTGOING_HIGH_WATER {
            ready!(this.poll_send_outgoing(cx))?;
        }
        frame::put_header(&mut this.outgoing, frame::OP_BINARY, data.len());
        this.outgoing.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send_outgoing(cx)
    }

    /// Sends a Close frame (unless one went already), then shuts the underlying stream down
    /// (TLS close_notify, TCP FIN).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_sent {
            frame::put_close(&mut this.outgoing, frame::CLOSE_NORMAL, "");
            this.close_sent = true;
        }
        ready!(this.poll_send_outgoing(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

mod frame;

#[cfg(test)]
mod tests;
