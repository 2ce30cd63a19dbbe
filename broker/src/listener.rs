//! The broker's listeners: binds each configured address and accepts connections until
//! shutdown. Each connection runs on its own task, handshake included, so a slow TLS or
//! WebSocket client never holds up the accept loop or anyone else.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use log::info;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::{Authenticator, PasswordFile};
use super::connection::{self, ConnContext};
use super::session::ConnId;
use super::settings::{ListenerKind, ListenerSettings};
use super::transport::tls::{self, TlsAcceptorCell};
use super::transport::{sniff, ws};
use super::BrokerError;

/// Connections the kernel completes and holds for us before it drops new ones. The usual 128
/// is smaller than a home's fleet: when the Wi-Fi comes back every node connects at once, and a
/// SYN dropped from a full queue is retried only after a second. The kernel caps this at
/// `net.core.somaxconn` (4096 on current kernels).
const ACCEPT_BACKLOG: u32 = 1024;

/// Binds `addr` for listening with [`ACCEPT_BACKLOG`], reusing the address as
/// `TcpListener::bind` does so a restart does not wait for old connections to time out.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// A listener as connections see it: for logs, diagnostics and access decisions.
#[derive(Debug)]
pub(crate) struct ListenerInfo {
    pub name: Arc<str>,
    /// The bound address (the configured port may have been 0).
    pub addr: SocketAddr,
    /// The address as configured, to recognise the listener in a reloaded configuration.
    pub configured: SocketAddr,
    pub kind: ListenerKind,
    /// Checks CONNECT credentials; replaced when the users are reloaded.
    pub authenticator: RwLock<Arc<Authenticator>>,
    /// Credentials sent where no users are configured are logged once, not per client.
    pub credentials_ignored_logged: AtomicBool,
    /// The certificate of a `tls` or `wss` listener; replaced on reload.
    pub tls: Option<TlsAcceptorCell>,
}

impl ListenerInfo {
    pub(crate) fn authenticator(&self) -> Arc<Authenticator> {
        match self.authenticator.read() {
            Ok(current) => current.clone(),
            // A panic while swapping cannot leave a half-written Arc: the old one is intact.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether a verified client certificate's name is the user name here.
    pub(crate) fn kind_uses_certificate_names(&self) -> bool {
        match &self.kind {
            ListenerKind::Tls(tls) | ListenerKind::Wss { tls, .. } => tls.identity_as_username,
            ListenerKind::Tcp | ListenerKind::Ws { .. } => false,
        }
    }

    /// Puts new users in force for connections from now on.
    pub(crate) fn set_users(
        &self,
        users: Option<&PasswordFile>,
        allow_anonymous: bool,
        generation: u64,
    ) {
        let new = Authenticator::new(users.cloned(), allow_anonymous).with_generation(generation);
        let new = Arc::new(new);
        match self.authenticator.write() {
            Ok(mut current) => *current = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }
}

/// Where a connection came from.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub peer: SocketAddr,
    pub listener: Arc<ListenerInfo>,
    /// The Common Name of the client certificate a TLS listener verified.
    pub certificate_name: Option<String>,
}

/// A bound listener, not yet accepting.
pub(crate) struct Bound {
    pub socket: TcpListener,
    pub info: Arc<ListenerInfo>,
}

/// Binds every listener before any accepts, so a port already taken stops the start cleanly.
pub(crate) async fn bind_all(
    settings: &[ListenerSettings],
    users: Option<&PasswordFile>,
) -> Result<Vec<Bound>, BrokerError> {
    let mut bound = Vec::with_capacity(settings.len());
    for listener in settings {
        // Certificates first: a bad one stops the start before any port is taken.
        let tls = match listener.tls() {
            Some(settings) => {
                Some(
                    TlsAcceptorCell::new(settings).map_err(|cause| BrokerError::Tls {
                        name: listener.name.clone(),
                        cause,
                    })?,
                )
            }
            None => None,
        };
        let socket = bind(listener.addr).map_err(|cause| BrokerError::listen(listener, cause))?;
        let addr = socket
            .local_addr()
            .map_err(|cause| BrokerError::listen(listener, cause))?;
        bound.push(Bound {
            socket,
            info: Arc::new(ListenerInfo {
                name: listener.name.as_str().into(),
                addr,
                configured: listener.addr,
                kind: listener.kind.clone(),
                authenticator: RwLock::new(Arc::new(Authenticator::new(
                    users.cloned(),
                    listener.allow_anonymous,
                ))),
                credentials_ignored_logged: AtomicBool::new(false),
                tls,
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
                    certificate_name: None,
                };
                let (conn, ctx) = (ids.next(), ctx.clone());
                // One task type per kind, each only as large as its own handshake and
                // streams: a plain TCP client does not carry room for a TLS handshake.
                let listener = origin.listener.clone();
                match (&listener.kind, &listener.tls) {
                    (ListenerKind::Tcp, _) => {
                        tracker.spawn(holding(permit, serve_tcp(stream, origin, conn, ctx)));
                    }
                    (ListenerKind::Ws { path }, _) => {
                        let path = path.clone();
                        tracker.spawn(holding(permit, serve_ws(stream, path, origin, conn, ctx)));
                    }
                    (ListenerKind::Tls(_), Some(cell)) => {
                        let acceptor = cell.acceptor();
                        let task = serve_tls(stream, acceptor, origin, conn, ctx);
                        tracker.spawn(holding(permit, task));
                    }
                    (ListenerKind::Wss { path, .. }, Some(cell)) => {
                        let (acceptor, path) = (cell.acceptor(), path.clone());
                        let task = serve_wss(stream, acceptor, path, origin, conn, ctx);
                        tracker.spawn(holding(permit, task));
                    }
                    // `bind_all` gives every TLS kind its acceptor.
                    (ListenerKind::Tls(_) | ListenerKind::Wss { .. }, None) => {}
                }
            }
            // Out of file descriptors, the waiting client is refused at once; else a pause.
            Err(e) => ctx.gate.accept_failed(&bound.info, e).await,
        }
    }
}

/// Runs `task` holding the connection's place against its address until it ends.
async fn holding<P, F: std::future::Future<Output = ()>>(permit: P, task: F) {
    let _permit = permit;
    task.await;
}

// Each kind's handshake runs on the connection's own task, then MQTT is served. The handshake
// (TLS, HTTP upgrade) shares the CONNECT timeout: a client that stalls in it holds only its
// own task.

async fn serve_tcp(stream: TcpStream, origin: Origin, conn: ConnId, ctx: Arc<ConnContext>) {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    connection::serve(reader, writer, origin, conn, ctx).await;
}

async fn serve_ws(
    stream: TcpStream,
    path: String,
    origin: Origin,
    conn: ConnId,
    ctx: Arc<ConnContext>,
) {
    let _ = stream.set_nodelay(true);
    let limit = ctx.connect_timeout;
    let handshake = ws::accept(stream, &path, ctx.max_packet_size);
    match tokio::time::timeout(limit, handshake).await {
        Ok(Ok(ws)) => split_and_serve(ws, origin, conn, ctx).await,
        Ok(Err(e)) => ws_failed(&origin, &ctx, &e),
        Err(_) => handshake_timed_out(&origin, "WebSocket", limit),
    }
}

async fn serve_tls(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    mut origin: Origin,
    conn: ConnId,
    ctx: Arc<ConnContext>,
) {
    let _ = stream.set_nodelay(true);
    let limit = ctx.connect_timeout;
    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            origin.certificate_name = tls::peer_identity(tls.get_ref().1);
            split_and_serve(tls, origin, conn, ctx).await;
        }
        Ok(Err(e)) => tls_failed(&origin, &ctx, &e),
        Err(_) => handshake_timed_out(&origin, "TLS", limit),
    }
}

/// Why a `wss` handshake failed: in TLS, or in the WebSocket upgrade after it.
enum WssError {
    Tls(std::io::Error),
    Ws(ws::WsError),
}

async fn serve_wss(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    path: String,
    mut origin: Origin,
    conn: ConnId,
    ctx: Arc<ConnContext>,
) {
    let _ = stream.set_nodelay(true);
    let limit = ctx.connect_timeout;
    let max_packet = ctx.max_packet_size;
    let handshake = async {
        let tls = acceptor.accept(stream).await.map_err(WssError::Tls)?;
        let name = tls::peer_identity(tls.get_ref().1);
        let ws = ws::accept(tls, &path, max_packet)
            .await
            .map_err(WssError::Ws)?;
        Ok::<_, WssError>((ws, name))
    };
    match tokio::time::timeout(limit, handshake).await {
        Ok(Ok((ws, name))) => {
            origin.certificate_name = name;
            split_and_serve(ws, origin, conn, ctx).await;
        }
        Ok(Err(WssError::Tls(e))) => tls_failed(&origin, &ctx, &e),
        Ok(Err(WssError::Ws(e))) => handshake_failed(&origin, "WebSocket", &e.to_string()),
        Err(_) => handshake_timed_out(&origin, "TLS and WebSocket", limit),
    }
}

async fn split_and_serve<S>(stream: S, origin: Origin, conn: ConnId, ctx: Arc<ConnContext>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (reader, writer) = tokio::io::split(stream);
    connection::serve(reader, writer, origin, conn, ctx).await;
}

fn handshake_failed(origin: &Origin, what: &str, why: &str) {
    info!(
        "closed connection from {} on listener {}: {what} handshake failed: {why}",
        origin.peer, origin.listener.name
    );
}

fn handshake_timed_out(origin: &Origin, what: &str, limit: Duration) {
    info!(
        "closed connection from {} on listener {}: {what} handshake not finished within {limit:?}",
        origin.peer, origin.listener.name
    );
}

/// Like [`tls_failed`]: a client that speaks plain MQTT or TLS to a ws listener is told which
/// listener serves it.
fn ws_failed(origin: &Origin, ctx: &ConnContext, e: &ws::WsError) {
    let elsewhere = match e {
        ws::WsError::NotHttp {
            arrival: sniff::Arrival::Mqtt,
            ..
        } => ctx.served_elsewhere(&["tcp"], "plain MQTT connections"),
        ws::WsError::NotHttp {
            arrival: sniff::Arrival::Tls,
            ..
        } => ctx.served_elsewhere(&["tls", "wss"], "TLS connections"),
        _ => return handshake_failed(origin, "WebSocket", &e.to_string()),
    };
    handshake_failed(origin, "WebSocket", &format!("{e}; {elsewhere}"));
}

fn tls_failed(origin: &Origin, ctx: &ConnContext, e: &std::io::Error) {
    if sniff::is_plaintext_on_tls(e) {
        info!(
            "closed connection from {} on TLS listener {}: the client did not start TLS (plain MQTT or HTTP?); {}",
            origin.peer,
            origin.listener.name,
            ctx.served_elsewhere(&["tcp", "ws"], "plain connections")
        );
    } else {
        handshake_failed(origin, "TLS", &e.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More clients than the kernel's usual backlog of 128 connect while the broker accepts
    /// none of them (as when every node reconnects at once and the accept loop is behind):
    /// each handshake still completes, none waits for a SYN to be sent again.
    #[tokio::test]
    async fn a_whole_fleet_connecting_at_once_fits_in_the_accept_queue() {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let fleet = 300;
        let clients = tokio::task::spawn_blocking(move || {
            (0..fleet)
                .map(|i| {
                    // A generous bound: a dropped SYN would hang here for minutes.
                    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(20))
                        .unwrap_or_else(|e| panic!("client {i} of {fleet} not queued: {e}"))
                })
                .collect::<Vec<_>>()
        })
        .await
        .expect("the connecting thread ran");
        assert_eq!(clients.len(), fleet);
        drop(listener);
    }
}
