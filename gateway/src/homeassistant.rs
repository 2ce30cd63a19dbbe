//! What Home Assistant MQTT discovery needs on both sides of the gateway, sensors
//! (`sensors/discovery.rs`) and relays (`actuators/discovery.rs`): the topics and ids of the
//! gateway's node, the shared parts of a document, and the memory of what was announced. Also
//! the gateway itself as a device ([`GatewayAnnouncer`]): every sensor's and relay's device is
//! reached through it (`via_device`), so it must be announced too.

use std::path::PathBuf;

use anyhow::Context;
use log::{debug, warn};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DiscoverySettings;
use crate::status;
use broker::{BrokerHandle, Message, QoS, Subscription};

/// What Home Assistant shows as the gateway device's maker and model.
const MANUFACTURER: &str = "Hearth";
const GATEWAY_MODEL: &str = "Hearth gateway";

/// The gateway as Home Assistant sees it: every entity's topic and id start from it.
pub struct Node {
    prefix: String,
    node_id: String,
    gateway_name: String,
    gateway_status: String,
}

impl Node {
    pub fn new(settings: &DiscoverySettings, gateway_name: &str) -> Self {
        Self {
            prefix: settings.prefix.clone(),
            node_id: format!("hearth_{}", id_safe(gateway_name)),
            gateway_name: gateway_name.to_string(),
            gateway_status: status::status_topic(gateway_name),
        }
    }

    /// Home Assistant's birth topic: it publishes `online` there whenever it (re)connects
    /// ([`is_birth`]).
    pub fn birth_topic(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// `<prefix>/<component>/<node_id>/<object>/config`.
    pub fn config_topic(&self, component: &str, object: &str) -> String {
        format!(
            "{}/{component}/{}/{object}/config",
            self.prefix, self.node_id
        )
    }

    pub fn unique_id(&self, object: &str) -> String {
        format!("{}_{object}", self.node_id)
    }

    /// The entity is available while its own status topic (if it has one) and the gateway's
    /// say `online`.
    pub fn availability(&self, own_status: Option<String>) -> Value {
        let topics = own_status.into_iter().chain([self.gateway_status.clone()]);
        Value::Array(topics.map(|t| json!({ "topic": t })).collect())
    }

    /// A device of its own per sensor or relay, reached through the gateway.
    pub fn device(&self, object: &str, name: &str, model: &str) -> Value {
        json!({
            "identifiers": [self.unique_id(object)],
            "name": name,
            "model": model,
            "via_device": self.node_id,
        })
    }

    /// The gateway's own device: the one [`Node::device`]s name as their `via_device`.
    fn gateway_device(&self) -> Value {
        json!({
            "identifiers": [self.node_id],
            "name": self.gateway_name,
            "manufacturer": MANUFACTURER,
            "model": GATEWAY_MODEL,
            "sw_version": env!("CARGO_PKG_VERSION"),
        })
    }

    /// The config topic and document announcing the gateway itself: a connectivity sensor on
    /// its status topic, on the gateway's own device.
    ///
    /// Its node id is `hearth`, and its unique id the gateway's node id: sensors' and relays'
    /// topics sit under `hearth_<gateway>` and their unique ids add `_<name>` to the node id,
    /// so no entry of the configuration can take either.
    ///
    /// It has no availability of its own: its state *is* the gateway's availability, and one
    /// on the same topic would show "unavailable" where Home Assistant should say
    /// "disconnected".
    pub fn gateway_document(&self) -> (String, Value) {
        let topic = format!(
            "{}/binary_sensor/hearth/{}/config",
            self.prefix,
            id_safe(&self.gateway_name)
        );
        let doc = json!({
            "name": "Connectivity",
            "unique_id": self.node_id,
            "state_topic": self.gateway_status,
            "payload_on": status::ONLINE,
            "payload_off": status::OFFLINE,
            "device_class": "connectivity",
            "entity_category": "diagnostic",
            "device": self.gateway_device(),
        });
        (topic, doc)
    }
}

/// Whether a message on the birth topic says Home Assistant (re)connected, and so wants every
/// discovery document again; its last will there is `offline`.
pub fn is_birth(message: &Message) -> bool {
    &message.payload[..] == b"online"
}

/// Announces the gateway's own device now and again whenever Home Assistant comes online.
pub struct GatewayAnnouncer {
    task: JoinHandle<()>,
    shutdown: CancellationToken,
}

impl GatewayAnnouncer {
    /// Publishes the gateway's document before returning, so it is retained before any
    /// sensor's or relay's document names the gateway as their `via_device`.
    pub async fn start(
        settings: &DiscoverySettings,
        gateway_name: &str,
        broker: BrokerHandle,
    ) -> anyhow::Result<GatewayAnnouncer> {
        let node = Node::new(settings, gateway_name);
        let births = broker
            .subscribe(&node.birth_topic(), QoS::AtLeastOnce)
            .await
            .context("subscribing to Home Assistant's status")?;
        let (topic, doc) = node.gateway_document();
        let doc = doc.to_string();
        publish_document(&broker, &topic, &doc).await;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reannounce_gateway(
            topic,
            doc,
            births,
            broker,
            shutdown.clone(),
        ));
        Ok(GatewayAnnouncer { task, shutdown })
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

async fn reannounce_gateway(
    topic: String,
    doc: String,
    mut births: Subscription,
    broker: BrokerHandle,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            message = births.recv() => match message {
                Some(m) if is_birth(&m) => {
                    debug!("Home Assistant came online; announcing the gateway again");
                    publish_document(&broker, &topic, &doc).await;
                }
                Some(_) => {}
                // The broker stopped.
                None => break,
            },
        }
    }
}

/// Home Assistant ids allow letters, digits, `_` and `-`.
pub fn id_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Which documents were announced, as `(name, config topic)` lines in a file of the state
/// dir, so a later run can remove the entities of what left the configuration meanwhile.
pub struct Memory {
    path: Option<PathBuf>,
}

impl Memory {
    pub fn new(state_dir: Option<PathBuf>, file: &str) -> Self {
        Self {
            path: state_dir.map(|d| d.join(file)),
        }
    }

    /// What the previous run announced; nothing without a state dir or file.
    pub fn recall(&self) -> Vec<(String, String)> {
        let Some(path) = &self.path else {
            return Vec::new();
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(name, topic)| (name.to_string(), topic.to_string()))
            .collect()
    }

    pub fn record<'a>(&mut self, announced: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let Some(path) = &self.path else { return };
        let text: String = announced
            .into_iter()
            .map(|(name, topic)| format!("{name}\t{topic}\n"))
            .collect();
        let written = match path.parent() {
            Some(dir) => std::fs::create_dir_all(dir).and_then(|()| std::fs::write(path, text)),
            None => std::fs::write(path, text),
        };
        if let Err(e) = written {
            warn!(
                "cannot record announced Home Assistant entities in {}: {e}; entities of removed devices may linger",
                path.display()
            );
            // Said once; the gateway carries on without the memory.
            self.path = None;
        }
    }
}

/// Publishes a discovery document retained; false (and logged) if the broker refused it.
pub async fn publish_document(broker: &BrokerHandle, topic: &str, doc: &str) -> bool {
    match broker
        .publish(topic, doc.to_string(), QoS::AtLeastOnce, true)
        .await
    {
        Ok(()) => true,
        Err(e) => {
            warn!("cannot publish discovery document topic={topic}: {e}");
            false
        }
    }
}

/// Publishes empty retained documents, which make Home Assistant drop those entities.
pub async fn clear_documents(broker: &BrokerHandle, topics: &[String]) {
    for topic in topics {
        if let Err(e) = broker
            .publish(topic, Vec::new(), QoS::AtLeastOnce, true)
            .await
        {
            warn!("cannot remove discovery document topic={topic}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_is_a_connectivity_sensor_on_its_status_topic() {
        let node = Node::new(&DiscoverySettings::default(), "loft pi");
        let (topic, doc) = node.gateway_document();
        assert_eq!(topic, "homeassistant/binary_sensor/hearth/loft_pi/config");
        assert_eq!(doc["unique_id"], "hearth_loft_pi");
        assert_eq!(doc["state_topic"], "hearth/loft pi/status");
        assert_eq!(
            (&doc["payload_on"], &doc["payload_off"]),
            (&json!("online"), &json!("offline"))
        );
        assert_eq!(doc["device_class"], "connectivity");
        assert_eq!(doc["entity_category"], "diagnostic");
        assert!(doc.get("availability").is_none(), "{doc}");
        let device = &doc["device"];
        assert_eq!(device["identifiers"], json!(["hearth_loft_pi"]));
        assert_eq!(device["name"], "loft pi");
        assert_eq!(device["manufacturer"], "Hearth");
        assert_eq!(device["model"], "Hearth gateway");
        assert_eq!(device["sw_version"], env!("CARGO_PKG_VERSION"));
        assert!(device.get("via_device").is_none(), "{device}");
    }

    #[test]
    fn only_online_on_the_birth_topic_is_a_birth() {
        let on_birth_topic = |payload: &str| {
            Message::new(
                "homeassistant/status",
                payload.as_bytes().to_vec(),
                QoS::AtLeastOnce,
                false,
            )
        };
        assert!(is_birth(&on_birth_topic("online")));
        assert!(!is_birth(&on_birth_topic("offline")));
        assert!(!is_birth(&on_birth_topic("")));
    }

    #[test]
    fn every_device_is_reached_through_the_gateway_device() {
        let node = Node::new(&DiscoverySettings::default(), "loft pi");
        let (_, gateway) = node.gateway_document();
        let fan = node.device("bath_fan", "bath fan", "Relay");
        assert_eq!(gateway["device"]["identifiers"][0], fan["via_device"]);
    }

    #[test]
    fn no_entry_can_take_the_gateway_entity_s_topic_or_unique_id() {
        let node = Node::new(&DiscoverySettings::default(), "loft pi");
        let (topic, doc) = node.gateway_document();
        for name in [
            "loft_pi",
            "hearth",
            "gateway",
            "connectivity",
            "status",
            "x",
        ] {
            assert_ne!(node.config_topic("binary_sensor", name), topic, "{name}");
            assert_ne!(node.unique_id(name), doc["unique_id"], "{name}");
        }
    }
}
