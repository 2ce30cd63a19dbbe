//! The router: the one owner of every session, subscription and retained message.
//!
//! Connections decode packets on their own tasks and hand them here in order, through the
//! lock of [`SharedRouter`]; the router decides, and hands work back to each connection's
//! writer. Owning all state in one place keeps the protocol's ordering rules simple to honour
//! (a takeover's will, then the new CONNACK).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn, Level};
use tokio::sync::mpsc;

use super::auth::{Acl, ClientAcl};
use super::codec::{
    Connack, Connect, ConnectReturnCode, LastWill, Packet, Protocol, Publish, QoS, Suback,
    SubackCode, Subscribe, Unsubscribe,
};
use super::counters::Counters;
use super::event::{ClientIdentity, CloseReason, Event};
use super::log_limit::{LogLimiter, Refusal};
use super::message::Message;
use super::outbox::ConnHandle;
use super::retained::{NotStored, RetainedStore};
use super::session::{ConnId, Connection, Delivery, Limits, Session, SessionKey};
use super::settings::BrokerSettings;
use super::store::{self, Journal, Op, Snapshot, StoreHealth};
use super::subscriptions::SubscriptionTree;
use super::sys::SysPublisher;

mod limits;
mod shared;

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
    matched: Vec<(SessionKey, QoS)>,
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
}

/// How often sessions offline for longer than `session_expiry` are looked for.
const EXPIRY_CHECK: Duration = Duration::from_secs(60);

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
            sys: SysPublisher::new(Instant::now()),
            max_connected: 0,
            refusals: Arc::default(),
            journal: None,
            store_health: StoreHealth::default(),
        }
    }

    /// Records changes through `journal` into the store whose health `$SYS` reports.
    pub(crate) fn with_store(mut self, journal: Journal, health: StoreHealth) -> Self {
        self.journal = Some(journal);
        self.store_health = health;
        self
    }

    /// Takes up what the store held: retained messages, and persistent sessions with their
    /// subscriptions and messages, all offline. Sessions that expired while the broker was
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
        for stored in snapshot.sessions {
            if self.expired(stored.offline_since, now) {
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
            for (filter, qos) in session.subscriptions() {
                self.subscriptions.insert(filter, key, qos);
            }
            self.by_client_id.insert(client_id, key);
            self.sessions.insert(key, session);
            restored += 1;
        }
        let held: usize = self.sessions.values().map(Session::stored_len).sum();
        info!(
            "restored {} retained messages and {restored} persistent sessions holding {held} messages{}{}",
            snapshot.retained.len(),
            if expired > 0 { format!("; {expired} sessions had expired and were removed") } else { String::new() },
            if snapshot.skipped_rows > 0 { format!("; {} unreadable rows left out", snapshot.skipped_rows) } else { String::new() },
        );
    }

    fn record(&self, op: Op) {
        if let Some(journal) = &self.journal {
            journal.record(op);
        }
    }

    /// Whether a session offline since `offline_since` has outlived `session_expiry`.
    fn expired(&self, offline_since: Option<u64>, now: u64) -> bool {
        match (self.settings.session_expiry, offline_since) {
            (Some(expiry), Some(since)) => now.saturating_sub(since) >= expiry.as_secs(),
            _ => false,
        }
    }

    /// Removes the persistent sessions whose clients have been away longer than
    /// `session_expiry`, with everything they held.
    fn expire_sessions(&mut self) {
        let now = store::unix_now();
        let expired: Vec<SessionKey> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.is_connected() && self.expired(s.offline_since(), now))
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            if let Some(s) = self.sessions.get(&key) {
                info!(
                    client = s.client_id().as_ref();
                    "session expired: its client has been away longer than session_expiry client={} messages={}",
                    s.client_id(),
                    s.stored_len()
                );
            }
            self.remove_session(key);
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
                    packet,
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
                connect,
                identity,
                handle,
            } => self.on_connect(conn, connect, identity, handle),
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

    fn refuse(handle: &ConnHandle, code: ConnectReturnCode) {
        handle.send_packet(Packet::Connack(Connack {
            session_present: false,
            code,
        }));
        handle.close();
    }

    fn on_connect(
        &mut self,
        conn: ConnId,
        connect: Connect,
        identity: ClientIdentity,
        handle: ConnHandle,
    ) {
        if identity.users_generation < self.users_generation {
            // Its password was checked against the users before the reload now in force (the
            // reload came while it was being checked): it may have been removed since. Rare,
            // and a client retries on "server unavailable".
            info!(
                client = connect.client_id.as_str();
                "refused connection from {}: the users were reloaded while its credentials were checked; it may retry client={}",
                identity.peer,
                connect.client_id
            );
            return Self::refuse(&handle, ConnectReturnCode::ServerUnavailable);
        }
        if connect.client_id.is_empty() && !connect.clean_session {
            // A server-assigned id could never be resumed (MQTT-3.1.3-8).
            info!("refused connection: empty client id with clean session 0 conn={conn}");
            return Self::refuse(&handle, ConnectReturnCode::IdentifierRejected);
        }
        if let Some(why) = v31_client_id_refusal(&connect) {
            info!(
                client = connect.client_id.as_str();
                "refused MQTT 3.1 connection from {}: {why} client={}",
                identity.peer,
                connect.client_id
            );
            return Self::refuse(&handle, ConnectReturnCode::IdentifierRejected);
        }
        let client_id: Arc<str> = if connect.client_id.is_empty() {
            match self.assign_client_id() {
                Some(id) => id,
                None => return Self::refuse(&handle, ConnectReturnCode::ServerUnavailable),
            }
        } else {
            connect.client_id.as_str().into()
        };
        let access = self
            .acl
            .for_client(identity.username.as_deref(), &client_id);
        if let Some(will) = &connect.will {
            // A will is a publish made later on the client's behalf: refused now, while the
            // client can still be told, rather than dropped silently when it is due.
            if !access.can_write(&will.topic) {
                info!(
                    client = client_id.as_ref();
                    "refused connection: the client may not write its will topic client={client_id} from={} topic={}",
                    identity.peer, will.topic
                );
                Counters::add(&self.counters.connects_refused_auth, 1);
                return Self::refuse(&handle, ConnectReturnCode::NotAuthorized);
            }
        }
        if !access.unsafe_substitutions().is_empty() {
            warn!(
                client = client_id.as_ref();
                "access rules {:?} use %u or %c, but this client's user name or id holds +, # or / (or is empty): allow rules among them do not apply, deny rules deny everything client={client_id}",
                access.unsafe_substitutions()
            );
        }
        let existing = self.by_client_id.get(&client_id).copied();
        let takes_over = existing
            .and_then(|k| self.sessions.get(&k))
            .is_some_and(Session::is_connected);
        // A session made by a user belongs to that user: another can neither push its
        // client off nor take up what was queued for it. (A session made anonymously is
        // nobody's, as before users existed, so enabling passwords keeps nodes' sessions.)
        let owner = existing
            .and_then(|k| self.sessions.get(&k))
            .and_then(|s| s.username().cloned());
        if owner.is_some() && owner != identity.username {
            info!(
                client = client_id.as_ref();
                "refused connection: the client id belongs to another user's session client={client_id} from={}",
                identity.peer
            );
            Counters::add(&self.counters.connects_refused_auth, 1);
            return Self::refuse(&handle, ConnectReturnCode::IdentifierRejected);
        }
        if !takes_over && self.live.len() >= self.settings.max_clients {
            warn!(
                client = client_id.as_ref();
                "refused connection: {} clients already connected client={client_id}",
                self.live.len()
            );
            return Self::refuse(&handle, ConnectReturnCode::ServerUnavailable);
        }

        let mut session_present = false;
        let key = match existing {
            Some(key) => {
                if takes_over {
                    self.take_over(key);
                }
                let resumable = self
                    .sessions
                    .get(&key)
                    .is_some_and(|s| !s.is_clean() && !connect.clean_session);
                if resumable {
                    session_present = true;
                    key
                } else {
                    self.remove_session(key);
                    self.insert_session(client_id.clone(), connect.clean_session)
                }
            }
            None => self.insert_session(client_id.clone(), connect.clean_session),
        };
        if let Some(session) = self.sessions.get_mut(&key) {
            let dropped =
                session.set_access(identity.username.clone(), identity.listener.clone(), access);
            Counters::add(&self.counters.deliveries_denied, dropped as u64);
        }
        if session_present {
            // Rights may have narrowed since the session was last used (another user, a reload).
            self.drop_forbidden_subscriptions(key);
        }

        // A will beyond the topic limits is dropped now, as its PUBLISH would be.
        let will = connect
            .will
            .filter(|w| self.topic_within_limits(&w.topic, &client_id, "will"));
        let limits = self.limits();
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        handle.send_packet(Packet::Connack(Connack {
            // MQTT 3.1's CONNACK has no session present flag: the byte is reserved.
            session_present: session_present && connect.protocol != Protocol::V31,
            code: ConnectReturnCode::Accepted,
        }));
        session.attach(Connection {
            id: conn,
            handle,
            will,
            protocol: connect.protocol,
            users_generation: identity.users_generation,
        });
        self.live.insert(conn, key);
        self.max_connected = self.max_connected.max(self.live.len());
        if session_present {
            session.resume(limits);
        }
        info!(
            client = client_id.as_ref();
            "client connected client={client_id} conn={conn} from={} listener={}{} clean_session={} keepalive={}s session_present={session_present}",
            identity.peer,
            identity.listener,
            identity.username.as_deref().map(|u| format!(" user={u}")).unwrap_or_default(),
            connect.clean_session,
            connect.keep_alive
        );
    }

    /// An id for a client that sent none (clean session only): `hearth-` and 64 random bits
    /// from the operating system, so nobody can guess it to push the client off, and never one
    /// already in use, so it cannot take over another client's session. `None` if the
    /// operating system has no randomness to give, which is logged.
    fn assign_client_id(&self) -> Option<Arc<str>> {
        loop {
            let mut random = [0u8; 8];
            if let Err(e) = getrandom::fill(&mut random) {
                error!("refused connection without a client id: cannot draw a random one: {e}");
                return None;
            }
            let candidate = format!("hearth-{:016x}", u64::from_be_bytes(random));
            if !self.by_client_id.contains_key(candidate.as_str()) {
                return Some(candidate.into());
            }
        }
    }

    /// A second CONNECT with the same client id closes the first connection and publishes the
    /// first connection's will, as if its network had failed.
    fn take_over(&mut self, key: SessionKey) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let client_id = session.client_id().clone();
        let Some(old) = session.detach() else {
            return;
        };
        info!("client taken over by a new connection conn={}", old.id);
        self.live.remove(&old.id);
        old.handle.abort();
        if let Some(will) = old.will {
            self.publish_will(will, &client_id);
        }
    }

    /// A new session; the caller gives it its access rights before anything reaches it.
    fn insert_session(&mut self, client_id: Arc<str>, clean_session: bool) -> SessionKey {
        let key = self.new_key();
        self.by_client_id.insert(client_id.clone(), key);
        self.sessions.insert(
            key,
            Session::new(client_id, clean_session, ClientAcl::unrestricted())
                .with_journal(self.journal.clone()),
        );
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
        let Some(connection) = session.detach() else {
            return;
        };
        connection.handle.close();
        let clean = session.is_clean();
        let client_id = session.client_id().clone();
        match &reason {
            CloseReason::Disconnected => {
                info!(client = client_id.as_ref(); "client disconnected client={client_id} conn={conn}")
            }
            other => {
                info!(
                    client = client_id.as_ref();
                    "client connection lost client={client_id} conn={conn} reason=\"{other}\""
                )
            }
        }
        if clean {
            self.remove_session(key);
        }
        if reason != CloseReason::Disconnected {
            if let Some(will) = connection.will {
                self.publish_will(will, &client_id);
            }
        }
    }

    fn publish_will(&mut self, will: LastWill, client_id: &str) {
        debug!("publishing will topic={}", will.topic);
        let message = Message::new(will.topic, will.payload, will.qos, will.retain);
        self.route_from_client(message, client_id);
    }

    fn on_packet(&mut self, conn: ConnId, packet: Packet) {
        let Some(&key) = self.live.get(&conn) else {
            return;
        };
        let limits = self.limits();
        match packet {
            Packet::Publish(p) => self.on_publish(key, p),
            Packet::Puback(pkid) => self.with_session(key, |s| s.on_puback(pkid, limits)),
            Packet::Pubrec(pkid) => self.with_session(key, |s| s.on_pubrec(pkid)),
            Packet::Pubcomp(pkid) => self.with_session(key, |s| s.on_pubcomp(pkid, limits)),
            Packet::Pubrel(pkid) => {
                if let Some(comp) = self.sessions.get_mut(&key).map(|s| s.on_pubrel(pkid)) {
                    self.acknowledge(key, comp);
                }
            }
            Packet::Subscribe(sub) => self.on_subscribe(key, sub),
            Packet::Unsubscribe(unsub) => self.on_unsubscribe(key, unsub),
            // The connection answers PINGREQ and handles DISCONNECT and protocol errors itself.
            _ => {}
        }
    }

    fn with_session(&mut self, key: SessionKey, f: impl FnOnce(&mut Session)) {
        if let Some(s) = self.sessions.get_mut(&key) {
            f(s);
        }
    }

    fn on_publish(&mut self, key: SessionKey, p: Publish) {
        Counters::add(&self.counters.publish_received, 1);
        let durable_acks = self.durable_acks();
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let (new, ack) = session.on_incoming_publish(p.qos, p.pkid);
        // With durable acks the acknowledgement follows what the message changed into the
        // store; otherwise it goes first, as it always has.
        let ack_after = if durable_acks {
            ack
        } else {
            if let Some(ack) = ack {
                session.reply(ack);
            }
            None
        };
        self.route_publish(key, p, new);
        if let Some(ack) = ack_after {
            self.acknowledge(key, ack);
        }
    }

    /// Routes a client's PUBLISH unless it is a re-sent QoS 2 one (`new` false), its client
    /// may not write its topic, or the topic is beyond the limits.
    fn route_publish(&mut self, key: SessionKey, p: Publish, new: bool) {
        if !new {
            // A QoS 2 PUBLISH re-sent before PUBREL: acknowledged again, delivered once.
            return;
        }
        let Some(session) = self.sessions.get(&key) else {
            return;
        };
        if !session.access().can_write(&p.topic) {
            // Dropped but acknowledged above, as Mosquitto does for 3.1.1: the client is not
            // told, and cannot forge `$SYS` or the gateway's own topics.
            Counters::add(&self.counters.publish_denied, 1);
            debug!(
                "denied publish client={} topic={}",
                session.client_id(),
                p.topic
            );
            return;
        }
        let client_id = session.client_id().clone();
        if !self.topic_within_limits(&p.topic, &client_id, "PUBLISH") {
            return;
        }
        self.route_from_client(
            Message::new(p.topic, p.payload, p.qos, p.retain),
            &client_id,
        );
    }

    /// Whether a client's topic is within `max_topic_length` and `max_topic_levels`; if not,
    /// the PUBLISH (or will) is counted and logged (rate-limited) as dropped.
    fn topic_within_limits(&mut self, topic: &str, client_id: &str, what: &str) -> bool {
        let Err(why) = self.topic_limits.check(topic) else {
            return true;
        };
        Counters::add(&self.counters.refused_topic_publish, 1);
        self.refusals.log(
            Level::Info,
            None,
            Refusal::TopicLimit,
            format_args!(
                "dropped {what} from client={client_id}: its topic {why} topic={}",
                limits::shown(topic)
            ),
        );
        false
    }

    /// [`Router::route`] for a client's message: a retained one on a new topic is stored only
    /// while `max_retained_messages` and `max_store_size` allow (it is delivered either way).
    fn route_from_client(&mut self, message: Message, client_id: &str) {
        if message.retain {
            let journal = self.journal.as_ref();
            let kept = self.retained.update_within_limits(&message, |bytes| {
                journal.is_none_or(|journal| journal.has_room(bytes))
            });
            match kept {
                Ok(()) => self.note_retained(&message),
                Err(NotStored::StoreFull) => {
                    Counters::add(&self.counters.store_dropped, 1);
                    self.refusals.log(
                        Level::Warn,
                        None,
                        Refusal::RetainedLimit,
                        format_args!(
                            "retained message not stored: the store holds max_store_size; it was delivered to the subscribers connected now client={client_id} topic={}",
                            limits::shown(&message.topic)
                        ),
                    );
                }
                Err(NotStored::AtLimit) => {
                    Counters::add(&self.counters.refused_retained, 1);
                    self.refusals.log(
                        Level::Warn,
                        None,
                        Refusal::RetainedLimit,
                        format_args!(
                            "retained message not stored: {} messages are retained (max_retained_messages); it was delivered to the subscribers connected now client={client_id} topic={}",
                            self.retained.len(),
                            limits::shown(&message.topic)
                        ),
                    );
                }
            }
        }
        self.fan_out(&message);
    }

    /// Sends a message to every matching subscription, and stores it if retained.
    pub(crate) fn route(&mut self, message: Message) {
        if message.retain {
            self.retained.update(&message);
            self.note_retained(&message);
        }
        self.fan_out(&message);
    }

    /// Sends a message to every matching subscription.
    fn fan_out(&mut self, message: &Message) {
        let mut matched = std::mem::take(&mut self.matched);
        self.subscriptions.matches(&message.topic, &mut matched);
        let limits = self.limits();
        for &(key, granted) in &matched {
            // Delivered at the lower of the publish and subscription QoS (MQTT-3.8.4-6), with
            // RETAIN cleared for established subscriptions (MQTT-3.3.1-9).
            let delivery = Delivery {
                message,
                qos: message.qos.min(granted),
                retain: false,
            };
            self.deliver(key, delivery, limits);
        }
        self.matched = matched;
    }

    fn deliver(&mut self, key: SessionKey, delivery: Delivery, limits: Limits) {
        if let Some(session) = self.sessions.get_mut(&key) {
            session.deliver(delivery, limits, &self.counters);
        } else if let Some(local) = self.locals.get(&key) {
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

    fn on_subscribe(&mut self, key: SessionKey, sub: Subscribe) {
        let Some((client_id, protocol, access)) = self
            .sessions
            .get(&key)
            .map(|s| (s.client_id().clone(), s.protocol(), s.access().clone()))
        else {
            return;
        };
        let mut codes = Vec::with_capacity(sub.filters.len());
        let mut granted: Vec<(Arc<str>, QoS)> = Vec::new();
        for (filter, qos) in sub.filters {
            match mqtt_topic::validate_filter(&filter) {
                Ok(()) if !self.filter_within_limits(&filter, &client_id) => {
                    codes.push(refused_code(protocol, qos));
                }
                Ok(()) if !access.subscribe(&filter) => {
                    debug!("denied subscription filter={filter:?}");
                    Counters::add(&self.counters.subscriptions_denied, 1);
                    codes.push(refused_code(protocol, qos));
                }
                Ok(()) => {
                    let filter: Arc<str> = filter.into();
                    self.subscriptions.insert(&filter, key, qos);
                    codes.push(SubackCode::Granted(qos));
                    granted.push((filter, qos));
                }
                Err(e) => {
                    debug!("refused subscription filter={filter:?}: {e}");
                    codes.push(refused_code(protocol, qos));
                }
            }
        }
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        for (filter, qos) in &granted {
            session.subscribe(filter.clone(), *qos);
        }
        session.reply(Packet::Suback(Suback {
            pkid: sub.pkid,
            codes,
        }));
        // Retained messages follow the SUBACK, for new and replaced subscriptions alike
        // (MQTT-3.8.4-3).
        for (filter, granted_qos) in granted {
            self.deliver_retained(key, &filter, granted_qos);
        }
    }

    /// Whether a filter is within `max_topic_length` and `max_topic_levels`; if not, the
    /// refusal is counted and logged (rate-limited).
    fn filter_within_limits(&mut self, filter: &str, client_id: &str) -> bool {
        let Err(why) = self.topic_limits.check(filter) else {
            return true;
        };
        Counters::add(&self.counters.refused_topic_subscribe, 1);
        self.refusals.log(
            Level::Info,
            None,
            Refusal::TopicLimit,
            format_args!(
                "refused subscription from client={client_id}: its filter {why} filter={}",
                limits::shown(filter)
            ),
        );
        false
    }

    /// Sends a new subscription every retained message it matches, each flagged RETAIN
    /// (MQTT-3.3.1-8).
    fn deliver_retained(&mut self, key: SessionKey, filter: &str, granted: QoS) {
        let mut retained = Vec::new();
        self.retained.matching(filter, &mut retained);
        self.send_retained(key, &retained, granted);
    }

    fn send_retained(&mut self, key: SessionKey, retained: &[Message], granted: QoS) {
        let limits = self.limits();
        for message in retained {
            let delivery = Delivery {
                message,
                qos: message.qos.min(granted),
                retain: true,
            };
            self.deliver(key, delivery, limits);
        }
    }

    fn on_unsubscribe(&mut self, key: SessionKey, unsub: Unsubscribe) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        for filter in &unsub.filters {
            if session.unsubscribe(filter) {
                self.subscriptions.remove(filter, key);
            }
        }
        // UNSUBACK even when nothing matched (MQTT-3.10.4-5).
        session.reply(Packet::Unsuback(unsub.pkid));
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
            self.subscriptions.insert(filter, key, qos);
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
        self.send_retained(key, &retained, qos);
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
            let Some(session) = self.sessions.get_mut(&key) else {
                continue;
            };
            let client_id = session.client_id().clone();
            let Some(connection) = session.detach() else {
                continue;
            };
            info!(
                client = client_id.as_ref();
                "client disconnected: its user was removed or its password changed, or it is anonymous where that is no longer allowed client={client_id} conn={}",
                connection.id
            );
            self.live.remove(&connection.id);
            connection.handle.close();
            let clean = session.is_clean();
            if clean {
                self.remove_session(key);
            }
            // Its network did not fail and it did not say goodbye: the broker ended it, so its
            // will is due, as when a keepalive expires.
            if let Some(will) = connection.will {
                self.publish_will(will, &client_id);
            }
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

    /// Closing time: every connected client's will is due, since none of them disconnected.
    /// The wills go out first, so clients still connected (a dashboard, a phone) see them.
    fn shutdown(&mut self) {
        info!("broker stopping; closing {} connections", self.live.len());
        let mut wills = Vec::new();
        for key in self.live.values() {
            if let Some(session) = self.sessions.get_mut(key) {
                let client_id = session.client_id().clone();
                wills.extend(session.take_will().map(|will| (will, client_id)));
            }
        }
        for (will, client_id) in wills {
            self.publish_will(will, &client_id);
        }
        for (_, key) in self.live.drain() {
            if let Some(connection) = self.sessions.get_mut(&key).and_then(Session::detach) {
                connection.handle.close();
            }
        }
    }
}

/// Why an MQTT 3.1 client id is refused. MQTT 3.1 (protocol name `MQIsdp`) requires 1 to 23
/// characters and has no server-assigned ids, so an empty one is refused even with clean
/// session, as Mosquitto does; MQTT 3.1.1 lifted both rules.
fn v31_client_id_refusal(connect: &Connect) -> Option<&'static str> {
    if connect.protocol != Protocol::V31 {
        None
    } else if connect.client_id.is_empty() {
        Some("empty client id (MQTT 3.1 has no server-assigned ids)")
    } else if connect.client_id.chars().count() > 23 {
        Some("client id longer than 23 characters")
    } else {
        None
    }
}

/// The SUBACK code for a refused filter: 0x80 (MQTT-3.9.3). MQTT 3.1's SUBACK has no failure
/// code, so a 3.1 client gets the QoS it asked for and no subscription, as Mosquitto does.
pub(crate) fn refused_code(protocol: Option<Protocol>, requested: QoS) -> SubackCode {
    match protocol {
        Some(Protocol::V31) => SubackCode::Granted(requested),
        _ => SubackCode::Failure,
    }
}

#[cfg(test)]
mod tests;
