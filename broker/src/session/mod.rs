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
use std::time::{Duration, Instant};

use crate::auth::ClientAcl;
use crate::codec::v5::{Packet, PubAck, PubAckReason, PubRel, PubRelReason};
use crate::codec::QoS;
use crate::outbox::ConnHandle;
use crate::store::{self, Journal, Op, StoredSession};
use crate::subscriptions::Grant;
use crate::will::Will;
use crate::wire::Version;

use delivery::Inflight;
pub(crate) use delivery::{Delivery, Limits};
use queue::Queue;

/// Identifies one network connection; the router ignores events from connections it has
/// already replaced or closed.
pub(crate) type ConnId = u64;

/// A will waiting out its delay after its connection ended.
#[derive(Debug)]
struct DelayedWill {
    will: Will,
    due: Instant,
}

/// The network side of a session while its client is connected.
pub(crate) struct Connection {
    pub id: ConnId,
    pub handle: ConnHandle,
    /// Published if this connection ends without DISCONNECT (MQTT-3.1.2-8).
    pub will: Option<Will>,
    /// The protocol revision the client connected with; replies follow its rules.
    pub version: Version,
    /// The reload of the users its credentials were checked against.
    pub users_generation: u64,
    /// What the client said it can take (MQTT 5; unbounded for 3.1.1).
    pub client_limits: ClientLimits,
}

/// What an MQTT 5 client said in CONNECT that it can take (3.1.2.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientLimits {
    /// QoS 1 and 2 PUBLISHes it takes unacknowledged at once (Receive Maximum).
    pub receive_maximum: usize,
    /// The largest packet it accepts (Maximum Packet Size): larger messages are not sent.
    pub max_packet_size: usize,
    /// Request Problem Information: 0 means no Reason String or User Property in anything but
    /// PUBLISH, CONNACK and DISCONNECT (MQTT-3.1.2-29).
    pub problem_information: bool,
}

impl ClientLimits {
    /// An MQTT 3.1.1 client's: none but the broker's own.
    pub(crate) const NONE: ClientLimits = ClientLimits {
        receive_maximum: usize::MAX,
        max_packet_size: usize::MAX,
        problem_information: false,
    };
}

/// Identifies a session for the life of the broker; never reused, so a stale key cannot
/// reach a newer session.
pub(crate) type SessionKey = u64;

pub(crate) struct Session {
    client_id: Arc<str>,
    /// Seconds the session outlives its connection (0: it ends with it; `u32::MAX`: the
    /// broker's `session_expiry` decides), as the client asked and the broker allowed.
    expiry_interval: u32,
    /// The user its client last connected as; its rights follow from it.
    username: Option<Arc<str>>,
    /// The listener its client last connected on.
    listener: Arc<str>,
    /// What the client may publish and receive, offline too (queued messages are checked).
    access: ClientAcl,
    connection: Option<Connection>,
    subscriptions: HashMap<Arc<str>, Grant>,
    /// Outgoing QoS 1/2 messages in the order they were sent.
    inflight: VecDeque<Inflight>,
    queue: Queue,
    /// Incoming QoS 2 packet ids received and not yet released by PUBREL.
    incoming_qos2: HashSet<u16>,
    next_pkid: u16,
    /// Numbers the messages it holds, for the store.
    next_seq: u64,
    /// Where its changes are recorded: a persistent session (clean session 0) when the
    /// broker has a store.
    journal: Option<Journal>,
    /// Seconds since the Unix epoch its client went away; `None` while connected.
    offline_since: Option<u64>,
    /// When its client went away, on the clock its expiry is timed by; `None` while connected.
    offline_at: Option<Instant>,
    /// The will of the connection that ended, waiting out its Will Delay Interval.
    delayed_will: Option<DelayedWill>,
}

impl Session {
    pub(crate) fn new(client_id: Arc<str>, expiry_interval: u32, access: ClientAcl) -> Self {
        Self {
            client_id,
            expiry_interval,
            username: None,
            listener: Arc::from(""),
            access,
            connection: None,
            subscriptions: HashMap::new(),
            inflight: VecDeque::new(),
            queue: Queue::default(),
            incoming_qos2: HashSet::new(),
            next_pkid: 0,
            next_seq: 0,
            journal: None,
            offline_since: None,
            offline_at: None,
            delayed_will: None,
        }
    }

    /// Records this session's changes in `journal` from now on (a persistent session).
    pub(crate) fn with_journal(mut self, journal: Option<Journal>) -> Self {
        if !self.ends_with_connection() {
            self.journal = journal;
        }
        self
    }

    /// The session as the store kept it: offline, its messages in flight (to be sent again
    /// with DUP set) and queued in their order. Its rights are `access` until its client
    /// connects again.
    pub(crate) fn restore(
        stored: StoredSession,
        access: ClientAcl,
        journal: Option<Journal>,
        now: u64,
    ) -> Self {
        let mut session =
            Session::new(stored.client_id, stored.expiry_interval, access).with_journal(journal);
        session.username = stored.username;
        // Connected when the broker stopped: offline since it started again.
        let offline_since = stored.offline_since.unwrap_or(now);
        session.offline_since = Some(offline_since);
        // Its expiry counts from when the client went away, not from the restart.
        let away = Duration::from_secs(now.saturating_sub(offline_since));
        let started = Instant::now();
        session.offline_at = Some(started.checked_sub(away).unwrap_or(started));
        session.incoming_qos2 = stored.incoming_qos2.into_iter().collect();
        session.subscriptions = stored.subscriptions.into_iter().collect();
        for (seq, held) in stored.messages {
            session.next_seq = session.next_seq.max(seq + 1);
            let message = held.message();
            match held.pkid {
                Some(pkid) => {
                    session.next_pkid = session.next_pkid.max(pkid);
                    session.inflight.push_back(delivery::Inflight {
                        seq,
                        pkid,
                        message,
                        qos: held.qos,
                        retain: held.retain,
                        state: if held.released {
                            delivery::InflightState::AwaitingComplete
                        } else {
                            delivery::InflightState::AwaitingAck
                        },
                    });
                }
                None => {
                    session.queue.restore(queue::Queued {
                        seq,
                        message,
                        qos: held.qos,
                        retain: held.retain,
                        from_retained: held.from_retained,
                    });
                }
            }
        }
        session
    }

    /// Records a change in the store, if this session is kept there.
    fn note(&self, op: impl FnOnce(Arc<str>) -> Op) {
        if let Some(journal) = &self.journal {
            journal.record(op(self.client_id.clone()));
        }
    }

    /// Records the session's own row: who it belongs to, whether its client is away, and for
    /// how long the session outlives it.
    fn note_row(&self) {
        let username = self.username.clone();
        let offline_since = self.offline_since;
        let expiry_interval = self.expiry_interval;
        self.note(|client_id| Op::Session {
            client_id,
            username,
            offline_since,
            expiry_interval,
        });
    }

    /// Whether the store keeps this session.
    pub(crate) fn is_stored(&self) -> bool {
        self.journal.is_some()
    }

    /// The attached connection's line to its writer.
    pub(crate) fn handle(&self) -> Option<&ConnHandle> {
        self.connection.as_ref().map(|c| &c.handle)
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
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

    /// Clean session 1, or a Session Expiry Interval of 0: the session ends with its
    /// connection.
    pub(crate) fn ends_with_connection(&self) -> bool {
        self.expiry_interval == 0
    }

    /// Seconds the session outlives its connection; `u32::MAX`: as long as the broker's
    /// `session_expiry` allows.
    pub(crate) fn expiry_interval(&self) -> u32 {
        self.expiry_interval
    }

    /// A new expiry interval, from a DISCONNECT (3.14.2.2.2) or the CONNECT that resumes it;
    /// a persistent session records it, so it holds after a restart too.
    pub(crate) fn set_expiry_interval(&mut self, seconds: u32) {
        if self.expiry_interval != seconds {
            self.expiry_interval = seconds;
            self.note_row();
        }
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
    pub(crate) fn version(&self) -> Option<Version> {
        self.connection.as_ref().map(|c| c.version)
    }

    /// Whether a Reason String may go to the attached client in an acknowledgement
    /// (MQTT-3.1.2-29): an MQTT 5 client that did not ask for none.
    pub(crate) fn wants_reasons(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|c| c.version.is_v5() && c.client_limits.problem_information)
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
        self.offline_since = None;
        self.offline_at = None;
        self.note_row();
    }

    /// The connection ended or was taken over; what it was owed stays with the session.
    pub(crate) fn detach(&mut self) -> Option<Connection> {
        let connection = self.connection.take();
        if connection.is_some() {
            self.offline_since = Some(store::unix_now());
            self.offline_at = Some(Instant::now());
            self.note_row();
        }
        connection
    }

    /// When its client went away; `None` while connected.
    pub(crate) fn offline_at(&self) -> Option<Instant> {
        self.offline_at
    }

    /// The topic of the will still to be published for it: the attached connection's, or a
    /// delayed one.
    pub(crate) fn will_topic(&self) -> Option<&str> {
        match &self.connection {
            Some(c) => c.will.as_ref().map(Will::topic),
            None => self.delayed_will.as_ref().map(|d| d.will.topic()),
        }
    }

    /// Removes the will still to be published (the attached connection's, or a delayed one),
    /// so it is published at most once.
    pub(crate) fn take_will(&mut self) -> Option<Will> {
        match &mut self.connection {
            Some(c) => c.will.take(),
            None => self.delayed_will.take().map(|d| d.will),
        }
    }

    /// Holds the will of the connection that ended until `due`, unless a new connection to
    /// the session comes first (MQTT-3.1.3-9).
    pub(crate) fn delay_will(&mut self, will: Will, due: Instant) {
        self.delayed_will = Some(DelayedWill { will, due });
    }

    /// The delayed will, if its time has come by `now`.
    pub(crate) fn take_will_due(&mut self, now: Instant) -> Option<Will> {
        if self.delayed_will.as_ref().is_some_and(|d| d.due <= now) {
            self.delayed_will.take().map(|d| d.will)
        } else {
            None
        }
    }

    /// A new connection resumed the session within the Will Delay Interval: the will of the
    /// one before is not published (MQTT-3.1.3-9). Returns whether there was one.
    pub(crate) fn cancel_delayed_will(&mut self) -> bool {
        self.delayed_will.take().is_some()
    }

    /// Sends a control packet to the client if it is connected.
    pub(crate) fn reply(&self, packet: Packet) {
        if let Some(conn) = &self.connection {
            conn.handle.send_packet(packet);
        }
    }

    /// Records a subscription, replacing one to the same filter; says whether it replaced
    /// one (Retain Handling 1 sends retained messages only to new ones).
    pub(crate) fn subscribe(&mut self, filter: Arc<str>, grant: Grant) -> bool {
        let replaced = self.subscriptions.insert(filter.clone(), grant).is_some();
        self.note(|client_id| Op::Subscribed {
            client_id,
            filter,
            grant,
        });
        replaced
    }

    /// Forgets a subscription; false if the session had none to `filter`.
    pub(crate) fn unsubscribe(&mut self, filter: &str) -> bool {
        let Some((filter, _)) = self.subscriptions.remove_entry(filter) else {
            return false;
        };
        self.note(|client_id| Op::Unsubscribed { client_id, filter });
        true
    }

    pub(crate) fn filters(&self) -> impl Iterator<Item = &Arc<str>> {
        self.subscriptions.keys()
    }

    /// Each subscription's filter with what it was granted.
    pub(crate) fn subscriptions(&self) -> impl Iterator<Item = (&Arc<str>, Grant)> {
        self.subscriptions.iter().map(|(f, g)| (f, *g))
    }

    /// Takes a PUBLISH from the client: whether it is new, that is, to be routed, and the
    /// acknowledgement the caller sends once it has. QoS 2 follows method B of MQTT 3.1.1
    /// figure 4.3: deliver on receipt, remember the id until PUBREL, so a re-sent PUBLISH is
    /// acknowledged but not delivered twice.
    pub(crate) fn on_incoming_publish(&mut self, qos: QoS, pkid: u16) -> (bool, Option<Packet>) {
        match qos {
            QoS::AtMostOnce => (true, None),
            QoS::AtLeastOnce => (true, Some(Packet::Puback(ack(pkid)))),
            QoS::ExactlyOnce => {
                let first = self.incoming_qos2.insert(pkid);
                if first {
                    self.note(|client_id| Op::IncomingQos2 {
                        client_id,
                        pkid,
                        pending: true,
                    });
                }
                (first, Some(Packet::Pubrec(ack(pkid))))
            }
        }
    }

    /// Whether incoming QoS 2 id `pkid` is received and not yet released.
    pub(crate) fn has_incoming(&self, pkid: u16) -> bool {
        self.incoming_qos2.contains(&pkid)
    }

    /// Incoming QoS 2 messages received and not yet released: what the client has
    /// outstanding against the server's Receive Maximum (3.3.4).
    pub(crate) fn incoming_unreleased(&self) -> usize {
        self.incoming_qos2.len()
    }

    /// PUBREL: the client releases an incoming QoS 2 id, which may now carry a new message.
    /// Returns the PUBCOMP for the caller to send.
    pub(crate) fn on_pubrel(&mut self, pkid: u16) -> Packet {
        let known = self.incoming_qos2.remove(&pkid);
        if known {
            self.note(|client_id| Op::IncomingQos2 {
                client_id,
                pkid,
                pending: false,
            });
        }
        Packet::Pubcomp(PubRel {
            pkid,
            reason: if known {
                PubRelReason::Success
            } else {
                // Already released (a PUBREL re-sent after a lost PUBCOMP) or never sent:
                // completed all the same, and an MQTT 5 client is told (3.7.2.1).
                PubRelReason::PacketIdentifierNotFound
            },
            properties: Default::default(),
        })
    }

    /// Messages held for the client: queued, or sent and not yet acknowledged.
    pub(crate) fn stored_len(&self) -> usize {
        self.queue.len() + self.inflight.len()
    }
}

/// A PUBACK or PUBREC that says all went well.
pub(crate) fn ack(pkid: u16) -> PubAck {
    PubAck {
        pkid,
        reason: PubAckReason::Success,
        properties: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use crate::outbox;

    fn connected(id: &str) -> (Session, outbox::WriterSide) {
        let (handle, writer) = outbox::channel();
        let mut s = Session::new(id.into(), u32::MAX, ClientAcl::unrestricted());
        s.attach(Connection {
            id: 1,
            handle,
            will: Some(Will::from_connect(crate::codec::v5::Will {
                qos: QoS::AtMostOnce,
                retain: false,
                properties: Default::default(),
                topic: "w".into(),
                payload: "gone".into(),
            })),
            users_generation: 0,
            version: Version::V311,
            client_limits: ClientLimits::NONE,
        });
        (s, writer)
    }

    #[test]
    fn incoming_publishes_are_acknowledged_by_qos() {
        let cases = [
            (QoS::AtMostOnce, None),
            (QoS::AtLeastOnce, Some(Packet::Puback(ack(7)))),
            (QoS::ExactlyOnce, Some(Packet::Pubrec(ack(7)))),
        ];
        for (qos, want) in cases {
            let (mut s, _writer) = connected("c");
            assert_eq!(s.on_incoming_publish(qos, 7), (true, want), "{qos:?}");
        }
    }

    #[test]
    fn a_qos2_id_is_new_again_only_after_pubrel() {
        let (mut s, _writer) = connected("c");
        let rec = |pkid| Some(Packet::Pubrec(ack(pkid)));
        assert_eq!(s.on_incoming_publish(QoS::ExactlyOnce, 3), (true, rec(3)));
        assert_eq!(
            s.on_incoming_publish(QoS::ExactlyOnce, 3),
            (false, rec(3)),
            "resent"
        );
        assert_eq!(s.on_incoming_publish(QoS::ExactlyOnce, 4), (true, rec(4)));
        assert!(matches!(
            s.on_pubrel(3),
            Packet::Pubcomp(PubRel {
                pkid: 3,
                reason: PubRelReason::Success,
                ..
            })
        ));
        assert!(
            matches!(
                s.on_pubrel(3),
                Packet::Pubcomp(PubRel {
                    pkid: 3,
                    reason: PubRelReason::PacketIdentifierNotFound,
                    ..
                })
            ),
            "released twice"
        );
        assert_eq!(
            s.on_incoming_publish(QoS::ExactlyOnce, 3),
            (true, rec(3)),
            "released"
        );
    }

    #[test]
    fn a_stored_session_records_what_it_holds_and_is_restored_from_it() {
        let (journal, rx) = Journal::for_tests(false, usize::MAX);
        let (handle, _writer) = crate::outbox::channel();
        let mut s = Session::new("node".into(), u32::MAX, ClientAcl::unrestricted())
            .with_journal(Some(journal.clone()));
        s.attach(Connection {
            id: 1,
            handle,
            will: None,
            users_generation: 0,
            version: Version::V311,
            client_limits: ClientLimits::NONE,
        });
        s.subscribe("a/#".into(), Grant::qos(QoS::AtLeastOnce));
        let limits = Limits {
            max_inflight: 1,
            max_queued: 10,
            retained_count: 0,
        };
        let counters = crate::counters::Counters::default();
        for payload in ["1", "2"] {
            let m = Message::new("a/b", payload, QoS::AtLeastOnce, false);
            s.deliver(
                Delivery {
                    message: &m,
                    qos: QoS::AtLeastOnce,
                    retain: false,
                },
                limits,
                &counters,
            );
        }
        s.on_incoming_publish(QoS::ExactlyOnce, 9);
        s.detach();
        let mut pending = crate::store::tests_support::Folded::default();
        while let Ok(op) = rx.try_recv() {
            pending.apply(op);
        }
        let stored = pending.session("node");
        assert_eq!(
            stored.subscriptions,
            vec![("a/#".into(), Grant::qos(QoS::AtLeastOnce))]
        );
        assert_eq!(stored.incoming_qos2, vec![9]);
        assert!(stored.offline_since.is_some());
        let held: Vec<(u64, Option<u16>)> = stored
            .messages
            .iter()
            .map(|(seq, m)| (*seq, m.pkid))
            .collect();
        assert_eq!(
            held,
            vec![(0, Some(1)), (1, None)],
            "one in flight, one queued"
        );

        let restored = Session::restore(stored, ClientAcl::unrestricted(), Some(journal), 0);
        assert_eq!((restored.inflight.len(), restored.queue.len()), (1, 1));
        assert_eq!(restored.next_seq, 2);
        assert!(restored.incoming_qos2.contains(&9));
        assert!(!restored.is_connected());
    }

    #[test]
    fn a_stored_session_records_a_new_expiry_interval_once() {
        let (journal, rx) = Journal::for_tests(false, usize::MAX);
        let mut s = Session::new("hub".into(), 600, ClientAcl::unrestricted())
            .with_journal(Some(journal.clone()));
        s.set_expiry_interval(7200);
        s.set_expiry_interval(7200);
        let intervals: Vec<u32> = std::iter::from_fn(|| rx.try_recv().ok())
            .filter_map(|op| match op {
                Op::Session {
                    expiry_interval, ..
                } => Some(expiry_interval),
                _ => None,
            })
            .collect();
        assert_eq!(intervals, [7200], "recorded when it changes");

        let mut clean =
            Session::new("phone".into(), 0, ClientAcl::unrestricted()).with_journal(Some(journal));
        clean.set_expiry_interval(300);
        assert!(rx.try_recv().is_err(), "a session not kept records nothing");
    }

    #[test]
    fn the_store_cap_drops_a_sessions_oldest_queued_message_or_refuses_the_new_one() {
        let one = crate::store::message_bytes("a/b", b"12345678");
        // Room for two such messages.
        let (journal, _rx) = Journal::for_tests(false, 2 * one + one / 2);
        let mut s = Session::new("node".into(), u32::MAX, ClientAcl::unrestricted())
            .with_journal(Some(journal.clone()));
        let limits = Limits {
            max_inflight: 10,
            max_queued: 100,
            retained_count: 0,
        };
        let counters = crate::counters::Counters::default();
        let deliver = |s: &mut Session, payload: &str| {
            let m = Message::new("a/b", payload.to_string(), QoS::AtLeastOnce, false);
            s.deliver(
                Delivery {
                    message: &m,
                    qos: QoS::AtLeastOnce,
                    retain: false,
                },
                limits,
                &counters,
            );
        };
        for payload in ["msg-0001", "msg-0002", "msg-0003"] {
            deliver(&mut s, payload);
        }
        let queued: Vec<String> = s
            .queue
            .entries()
            .map(|q| String::from_utf8_lossy(&q.message.payload).into_owned())
            .collect();
        assert_eq!(queued, ["msg-0002", "msg-0003"], "the oldest made room");
        assert_eq!(s.held_bytes(), 2 * one);
        // A message larger than the whole cap finds nothing to displace once the queue is empty.
        let mut empty = Session::new("other".into(), u32::MAX, ClientAcl::unrestricted())
            .with_journal(Some(journal));
        deliver(&mut empty, &"x".repeat(4 * one));
        assert_eq!(empty.stored_len(), 0, "not kept");
        assert_eq!(crate::counters::Counters::get(&counters.store_dropped), 2);
    }

    #[test]
    fn the_store_cap_counts_a_messages_properties() {
        let bare = crate::store::message_bytes("a/b", b"1");
        // Room for the topic and payload, not for a kilobyte of user properties besides.
        let (journal, _rx) = Journal::for_tests(false, bare + 512);
        let mut s = Session::new("node".into(), u32::MAX, ClientAcl::unrestricted())
            .with_journal(Some(journal));
        let properties = crate::codec::v5::PublishProperties {
            user_properties: vec![("note".into(), "x".repeat(1024))],
            ..Default::default()
        };
        let m = Message::new("a/b", "1", QoS::AtLeastOnce, false)
            .with_properties(properties, Instant::now());
        let counters = crate::counters::Counters::default();
        let limits = Limits {
            max_inflight: 10,
            max_queued: 10,
            retained_count: 0,
        };
        let delivery = Delivery {
            message: &m,
            qos: QoS::AtLeastOnce,
            retain: false,
        };
        s.deliver(delivery, limits, &counters);
        assert_eq!(s.stored_len(), 0, "not kept");
        assert_eq!(crate::counters::Counters::get(&counters.store_dropped), 1);
    }

    #[test]
    fn unsubscribe_reports_whether_there_was_a_subscription() {
        let mut s = Session::new("c".into(), u32::MAX, ClientAcl::unrestricted());
        assert!(!s.subscribe("a/#".into(), Grant::qos(QoS::AtLeastOnce)));
        assert!(s.subscribe("a/#".into(), Grant::qos(QoS::ExactlyOnce)));
        assert_eq!(s.filters().count(), 1, "same filter replaced");
        assert!(!s.unsubscribe("b"));
        assert!(s.unsubscribe("a/#"));
        assert!(!s.unsubscribe("a/#"));
        assert_eq!(s.filters().count(), 0);
    }

    #[test]
    fn the_will_is_taken_once_and_the_connection_stays() {
        let (mut s, _writer) = connected("c");
        assert_eq!(
            s.take_will().map(|w| w.topic().to_string()),
            Some("w".to_string())
        );
        assert_eq!(s.take_will(), None);
        assert!(s.is_connected());
        let conn = s.detach().expect("attached");
        assert_eq!((conn.id, conn.will), (1, None));
        assert!(!s.is_connected());
    }
}
