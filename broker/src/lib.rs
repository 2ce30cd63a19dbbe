//! Hearth's MQTT 3.1/3.1.1 broker.
//!
//! ```text
//! listener ──▶ connection (reader) ──locks──▶ router ──Outgoing──▶ connection (writer)
//!                                              ▲   owns sessions, subscriptions (trie),
//!              BrokerHandle (in-process) ──────┘   retained messages, $SYS
//! ```
//!
//! Both call the router under its lock; its own task runs the `$SYS` and expiry timers, the
//! watchdog's ping, reloads and shutdown.

mod accept_gate;
mod address_limits;
mod admission;
pub mod auth;
pub mod codec;
mod connection;
mod counters;
mod event;
mod level_tree;
mod listener;
mod local;
mod log_limit;
mod message;
mod outbox;
mod read_room;
mod reload;
mod retained;
mod router;
mod session;
mod settings;
mod store;
mod subscriptions;
mod sys;
mod topic_alias;
pub mod transport;
mod will;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::{error, info, warn};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use codec::v5::PublishProperties;
pub use codec::QoS;
pub use local::{BrokerHandle, LocalError, Subscription};
pub use message::Message;
/// MQTT topic names and filters: the rules the router and the rule engine share.
pub use mqtt_topic as topic;
pub use reload::ReloadReport;
pub use settings::{BrokerSettings, ListenerKind, ListenerSettings, TlsSettings, DEFAULT_WS_PATH};
pub use store::{PersistenceSettings, SetAside, StoreError};

use accept_gate::AcceptGate;
use auth::acl::AclError;
use auth::{Acl, PasswordFile, PasswordFileError};
use connection::ConnContext;
use counters::Counters;
use event::Event;
use log_limit::LogLimiter;
use router::{Router, SharedRouter};
use transport::tls::TlsError;

/// Events waiting for the router's own task (pings, reloads, shutdown).
const ROUTER_BACKLOG: usize = 4096;

/// How long shutdown waits for connections to flush their last packets.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr} (listener {name}): {cause}{hint}")]
    Listen {
        name: String,
        addr: SocketAddr,
        cause: std::io::Error,
        hint: &'static str,
    },
    #[error("no listener configured: the broker needs at least one address to listen on")]
    NoListener,
    #[error("{0}")]
    Users(PasswordFileError),
    #[error("access control rules: {0}")]
    Acl(AclError),
    #[error("listener {name}: {cause}")]
    Tls { name: String, cause: TlsError },
    #[error("{0}")]
    Store(String),
}

impl BrokerError {
    fn listen(listener: &ListenerSettings, cause: std::io::Error) -> Self {
        BrokerError::Listen {
            name: listener.name.clone(),
            addr: listener.addr,
            hint: match cause.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "; another MQTT broker (such as mosquitto) may be running: stop it or change the broker's listen address"
                }
                std::io::ErrorKind::PermissionDenied => {
                    "; ports below 1024 need privileges: use a port such as 1883"
                }
                _ => "",
            },
            cause,
        }
    }
}

/// A running broker. Stop it with [`Broker::shutdown`].
pub struct Broker {
    listeners: Vec<(String, SocketAddr)>,
    listener_infos: Vec<Arc<listener::ListenerInfo>>,
    /// What the broker runs with now, to tell what a reload changes.
    settings: BrokerSettings,
    events: mpsc::Sender<Event>,
    /// What connections and in-process clients call.
    shared: SharedRouter,
    router: JoinHandle<()>,
    accepts: Vec<JoinHandle<()>>,
    stop_accepting: CancellationToken,
    connections: TaskTracker,
    refusals: Arc<LogLimiter>,
    /// How many times the users were reloaded; see [`auth::Authenticator::generation`].
    users_generation: u64,
    /// Written to until the router has stopped, then closed.
    store: Option<store::Store>,
}

/// The users (from the password file, if any) and the access rules `settings` name, read and
/// checked; on start and on every reload.
fn load_access(settings: &BrokerSettings) -> Result<(Option<PasswordFile>, Acl), BrokerError> {
    let users = match &settings.password_file {
        Some(path) => Some(PasswordFile::load(path).map_err(BrokerError::Users)?),
        None => None,
    };
    let acl = Acl::new(settings.acl.clone(), protected_topics(settings))
        .and_then(|acl| acl.with_open(settings.open_topics.clone()))
        .map_err(BrokerError::Acl)?;
    Ok((users, acl))
}

impl Broker {
    /// Binds every listener and starts serving.
    pub async fn start(settings: BrokerSettings) -> Result<Broker, BrokerError> {
        if settings.listeners.is_empty() {
            return Err(BrokerError::NoListener);
        }
        let (users, acl) = load_access(&settings)?;
        let bound = listener::bind_all(&settings.listeners, users.as_ref()).await?;
        let counters = Arc::new(Counters::default());
        let refusals = Arc::new(LogLimiter::default());
        let (events, inbox) = mpsc::channel(ROUTER_BACKLOG);
        let running = settings.clone();
        let gate = AcceptGate::new((&settings).into(), counters.clone(), refusals.clone());
        let persistence = settings.persistence.clone();
        let mut router =
            Router::new(settings, acl, counters.clone()).with_refusal_log(refusals.clone());
        let mut store = None;
        if let Some(persistence) = persistence {
            let health = store::StoreHealth::default();
            let opened = {
                let health = health.clone();
                let counters = counters.clone();
                tokio::task::spawn_blocking(move || {
                    store::Store::open(&persistence, counters, health)
                })
                .await
                .map_err(|e| BrokerError::Store(format!("opening the store: {e}")))?
                .map_err(|e| BrokerError::Store(format!("starting the store's thread: {e}")))?
            };
            if let Some(s) = &opened.set_aside {
                error!(
                    "the broker's store {} could not be read ({}); it was renamed to {} and the broker starts with no retained messages or sessions",
                    s.path.display(),
                    s.why,
                    s.renamed_to.display()
                );
            }
            if let Some(e) = &opened.failure {
                error!("{e}");
            }
            router = router.with_store(opened.store.journal(), health);
            router.restore(opened.snapshot);
            store = Some(opened.store);
        }
        let router = SharedRouter::new(router);
        let ctx = Arc::new(ConnContext {
            router: router.clone(),
            counters,
            max_packet_size: running.max_packet_size,
            connect_timeout: running.connect_timeout,
            listeners: bound.iter().map(|b| b.info.clone()).collect(),
            gate,
            refusals: refusals.clone(),
        });
        let listener_infos = ctx.listeners.clone();
        let shared = router.clone();
        let router = tokio::spawn(router.run(inbox));
        let stop_accepting = CancellationToken::new();
        let connections = TaskTracker::new();
        let ids = Arc::new(listener::ConnIds::default());
        let mut listeners = Vec::with_capacity(bound.len());
        let mut accepts = Vec::with_capacity(bound.len());
        for b in bound {
            info!(
                "MQTT broker listening on {} ({}, listener {})",
                b.info.addr,
                b.info.kind.word(),
                b.info.name
            );
            listeners.push((b.info.name.to_string(), b.info.addr));
            accepts.push(tokio::spawn(listener::accept_loop(
                b,
                ctx.clone(),
                ids.clone(),
                stop_accepting.clone(),
                connections.clone(),
            )));
        }
        Ok(Broker {
            listeners,
            listener_infos,
            settings: running,
            events,
            shared,
            router,
            accepts,
            stop_accepting,
            connections,
            refusals,
            users_generation: 0,
            store,
        })
    }

    /// The first listener's address (the only one unless the configuration names several).
    pub fn local_addr(&self) -> SocketAddr {
        self.listeners[0].1
    }

    /// Every listener's name and bound address, in configuration order.
    pub fn listener_addrs(&self) -> &[(String, SocketAddr)] {
        &self.listeners
    }

    pub fn handle(&self) -> BrokerHandle {
        BrokerHandle {
            router: self.shared.clone(),
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
        for accept in self.accepts {
            let _ = accept.await;
        }
        if self.events.send(Event::Shutdown).await.is_ok() {
            let _ = self.router.await;
        }
        // After the router: the wills it published at shutdown are in the queues it stored.
        if let Some(store) = self.store {
            store.close().await;
        }
        self.connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.connections.wait())
            .await
            .is_err()
        {
            warn!("some connections did not close within {SHUTDOWN_GRACE:?}");
        }
        // Refusals held back in the last minute are summed up before the process ends.
        self.refusals.flush_all();
    }
}

/// `$SYS` is the broker's own; the settings add the gateway's topics.
fn protected_topics(settings: &BrokerSettings) -> Vec<String> {
    let mut protected = vec!["$SYS/#".to_string()];
    protected.extend(settings.protected_topics.iter().cloned());
    protected
}
