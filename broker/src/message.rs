//! A message as the broker routes it: shared by every subscriber it fans out to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::codec::v5::PublishProperties;
use super::codec::QoS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: Arc<str>,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// The MQTT 5 properties its publisher set that travel with it to every subscriber
    /// (MQTT-3.3.2-4 .. -20): payload format, content type, response topic, correlation data,
    /// user properties. Never a Topic Alias, Subscription Identifier or Message Expiry
    /// Interval: those belong to one hop and are written per delivery. `None` for a message
    /// from an MQTT 3.1.1 client or from inside the daemon, which then costs one pointer.
    pub properties: Option<Arc<PublishProperties>>,
    /// When its publisher's Message Expiry Interval runs out: it is not delivered after that
    /// (MQTT-3.3.2-5), and each delivery carries what is left (MQTT-3.3.2-6).
    pub expires_at: Option<Instant>,
}

impl Message {
    pub fn new(
        topic: impl Into<Arc<str>>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
            properties: None,
            expires_at: None,
        }
    }

    /// The message with the properties of an MQTT 5 PUBLISH (or will) received now: those
    /// that travel with it are kept, and its expiry interval becomes a deadline.
    pub fn with_properties(mut self, mut properties: PublishProperties, now: Instant) -> Self {
        if let Some(seconds) = properties.message_expiry_interval.take() {
            self.expires_at = Some(now + Duration::from_secs(u64::from(seconds)));
        }
        properties.topic_alias = None;
        properties.subscription_identifiers.clear();
        if properties != PublishProperties::default() {
            self.properties = Some(Arc::new(properties));
        }
        self
    }

    /// The message as sent to subscriptions with these Subscription Identifiers
    /// (MQTT-3.3.4-3): its properties are copied once for the session, and a message queued
    /// for later keeps the identifiers it matched with.
    pub(crate) fn with_subscription_identifiers(
        &self,
        ids: impl IntoIterator<Item = std::num::NonZeroU32>,
    ) -> Self {
        let mut properties = self.properties.as_deref().cloned().unwrap_or_default();
        properties.subscription_identifiers = ids.into_iter().map(|id| id.get()).collect();
        Self {
            properties: Some(Arc::new(properties)),
            ..self.clone()
        }
    }

    /// Whether its expiry interval has run out by `now`.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether its expiry interval has run out by now; the clock is read only for a message
    /// that has one (most have not, and this is asked once per delivery).
    pub(crate) fn has_expired(&self) -> bool {
        self.expires_at.is_some() && self.is_expired(Instant::now())
    }

    /// The Message Expiry Interval to send with it at `now`: the seconds left, rounded up so
    /// a message still deliverable never says 0. `None` if it never expires.
    pub fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        let left = self.expires_at?.saturating_duration_since(now);
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(u32::try_from(seconds).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_properties_that_travel_are_kept_and_expiry_becomes_a_deadline() {
        let now = Instant::now();
        let properties = PublishProperties {
            message_expiry_interval: Some(30),
            topic_alias: Some(3),
            subscription_identifiers: vec![7],
            content_type: Some("text/plain".into()),
            ..PublishProperties::default()
        };
        let m = Message::new("t", "p", QoS::AtMostOnce, false).with_properties(properties, now);
        let kept = m.properties.as_deref().expect("content type kept");
        assert_eq!(kept.content_type.as_deref(), Some("text/plain"));
        assert_eq!(kept.topic_alias, None);
        assert!(kept.subscription_identifiers.is_empty());
        assert_eq!(kept.message_expiry_interval, None);
        assert_eq!(m.remaining_expiry(now), Some(30));
        assert_eq!(
            m.remaining_expiry(now + Duration::from_millis(29_500)),
            Some(1)
        );
        assert!(!m.is_expired(now + Duration::from_millis(29_999)));
        assert!(m.is_expired(now + Duration::from_secs(30)));
    }

    #[test]
    fn a_publish_with_only_per_hop_properties_carries_none() {
        let properties = PublishProperties {
            topic_alias: Some(1),
            ..PublishProperties::default()
        };
        let m = Message::new("t", "p", QoS::AtMostOnce, false)
            .with_properties(properties, Instant::now());
        assert_eq!(m.properties, None);
        assert_eq!(m.expires_at, None);
        assert_eq!(m.remaining_expiry(Instant::now()), None);
    }
}
