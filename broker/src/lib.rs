//! Hearth's MQTT 3.1/3.1.1 broker.
//!
//! ```text
//! listener ──▶ connection (reader) ──Event──▶ router ──Outgoing──▶ connection (writer)
//!                                              ▲   owns sessions, subscriptions (trie),
//!              BrokerHandle (in-process) ──────┘   retained messages, $SYS
//! ```

pub mod codec;
mod connection;
mod counters;
mod event;
mod level_tree;
mod listener;
mod local;
mod message;
mod outbox;
mod retained;
mod router;
mod session;
mod settings;
mod subscriptions;
mod sys;
pub mod transport;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::{info, warn};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use codec::QoS;
pub use local::{BrokerHandle, LocalError, Subscription};
pub use message::Message;
/// MQTT topic names and filters: the rules the router and the rule engine share.
pub use mqtt_topic as topic;
pub use settings::BrokerSettings;

use connection::ConnContext;
use counters::Counters;
use event::Event;
use router::Router;

/// Packets waiting for the router; when full, readers wait, which slows publishers through
/// TCP instead of growing memory.
const ROUTER_BACKLOG: usize = 4096;

/// How long shutdown waits for connections to flush their last packets.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}: {cause}{hint}")]
    Listen {
        addr: SocketAddr,
        cause: std::io::Error,
        hint: &'static str,
    },
}

/// A running broker. Stop it with [`Broker::shutdown`].
pub struct Broker {
    local_addr: SocketAddr,
    events: mpsc::Sender<Event>,
    router: JoinHandle<()>,
    accept: JoinHandle<()>,
    stop_accepting: CancellationToken,
    connections: TaskTracker,
}

impl Broker {
    /// Binds the listener and starts serving.
    pub async fn start(settings: BrokerSettings) -> Result<Broker, BrokerError> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|cause| BrokerError::Listen {
                addr: settings.listen,
                hint: match cause.kind() {
                    std::io::ErrorKind::AddrInUse => {
                        "; another MQTT broker (such as mosquitto) may be running: stop it or change broker.listen"
                    }
                    std::io::ErrorKind::PermissionDenied => {
                        "; ports below 1024 need privileges: use a port such as 1883"
                    }
                    _ => "",
                },
                cause,
            })?;
        let local_addr = listener.local_addr().map_err(|cause| BrokerError::Listen {
            addr: settings.listen,
            cause,
            hint: "",
        })?;
        let counters = Arc::new(Counters::default());
        let (events, inbox) = mpsc::channel(ROUTER_BACKLOG);
        let ctx = Arc::new(ConnContext {
            events: events.clone(),
            counters: counters.clone(),
            max_packet_size: settings.max_packet_size,
            connect_timeout: settings.connect_timeout,
        });
        let router = tokio::spawn(Router::new(settings, counters).run(inbox));
        let stop_accepting = CancellationToken::new();
        let connections = TaskTracker::new();
        let accept = tokio::spawn(listener::accept_loop(
            listener,
            ctx,
            stop_accepting.clone(),
            connections.clone(),
        ));
        info!("MQTT broker listening on {local_addr}");
        Ok(Broker {
            local_addr,
            events,
            router,
            accept,
            stop_accepting,
            connections,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn handle(&self) -> BrokerHandle {
        BrokerHandle {
            events: self.events.clone(),
        }
    }

    /// Resolves if the broker stops on its own, which only a bug can cause; the daemon then
    /// exits with an error instead of running on without its broker.
    pub async fn failed(&mut self) -> String {
        match (&mut self.router).await {
            Ok(()) => "the broker's router stopped unexpectedly".to_string(),
            Err(e) => format!("the broker's router failed: {e}"),
        }
    }

    /// Stops accepting, publishes the wills still due, closes every connection after flushing
    /// what it was owed (bounded), and returns.
    pub async fn shutdown(self) {
        self.stop_accepting.cancel();
        let _ = self.accept.await;
        if self.events.send(Event::Shutdown).await.is_ok() {
            let _ = self.router.await;
        }
        self.connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.connections.wait())
            .await
            .is_err()
        {
            warn!("some connections did not close within {SHUTDOWN_GRACE:?}");
        }
    }
}
