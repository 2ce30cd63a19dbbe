//! The client side of MQTT over WebSocket through tungstenite: the HTTP upgrade, and a byte
//! stream in which every write goes out as one binary message, so a test decides exactly how
//! MQTT packets are cut into frames.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

/// Sends the upgrade request for `ws://addr{path}` (the scheme is only in the request line's
/// Host; TLS, if any, is already under `stream`) offering `subprotocols`, and returns the
/// WebSocket with the server's 101 response. A refusal comes back as
/// `tungstenite::Error::Http` holding the server's response.
pub async fn upgrade<S>(
    stream: S,
    addr: SocketAddr,
    path: &str,
    subprotocols: &[&str],
) -> Result<(WsStream<S>, Response), tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = format!("ws://{addr}{path}").into_client_request()?;
    if !subprotocols.is_empty() {
        let offered = HeaderValue::from_str(&subprotocols.join(", "))
            .map_err(|e| tungstenite::Error::HttpFormat(e.into()))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", offered);
    }
    let (inner, response) = tokio_tungstenite::client_async(request, stream).await?;
    Ok((
        WsStream {
            inner,
            pending: Bytes::new(),
            eof: false,
        },
        response,
    ))
}

/// An upgraded client connection as a byte stream: reads are the payloads of the server's
/// binary messages back to back; each write is one binary message.
pub struct WsStream<S> {
    inner: WebSocketStream<S>,
    pending: Bytes,
    eof: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// The stream under the WebSocket.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }
}

fn io_error(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        other => io::Error::other(other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => this.pending = data,
                Some(Ok(Message::Text(text))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the broker sent a text message ({text:?}); MQTT uses binary"),
                    )))
                }
                Some(Ok(Message::Close(_))) | None => this.eof = true,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(tungstenite::Error::ConnectionClosed)) => this.eof = true,
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.inner).poll_ready(cx)).map_err(io_error)?;
        Pin::new(&mut this.inner)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner)
            .poll_flush(cx)
            .map_err(io_error)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner)
            .poll_close(cx)
            .map_err(io_error)
    }
}
