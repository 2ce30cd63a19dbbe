//! MQTT over WebSocket, server side (MQTT 3.1.1 section 6): the HTTP upgrade on one path with
//! an MQTT subprotocol, then a byte stream made of the payloads of binary messages.
//!
//! The upgrade request is read and answered here rather than by tungstenite's `accept_hdr`,
//! because tungstenite answers a request that is not an upgrade (a browser opening
//! `http://pi:8080/mqtt`) with a bare close; here it gets a 400 or 404 that says what to do.
//! tungstenite still validates the upgrade headers and computes the accept key.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Sink, Stream};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::server::create_response;
use tokio_tungstenite::tungstenite::http::{self, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::sniff::{self, Arrival};

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
/// tungstenite allocates its read buffer up front; 4 kB keeps idle connections small.
const READ_BUFFER: usize = 4 * 1024;

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

    let limit = max_packet_size.saturating_add(MESSAGE_SLACK);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        // Each write is already a whole batch of packets: send it at once.
        .write_buffer_size(0)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let inner =
        WebSocketStream::from_partially_read(stream, tail, Role::Server, Some(config)).await;
    Ok(WsStream {
        inner,
        pending: Bytes::new(),
        failed: None,
        eof: false,
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
/// Reads yield the payloads of binary messages back to back, so a packet may span messages
/// and a message may hold several packets. Pings are answered while reading, even if the
/// broker writes nothing; a Close ends the stream (EOF) after it is answered; a text message
/// is an error (MQTT-6.0.0-1) and closes the WebSocket with code 1003. Each write is sent as
/// one binary message; as with TLS, call `flush` after a batch so nothing stays buffered when
/// the socket is momentarily full.
pub struct WsStream<S> {
    inner: WebSocketStream<S>,
    /// The rest of the last binary message, not yet read.
    pending: Bytes,
    /// A failure met after some bytes were read, returned by the next read.
    failed: Option<io::Error>,
    eof: bool,
    subprotocol: &'static str,
}

impl<S> WsStream<S> {
    /// The negotiated subprotocol (`mqtt`, `mqttv3.1` or `mqttv3`).
    pub fn subprotocol(&self) -> &'static str {
        self.subprotocol
    }

    /// The stream under the WebSocket (for a `wss` listener, the TLS stream).
    pub fn get_ref(&self) -> &S
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.inner.get_ref()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// MQTT-6.0.0-1: a text message closes the connection. Best effort: the error that
    /// follows ends the connection whether or not the Close frame got out.
    fn refuse_text(&mut self, cx: &mut Context<'_>) {
        let close = CloseFrame {
            code: CloseCode::Unsupported,
            reason: "MQTT over WebSocket uses binary messages".into(),
        };
        if Pin::new(&mut self.inner)
            .start_send(Message::Close(Some(close)))
            .is_ok()
        {
            let _ = Pin::new(&mut self.inner).poll_flush(cx);
        }
        self.eof = true;
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsStream<S> {
    /// Fills `buf` with as many messages as have arrived, not just one: clients send one
    /// message per packet, and a read per packet would cost the reader a wake-up each.
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
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                filled = true;
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let next = match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(next) => next,
                Poll::Pending if filled => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            };
            let failure = match next {
                Some(Ok(Message::Binary(data))) => {
                    this.pending = data;
                    continue;
                }
                // tungstenite queues the Pong (or the Close reply) and sends it at the start
                // of the next read, which the loop does right away.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_))) => continue,
                Some(Ok(Message::Frame(_))) => continue,
                None => {
                    this.eof = true;
                    continue;
                }
                Some(Ok(Message::Text(_))) => {
                    this.refuse_text(cx);
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the client sent a WebSocket text message; MQTT over WebSocket uses \
                         binary messages only (MQTT-6.0.0-1)",
                    )
                }
                Some(Err(e)) => to_io(e),
            };
            // What was read before the failure is still the client's: deliver it first.
            if filled {
                this.failed = Some(failure);
                return Poll::Ready(Ok(()));
            }
            return Poll::Ready(Err(failure));
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let this = self.get_mut();
        ready!(Pin::new(&mut this.inner).poll_ready(cx)).map_err(to_io)?;
        Pin::new(&mut this.inner)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(to_io)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner)
            .poll_flush(cx)
            .map_err(to_io)
    }

    /// Sends a Close frame, then shuts the underlying stream down (TLS close_notify, TCP FIN).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.inner).poll_close(cx)).map_err(to_io)?;
        Pin::new(this.inner.get_mut()).poll_shutdown(cx)
    }
}

fn to_io(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            io::Error::new(io::ErrorKind::NotConnected, "the WebSocket is closed")
        }
        tungstenite::Error::Capacity(e) => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("WebSocket message too large: {e}"),
        ),
        other => io::Error::new(io::ErrorKind::InvalidData, format!("WebSocket: {other}")),
    }
}

#[cfg(test)]
mod tests;
