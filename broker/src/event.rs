//! What connections and in-process clients tell the router.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::auth::Acl;
use super::codec::v5::{Connect, DisconnectReason, Packet};
use super::codec::QoS;
use super::message::Message;
use super::outbox::ConnHandle;
use super::session::{ConnId, SessionKey};
use super::wire::Version;

pub(crate) enum Event {
    /// A CONNECT, in MQTT 5.0's terms whatever the client speaks (see [`crate::wire`]).
    Connect {
        conn: ConnId,
        version: Version,
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

/// Why a connection ended; everything but a plain `Disconnected` publishes the will.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The client sent DISCONNECT.
    Disconnected(Goodbye),
    PeerClosed,
    KeepAliveExpired,
    /// The client broke the protocol; an MQTT 5 client is told with this reason.
    ProtocolError(DisconnectReason, String),
    Io(String),
    /// The writer failed or was aborted (takeover, shutdown).
    WriterClosed,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Disconnected(goodbye) if goodbye.with_will => {
                f.write_str("client sent DISCONNECT asking for its will")
            }
            CloseReason::Disconnected(_) => f.write_str("client sent DISCONNECT"),
            CloseReason::PeerClosed => f.write_str("connection closed by client"),
            CloseReason::KeepAliveExpired => f.write_str("keepalive expired"),
            CloseReason::ProtocolError(_, why) => write!(f, "protocol error: {why}"),
            CloseReason::Io(why) => write!(f, "network error: {why}"),
            CloseReason::WriterClosed => f.write_str("connection could not be written to"),
        }
    }
}

/// What a client's DISCONNECT asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Goodbye {
    /// Reason 0x04, Disconnect with Will Message: publish the will all the same (3.14.2.1).
    pub with_will: bool,
    /// A new Session Expiry Interval for the session it leaves (3.14.2.2.2).
    pub session_expiry: Option<u32>,
}

impl CloseReason {
    /// A DISCONNECT that asks for nothing: what an MQTT 3.1.1 client sends.
    #[cfg(test)]
    pub(crate) fn disconnected() -> Self {
        CloseReason::Disconnected(Goodbye::default())
    }

    /// The reason of the DISCONNECT the server sends an MQTT 5 client before it closes, where
    /// the server is the one closing (4.13.2).
    pub(crate) fn server_disconnect(&self) -> Option<DisconnectReason> {
        match self {
            CloseReason::ProtocolError(reason, _) => Some(*reason),
            CloseReason::KeepAliveExpired => Some(DisconnectReason::KeepAliveTimeout),
            _ => None,
        }
    }

    /// Whether the connection's will is due (MQTT-3.1.2-8, 3.14.2.1).
    pub(crate) fn publishes_will(&self) -> bool {
        match self {
            CloseReason::Disconnected(goodbye) => goodbye.with_will,
            _ => true,
        }
    }
}
