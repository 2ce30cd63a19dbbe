//! The in-process client: the rest of the gateway publishes and subscribes through this handle,
//! without sockets, and its messages are routed exactly like a network client's.
//!
//! Publishing and subscribing call the router under its lock, as a connection does, so when
//! `publish` returns its message is routed (and, if retained, stored): a client that subscribes
//! afterwards gets it as a retained message. Only `ping` goes through the router's own task,
//! which is what it proves alive.

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use super::codec::QoS;
use super::event::Event;
use super::message::Message;
use super::router::SharedRouter;
use super::session::SessionKey;

/// How many messages an in-process subscriber may fall behind before new ones are dropped.
const LOCAL_BACKLOG: usize = 10_000;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LocalError {
    #[error("invalid topic \"{topic}\": {reason}")]
    InvalidTopic { topic: String, reason: String },
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
        mqtt_topic::validate_topic_name(topic).map_err(|e| LocalError::InvalidTopic {
            topic: topic.to_string(),
            reason: e.to_string(),
        })?;
        let message = Message::new(topic, payload, qos, retain);
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
    use crate::{Broker, BrokerSettings, ListenerSettings};

    #[tokio::test]
    async fn ping_is_answered_while_the_router_runs_and_fails_after_shutdown() {
        let settings = BrokerSettings {
            listeners: vec![ListenerSettings::tcp(
                "127.0.0.1:0".parse().expect("address"),
            )],
            ..BrokerSettings::default()
        };
        let broker = Broker::start(settings).await.expect("broker starts");
        let handle = broker.handle();
        assert_eq!(handle.ping().await, Ok(()));
        broker.shutdown().await;
        assert_eq!(handle.ping().await, Err(super::LocalError::BrokerStopped));
    }
}
