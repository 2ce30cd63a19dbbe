//! A client's PUBLISH: checked (access rules, topic limits, payload format, flow control),
//! acknowledged as its QoS and protocol say, and routed.

use std::num::NonZeroU32;
use std::time::Instant;

use log::{debug, Level};

use super::{limits, Router};
use crate::codec::v5::{DisconnectReason, Packet, PubAckReason, Publish};
use crate::codec::QoS;
use crate::counters::Counters;
use crate::log_limit::Refusal;
use crate::message::Message;
use crate::retained::NotStored;
use crate::session::{Delivery, Limits, SessionKey};
use crate::subscriptions::Grant;
use crate::wire::Version;

impl Router {
    pub(super) fn on_publish(&mut self, key: SessionKey, p: Publish) {
        Counters::add(&self.counters.publish_received, 1);
        let durable_acks = self.durable_acks();
        let receive_maximum = self.receive_maximum();
        let Some(session) = self.sessions.get(&key) else {
            return;
        };
        let v5 = session.version().is_some_and(Version::is_v5);
        if v5
            && p.qos == QoS::ExactlyOnce
            && session.incoming_unreleased() >= receive_maximum
            && !session.has_incoming(p.pkid)
        {
            let why = format!(
                "more than the Receive Maximum of {receive_maximum} QoS 2 PUBLISHes unreleased (MQTT-3.3.4-9)"
            );
            return self.end_connection(key, DisconnectReason::ReceiveMaximumExceeded, &why);
        }
        if let Some((reason, why)) = self.publish_refusal(key, &p) {
            if v5 {
                // An MQTT 5 client is told in its acknowledgement (3.4.2.1); the message is
                // not routed and nothing of it is kept, not even a QoS 2 id.
                return self.refuse_publish(key, &p, reason, &why);
            }
            // Acknowledged and dropped, as Mosquitto does for 3.1.1: the client is not
            // told, and cannot forge `$SYS` or the gateway's own topics.
            let Some(session) = self.sessions.get_mut(&key) else {
                return;
            };
            let (_, ack) = session.on_incoming_publish(p.qos, p.pkid);
            if let Some(ack) = ack {
                self.acknowledge(key, ack);
            }
            return;
        }
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let (new, ack) = session.on_incoming_publish(p.qos, p.pkid);
        let client_id = session.client_id().clone();
        // A 3.1.1 acknowledgement goes first, as it always has; an MQTT 5 one follows the
        // routing, so it can say there were no subscribers (0x10). With durable acks either
        // follows what the message changed into the store.
        let ack_first = !v5 && !durable_acks;
        if ack_first {
            if let Some(ack) = &ack {
                session.reply(ack.clone());
            }
        }
        // A QoS 2 PUBLISH re-sent before PUBREL is acknowledged again, delivered once.
        let delivered = if new {
            let message = Message::new(p.topic, p.payload, p.qos, p.retain)
                .with_properties(p.properties, Instant::now());
            self.route_from_client(message, &client_id, Some(key))
        } else {
            1
        };
        match ack {
            Some(mut ack) if !ack_first => {
                if v5 && delivered == 0 {
                    set_ack_reason(&mut ack, PubAckReason::NoMatchingSubscribers, None);
                }
                self.acknowledge(key, ack);
            }
            _ => {}
        }
    }

    /// Why a client's PUBLISH is not routed, if it is not: its client may not write the
    /// topic, the topic is beyond the limits, or its payload is not the UTF-8 it says it is.
    fn publish_refusal(&mut self, key: SessionKey, p: &Publish) -> Option<(PubAckReason, String)> {
        let session = self.sessions.get(&key)?;
        let client_id = session.client_id().clone();
        if !session.access().can_write(&p.topic) {
            Counters::add(&self.counters.publish_denied, 1);
            debug!("denied publish client={client_id} topic={}", p.topic);
            let why = format!("not authorised to publish to {}", limits::shown(&p.topic));
            return Some((PubAckReason::NotAuthorized, why));
        }
        if !self.topic_within_limits(&p.topic, &client_id, "PUBLISH") {
            let why = "topic beyond max_topic_length or max_topic_levels".to_string();
            return Some((PubAckReason::TopicNameInvalid, why));
        }
        if p.properties.payload_format_indicator == Some(true)
            && std::str::from_utf8(&p.payload).is_err()
        {
            // The receiver may check (3.3.2.3.2); a dashboard showing the text would break.
            debug!("dropped publish with Payload Format Indicator 1 and a payload that is not UTF-8 client={client_id} topic={}", p.topic);
            let why = "Payload Format Indicator 1 but the payload is not UTF-8".to_string();
            return Some((PubAckReason::PayloadFormatInvalid, why));
        }
        None
    }

    /// Answers a refused MQTT 5 PUBLISH with the reason, for QoS 1 and 2 (QoS 0 has no answer).
    fn refuse_publish(&mut self, key: SessionKey, p: &Publish, reason: PubAckReason, why: &str) {
        let Some(session) = self.sessions.get(&key) else {
            return;
        };
        let reason_string = session.wants_reasons().then(|| why.to_string());
        let mut ack = match p.qos {
            QoS::AtMostOnce => return,
            QoS::AtLeastOnce => Packet::Puback(crate::session::ack(p.pkid)),
            QoS::ExactlyOnce => Packet::Pubrec(crate::session::ack(p.pkid)),
        };
        set_ack_reason(&mut ack, reason, reason_string);
        self.acknowledge(key, ack);
    }

    /// Whether a client's topic is within `max_topic_length` and `max_topic_levels`; if not,
    /// the PUBLISH (or will) is counted and logged (rate-limited) as dropped.
    pub(super) fn topic_within_limits(&mut self, topic: &str, client_id: &str, what: &str) -> bool {
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
    /// `from` is the publisher's session (none for a will whose session is gone). Returns how
    /// many subscribers it was sent to.
    pub(super) fn route_from_client(
        &mut self,
        message: Message,
        client_id: &str,
        from: Option<SessionKey>,
    ) -> usize {
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
        self.fan_out(&message, from)
    }

    /// Sends a message to every matching subscription but the publisher's own where it asked
    /// for No Local, and to one member of each matching shared group; returns how many
    /// sessions it was sent to.
    pub(super) fn fan_out(&mut self, message: &Message, from: Option<SessionKey>) -> usize {
        let mut matched = std::mem::take(&mut self.matched);
        let mut ids = std::mem::take(&mut self.matched_ids);
        self.subscriptions
            .matches(&message.topic, &mut matched, &mut ids);
        let limits = self.limits();
        let mut sent = 0;
        for &(key, grant) in &matched {
            if grant.no_local && Some(key) == from {
                continue;
            }
            let own = identifiers_of(&ids, key).iter().map(|&(_, id)| id);
            self.deliver_matched(key, grant, message, own, limits);
            sent += 1;
        }
        // A shared subscription cannot ask for No Local (MQTT-3.8.3-4): its member may be
        // the publisher.
        let sessions = &self.sessions;
        self.subscriptions.choose_shared(
            &message.topic,
            |key| sessions.get(&key)?.readiness(message, limits),
            &mut matched,
        );
        for &(key, grant) in &matched {
            self.deliver_matched(key, grant, message, grant.id, limits);
            sent += 1;
        }
        self.matched = matched;
        self.matched_ids = ids;
        sent
    }

    /// Delivers a message to a session that one or more of its subscriptions (merged in
    /// `grant`, identified by `ids`) matched.
    fn deliver_matched(
        &mut self,
        key: SessionKey,
        grant: Grant,
        message: &Message,
        ids: impl IntoIterator<Item = NonZeroU32>,
        limits: Limits,
    ) {
        // Only a session whose subscriptions carry identifiers gets a copy of its own: every
        // other delivery shares the one message.
        let mut ids = ids.into_iter().peekable();
        let identified;
        let message = if ids.peek().is_none() {
            message
        } else {
            identified = message.with_subscription_identifiers(ids);
            &identified
        };
        // Delivered at the lower of the publish and subscription QoS (MQTT-3.8.4-6), with
        // RETAIN cleared for established subscriptions (MQTT-3.3.1-9) unless the subscription
        // asked to keep it (Retain As Published, 3.8.3.1).
        let delivery = Delivery {
            message,
            qos: message.qos.min(grant.qos),
            retain: grant.retain_as_published && message.retain,
        };
        self.deliver(key, delivery, limits);
    }
}

/// The entries of `ids` (ordered by session) that are `key`'s.
fn identifiers_of(
    ids: &[(SessionKey, NonZeroU32)],
    key: SessionKey,
) -> &[(SessionKey, NonZeroU32)] {
    if ids.is_empty() {
        return ids;
    }
    let start = ids.partition_point(|&(session, _)| session < key);
    let end = start + ids[start..].partition_point(|&(session, _)| session == key);
    &ids[start..end]
}

/// Sets the reason (and Reason String) of a PUBACK or PUBREC.
fn set_ack_reason(ack: &mut Packet, reason: PubAckReason, reason_string: Option<String>) {
    if let Packet::Puback(a) | Packet::Pubrec(a) = ack {
        a.reason = reason;
        a.properties.reason_string = reason_string;
    }
}
