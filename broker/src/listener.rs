//! The broker's listeners: binds each configured address and accepts connections until
//! shutdown. Each connection runs on its own task, handshake included, so a slow TLS or
//! WebSocket client never holds up the accept loop or anyone else.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use log::warn;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::{Authenticator, PasswordFile};
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
    pub allow_anonymous: bool,
    /// Checks CONNECT credentials; replaced when the users are reloaded.
    pub authenticator: RwLock<Arc<Authenticator>>,
    /// Credentials sent where no users are configured are logged once, not per client.
    pub credentials_ignored_logged: AtomicBool,
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

    /// Puts a new password file in force for connections from now on.
    pub(crate) fn set_users(&self, users: Option<&PasswordFile>) {
        let new = Arc::new(Authenticator::new(users.cloned(), self.allow_anonymous));
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
                allow_anonymous: listener.allow_anonymous,
                authenticator: RwLock::new(Arc::new(Authenticator::new(
                    users.cloned(),
                    listener.allow_anonymous,
                ))),
                credentials_ignored_logged: AtomicBool::new(false),
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
                let origin = Origin {
                    peer,
                    listener: bound.info.clone(),
                    certificate_name: None,
                };
                tracker.spawn(serve(stream, origin, ids.next(), ctx.clone()));
            }
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning, keep serving.
                warn!(
                    "cannot accept a connection on listener {}: {e}",
                    bound.info.name
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
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
