//! The broker's listeners: binds each configured address and accepts connections until
//! shutdown. Each connection runs on its own task, handshake included, so a slow TLS or
//! WebSocket client never holds up the accept loop or anyone else.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnContext};
use super::session::ConnId;
use super::settings::{ListenerKind, ListenerSettings};
use super::BrokerError;

/// A listener as connections see it: for logs, diagnostics and access decisions.
#[derive(Debug)]
pub(crate) struct ListenerInfo {
    pub name: Arc<str>,
    /// The bound address (the configured port may have been 0).
    pub addr: SocketAddr,
    pub kind: ListenerKind,
}

/// Where a connection came from.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub peer: SocketAddr,
    pub listener: Arc<ListenerInfo>,
}

/// A bound listener, not yet accepting.
pub(crate) struct Bound {
    pub socket: TcpListener,
    pub info: Arc<ListenerInfo>,
}

/// Binds every listener before any accepts, so a port already taken stops the start cleanly.
pub(crate) async fn bind_all(settings: &[ListenerSettings]) -> Result<Vec<Bound>, BrokerError> {
    let mut bound = Vec::with_capacity(settings.len());
    for listener in settings {
        let socket = TcpListener::bind(listener.addr)
            .await
            .map_err(|cause| BrokerError::listen(listener, cause))?;
        let addr = socket
            .local_addr()
            .map_err(|cause| BrokerError::listen(listener, cause))?;
        bound.push(Bound {
            socket,
            info: Arc::new(ListenerInfo {
                name: listener.name.as_str().into(),
                addr,
                kind: listener.kind.clone(),
            }),
        });
    }
    Ok(bound)
}

/// Hands out connection ids unique across all listeners.
#[derive(Default)]
pub(crate) struct ConnIds(std::sync::atomic::AtomicU64);

impl ConnIds {
    fn next(&self) -> ConnId {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }
}

pub(crate) async fn accept_loop(
    bound: Bound,
    ctx: Arc<ConnContext>,
    ids: Arc<ConnIds>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = bound.socket.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Per-address limits, before any handshake; a refused socket is closed there.
                let Some((stream, permit)) = ctx.gate.admit(stream, peer, &bound.info) else {
                    continue;
                };
                let origin = Origin {
                    peer,
                    listener: bound.info.clone(),
                };
                let (conn, ctx) = (ids.next(), ctx.clone());
                tracker.spawn(async move {
                    // The connection counts against its address until it ends.
                    let _permit = permit;
                    serve(stream, origin, conn, ctx).await;
                });
            }
            // Out of file descriptors, the waiting client is refused at once; else a pause.
            Err(e) => ctx.gate.accept_failed(&bound.info, e).await,
        }
    }
}

/// Runs the listener's handshake on the connection's own task, then serves MQTT.
async fn serve(stream: TcpStream, origin: Origin, conn: ConnId, ctx: Arc<ConnContext>) {
    let _ = stream.set_nodelay(true);
    match origin.listener.kind {
        ListenerKind::Tcp => {
            let (reader, writer) = stream.into_split();
            connection::serve(reader, writer, origin, conn, ctx).await;
        }
        // Wired with the transports.
        ListenerKind::Ws { .. } | ListenerKind::Tls(_) | ListenerKind::Wss { .. } => {}
    }
}
