//! A client's session: what it subscribed to and the QoS 1/2 state that must survive while it
//! is away (clean session 0) or be thrown away with it (clean session 1).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::codec::{LastWill, QoS};
use super::message::Message;
use super::outbox::ConnHandle;

/// Identifies one network connection; the router ignores events from connections it has
/// already replaced or closed.
pub(crate) type ConnId = u64;

/// The network side of a session while its client is connected.
pub(crate) struct Connection {
    pub id: ConnId,
    pub handle: ConnHandle,
    /// Published if this connection ends without DISCONNECT (MQTT-3.1.2-8).
    pub will: Option<LastWill>,
}

/// Identifies a session for the life of the broker; never reused, so a stale key cannot
/// reach a newer session.
pub(crate) type SessionKey = u64;

/// Where an outgoing QoS 1/2 message stands (MQTT 3.1.1 section 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflightState {
    /// QoS 1 sent, waiting for PUBACK; or QoS 2 sent, waiting for PUBREC.
    AwaitingAck,
    /// QoS 2: PUBREC received and PUBREL sent, waiting for PUBCOMP.
    AwaitingComplete,
}

pub(crate) struct Inflight {
    pub pkid: u16,
    pub message: Message,
    pub qos: QoS,
    pub retain: bool,
    pub state: InflightState,
}

/// A message waiting for room in the in-flight window, or for its client to come back.
pub(crate) struct Queued {
    pub message: Message,
    pub qos: QoS,
    pub retain: bool,
    /// Sent because of a new subscription (MQTT-3.3.1-8): kept even when the queue is full.
    pub from_retained: bool,
}

pub(crate) struct Session {
    pub client_id: Arc<str>,
    pub clean_session: bool,
    pub connection: Option<Connection>,
    pub subscriptions: HashMap<Arc<str>, QoS>,
    /// Outgoing QoS 1/2 messages in the order they were sent.
    pub inflight: VecDeque<Inflight>,
    pub queue: VecDeque<Queued>,
    /// Queued entries that count against the limit (not from a new subscription).
    queued_live: usize,
    /// Incoming QoS 2 packet ids received and not yet released by PUBREL.
    pub incoming_qos2: HashSet<u16>,
    next_pkid: u16,
}

/// What `enqueue` had to give up to stay within its bound.
pub(crate) enum Enqueued {
    Kept,
    DroppedOldest,
    Refused,
}

impl Session {
    pub(crate) fn new(client_id: Arc<str>, clean_session: bool) -> Self {
        Self {
            client_id,
            clean_session,
            connection: None,
            subscriptions: HashMap::new(),
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            queued_live: 0,
            incoming_qos2: HashSet::new(),
            next_pkid: 0,
        }
    }

    /// A packet id not used by any in-flight message (MQTT-2.3.1-2). The caller keeps the
    /// window below 65,535, so one is always free.
    pub(crate) fn allocate_pkid(&mut self) -> u16 {
        loop {
            self.next_pkid = self.next_pkid.wrapping_add(1);
            if self.next_pkid == 0 {
                continue;
            }
            let candidate = self.next_pkid;
            if !self.inflight.iter().any(|m| m.pkid == candidate) {
                return candidate;
            }
        }
    }

    pub(crate) fn inflight_position(&self, pkid: u16) -> Option<usize> {
        self.inflight.iter().position(|m| m.pkid == pkid)
    }

    /// Queues a message, keeping at most `limit` ordinary entries by dropping the oldest one:
    /// for a home, the newest reading or command is the one worth keeping. Entries from a new
    /// subscription's retained messages do not count, so that every retained message reaches
    /// the subscriber however many there are, but at most `retained_cap` of them are held.
    pub(crate) fn enqueue(&mut self, entry: Queued, limit: usize, retained_cap: usize) -> Enqueued {
        if entry.from_retained {
            let held = self.queue.len() - self.queued_live;
            if held < retained_cap {
                self.queue.push_back(entry);
                return Enqueued::Kept;
            }
            return self.enqueue(
                Queued {
                    from_retained: false,
                    ..entry
                },
                limit,
                retained_cap,
            );
        }
        if limit == 0 {
            return Enqueued::Refused;
        }
        let mut outcome = Enqueued::Kept;
        if self.queued_live >= limit {
            if let Some(pos) = self.queue.iter().position(|q| !q.from_retained) {
                self.queue.remove(pos);
                self.queued_live -= 1;
                outcome = Enqueued::DroppedOldest;
            }
        }
        self.queue.push_back(entry);
        self.queued_live += 1;
        outcome
    }

    pub(crate) fn dequeue(&mut self) -> Option<Queued> {
        let entry = self.queue.pop_front()?;
        if !entry.from_retained {
            self.queued_live -= 1;
        }
        Some(entry)
    }

    pub(crate) fn queued_len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(payload: &str, from_retained: bool) -> Queued {
        Queued {
            message: Message::new("t", payload.as_bytes().to_vec(), QoS::AtLeastOnce, false),
            qos: QoS::AtLeastOnce,
            retain: false,
            from_retained,
        }
    }

    fn payloads(s: &mut Session) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(q) = s.dequeue() {
            out.push(String::from_utf8_lossy(&q.message.payload).into_owned());
        }
        out
    }

    #[test]
    fn a_full_queue_drops_its_oldest_ordinary_entry() {
        let mut s = Session::new("c".into(), false);
        for p in ["1", "2", "3"] {
            s.enqueue(queued(p, false), 2, 10);
        }
        assert_eq!(payloads(&mut s), ["2", "3"]);
    }

    #[test]
    fn retained_entries_survive_a_full_queue() {
        let mut s = Session::new("c".into(), false);
        s.enqueue(queued("r1", true), 1, 10);
        s.enqueue(queued("r2", true), 1, 10);
        s.enqueue(queued("a", false), 1, 10);
        s.enqueue(queued("b", false), 1, 10);
        assert_eq!(payloads(&mut s), ["r1", "r2", "b"]);
    }

    #[test]
    fn retained_entries_beyond_their_cap_count_as_ordinary() {
        let mut s = Session::new("c".into(), false);
        for p in ["r1", "r2", "r3"] {
            s.enqueue(queued(p, true), 1, 2);
        }
        assert_eq!(s.queued_len(), 3);
        s.enqueue(queued("x", false), 1, 2);
        assert_eq!(payloads(&mut s), ["r1", "r2", "x"]);
    }

    #[test]
    fn packet_ids_skip_zero_and_those_in_flight() {
        let mut s = Session::new("c".into(), false);
        s.next_pkid = u16::MAX - 1;
        let msg = Message::new("t", Vec::new(), QoS::AtLeastOnce, false);
        s.inflight.push_back(Inflight {
            pkid: 1,
            message: msg,
            qos: QoS::AtLeastOnce,
            retain: false,
            state: InflightState::AwaitingAck,
        });
        assert_eq!(s.allocate_pkid(), u16::MAX);
        assert_eq!(s.allocate_pkid(), 2);
    }
}
