//! What connections and in-process clients tell the router.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::auth::Acl;
use super::codec::{Connect, Packet, QoS};
use super::message::Message;
use super::outbox::ConnHandle;
use super::session::{ConnId, SessionKey};

pub(crate) enum Event {
    Connect {
        conn: ConnId,
        connect: Connect,
        identity: ClientIdentity,
        handle: ConnHandle,
    },
    Packet {
        conn: ConnId,
        packet: Packet,
    },
    Closed {
        conn: ConnId,
        reason: CloseReason,
    },
    LocalPublish(Message),
    LocalSubscribe {
        filters: Vec<String>,
        qos: QoS,
        sink: mpsc::Sender<Message>,
        reply: oneshot::Sender<SessionKey>,
    },
    LocalUnsubscribe(SessionKey),
    /// New access rules, and the users whose clients must go (removed, or password changed).
    ReloadAccess {
        acl: Acl,
        /// The listeners' users now in force; see [`ClientIdentity::users_generation`].
        users_generation: u64,
        disconnect_users: Vec<String>,
        /// Listeners that let anonymous clients in and no longer do: theirs must go too.
        anonymous_refused_on: Vec<Arc<str>>,
    },
    /// Answered at once: proves the router is still taking events (the systemd watchdog).
    Ping(oneshot::Sender<()>),
    /// Publish the wills still due, close every connection, and stop.
    Shutdown,
}

/// Who a network client is, once its CONNECT has been authenticated: what its logs and its
/// access rights are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientIdentity {
    pub peer: SocketAddr,
    /// The listener it came in on.
    pub listener: Arc<str>,
    /// The user it authenticated as (or its certificate's name), if any.
    pub username: Option<Arc<str>>,
    /// The reload of the users its credentials were checked against (0: those read at
    /// start). One older than the router's was checked against users no longer in force.
    pub users_generation: u64,
}

/// Why a connection ended; everything but `Disconnected` publishes the will.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseReason {
    Disconnected,
    PeerClosed,
    KeepAliveExpired,
    ProtocolError(String),
    Io(String),
    /// The writer failed or was aborted (takeover, shutdown).
    WriterClosed,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Disconnected => f.write_str("client sent DISCONNECT"),
            CloseReason::PeerClosed => f.write_str("connection closed by client"),
            CloseReason::KeepAliveExpired => f.write_str("keepalive expired"),
            CloseReason::ProtocolError(why) => write!(f, "protocol error: {why}"),
            CloseReason::Io(why) => write!(f, "network error: {why}"),
            CloseReason::WriterClosed => f.write_str("connection could not be written to"),
        }
    }
}
