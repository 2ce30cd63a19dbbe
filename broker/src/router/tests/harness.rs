//! A router driven by hand: fake clients send it the events a connection task would, and read
//! back what it handed their writer, with no sockets, no runtime and no waiting.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::auth::Acl;
use crate::codec::v5;
use crate::codec::{
    Connack, Connect, ConnectReturnCode, LastWill, Packet, Protocol, Publish, QoS, Suback,
    SubackCode, Subscribe, Unsubscribe,
};
use crate::counters::Counters;
use crate::event::{ClientIdentity, CloseReason, Event};
use crate::message::Message;
use crate::outbox::{self, Outgoing, WriterSide};
use crate::router::Router;
use crate::session::ConnId;
use crate::settings::BrokerSettings;
use crate::wire::Version;

/// No access rules: everything allowed but writing `$SYS`, as a broker without rules.
pub(super) fn open_acl() -> Acl {
    Acl::new(Vec::new(), vec!["$SYS/#".to_string()]).expect("valid protected filter")
}

/// The router under test, shared by the fake clients connected to it.
#[derive(Clone)]
pub(super) struct TestBroker(Rc<Inner>);

struct Inner {
    router: RefCell<Router>,
    counters: Arc<Counters>,
    next_conn: Cell<ConnId>,
    /// Reloads of the users so far, as the broker counts them.
    users_generation: Cell<u64>,
}

impl TestBroker {
    pub(super) fn new() -> Self {
        Self::with(BrokerSettings::default())
    }

    pub(super) fn with(settings: BrokerSettings) -> Self {
        Self::with_settings_and_acl(settings, open_acl())
    }

    /// A router enforcing `acl` on its network clients.
    pub(super) fn with_acl(acl: Acl) -> Self {
        Self::with_settings_and_acl(BrokerSettings::default(), acl)
    }

    pub(super) fn with_settings_and_acl(settings: BrokerSettings, acl: Acl) -> Self {
        let counters = Arc::new(Counters::default());
        Self(Rc::new(Inner {
            router: RefCell::new(Router::new(settings, acl, counters.clone())),
            counters,
            next_conn: Cell::new(1),
            users_generation: Cell::new(0),
        }))
    }

    /// A router that records its changes in `journal`, as one with a store does.
    pub(super) fn with_journal(settings: BrokerSettings, journal: crate::store::Journal) -> Self {
        let counters = Arc::new(Counters::default());
        let router = Router::new(settings, open_acl(), counters.clone())
            .with_store(journal, crate::store::StoreHealth::default());
        Self(Rc::new(Inner {
            router: RefCell::new(router),
            counters,
            next_conn: Cell::new(1),
            users_generation: Cell::new(0),
        }))
    }

    /// Takes up what a store held, as at start.
    pub(super) fn restore(&self, snapshot: crate::store::Snapshot) {
        self.0.router.borrow_mut().restore(snapshot);
    }

    /// The periodic removal of sessions away longer than `session_expiry`, with the expiry
    /// set to `expiry` first.
    pub(super) fn expire_sessions_after(&self, expiry: std::time::Duration) {
        let mut router = self.0.router.borrow_mut();
        router.settings.session_expiry = Some(expiry);
        let keys: Vec<_> = router.sessions.keys().copied().collect();
        for key in keys {
            router.schedule_expiry(key);
        }
        router.run_due(std::time::Instant::now());
    }

    /// Runs what is due `later` from now on the router's clock: delayed wills and session
    /// expiries, as the router's task does when their time comes.
    pub(super) fn run_due_after(&self, later: std::time::Duration) {
        let now = std::time::Instant::now() + later;
        self.0.router.borrow_mut().run_due(now);
    }

    /// When the router's task would next wake for a deadline, from now.
    pub(super) fn next_deadline_in(&self) -> Option<std::time::Duration> {
        let next = self.0.router.borrow().next_deadline()?;
        Some(next.saturating_duration_since(std::time::Instant::now()))
    }

    pub(super) fn handle(&self, event: Event) {
        self.0.router.borrow_mut().handle(event);
    }

    /// Opens a new connection and sends `connect` on it; the answer waits in its outbox. The
    /// client is taken to have authenticated as the CONNECT's user name, if any.
    pub(super) fn open(&self, connect: Connect) -> FakeClient {
        let username = connect.username.clone();
        self.open_as(connect, username.as_deref(), "test")
    }

    /// Opens a connection on `listener` for a client that authenticated as `username` (or
    /// is anonymous), as the connection task reports it once the credentials are checked.
    pub(super) fn open_as(
        &self,
        connect: Connect,
        username: Option<&str>,
        listener: &str,
    ) -> FakeClient {
        let generation = self.0.users_generation.get();
        self.open_checked_against(connect, username, listener, generation)
    }

    /// [`Self::open_as`] for a client whose credentials were checked against the users of
    /// the `generation`th reload (0: those at start).
    pub(super) fn open_checked_against(
        &self,
        connect: Connect,
        username: Option<&str>,
        listener: &str,
        generation: u64,
    ) -> FakeClient {
        let (version, connect) = crate::wire::connect_from_v3(connect);
        self.open_v5_checked(version, connect, username, listener, generation)
    }

    /// Opens a connection for an MQTT 5 client (or any, in 5.0's terms) that authenticated as
    /// `username`; read its answers with [`FakeClient::next_v5`].
    pub(super) fn open_v5(&self, connect: v5::Connect, username: Option<&str>) -> FakeClient {
        let generation = self.0.users_generation.get();
        self.open_v5_checked(Version::V5, connect, username, "test", generation)
    }

    fn open_v5_checked(
        &self,
        version: Version,
        connect: v5::Connect,
        username: Option<&str>,
        listener: &str,
        generation: u64,
    ) -> FakeClient {
        let conn = self.0.next_conn.get();
        self.0.next_conn.set(conn + 1);
        let (handle, writer) = outbox::channel();
        let identity = ClientIdentity {
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 40_000 + (conn % 20_000) as u16)),
            listener: listener.into(),
            username: username.map(Arc::from),
            users_generation: generation,
        };
        self.handle(Event::Connect {
            conn,
            version,
            connect,
            identity,
            handle,
        });
        FakeClient {
            broker: self.clone(),
            conn,
            writer,
            backlog: VecDeque::new(),
            closed: false,
            next_pkid: 0,
        }
    }

    /// Connects, expects CONNACK "accepted" first, and returns the client with its session
    /// present flag.
    pub(super) fn connect(&self, connect: Connect) -> (FakeClient, bool) {
        let id = connect.client_id.clone();
        let mut client = self.open(connect);
        match client.next() {
            Some(Packet::Connack(Connack {
                session_present,
                code: ConnectReturnCode::Accepted,
            })) => (client, session_present),
            other => panic!("client {id:?}: expected CONNACK accepted, got {other:?}"),
        }
    }

    /// `connect`, for a client whose session present flag does not matter to the test.
    pub(super) fn client(&self, connect: Connect) -> FakeClient {
        self.connect(connect).0
    }

    /// A client authenticated as `username` on the `test` listener, which must be accepted.
    pub(super) fn user_client(&self, connect: Connect, username: &str) -> FakeClient {
        let id = connect.client_id.clone();
        let mut client = self.open_as(connect, Some(username), "test");
        match client.next() {
            Some(Packet::Connack(Connack {
                code: ConnectReturnCode::Accepted,
                ..
            })) => client,
            other => {
                panic!("client {id:?} as {username}: expected CONNACK accepted, got {other:?}")
            }
        }
    }

    /// New access rules as a reload (SIGHUP) hands them to the router, with the users whose
    /// clients must go and the listeners that no longer let anonymous clients in.
    pub(super) fn reload_access(
        &self,
        acl: Acl,
        disconnect_users: &[&str],
        anonymous_refused_on: &[&str],
    ) {
        let generation = self.0.users_generation.get() + 1;
        self.0.users_generation.set(generation);
        self.handle(Event::ReloadAccess {
            acl,
            users_generation: generation,
            disconnect_users: disconnect_users.iter().map(|u| u.to_string()).collect(),
            anonymous_refused_on: anonymous_refused_on.iter().map(|l| Arc::from(*l)).collect(),
        });
    }

    /// A publish from inside the daemon (`BrokerHandle::publish`).
    pub(super) fn local_publish(&self, topic: &str, payload: &str, qos: QoS, retain: bool) {
        self.handle(Event::LocalPublish(Message::new(
            topic,
            Bytes::copy_from_slice(payload.as_bytes()),
            qos,
            retain,
        )));
    }

    pub(super) fn shutdown(&self) {
        self.handle(Event::Shutdown);
    }

    /// The `publish_dropped` counter: messages given up to keep within a limit.
    pub(super) fn dropped(&self) -> u64 {
        Counters::get(&self.0.counters.publish_dropped)
    }

    /// The `store_dropped` counter: messages not kept because the store holds its cap.
    pub(super) fn store_dropped(&self) -> u64 {
        Counters::get(&self.0.counters.store_dropped)
    }

    /// The client ids of every session, sorted.
    pub(super) fn client_ids(&self) -> Vec<String> {
        let router = self.0.router.borrow();
        let mut ids: Vec<String> = router
            .by_client_id
            .keys()
            .map(|id| id.to_string())
            .collect();
        ids.sort();
        ids
    }

    /// The `publish_denied` counter: PUBLISHes the access rules did not let through.
    pub(super) fn publishes_denied(&self) -> u64 {
        Counters::get(&self.0.counters.publish_denied)
    }

    /// The `deliveries_denied` counter: messages a subscriber was not allowed to read.
    pub(super) fn deliveries_denied(&self) -> u64 {
        Counters::get(&self.0.counters.deliveries_denied)
    }

    /// The `subscriptions_denied` counter: filters refused with SUBACK 0x80.
    pub(super) fn subscriptions_denied(&self) -> u64 {
        Counters::get(&self.0.counters.subscriptions_denied)
    }

    /// The `$SYS` statistics the router would publish now, as topic and value.
    pub(super) fn sys_value(&self, topic: &str) -> Option<String> {
        let mut probe = self.client(client("sys-probe"));
        probe.subscribe(topic, QoS::AtMostOnce);
        self.0.router.borrow_mut().publish_sys();
        let got = probe.publishes();
        probe.disconnect();
        got.last()
            .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
    }
}

/// One network connection as the router sees it: its events in, its writer's outbox out.
pub(super) struct FakeClient {
    broker: TestBroker,
    pub(super) conn: ConnId,
    writer: WriterSide,
    /// Taken from the outbox while looking for a particular reply, not yet read by the test;
    /// as the router sent them, in 5.0's terms.
    backlog: VecDeque<v5::Packet>,
    closed: bool,
    next_pkid: u16,
}

impl FakeClient {
    /// Sends a 3.1.1 packet, as a 3.1.1 connection hands it to the router.
    pub(super) fn send(&self, packet: Packet) {
        let packet = crate::wire::packet_from_v3(packet).expect("a packet clients send");
        self.send_v5(packet);
    }

    pub(super) fn send_v5(&self, packet: v5::Packet) {
        self.broker.handle(Event::Packet {
            conn: self.conn,
            packet,
        });
    }

    /// Sends a PUBLISH with the next packet id (none for QoS 0) and returns that id.
    pub(super) fn publish(&mut self, topic: &str, payload: &str, qos: QoS, retain: bool) -> u16 {
        let pkid = if qos == QoS::AtMostOnce {
            0
        } else {
            self.next_pkid += 1;
            self.next_pkid
        };
        self.send(Packet::Publish(Publish {
            retain,
            ..publish(topic, payload, qos, pkid)
        }));
        pkid
    }

    /// Sends a PUBLISH and completes its acknowledgement flow, checking each step: PUBACK for
    /// QoS 1, PUBREC then (after PUBREL) PUBCOMP for QoS 2.
    pub(super) fn publish_acked(&mut self, topic: &str, payload: &str, qos: QoS, retain: bool) {
        let pkid = self.publish(topic, payload, qos, retain);
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => assert_eq!(self.next(), Some(Packet::Puback(pkid))),
            QoS::ExactlyOnce => {
                assert_eq!(self.next(), Some(Packet::Pubrec(pkid)));
                self.send(Packet::Pubrel(pkid));
                assert_eq!(self.next(), Some(Packet::Pubcomp(pkid)));
            }
        }
    }

    /// Subscribes to one filter and returns the SUBACK's code. Anything sent before the SUBACK
    /// stays to be read; the retained messages that follow it are left in the outbox.
    pub(super) fn subscribe(&mut self, filter: &str, qos: QoS) -> SubackCode {
        self.next_pkid += 1;
        let pkid = self.next_pkid;
        self.send(Packet::Subscribe(Subscribe {
            pkid,
            filters: vec![(filter.to_string(), qos)],
        }));
        match self.reply(|p| matches!(p, Packet::Suback(s) if s.pkid == pkid)) {
            Packet::Suback(Suback { codes, .. }) if codes.len() == 1 => codes[0],
            other => panic!("SUBACK for one filter expected, got {other:?}"),
        }
    }

    pub(super) fn unsubscribe(&mut self, filter: &str) {
        self.next_pkid += 1;
        let pkid = self.next_pkid;
        self.send(Packet::Unsubscribe(Unsubscribe {
            pkid,
            filters: vec![filter.to_string()],
        }));
        self.reply(|p| *p == Packet::Unsuback(pkid));
    }

    /// The connection task reports its end.
    pub(super) fn close(&self, reason: CloseReason) {
        self.broker.handle(Event::Closed {
            conn: self.conn,
            reason,
        });
    }

    /// DISCONNECT: the connection task handles the packet and reports a clean end.
    pub(super) fn disconnect(&self) {
        self.close(CloseReason::disconnected());
    }

    /// Whether the router asked the writer to stop at once (a takeover), dropping its queue.
    pub(super) fn is_aborted(&self) -> bool {
        self.writer.abort.is_cancelled()
    }

    /// Whether the router asked the writer to flush and close the socket.
    pub(super) fn is_closed(&mut self) -> bool {
        self.pull();
        self.closed
    }

    /// The next packet the router sent, if any, as a 3.1.1 client gets it (packets 3.1.1
    /// does not have, such as DISCONNECT, are not written to it).
    pub(super) fn next(&mut self) -> Option<Packet> {
        self.pull();
        while let Some(packet) = self.backlog.pop_front() {
            if let Some(packet) = crate::wire::packet_to_v3(&packet) {
                return Some(packet);
            }
        }
        None
    }

    /// The next packet the router sent, if any, as an MQTT 5 client gets it.
    pub(super) fn next_v5(&mut self) -> Option<v5::Packet> {
        self.pull();
        self.backlog.pop_front()
    }

    /// Everything the router sent and the test has not read yet, in order.
    pub(super) fn drain(&mut self) -> Vec<Packet> {
        self.pull();
        self.backlog
            .drain(..)
            .filter_map(|p| crate::wire::packet_to_v3(&p))
            .collect()
    }

    /// `drain`, where every packet must be a PUBLISH.
    pub(super) fn publishes(&mut self) -> Vec<Publish> {
        self.drain()
            .into_iter()
            .map(|p| match p {
                Packet::Publish(p) => p,
                other => panic!("client {}: PUBLISH expected, got {other:?}", self.conn),
            })
            .collect()
    }

    /// Reads and acknowledges like a well-behaved client until the router has nothing more to
    /// send: PUBACK for QoS 1, PUBREC for QoS 2, PUBCOMP for each PUBREL. Returns the
    /// PUBLISHes in the order they came.
    pub(super) fn ack_all(&mut self) -> Vec<Publish> {
        let mut got = Vec::new();
        while let Some(packet) = self.next() {
            match packet {
                Packet::Publish(p) => {
                    match p.qos {
                        QoS::AtMostOnce => {}
                        QoS::AtLeastOnce => self.send(Packet::Puback(p.pkid)),
                        QoS::ExactlyOnce => self.send(Packet::Pubrec(p.pkid)),
                    }
                    got.push(p);
                }
                Packet::Pubrel(pkid) => self.send(Packet::Pubcomp(pkid)),
                other => panic!("client {}: unexpected {other:?}", self.conn),
            }
        }
        got
    }

    /// Takes packets from the outbox until one satisfies `wanted`; those before it stay in
    /// the backlog, in order.
    fn reply(&mut self, wanted: impl Fn(&Packet) -> bool) -> Packet {
        self.pull();
        let as_v3 = |p: &v5::Packet| crate::wire::packet_to_v3(p);
        let Some(pos) = self
            .backlog
            .iter()
            .position(|p| as_v3(p).is_some_and(|p| wanted(&p)))
        else {
            panic!(
                "client {}: expected reply not sent; outbox held {:?}",
                self.conn, self.backlog
            );
        };
        let packet = self.backlog.remove(pos).expect("position is in range");
        as_v3(&packet).expect("found as 3.1.1")
    }

    /// Moves what the router sent into the backlog, as the writer task would write it:
    /// counting PUBLISHes out of `pending` and stopping at Close.
    fn pull(&mut self) {
        while let Ok(item) = self.writer.rx.try_recv() {
            let packet = match item {
                Outgoing::Packet(packet) => *packet,
                Outgoing::Publish {
                    message,
                    qos,
                    retain,
                    dup,
                    pkid,
                } => {
                    self.writer.pending.fetch_sub(1, Ordering::Relaxed);
                    // As the writer encodes it for an MQTT 5 client.
                    let mut properties = message.properties.as_deref().cloned().unwrap_or_default();
                    properties.message_expiry_interval =
                        message.remaining_expiry(std::time::Instant::now());
                    v5::Packet::Publish(v5::Publish {
                        dup,
                        qos,
                        retain,
                        topic: message.topic.to_string(),
                        pkid,
                        properties,
                        payload: message.payload,
                    })
                }
                Outgoing::Close => {
                    self.closed = true;
                    continue;
                }
            };
            assert!(
                !self.closed,
                "client {}: {packet:?} sent after Close would never be written",
                self.conn
            );
            self.backlog.push_back(packet);
        }
    }
}

/// CONNECT for MQTT 3.1.1, clean session, keepalive 60 s, no will; vary it with
/// `Connect { clean_session: false, ..client("id") }`.
pub(super) fn client(id: &str) -> Connect {
    Connect {
        protocol: Protocol::V311,
        clean_session: true,
        keep_alive: 60,
        client_id: id.to_string(),
        will: None,
        username: None,
        password: None,
    }
}

/// CONNECT for a persistent session (clean session 0).
pub(super) fn persistent(id: &str) -> Connect {
    Connect {
        clean_session: false,
        ..client(id)
    }
}

/// CONNECT with a will.
pub(super) fn with_will(id: &str, topic: &str, payload: &str, qos: QoS, retain: bool) -> Connect {
    Connect {
        will: Some(LastWill {
            topic: topic.to_string(),
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            qos,
            retain,
        }),
        ..client(id)
    }
}

/// A PUBLISH with DUP and RETAIN clear; vary it with `Publish { retain: true, ..publish(…) }`.
pub(super) fn publish(topic: &str, payload: &str, qos: QoS, pkid: u16) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.to_string(),
        pkid,
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    }
}

pub(super) fn payloads(publishes: &[Publish]) -> Vec<String> {
    publishes
        .iter()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect()
}

pub(super) fn connack(session_present: bool, code: ConnectReturnCode) -> Packet {
    Packet::Connack(Connack {
        session_present,
        code,
    })
}

pub(super) const QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];
