//! SUBSCRIBE and UNSUBSCRIBE: each filter checked (syntax, limits, access rules, what the
//! broker offers), granted or refused with its own reason code, and a new subscription sent
//! the retained messages it matches as its Retain Handling says.

use std::sync::Arc;

use log::{debug, Level};

use super::{limits, Router};
use crate::codec::v5::{
    AckProperties, Packet, RetainHandling, Suback, SubackReason, Subscribe, SubscriptionOptions,
    Unsuback, UnsubackReason, Unsubscribe,
};
use crate::codec::QoS;
use crate::counters::Counters;
use crate::log_limit::Refusal;
use crate::message::Message;
use crate::session::{Delivery, SessionKey};
use crate::subscriptions::{parse_shared, Grant};
use crate::wire::Version;

impl Router {
    pub(super) fn on_subscribe(&mut self, key: SessionKey, sub: Subscribe) {
        let Some((client_id, version, access, wants_reasons)) = self.sessions.get(&key).map(|s| {
            (
                s.client_id().clone(),
                s.version(),
                s.access().clone(),
                s.wants_reasons(),
            )
        }) else {
            return;
        };
        // One identifier for every filter of the SUBSCRIBE (3.8.2.1.2); the codec refuses 0.
        let id = sub
            .properties
            .subscription_identifier
            .and_then(std::num::NonZeroU32::new);
        let mut reasons = Vec::with_capacity(sub.filters.len());
        let mut refusals: Vec<String> = Vec::new();
        let mut granted: Vec<(Arc<str>, Grant, RetainHandling)> = Vec::new();
        for (filter, options) in sub.filters {
            // A shared subscription's limits are those of its filter (and so are its access
            // rules: `ClientAcl::subscribe` takes it apart itself).
            let (shared, topics) = match parse_shared(&filter) {
                None => (false, Ok(filter.as_str())),
                Some(parsed) => (
                    true,
                    parsed.map(|shared| shared.filter).map_err(String::from),
                ),
            };
            let refusal = match topics.and_then(|topics| {
                mqtt_topic::validate_filter(&filter)
                    .map_err(|e| e.to_string())
                    .map(|()| topics)
            }) {
                Err(e) => {
                    debug!("refused subscription filter={filter:?}: {e}");
                    Some((SubackReason::TopicFilterInvalid, format!("{filter}: {e}")))
                }
                Ok(topics) if !self.filter_within_limits(topics, &client_id) => Some((
                    SubackReason::QuotaExceeded,
                    format!("{filter}: beyond max_topic_length or max_topic_levels"),
                )),
                Ok(_) if !access.subscribe(&filter) => {
                    debug!("denied subscription filter={filter:?}");
                    Counters::add(&self.counters.subscriptions_denied, 1);
                    Some((
                        SubackReason::NotAuthorized,
                        format!("{filter}: not authorised"),
                    ))
                }
                Ok(_) => None,
            };
            match refusal {
                Some((reason, why)) => {
                    reasons.push(refused_reason(version, options.qos, reason));
                    refusals.push(why);
                }
                None => {
                    let filter: Arc<str> = filter.into();
                    let grant = grant(&options, id);
                    self.subscriptions.insert(&filter, key, grant);
                    reasons.push(granted_reason(options.qos));
                    // A shared subscription is not sent retained messages (4.8.2).
                    let retain_handling = match shared {
                        true => RetainHandling::DoNotSend,
                        false => options.retain_handling,
                    };
                    granted.push((filter, grant, retain_handling));
                }
            }
        }
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let mut retained_for = Vec::with_capacity(granted.len());
        for (filter, grant, retain_handling) in granted {
            let existed = session.subscribe(filter.clone(), grant);
            let send = match retain_handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendAtSubscribeIfNew => !existed,
                RetainHandling::DoNotSend => false,
            };
            if send {
                retained_for.push((filter, grant));
            }
        }
        session.reply(Packet::Suback(Suback {
            pkid: sub.pkid,
            properties: reason_string(wants_reasons, &refusals),
            reasons,
        }));
        // Retained messages follow the SUBACK, for new and replaced subscriptions alike
        // (MQTT-3.8.4-3), unless Retain Handling says otherwise.
        for (filter, grant) in retained_for {
            self.deliver_retained(key, &filter, grant);
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
    /// (MQTT-3.3.1-8) and the subscription's identifier, if it has one (MQTT-3.3.4-3).
    fn deliver_retained(&mut self, key: SessionKey, filter: &str, grant: Grant) {
        let mut retained = Vec::new();
        self.retained.matching(filter, &mut retained);
        self.send_retained(key, &retained, grant.qos, grant.id);
    }

    pub(super) fn send_retained(
        &mut self,
        key: SessionKey,
        retained: &[Message],
        granted: QoS,
        id: Option<std::num::NonZeroU32>,
    ) {
        let limits = self.limits();
        for message in retained {
            let identified;
            let message = match id {
                None => message,
                Some(id) => {
                    identified = message.with_subscription_identifiers([id]);
                    &identified
                }
            };
            let delivery = Delivery {
                message,
                qos: message.qos.min(granted),
                retain: true,
            };
            self.deliver(key, delivery, limits);
        }
    }

    pub(super) fn on_unsubscribe(&mut self, key: SessionKey, unsub: Unsubscribe) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let mut reasons = Vec::with_capacity(unsub.filters.len());
        for filter in &unsub.filters {
            if session.unsubscribe(filter) {
                self.subscriptions.remove(filter, key);
                reasons.push(UnsubackReason::Success);
            } else {
                reasons.push(UnsubackReason::NoSubscriptionExisted);
            }
        }
        // UNSUBACK even when nothing matched (MQTT-3.10.4-5).
        session.reply(Packet::Unsuback(Unsuback {
            pkid: unsub.pkid,
            properties: AckProperties::default(),
            reasons,
        }));
    }
}

fn grant(options: &SubscriptionOptions, id: Option<std::num::NonZeroU32>) -> Grant {
    Grant {
        qos: options.qos,
        no_local: options.no_local,
        retain_as_published: options.retain_as_published,
        id,
    }
}

fn granted_reason(qos: QoS) -> SubackReason {
    match qos {
        QoS::AtMostOnce => SubackReason::GrantedQos0,
        QoS::AtLeastOnce => SubackReason::GrantedQos1,
        QoS::ExactlyOnce => SubackReason::GrantedQos2,
    }
}

/// The SUBACK code for a refused filter: its reason (0x80 to a 3.1.1 client, MQTT-3.9.3).
/// MQTT 3.1's SUBACK has no failure code, so a 3.1 client gets the QoS it asked for and no
/// subscription, as Mosquitto does.
pub(crate) fn refused_reason(
    version: Option<Version>,
    requested: QoS,
    reason: SubackReason,
) -> SubackReason {
    match version {
        Some(Version::V31) => granted_reason(requested),
        _ => reason,
    }
}

/// A SUBACK's Reason String: the refusals, for a client that wants to know (MQTT-3.1.2-29).
fn reason_string(wanted: bool, refusals: &[String]) -> AckProperties {
    AckProperties {
        reason_string: (wanted && !refusals.is_empty()).then(|| refusals.join("; ")),
        ..AckProperties::default()
    }
}
