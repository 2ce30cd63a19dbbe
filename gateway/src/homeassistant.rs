//! What Home Assistant MQTT discovery needs on both sides of the gateway, sensors
//! (`sensors/discovery.rs`) and relays (`actuators/discovery.rs`): the topics and ids of the
//! gateway's node, the shared parts of a document, and the memory of what was announced.

use std::path::PathBuf;

use log::warn;
use serde_json::{json, Value};

use crate::config::DiscoverySettings;
use broker::{BrokerHandle, QoS};

/// The gateway as Home Assistant sees it: every entity's topic and id start from it.
pub struct Node {
    prefix: String,
    node_id: String,
    gateway_status: String,
}

impl Node {
    pub fn new(settings: &DiscoverySettings, gateway_name: &str) -> Self {
        Self {
            prefix: settings.prefix.clone(),
            node_id: format!("hearth_{}", id_safe(gateway_name)),
            gateway_status: crate::status::status_topic(gateway_name),
        }
    }

    /// Home Assistant's birth topic: it publishes `online` there whenever it (re)connects.
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
