//! The router: the one owner of every session, subscription and retained message.
//!
//! Connections decode packets on their own tasks and hand them here in order, through the
//! lock of [`SharedRouter`]; the router decides, and hands work back to each connection's
//! writer. Owning all state in one place keeps the protocol's ordering rules simple to honour
//! (a takeover's will, then the new CONNACK).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use log::{debug, info, warn};
use tokio::sync::mpsc;

use super::auth::Acl;
use super::codec::v5::{DisconnectReason, Packet};
use super::codec::QoS;
use super::connection::disconnect_packet;
use super::counters::Counters;
use super::event::{CloseReason, Event};
use super::log_limit::LogLimiter;
use super::message::Message;
use super::retained::RetainedStore;
use super::session::{ConnId, Delivery, Limits, Session, SessionKey};
use super::settings::BrokerSettings;
use super::store::{self, Journal, Op, Snapshot, StoreHealth};
use super::subscriptions::{Grant, SubscriptionTree};
use super::sys::SysPublisher;
use super::will::Will;
use super::wire::Version;

mod connect;
mod deadlines;
mod limits;
mod publish;
mod shared;
mod subscribe;

use limits::TopicLimits;
pub(crate) use shared::SharedRouter;

/// An in-process subscriber (`BrokerHandle::subscribe`).
struct LocalSubscriber {
    /// One subscriber may hold several filters; the trie still delivers each message once.
    filters: Vec<Arc<str>>,
    sink: mpsc::Sender<Message>,
}

pub(crate) struct Router {
    settings: BrokerSettings,
    /// The access rules in force; each session holds its compiled share.
    acl: Acl,
    /// The reload of the users in force (see [`ClientIdentity::users_generation`]).
    users_generation: u64,
    counters: Arc<Counters>,
    sessions: HashMap<SessionKey, Session>,
    by_client_id: HashMap<Arc<str>, SessionKey>,
    live: HashMap<ConnId, SessionKey>,
    locals: HashMap<SessionKey, LocalSubscriber>,
    subscriptions: SubscriptionTree,
    retained: RetainedStore,
    next_key: SessionKey,
    /// Reused for every publish so routing does not allocate.
    matched: Vec<(SessionKey, Grant)>,
    /// The Subscription Identifiers of a publish's matches, kept likewise.
    matched_ids: Vec<(SessionKey, std::num::NonZeroU32)>,
    sys: SysPublisher,
    max_connected: usize,
    topic_limits: TopicLimits,
    /// Refusals logged with rate limiting; shared with the listeners and connections, and
    /// summed up on the `$SYS` tick.
    refusals: Arc<LogLimiter>,
    /// Where changes to retained messages and persistent sessions are recorded, if the broker
    /// has a store.
    journal: Option<Journal>,
    store_health: StoreHealth,
    /// Delayed wills and session expiries, by when they are due.
    deadlines: deadlines::Deadlines,
}

impl Router {
    pub(crate) fn new(settings: BrokerSettings, acl: Acl, counters: Arc<Counters>) -> Self {
        Self {
            topic_limits: TopicLimits::new(&settings),
            retained: RetainedStore::with_limit(settings.max_retained_messages),
            settings,
            acl,
            users_generation: 0,
            counters,
            sessions: HashMap::new(),
            by_client_id: HashMap::new(),
            live: HashMap::new(),
            locals: HashMap::new(),
            subscriptions: SubscriptionTree::default(),
            next_key: 1,
            matched: Vec::new(),
            matched_ids: Vec::new(),
            sys: SysPublisher::new(Instant::now()),
            max_connected: 0,
            refusals: Arc::default(),
            journal: None,
            store_health: StoreHealth::default(),
            deadlines: deadlines::Deadlines::default(),
        }
    }

    /// Records changes through `journal` into the store whose health `$SYS` reports.
    pub(crate) fn with_store(mut self, journal: Journal, health: StoreHealth) -> Self {
        self.journal = Some(journal);
        self.store_health = health;
        self
    }

    /// Takes up what the store held: retained messages, and persistent sessions with their
    /// subscriptions and messages, all offline, each session with its own expiry interval
    /// counted from when its client went away. Sessions that expired while the broker was
    /// down are removed from the store instead.
    pub(crate) fn restore(&mut self, snapshot: Snapshot) {
        for message in &snapshot.retained {
            self.retained.update(message);
        }
        if let Some(journal) = &self.journal {
            journal.set_retained(self.retained.bytes());
        }
        let now = store::unix_now();
        let (mut restored, mut expired) = (0, 0);
        for mut stored in snapshot.sessions {
            // The `session_expiry` in force bounds it, as at CONNECT.
            stored.expiry_interval = self.granted_expiry(stored.expiry_interval);
            // Connected when the broker stopped: away since it started again.
            let offline_since = stored.offline_since.unwrap_or(now);
            if self.outlived(stored.expiry_interval, offline_since, now) {
                expired += 1;
                self.record(Op::SessionRemoved {
                    client_id: stored.client_id,
                });
                continue;
            }
            let client_id = stored.client_id.clone();
            let access = self.acl.for_client(stored.username.as_deref(), &client_id);
            let session = Session::restore(stored, access, self.journal.clone(), now);
            if let Some(journal) = &self.journal {
                journal.add_held(session.held_bytes());
            }
            let key = self.new_key();
            for (filter, grant) in session.subscriptions() {
                self.subscriptions.insert(filter, key, grant);
            }
            self.by_client_id.insert(client_id, key);
            self.sessions.insert(key, session);
            self.schedule_expiry(key);
            restored += 1;
        }
        let held: usize = self.sessions.values().map(Session::stored_len).sum();
        let expired_messages = snapshot.expired_messages + snapshot.expired_retained;
        info!(
            "restored {} retained messages and {restored} persistent sessions holding {held} messages{}{}{}",
            snapshot.retained.len(),
            if expired > 0 { format!("; {expired} sessions had expired and were removed") } else { String::new() },
            if expired_messages > 0 {
                format!(
                    "; {} queued and {} retained messages had expired and were removed",
                    snapshot.expired_messages, snapshot.expired_retained
                )
            } else {
                String::new()
            },
            if snapshot.skipped_rows > 0 { format!("; {} unreadable rows left out", snapshot.skipped_rows) } else { String::new() },
        );
    }

    fn record(&self, op: Op) {
        if let Some(journal) = &self.journal {
            journal.record(op);
        }
    }

    /// Whether a session offline since `offline_since` (Unix seconds) has outlived its expiry
    /// interval by `now`, that interval bounded by the `session_expiry` in force.
    fn outlived(&self, expiry_interval: u32, offline_since: u64, now: u64) -> bool {
        let expiry = self.granted_expiry(expiry_interval);
        expiry != u32::MAX && now.saturating_sub(offline_since) >= u64::from(expiry)
    }

    /// Removes a session whose client stayed away longer than its expiry interval, and
    /// publishes its delayed will.
    fn expire(&mut self, key: SessionKey) {
        if let Some(s) = self.sessions.get(&key) {
            info!(
                client = s.client_id().as_ref();
                "session expired: its client has been away longer than its session expiry client={} messages={}",
                s.client_id(),
                s.stored_len()
            );
        }
        self.end_session(key);
    }

    /// Removes a session whose client is away (expired, or replaced by a clean start): a
    /// will it was delaying is published now, since the session ends (3.1.2.5).
    fn end_session(&mut self, key: SessionKey) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let client_id = session.client_id().clone();
        let will = (!session.is_connected())
            .then(|| session.take_will())
            .flatten();
        self.remove_session(key);
        if let Some(will) = will {
            self.publish_will(will, &client_id);
        }
    }

    /// Sends an acknowledgement to the session's client: at once, or with `durable_acks`
    /// once the store has made what came before it durable.
    fn acknowledge(&self, key: SessionKey, packet: Packet) {
        let Some(session) = self.sessions.get(&key) else {
            return;
        };
        match (&self.journal, session.handle()) {
            (Some(journal), Some(handle)) if journal.durable_acks() => {
                journal.record(Op::AckWhenDurable {
                    handle: handle.clone(),
                    packet: Box::new(packet),
                })
            }
            _ => session.reply(packet),
        }
    }

    /// Whether acknowledgements wait for the store.
    fn durable_acks(&self) -> bool {
        self.journal.as_ref().is_some_and(Journal::durable_acks)
    }

    /// Records a retained message stored or cleared. `$SYS` is left out: it is made again at
    /// start, and writing it every tick would wear the card for nothing.
    fn note_retained(&self, message: &Message) {
        if message.topic.starts_with('$') {
            return;
        }
        if let Some(journal) = &self.journal {
            journal.set_retained(self.retained.bytes());
        }
        self.record(Op::Retained {
            topic: message.topic.clone(),
            message: (!message.payload.is_empty()).then(|| message.clone()),
        });
    }

    /// Logs refusals through `refusals`, the limiter the listeners and connections use.
    pub(crate) fn with_refusal_log(mut self, refusals: Arc<LogLimiter>) -> Self {
        self.refusals = refusals;
        self
    }

    fn limits(&self) -> Limits {
        Limits {
            max_inflight: self.settings.max_inflight,
            max_queued: self.settings.max_queued_messages,
            retained_count: self.retained.len(),
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Connect {
                conn,
                version,
                connect,
                identity,
                handle,
            } => self.on_connect(conn, version, connect, identity, handle),
            Event::Packet { conn, packet } => self.on_packet(conn, packet),
            Event::Closed { conn, reason } => self.on_closed(conn, reason),
            Event::LocalPublish(message) => self.route(message),
            Event::LocalSubscribe {
                filters,
                qos,
                sink,
                reply,
            } => self.on_local_subscribe(filters, qos, sink, reply),
            Event::LocalUnsubscribe(key) => self.remove_local(key),
            Event::Ping(reply) => {
                let _ = reply.send(());
            }
            Event::ReloadAccess {
                acl,
                users_generation,
                disconnect_users,
                anonymous_refused_on,
            } => {
                self.users_generation = users_generation;
                self.reload_access(acl, &disconnect_users, &anonymous_refused_on);
            }
            Event::Shutdown => self.shutdown(),
        }
    }

    fn new_key(&mut self) -> SessionKey {
        let key = self.next_key;
        self.next_key += 1;
        key
    }

    fn remove_session(&mut self, key: SessionKey) {
        let Some(session) = self.sessions.remove(&key) else {
            return;
        };
        if session.is_stored() {
            if let Some(journal) = &self.journal {
                journal.sub_held(session.held_bytes());
            }
            self.record(Op::SessionRemoved {
                client_id: session.client_id().clone(),
            });
        }
        for filter in session.filters() {
            self.subscriptions.remove(filter, key);
        }
        if self.by_client_id.get(session.client_id()) == Some(&key) {
            self.by_client_id.remove(session.client_id());
        }
    }

    fn on_closed(&mut self, conn: ConnId, reason: CloseReason) {
        let Some(key) = self.live.remove(&conn) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let client_id = session.client_id().clone();
        match &reason {
            CloseReason::Disconnected(goodbye) => {
                if let Some(seconds) = goodbye.session_expiry {
                    // The client may shorten or lengthen what it asked at CONNECT (3.14.2.2.2).
                    let granted = self.granted_expiry(seconds);
                    if let Some(session) = self.sessions.get_mut(&key) {
                        session.set_expiry_interval(granted);
                    }
                }
                info!(client = client_id.as_ref(); "client disconnected client={client_id} conn={conn}")
            }
            other => {
                info!(
                    client = client_id.as_ref();
                    "client connection lost client={client_id} conn={conn} reason=\"{other}\""
                )
            }
        }
        self.connection_ended(key, reason.publishes_will());
    }

    /// The session's connection is over: detached and closed, the session gone with it if it
    /// ends with its connection, and the will published if `will_due`.
    fn connection_ended(&mut self, key: SessionKey, will_due: bool) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let Some(connection) = session.detach() else {
            return;
        };
        self.live.remove(&connection.id);
        connection.handle.close();
        let client_id = session.client_id().clone();
        if session.ends_with_connection() {
            self.remove_session(key);
        } else {
            self.schedule_expiry(key);
        }
        if will_due {
            if let Some(will) = connection.will {
                self.will_due(key, will, &client_id);
            }
        }
    }

    /// Ends a client's connection for what it did (exceeding the Receive Maximum, ...): an
    /// MQTT 5 client is told `reason`; the will is due, as for any connection the client did
    /// not end itself.
    pub(super) fn end_connection(&mut self, key: SessionKey, reason: DisconnectReason, why: &str) {
        let Some(session) = self.sessions.get(&key) else {
            return;
        };
        info!(
            client = session.client_id().as_ref();
            "closing connection: {why} client={}",
            session.client_id()
        );
        if let (Some(handle), Some(true)) =
            (session.handle(), session.version().map(Version::is_v5))
        {
            handle.close_with(disconnect_packet(reason));
        }
        self.connection_ended(key, true);
    }

    fn publish_will(&mut self, will: Will, client_id: &str) {
        debug!("publishing will topic={}", will.topic());
        let message = will.into_message(Instant::now());
        let from = self.by_client_id.get(client_id).copied();
        self.route_from_client(message, client_id, from);
    }

    fn on_packet(&mut self, conn: ConnId, packet: Packet) {
        let Some(&key) = self.live.get(&conn) else {
            return;
        };
        let limits = self.limits();
        match packet {
            Packet::Publish(p) => self.on_publish(key, p),
            Packet::Puback(a) => self.with_session(key, |s| s.on_puback(a.pkid, limits)),
            // A PUBREC with an error ends the QoS 2 flow there (4.3.3): nothing to release.
            Packet::Pubrec(a) if a.reason.is_error() => {
                self.with_session(key, |s| s.on_pubrec_refused(a.pkid, limits))
            }
            Packet::Pubrec(a) => self.with_session(key, |s| s.on_pubrec(a.pkid)),
            Packet::Pubcomp(r) => self.with_session(key, |s| s.on_pubcomp(r.pkid, limits)),
            Packet::Pubrel(r) => {
                if let Some(comp) = self.sessions.get_mut(&key).map(|s| s.on_pubrel(r.pkid)) {
                    self.acknowledge(key, comp);
                }
            }
            Packet::Subscribe(sub) => self.on_subscribe(key, sub),
            Packet::Unsubscribe(unsub) => self.on_unsubscribe(key, unsub),
            // The connection answers PINGREQ and handles DISCONNECT, AUTH and protocol errors
            // itself; the codec refuses what only servers send.
            _ => {}
        }
    }

    fn with_session(&mut self, key: SessionKey, f: impl FnOnce(&mut Session)) {
        if let Some(s) = self.sessions.get_mut(&key) {
            f(s);
        }
    }

    /// Sends a message to every matching subscription, and stores it if retained.
    pub(crate) fn route(&mut self, message: Message) {
        if message.retain {
            self.retained.update(&message);
            self.note_retained(&message);
        }
        self.fan_out(&message, None);
    }

    fn deliver(&mut self, key: SessionKey, delivery: Delivery, limits: Limits) {
        if let Some(session) = self.sessions.get_mut(&key) {
            session.deliver(delivery, limits, &self.counters);
        } else if let Some(local) = self.locals.get(&key) {
            // An expired (retained) message is no more a reading for the gateway's own parts
            // than for a client (MQTT-3.3.2-5).
            if delivery.message.has_expired() {
                return;
            }
            let mut m = delivery.message.clone();
            m.qos = delivery.qos;
            m.retain = delivery.retain;
            match local.sink.try_send(m) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    Counters::add(&self.counters.publish_dropped, 1);
                    warn!(
                        "in-process subscriber is not keeping up; message dropped filter={}",
                        local.filters.join(" ")
                    );
                }
                // Its `Subscription` was dropped and the unsubscribe did not get through.
                Err(mpsc::error::TrySendError::Closed(_)) => self.remove_local(key),
            }
        }
    }

    fn on_local_subscribe(
        &mut self,
        filters: Vec<String>,
        qos: QoS,
        sink: mpsc::Sender<Message>,
        reply: tokio::sync::oneshot::Sender<SessionKey>,
    ) {
        let key = self.new_key();
        let filters: Vec<Arc<str>> = filters.into_iter().map(Arc::from).collect();
        for filter in &filters {
            self.subscriptions.insert(filter, key, Grant::qos(qos));
        }
        let _ = reply.send(key);
        // Retained messages matching several of the filters are sent once, like live ones.
        let mut retained = Vec::new();
        for filter in &filters {
            self.retained.matching(filter, &mut retained);
        }
        let mut seen = std::collections::HashSet::new();
        retained.retain(|m| seen.insert(m.topic.clone()));
        self.locals.insert(key, LocalSubscriber { filters, sink });
        self.send_retained(key, &retained, qos, None);
    }

    /// Removes the subscriptions a session's rights no longer allow: a reload narrowed them,
    /// or the session is taken up under another user name.
    fn drop_forbidden_subscriptions(&mut self, key: SessionKey) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let forbidden: Vec<Arc<str>> = session
            .filters()
            .filter(|f| !session.access().subscribe(f))
            .cloned()
            .collect();
        for filter in forbidden {
            session.unsubscribe(&filter);
            self.subscriptions.remove(&filter, key);
            info!(
                client = session.client_id().as_ref();
                "subscription removed: the access rules no longer allow it client={} filter={filter}",
                session.client_id()
            );
        }
    }

    /// New access rules and users: every session's rights are compiled again at once, so a
    /// narrowed right is lost immediately, subscriptions included; clients whose user was
    /// removed or whose password changed are disconnected.
    fn reload_access(
        &mut self,
        acl: Acl,
        disconnect_users: &[String],
        anonymous_refused_on: &[Arc<str>],
    ) {
        self.acl = acl;
        let keys: Vec<SessionKey> = self.sessions.keys().copied().collect();
        let mut to_close = Vec::new();
        for key in keys {
            let Some(session) = self.sessions.get_mut(&key) else {
                continue;
            };
            let username = session.username().cloned();
            let listener = session.listener().clone();
            let access = self
                .acl
                .for_client(username.as_deref(), session.client_id());
            let dropped = session.set_access(username.clone(), listener.clone(), access);
            Counters::add(&self.counters.deliveries_denied, dropped as u64);
            // A will is a publish made later on the client's behalf: checked against the rights
            // in force, as at CONNECT.
            if let Some(topic) = session.will_topic() {
                if !session.access().can_write(topic) {
                    info!(
                        client = session.client_id().as_ref();
                        "will dropped: the access rules no longer let the client write its will topic client={} topic={topic}",
                        session.client_id()
                    );
                    session.take_will();
                }
            }
            let must_go = match &username {
                Some(user) => disconnect_users.iter().any(|d| d.as_str() == &**user),
                None => anonymous_refused_on.contains(&listener),
            };
            // A client checked against the new users already (its CONNECT came in between
            // the swap and this event) stays.
            if must_go && session.connected_before(self.users_generation) {
                to_close.push(key);
            }
            self.drop_forbidden_subscriptions(key);
        }
        for key in to_close {
            // Its network did not fail and it did not say goodbye: the broker ended it, so its
            // will is due, as when a keepalive expires.
            self.end_connection(
                key,
                DisconnectReason::NotAuthorized,
                "its user was removed or its password changed, or it is anonymous where that is no longer allowed",
            );
        }
    }

    fn remove_local(&mut self, key: SessionKey) {
        if let Some(local) = self.locals.remove(&key) {
            for filter in &local.filters {
                self.subscriptions.remove(filter, key);
            }
        }
    }

    fn publish_sys(&mut self) {
        // Bursts of refusals that ended are summed up now rather than at the next refusal.
        self.refusals.flush();
        let snapshot = super::sys::Snapshot {
            clients_connected: self.live.len(),
            clients_total: self.sessions.len(),
            clients_maximum: self.max_connected,
            subscriptions: self.subscriptions.len(),
            retained: self.retained.len(),
            stored: self.sessions.values().map(Session::stored_len).sum(),
            refusal_lines: (
                self.refusals.lines_written(),
                self.refusals.lines_suppressed(),
            ),
            persistence: self.store_health.word(),
        };
        for message in self.sys.messages(&snapshot, &self.counters) {
            self.route(message);
        }
    }

    /// Closing time: every connected client's will is due, since none of them disconnected,
    /// and so are the delayed ones, since the broker is going away before their delay ends.
    /// The wills go out first, so clients still connected (a dashboard, a phone) see them.
    fn shutdown(&mut self) {
        info!("broker stopping; closing {} connections", self.live.len());
        let mut wills = Vec::new();
        for session in self.sessions.values_mut() {
            let client_id = session.client_id().clone();
            wills.extend(session.take_will().map(|will| (will, client_id)));
        }
        for (will, client_id) in wills {
            self.publish_will(will, &client_id);
        }
        for (_, key) in self.live.drain() {
            let Some(session) = self.sessions.get_mut(&key) else {
                continue;
            };
            let v5 = session.version().is_some_and(Version::is_v5);
            if let Some(connection) = session.detach() {
                if v5 {
                    connection
                        .handle
                        .close_with(disconnect_packet(DisconnectReason::ServerShuttingDown));
                } else {
                    connection.handle.close();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
