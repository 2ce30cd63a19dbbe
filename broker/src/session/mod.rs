//! A client's session: what it subscribed to and the QoS 1/2 state that must survive while it
//! is away (clean session 0) or be thrown away with it (clean session 1).
//!
//! `Session` owns that state and is its only writer: the router asks it to attach a
//! connection, record a subscription or take a packet, and never changes its fields itself.
//! This file holds the connection and the incoming side; `delivery` the outgoing side (the
//! in-flight window and its acknowledgements) and `queue` the bounded queue behind it.

mod delivery;
mod queue;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::auth::ClientAcl;
use crate::codec::{LastWill, Packet, Protocol, QoS};
use crate::outbox::ConnHandle;

use delivery::Inflight;
pub(crate) use delivery::{Delivery, Limits};
use queue::Queue;

/// Identifies one network connection; the router ignores events from connections it has
/// already replaced or closed.
pub(crate) type ConnId = u64;

/// The network side of a session while its client is connected.
pub(crate) struct Connection {
    pub id: ConnId,
    pub handle: ConnHandle,
    /// Published if this connection ends without DISCONNECT (MQTT-3.1.2-8).
    pub will: Option<LastWill>,
    /// The protocol revision the client connected with; replies follow its rules.
    pub protocol: Protocol,
    /// The reload of the users its credentials were checked against.
    pub users_generation: u64,
}

/// Identifies a session for the life of the broker; never reused, so a stale key cannot
/// reach a newer session.
pub(crate) type SessionKey = u64;

pub(crate) struct Session {
    client_id: Arc<str>,
    clean_session: bool,
    /// The user its client last connected as; its rights follow from it.
    username: Option<Arc<str>>,
    /// The listener its client last connected on.
    listener: Arc<str>,
    /// What the client may publish and receive, offline too (queued messages are checked).
    access: ClientAcl,
    connection: Option<Connection>,
    subscriptions: HashMap<Arc<str>, QoS>,
    /// Outgoing QoS 1/2 messages in the order they were sent.
    inflight: VecDeque<Inflight>,
    queue: Queue,
    /// Incoming QoS 2 packet ids received and not yet released by PUBREL.
    incoming_qos2: HashSet<u16>,
    next_pkid: u16,
}

impl Session {
    pub(crate) fn new(client_id: Arc<str>, clean_session: bool, access: ClientAcl) -> Self {
        Self {
            client_id,
            clean_session,
            username: None,
            listener: Arc::from(""),
            access,
            connection: None,
            subscriptions: HashMap::new(),
            inflight: VecDeque::new(),
            queue: Queue::default(),
            incoming_qos2: HashSet::new(),
            next_pkid: 0,
        }
    }

    pub(crate) fn client_id(&self) -> &Arc<str> {
        &self.client_id
    }

    pub(crate) fn username(&self) -> Option<&Arc<str>> {
        self.username.as_ref()
    }

    pub(crate) fn listener(&self) -> &Arc<str> {
        &self.listener
    }

    pub(crate) fn access(&self) -> &ClientAcl {
        &self.access
    }

    /// Who the client is from now on (a resumed session may be taken up under another user
    /// name), and so what it may do. Messages held for it that it may no longer read are
    /// dropped at once, as a reload that narrows its rights requires; returns how many.
    pub(crate) fn set_access(
        &mut self,
        username: Option<Arc<str>>,
        listener: Arc<str>,
        access: ClientAcl,
    ) -> usize {
        self.username = username;
        self.listener = listener;
        self.access = access;
        self.drop_unreadable()
    }

    /// Clean session 1: the session ends with its connection.
    pub(crate) fn is_clean(&self) -> bool {
        self.clean_session
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connection.is_some()
    }

    /// Whether a client is attached whose credentials were checked against users older than
    /// the `generation`th reload.
    pub(crate) fn connected_before(&self, generation: u64) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|c| c.users_generation < generation)
    }

    /// The protocol revision of the attached connection.
    pub(crate) fn protocol(&self) -> Option<Protocol> {
        self.connection.as_ref().map(|c| c.protocol)
    }

    /// The client is (back) on this connection; replies and deliveries go to it from now on.
    pub(crate) fn attach(&mut self, connection: Connection) {
        debug_assert!(
            self.connection.is_none(),
            "client {} attached to conn={} while still on conn={:?}",
            self.client_id,
            connection.id,
            self.connection.as_ref().map(|c| c.id)
        );
        self.connection = Some(connection);
    }

    /// The connection ended or was taken over; what it was owed stays with the session.
    pub(crate) fn detach(&mut self) -> Option<Connection> {
        self.connection.take()
    }

    /// The topic of the attached connection's will, if it has one.
    pub(crate) fn will_topic(&self) -> Option<&str> {
        self.connection
            .as_ref()?
            .will
            .as_ref()
            .map(|w| w.topic.as_str())
    }

    /// Removes the will of the attached connection, so it is published at most once.
    pub(crate) fn take_will(&mut self) -> Option<LastWill> {
        self.connection.as_mut().and_then(|c| c.will.take())
    }

    /// Sends a control packet to the client if it is connected.
    pub(crate) fn reply(&self, packet: Packet) {
        if let Some(conn) = &self.connection {
            conn.handle.send_packet(packet);
        }
    }

    /// Records a subscription, replacing the QoS of one to the same filter.
    pub(crate) fn subscribe(&mut self, filter: Arc<str>, qos: QoS) {
        self.subscriptions.insert(filter, qos);
    }

    /// Forgets a subscription; false if the session had none to `filter`.
    pub(crate) fn unsubscribe(&mut self, filter: &str) -> bool {
        self.subscriptions.remove(filter).is_some()
    }

    pub(crate) fn filters(&self) -> impl Iterator<Item = &Arc<str>> {
        self.subscriptions.keys()
    }

    /// Acknowledges a PUBLISH from the client and tells whether it is new, that is, to be
    /// routed. QoS 2 follows method B of MQTT 3.1.1 figure 4.3: deliver on receipt, remember
    /// the id until PUBREL, so a re-sent PUBLISH is acknowledged but not delivered twice.
    pub(crate) fn on_incoming_publish(&mut self, qos: QoS, pkid: u16) -> bool {
        match qos {
            QoS::AtMostOnce => true,
            QoS::AtLeastOnce => {
                self.reply(Packet::Puback(pkid));
                true
            }
            QoS::ExactlyOnce => {
                let first = self.incoming_qos2.insert(pkid);
                self.reply(Packet::Pubrec(pkid));
                first
            }
        }
    }

    /// PUBREL: the client releases an incoming QoS 2 id, which may now carry a new message.
    pub(crate) fn on_pubrel(&mut self, pkid: u16) {
        self.incoming_qos2.remove(&pkid);
        self.reply(Packet::Pubcomp(pkid));
    }

    /// Messages held for the client: queued, or sent and not yet acknowledged.
    pub(crate) fn stored_len(&self) -> usize {
        self.queue.len() + self.inflight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{self, Outgoing};

    fn connected(id: &str) -> (Session, outbox::WriterSide) {
        let (handle, writer) = outbox::channel();
        let mut s = Session::new(id.into(), false, ClientAcl::unrestricted());
        s.attach(Connection {
            id: 1,
            handle,
            will: Some(LastWill {
                topic: "w".into(),
                payload: "gone".into(),
                qos: QoS::AtMostOnce,
                retain: false,
            }),
            users_generation: 0,
            protocol: Protocol::V311,
        });
        (s, writer)
    }

    fn replies(writer: &mut outbox::WriterSide) -> Vec<Packet> {
        let mut out = Vec::new();
        while let Ok(next) = writer.rx.try_recv() {
            match next {
                Outgoing::Packet(p) => out.push(p),
                Outgoing::Publish { .. } | Outgoing::Close => panic!("only replies expected"),
            }
        }
        out
    }

    #[test]
    fn incoming_publishes_are_acknowledged_by_qos() {
        let cases = [
            (QoS::AtMostOnce, vec![]),
            (QoS::AtLeastOnce, vec![Packet::Puback(7)]),
            (QoS::ExactlyOnce, vec![Packet::Pubrec(7)]),
        ];
        for (qos, want) in cases {
            let (mut s, mut writer) = connected("c");
            assert!(s.on_incoming_publish(qos, 7), "{qos:?} is new");
            assert_eq!(replies(&mut writer), want, "{qos:?}");
        }
    }

    #[test]
    fn a_qos2_id_is_new_again_only_after_pubrel() {
        let (mut s, mut writer) = connected("c");
        assert!(s.on_incoming_publish(QoS::ExactlyOnce, 3));
        assert!(!s.on_incoming_publish(QoS::ExactlyOnce, 3), "resent");
        assert!(s.on_incoming_publish(QoS::ExactlyOnce, 4), "another id");
        s.on_pubrel(3);
        assert!(s.on_incoming_publish(QoS::ExactlyOnce, 3), "released");
        assert_eq!(
            replies(&mut writer),
            [
                Packet::Pubrec(3),
                Packet::Pubrec(3),
                Packet::Pubrec(4),
                Packet::Pubcomp(3),
                Packet::Pubrec(3),
            ]
        );
    }

    #[test]
    fn unsubscribe_reports_whether_there_was_a_subscription() {
        let mut s = Session::new("c".into(), false, ClientAcl::unrestricted());
        s.subscribe("a/#".into(), QoS::AtLeastOnce);
        s.subscribe("a/#".into(), QoS::ExactlyOnce);
        assert_eq!(s.filters().count(), 1, "same filter replaced");
        assert!(!s.unsubscribe("b"));
        assert!(s.unsubscribe("a/#"));
        assert!(!s.unsubscribe("a/#"));
        assert_eq!(s.filters().count(), 0);
    }

    #[test]
    fn the_will_is_taken_once_and_the_connection_stays() {
        let (mut s, _writer) = connected("c");
        assert_eq!(s.take_will().map(|w| w.topic), Some("w".to_string()));
        assert_eq!(s.take_will(), None);
        assert!(s.is_connected());
        let conn = s.detach().expect("attached");
        assert_eq!((conn.id, conn.will), (1, None));
        assert!(!s.is_connected());
    }
}
