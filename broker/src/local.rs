//! The in-process client: the rest of the gateway publishes and subscribes through this handle,
//! without sockets, and its messages are routed exactly like a network client's.
//!
//! A message published with MQTT 5 properties is routed as a client's v5 PUBLISH with them
//! is: MQTT 5 subscribers get the properties, 3.1.1 subscribers the message alone.
//!
//! Publishing and subscribing call the router under its lock, as a connection does, so when
//! `publish` returns its message is routed (and, if retained, stored): a client that subscribes
//! afterwards gets it as a retained message. Only `ping` goes through the router's own task,
//! which is what it proves alive.

use std::time::Instant;

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use super::codec::v5::PublishProperties;
use super::codec::QoS;
use super::event::Event;
use super::message::Message;
use super::router::SharedRouter;
use super::session::SessionKey;

/// How many messages an in-process subscriber may fall behind before new ones are dropped.
const LOCAL_BACKLOG: usize = 10_000;

/// The longest string or binary field MQTT can carry: its length is two bytes (1.5.4, 1.5.6).
const MAX_FIELD_LEN: usize = u16::MAX as usize;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LocalError {
    #[error("invalid topic \"{topic}\": {reason}")]
    InvalidTopic { topic: String, reason: String },
    #[error("invalid {property}: {reason}")]
    InvalidProperty {
        property: &'static str,
        reason: String,
    },
    #[error("invalid topic filter \"{filter}\": {reason}")]
    InvalidFilter { filter: String, reason: String },
    #[error("the broker has stopped")]
    BrokerStopped,
}

/// A cheap, cloneable handle to the running broker.
#[derive(Clone)]
pub struct BrokerHandle {
    pub(crate) router: SharedRouter,
    /// To the router's own task: the watchdog's ping.
    pub(crate) events: mpsc::Sender<Event>,
}

impl BrokerHandle {
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<(), LocalError> {
        check_topic(topic)?;
        let message = Message::new(topic, payload, qos, retain);
        self.route(message)
    }

    /// Publishes with MQTT 5 properties, as a client's v5 PUBLISH with them: the Message
    /// Expiry Interval counts from now, and a Topic Alias or Subscription Identifiers (not a
    /// publisher's to send) are dropped.
    pub async fn publish_with_properties(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
        properties: PublishProperties,
    ) -> Result<(), LocalError> {
        check_topic(topic)?;
        let payload = payload.into();
        check_properties(&properties, &payload)?;
        let message =
            Message::new(topic, payload, qos, retain).with_properties(properties, Instant::now());
        self.route(message)
    }

    fn route(&self, message: Message) -> Result<(), LocalError> {
        self.router
            .handle(Event::LocalPublish(message))
            .map_err(|_| LocalError::BrokerStopped)
    }

    /// Returns once the router has handled an event sent now: a cheap proof that it is alive
    /// and keeping up, not stuck.
    pub async fn ping(&self) -> Result<(), LocalError> {
        let (reply, answered) = oneshot::channel();
        self.events
            .send(Event::Ping(reply))
            .await
            .map_err(|_| LocalError::BrokerStopped)?;
        answered.await.map_err(|_| LocalError::BrokerStopped)
    }

    /// Subscribes to `filter`; retained messages that match arrive first, flagged `retain`.
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<Subscription, LocalError> {
        self.subscribe_all(&[filter], qos).await
    }

    /// Subscribes to several filters at once: a message matching more than one of them
    /// arrives once, as it would for one MQTT client holding all of them.
    pub async fn subscribe_all(
        &self,
        filters: &[&str],
        qos: QoS,
    ) -> Result<Subscription, LocalError> {
        for filter in filters {
            mqtt_topic::validate_filter(filter).map_err(|e| LocalError::InvalidFilter {
                filter: filter.to_string(),
                reason: e.to_string(),
            })?;
        }
        let (sink, messages) = mpsc::channel(LOCAL_BACKLOG);
        let (reply, key) = oneshot::channel();
        let event = Event::LocalSubscribe {
            filters: filters.iter().map(|f| f.to_string()).collect(),
            qos,
            sink,
            reply,
        };
        self.router
            .handle(event)
            .map_err(|_| LocalError::BrokerStopped)?;
        let key = key.await.map_err(|_| LocalError::BrokerStopped)?;
        Ok(Subscription {
            key,
            messages,
            router: self.router.clone(),
        })
    }
}

/// A topic name (MQTT-4.7.3-1, -2) that fits the two-byte length it is written with.
fn check_topic(topic: &str) -> Result<(), LocalError> {
    let invalid = |reason: String| LocalError::InvalidTopic {
        topic: topic.to_string(),
        reason,
    };
    mqtt_topic::validate_topic_name(topic).map_err(|e| invalid(e.to_string()))?;
    if topic.len() > MAX_FIELD_LEN {
        return Err(invalid(too_long(topic.len())));
    }
    Ok(())
}

/// What a client's PUBLISH decoder would have refused in these properties, so that every
/// subscriber can decode what it is sent.
fn check_properties(p: &PublishProperties, payload: &[u8]) -> Result<(), LocalError> {
    let invalid =
        |property: &'static str, reason: String| LocalError::InvalidProperty { property, reason };
    if let Some(topic) = &p.response_topic {
        // A topic name: the receiver publishes its answer there (MQTT-3.3.2-14).
        check_topic(topic).map_err(|e| invalid("Response Topic", e.to_string()))?;
    }
    if let Some(data) = &p.correlation_data {
        if data.len() > MAX_FIELD_LEN {
            return Err(invalid("Correlation Data", too_long(data.len())));
        }
    }
    if let Some(content_type) = &p.content_type {
        check_string(content_type).map_err(|why| invalid("Content Type", why))?;
    }
    for (name, value) in &p.user_properties {
        check_string(name)
            .and_then(|()| check_string(value))
            .map_err(|why| invalid("User Property", format!("{name:?}: {why}")))?;
    }
    if p.payload_format_indicator == Some(true) && std::str::from_utf8(payload).is_err() {
        return Err(invalid(
            "Payload Format Indicator",
            "1 (UTF-8) but the payload is not UTF-8".to_string(),
        ));
    }
    Ok(())
}

/// An MQTT UTF-8 string: no U+0000 (MQTT-1.5.4-2), at most 65,535 bytes.
fn check_string(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err("contains U+0000, which MQTT does not allow in a string".to_string());
    }
    if text.len() > MAX_FIELD_LEN {
        return Err(too_long(text.len()));
    }
    Ok(())
}

fn too_long(len: usize) -> String {
    format!("{len} bytes long; MQTT carries at most {MAX_FIELD_LEN} bytes")
}

/// Messages matching a subscription's filters. Dropping it unsubscribes.
pub struct Subscription {
    key: SessionKey,
    messages: mpsc::Receiver<Message>,
    router: SharedRouter,
}

impl Subscription {
    /// The next message, or `None` once the broker has stopped.
    pub async fn recv(&mut self) -> Option<Message> {
        self.messages.recv().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // After shutdown there is nothing to unsubscribe from.
        let _ = self.router.handle(Event::LocalUnsubscribe(self.key));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::Bytes;

    use super::{LocalError, MAX_FIELD_LEN};
    use crate::{Broker, BrokerSettings, ListenerSettings, PublishProperties, QoS};

    async fn broker() -> Broker {
        let settings = BrokerSettings {
            listeners: vec![ListenerSettings::tcp(
                "127.0.0.1:0".parse().expect("address"),
            )],
            ..BrokerSettings::default()
        };
        Broker::start(settings).await.expect("broker starts")
    }

    #[tokio::test]
    async fn ping_is_answered_while_the_router_runs_and_fails_after_shutdown() {
        let broker = broker().await;
        let handle = broker.handle();
        assert_eq!(handle.ping().await, Ok(()));
        broker.shutdown().await;
        assert_eq!(handle.ping().await, Err(super::LocalError::BrokerStopped));
    }

    #[tokio::test]
    async fn properties_travel_with_the_message_and_its_expiry_counts_from_the_publish() {
        let broker = broker().await;
        let handle = broker.handle();
        let mut sub = handle
            .subscribe("Kitchen/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let properties = PublishProperties {
            message_expiry_interval: Some(600),
            // Not a publisher's to send: dropped, as from a client.
            topic_alias: Some(4),
            subscription_identifiers: vec![9],
            response_topic: Some("hearth/replies/Kitchen".into()),
            correlation_data: Some(Bytes::from_static(b"Kitchen-1")),
            user_properties: vec![("source".into(), "hearth".into())],
            content_type: Some("text/plain".into()),
            ..PublishProperties::default()
        };
        let before = Instant::now();
        handle
            .publish_with_properties(
                "Kitchen/Heater/get",
                "schedule",
                QoS::AtLeastOnce,
                false,
                properties,
            )
            .await
            .expect("published");
        let m = sub.recv().await.expect("delivered");
        assert_eq!(
            (&*m.topic, &m.payload[..]),
            ("Kitchen/Heater/get", &b"schedule"[..])
        );
        let want = PublishProperties {
            response_topic: Some("hearth/replies/Kitchen".into()),
            correlation_data: Some(Bytes::from_static(b"Kitchen-1")),
            user_properties: vec![("source".into(), "hearth".into())],
            content_type: Some("text/plain".into()),
            ..PublishProperties::default()
        };
        assert_eq!(m.properties.as_deref(), Some(&want));
        let left = m.remaining_expiry(Instant::now()).expect("an expiry");
        assert!(left <= 600 && left > 0, "{left} s left");
        assert!(m.expires_at.is_some_and(|at| at >= before));
        broker.shutdown().await;
    }

    #[tokio::test]
    async fn what_a_subscriber_could_not_decode_is_refused_and_not_routed() {
        let broker = broker().await;
        let handle = broker.handle();
        let mut sub = handle
            .subscribe("t/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let long = "a".repeat(MAX_FIELD_LEN + 1);
        let with = |f: fn(&mut PublishProperties, &str)| {
            let mut p = PublishProperties::default();
            f(&mut p, &long);
            p
        };
        let cases: Vec<(PublishProperties, &str, &str)> = vec![
            (
                with(|p, _| p.response_topic = Some("t/+".into())),
                "t/x",
                "Response Topic",
            ),
            (
                with(|p, _| p.response_topic = Some(String::new())),
                "t/x",
                "Response Topic",
            ),
            (
                with(|p, l| p.response_topic = Some(l.into())),
                "t/x",
                "Response Topic",
            ),
            (
                with(|p, l| p.correlation_data = Some(Bytes::from(l.to_string()))),
                "t/x",
                "Correlation Data",
            ),
            (
                with(|p, _| p.content_type = Some("text\0plain".into())),
                "t/x",
                "Content Type",
            ),
            (
                with(|p, _| p.user_properties = vec![("ok".into(), "a\0".into())]),
                "t/x",
                "User Property",
            ),
            (
                with(|p, _| p.user_properties = vec![("\0".into(), "ok".into())]),
                "t/x",
                "User Property",
            ),
            (
                with(|p, l| p.user_properties = vec![("k".into(), l.into())]),
                "t/x",
                "User Property",
            ),
            (
                with(|p, _| p.payload_format_indicator = Some(true)),
                "t/bytes",
                "Payload Format Indicator",
            ),
        ];
        for (properties, topic, property) in cases {
            let payload: &[u8] = if topic == "t/bytes" {
                &[0xff, 0xfe]
            } else {
                b"x"
            };
            let got = handle
                .publish_with_properties(
                    topic,
                    payload.to_vec(),
                    QoS::AtLeastOnce,
                    false,
                    properties,
                )
                .await;
            assert!(
                matches!(&got, Err(LocalError::InvalidProperty { property: p, .. }) if *p == property),
                "{property}: {got:?}"
            );
        }
        let topic_too_long = format!("t/{long}");
        let got = handle
            .publish_with_properties(
                &topic_too_long,
                "x",
                QoS::AtLeastOnce,
                false,
                PublishProperties::default(),
            )
            .await;
        assert!(
            matches!(got, Err(LocalError::InvalidTopic { .. })),
            "{got:?}"
        );
        let got = handle
            .publish(&topic_too_long, "x", QoS::AtLeastOnce, false)
            .await;
        assert!(
            matches!(got, Err(LocalError::InvalidTopic { .. })),
            "{got:?}"
        );

        // Routing is in order: had any of the refused been routed, it would come first.
        handle
            .publish("t/last", "x", QoS::AtLeastOnce, false)
            .await
            .expect("published");
        let m = sub.recv().await.expect("delivered");
        assert_eq!(&*m.topic, "t/last");
        broker.shutdown().await;
    }
}
