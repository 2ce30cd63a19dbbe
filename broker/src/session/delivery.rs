//! Getting messages to one session: QoS 0 straight to the writer while it keeps up, QoS 1/2
//! through the in-flight window, everything else into the bounded queue; and the client's
//! acknowledgements that move the window on.

use std::time::Instant;

use crate::codec::v5::{Packet, PubRel, PubRelReason};
use crate::codec::QoS;
use crate::counters::Counters;
use crate::message::Message;
use crate::store::{self, HeldMessage, Op};
use crate::subscriptions::Readiness;

use super::queue::{Enqueued, Queued};
use super::Session;

/// Bounds that apply to every session, taken from the settings and the retained store.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub max_inflight: usize,
    pub max_queued: usize,
    /// How many retained messages one subscription may deliver: all of them.
    pub retained_count: usize,
}

/// One delivery of a message to one session.
pub(crate) struct Delivery<'m> {
    pub message: &'m Message,
    pub qos: QoS,
    /// RETAIN flag on the wire: set only for a new subscription's retained messages.
    pub retain: bool,
}

/// Where an outgoing QoS 1/2 message stands (MQTT 3.1.1 section 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InflightState {
    /// QoS 1 sent, waiting for PUBACK; or QoS 2 sent, waiting for PUBREC.
    AwaitingAck,
    /// QoS 2: PUBREC received and PUBREL sent, waiting for PUBCOMP.
    AwaitingComplete,
}

pub(super) struct Inflight {
    /// The session's number for it, which names it in the store.
    pub seq: u64,
    pub pkid: u16,
    pub message: Message,
    pub qos: QoS,
    pub retain: bool,
    pub state: InflightState,
}

impl Session {
    /// How ready it is to take `message` through a shared subscription, so that the group
    /// sends it where it is taken at once (`None`: it may not read the topic, its client is
    /// gone for good, or its client cannot take a packet that large).
    pub(crate) fn readiness(&self, message: &Message, limits: Limits) -> Option<Readiness> {
        if !self.access.reads_everything() && !self.access.can_read(&message.topic) {
            return None;
        }
        let Some(conn) = &self.connection else {
            return (!self.ends_with_connection()).then_some(Readiness::Offline);
        };
        if !fits(conn.client_limits.max_packet_size, message, message.qos) {
            return None;
        }
        let free = self.queue.is_empty()
            && self.inflight.len() < self.window(limits)
            && conn.handle.pending() < limits.max_queued.max(1);
        Some(if free {
            Readiness::Ready
        } else {
            Readiness::Busy
        })
    }

    pub(crate) fn deliver(&mut self, d: Delivery, limits: Limits, counters: &Counters) {
        // Wildcard subscriptions and retained messages are filtered topic by topic.
        if !self.access.reads_everything() && !self.access.can_read(&d.message.topic) {
            Counters::add(&counters.deliveries_denied, 1);
            return;
        }
        if d.message.has_expired() {
            return;
        }
        let Some(conn) = &self.connection else {
            // QoS 0 is not stored for absent clients (MQTT 3.1.1 section 3.1.2.4 allows it).
            if d.qos != QoS::AtMostOnce
                && !self.ends_with_connection()
                && self.store_has_room(d.message, counters)
            {
                self.queue_message(d, limits, counters);
            }
            return;
        };
        if !fits(conn.client_limits.max_packet_size, d.message, d.qos) {
            // Discarded as if sent (MQTT-3.1.2-25): the client said it cannot take it.
            Counters::add(&counters.publish_dropped, 1);
            return;
        }
        if d.qos == QoS::AtMostOnce {
            let mut room = limits.max_queued.max(1);
            if d.retain {
                room += limits.retained_count;
            }
            if conn.handle.pending() < room {
                conn.handle
                    .send_publish(d.message.clone(), d.qos, d.retain, false, 0);
            } else {
                Counters::add(&counters.publish_dropped, 1);
            }
            return;
        }
        if !self.store_has_room(d.message, counters) {
            return;
        }
        if self.inflight.len() < self.window(limits) && self.queue.is_empty() {
            let seq = self.next_seq();
            let pkid = self.send_inflight(seq, d.message.clone(), d.qos, d.retain);
            self.note_held(seq, d.message, d.qos, d.retain, false, Some(pkid));
        } else {
            self.queue_message(d, limits, counters);
        }
    }

    fn queue_message(&mut self, d: Delivery, limits: Limits, counters: &Counters) {
        let seq = self.next_seq();
        let entry = Queued {
            seq,
            message: d.message.clone(),
            qos: d.qos,
            retain: d.retain,
            from_retained: d.retain,
        };
        let outcome = self
            .queue
            .push(entry, limits.max_queued, limits.retained_count);
        if !matches!(outcome, Enqueued::Refused) {
            self.note_held(seq, d.message, d.qos, d.retain, d.retain, None);
        }
        match outcome {
            Enqueued::Kept => {}
            Enqueued::DroppedOldest(dropped) => {
                self.note_done(dropped.seq, &dropped.message);
                Counters::add(&counters.publish_dropped, 1)
            }
            Enqueued::Refused => Counters::add(&counters.publish_dropped, 1),
        }
    }

    /// For a session kept in the store: whether `message` fits under the store's cap, once
    /// the session's oldest queued message has made room if need be (the queue's own drop
    /// policy). `false` when nothing of the session's can go: the message is not kept, and
    /// counted.
    fn store_has_room(&mut self, message: &Message, counters: &Counters) -> bool {
        let Some(journal) = &self.journal else {
            return true;
        };
        let bytes = store::stored_bytes(message);
        if journal.has_room(bytes) {
            return true;
        }
        Counters::add(&counters.publish_dropped, 1);
        Counters::add(&counters.store_dropped, 1);
        match self.queue.drop_oldest() {
            Some(oldest) => {
                self.note_done(oldest.seq, &oldest.message);
                true
            }
            None => false,
        }
    }

    /// The session no longer holds message `seq`.
    fn note_done(&self, seq: u64, message: &Message) {
        if let Some(journal) = &self.journal {
            journal.sub_held(store::stored_bytes(message));
        }
        self.note(|client_id| Op::Done { client_id, seq });
    }

    /// What the messages this session holds cost the store.
    pub(crate) fn held_bytes(&self) -> usize {
        let queued = self
            .queue
            .entries()
            .map(|q| store::stored_bytes(&q.message));
        let inflight = self
            .inflight
            .iter()
            .map(|m| store::stored_bytes(&m.message));
        queued.chain(inflight).sum()
    }

    /// Tells the store that the session holds a message now.
    fn note_held(
        &self,
        seq: u64,
        message: &Message,
        qos: QoS,
        retain: bool,
        from_retained: bool,
        pkid: Option<u16>,
    ) {
        if let Some(journal) = &self.journal {
            journal.add_held(store::stored_bytes(message));
        }
        self.note(|client_id| Op::Held {
            client_id,
            seq,
            message: HeldMessage::of(message, qos, retain, from_retained, pkid),
        });
    }

    fn send_inflight(&mut self, seq: u64, message: Message, qos: QoS, retain: bool) -> u16 {
        let pkid = self.allocate_pkid();
        if let Some(conn) = &self.connection {
            conn.handle
                .send_publish(message.clone(), qos, retain, false, pkid);
        }
        self.inflight.push_back(Inflight {
            seq,
            pkid,
            message,
            qos,
            retain,
            state: InflightState::AwaitingAck,
        });
        pkid
    }

    /// A packet id not used by any in-flight message (MQTT-2.3.1-2). The caller keeps the
    /// window below 65,535, so one is always free.
    fn allocate_pkid(&mut self) -> u16 {
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

    fn inflight_position(&self, pkid: u16) -> Option<usize> {
        self.inflight.iter().position(|m| m.pkid == pkid)
    }

    /// How many QoS 1/2 messages may be in flight: the broker's `max_inflight`, or the
    /// client's Receive Maximum if lower (MQTT-3.3.4-7).
    fn window(&self, limits: Limits) -> usize {
        let client = self
            .connection
            .as_ref()
            .map_or(usize::MAX, |c| c.client_limits.receive_maximum);
        limits.max_inflight.min(client)
    }

    /// Moves queued messages into the in-flight window while it has room. Those that expired
    /// while they waited, or that the client cannot take, are dropped on the way.
    fn pump(&mut self, limits: Limits) {
        let window = self.window(limits);
        let Some(max_packet_size) = self
            .connection
            .as_ref()
            .map(|c| c.client_limits.max_packet_size)
        else {
            return;
        };
        let now = Instant::now();
        let mut skipped = Vec::new();
        while self.inflight.len() < window {
            let Some(next) = self.queue.pop() else { break };
            if next.message.is_expired(now) || !fits(max_packet_size, &next.message, next.qos) {
                skipped.push(next);
                continue;
            }
            let seq = next.seq;
            let pkid = self.send_inflight(seq, next.message, next.qos, next.retain);
            self.note(|client_id| Op::Sent {
                client_id,
                seq,
                pkid,
            });
        }
        for gone in skipped {
            self.note_done(gone.seq, &gone.message);
        }
    }

    /// Drops the messages held for this session that its rights no longer let it read: the
    /// queued ones, and while no connection has them, the unacknowledged ones a resume would
    /// send again. A QoS 2 message waiting for PUBCOMP stays: the client already has it.
    pub(super) fn drop_unreadable(&mut self) -> usize {
        if self.access.reads_everything() {
            return 0;
        }
        let access = &self.access;
        let mut dropped = self.queue.retain(|q| access.can_read(&q.message.topic));
        if self.connection.is_none() {
            self.inflight.retain(|m| {
                let keep =
                    m.state == InflightState::AwaitingComplete || access.can_read(&m.message.topic);
                if !keep {
                    dropped.push(m.seq);
                }
                keep
            });
        }
        for &seq in &dropped {
            self.note(|client_id| Op::Done { client_id, seq });
        }
        dropped.len()
    }

    /// On reconnect of a persistent session: re-sends what was in flight, then fills the
    /// window from the queue.
    pub(crate) fn resume(&mut self, limits: Limits) {
        self.resend_inflight();
        self.pump(limits);
    }

    /// Re-sends unacknowledged PUBLISHes with DUP set and PUBRELs, with their original packet
    /// ids (MQTT-4.4.0-1).
    fn resend_inflight(&self) {
        let Some(conn) = &self.connection else { return };
        for m in &self.inflight {
            match m.state {
                InflightState::AwaitingAck => {
                    conn.handle
                        .send_publish(m.message.clone(), m.qos, m.retain, true, m.pkid)
                }
                InflightState::AwaitingComplete => conn.handle.send_packet(pubrel(m.pkid)),
            }
        }
    }

    /// PUBACK: a QoS 1 delivery is done.
    pub(crate) fn on_puback(&mut self, pkid: u16, limits: Limits) {
        if let Some(pos) = self.inflight_position(pkid) {
            if self.inflight[pos].qos == QoS::AtLeastOnce {
                if let Some(done) = self.inflight.remove(pos) {
                    self.note_done(done.seq, &done.message);
                }
                self.pump(limits);
            }
        }
    }

    /// PUBREC: the client has a QoS 2 message; release it with PUBREL.
    pub(crate) fn on_pubrec(&mut self, pkid: u16) {
        let Some(pos) = self.inflight_position(pkid) else {
            return;
        };
        let m = &mut self.inflight[pos];
        if m.qos != QoS::ExactlyOnce {
            return;
        }
        m.state = InflightState::AwaitingComplete;
        // Only the packet id matters from here on.
        let freed = std::mem::take(&mut m.message.payload).len();
        let seq = m.seq;
        if let Some(journal) = &self.journal {
            journal.sub_held(freed);
        }
        self.note(|client_id| Op::Released { client_id, seq });
        if let Some(conn) = &self.connection {
            conn.handle.send_packet(pubrel(pkid));
        }
    }

    /// PUBREC with an error (MQTT 5): the client will not take the QoS 2 message; its
    /// delivery ends here.
    pub(crate) fn on_pubrec_refused(&mut self, pkid: u16, limits: Limits) {
        if let Some(pos) = self.inflight_position(pkid) {
            let m = &self.inflight[pos];
            if m.qos == QoS::ExactlyOnce && m.state == InflightState::AwaitingAck {
                if let Some(done) = self.inflight.remove(pos) {
                    self.note_done(done.seq, &done.message);
                }
                self.pump(limits);
            }
        }
    }

    /// PUBCOMP: a QoS 2 delivery is done.
    pub(crate) fn on_pubcomp(&mut self, pkid: u16, limits: Limits) {
        if let Some(pos) = self.inflight_position(pkid) {
            if self.inflight[pos].state == InflightState::AwaitingComplete {
                if let Some(done) = self.inflight.remove(pos) {
                    self.note_done(done.seq, &done.message);
                }
                self.pump(limits);
            }
        }
    }
}

fn pubrel(pkid: u16) -> Packet {
    Packet::Pubrel(PubRel {
        pkid,
        reason: PubRelReason::Success,
        properties: Default::default(),
    })
}

/// Whether `message` at `qos` fits a client's Maximum Packet Size of `max` bytes.
fn fits(max: usize, message: &Message, qos: QoS) -> bool {
    max == usize::MAX || crate::wire::publish_len_v5(message, qos) <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_ids_skip_zero_and_those_in_flight() {
        let mut s = Session::new("c".into(), u32::MAX, crate::auth::ClientAcl::unrestricted());
        s.next_pkid = u16::MAX - 1;
        let msg = Message::new("t", Vec::new(), QoS::AtLeastOnce, false);
        s.inflight.push_back(Inflight {
            seq: 0,
            pkid: 1,
            message: msg,
            qos: QoS::AtLeastOnce,
            retain: false,
            state: InflightState::AwaitingAck,
        });
        assert_eq!(s.allocate_pkid(), u16::MAX);
        assert_eq!(s.allocate_pkid(), 2);
    }

    #[test]
    fn a_message_that_expired_while_queued_is_dropped_on_resume() {
        use std::time::{Duration, Instant};
        let mut s = Session::new("c".into(), u32::MAX, crate::auth::ClientAcl::unrestricted());
        let queued = |seq, payload: &str, expires_at| super::super::queue::Queued {
            seq,
            message: Message {
                expires_at: Some(expires_at),
                ..Message::new("t", payload.to_string(), QoS::AtLeastOnce, false)
            },
            qos: QoS::AtLeastOnce,
            retain: false,
            from_retained: false,
        };
        let now = Instant::now();
        s.queue
            .restore(queued(0, "stale", now - Duration::from_secs(1)));
        s.queue
            .restore(queued(1, "fresh", now + Duration::from_secs(600)));
        let (handle, mut writer) = crate::outbox::channel();
        s.attach(super::super::Connection {
            id: 1,
            handle,
            will: None,
            version: crate::wire::Version::V5,
            users_generation: 0,
            client_limits: super::super::ClientLimits::NONE,
        });
        let limits = Limits {
            max_inflight: 10,
            max_queued: 10,
            retained_count: 0,
        };
        s.resume(limits);
        let mut sent = Vec::new();
        while let Ok(crate::outbox::Outgoing::Publish { message, .. }) = writer.rx.try_recv() {
            sent.push(message.payload);
        }
        assert_eq!(sent, ["fresh"]);
        assert_eq!(s.stored_len(), 1, "only the fresh one is held, in flight");
    }
}
