//! Relays as Home Assistant switches, by MQTT discovery: a retained
//! `<prefix>/switch/<node>/<object>/config` document per actuator, kept in line with the running
//! actuators by one task, repeated whenever Home Assistant comes online.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use log::{debug, info};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::settings::{ActuatorSettings, Switch};
use crate::config::DiscoverySettings;
use crate::homeassistant::{clear_documents, id_safe, is_birth, publish_document, Memory, Node};
use broker::{BrokerHandle, QoS, Subscription};

/// Remembers which switches were announced, across restarts, in this file of the state dir
/// (the sensors keep their own).
const MEMORY_FILE: &str = "discovery-switches";

pub struct SwitchDiscovery {
    node: Node,
    memory: Memory,
    /// Config topic → (actuator name, document) as last announced; a document recalled from
    /// an earlier run is empty, so it is announced again.
    announced: BTreeMap<String, (String, String)>,
    /// Config topics of actuators that left the configuration, cleared again whenever Home
    /// Assistant comes online (it only forgets an entity it hears the empty document for).
    departed: Vec<String>,
}

impl SwitchDiscovery {
    pub fn new(
        settings: &DiscoverySettings,
        gateway_name: &str,
        state_dir: Option<PathBuf>,
    ) -> Self {
        let memory = Memory::new(state_dir, MEMORY_FILE);
        let announced = memory
            .recall()
            .into_iter()
            .map(|(name, topic)| (topic, (name, String::new())))
            .collect();
        Self {
            node: Node::new(settings, gateway_name),
            memory,
            announced,
            departed: Vec::new(),
        }
    }

    /// The config topic and document announcing one actuator as a switch.
    pub fn document(&self, s: &ActuatorSettings) -> (String, Value) {
        let object = id_safe(&s.name);
        let (on, off) = (Switch::On.payload(), Switch::Off.payload());
        let doc = json!({
            // The device is named after the actuator; a null name makes the switch its main
            // entity instead of repeating the name.
            "name": null,
            "unique_id": self.node.unique_id(&object),
            "command_topic": format!("{}/set", s.topic),
            "state_topic": format!("{}/state", s.topic),
            "payload_on": on,
            "payload_off": off,
            "state_on": on,
            "state_off": off,
            "qos": 1,
            // The relay confirms every command on its state topic.
            "optimistic": false,
            "availability": self.node.availability(None),
            "device": self.node.device(&object, &s.name, "Relay"),
        });
        (self.node.config_topic("switch", &object), doc)
    }

    /// Announces new and changed actuators and clears the documents of those gone.
    async fn sync(&mut self, actuators: &[ActuatorSettings], broker: &BrokerHandle) {
        let wanted: BTreeMap<String, (String, String)> = actuators
            .iter()
            .map(|s| {
                let (topic, doc) = self.document(s);
                (topic, (s.name.clone(), doc.to_string()))
            })
            .collect();
        let gone: Vec<String> = self
            .announced
            .keys()
            .filter(|topic| !wanted.contains_key(*topic))
            .cloned()
            .collect();
        for topic in &gone {
            debug!("Home Assistant switch of a departed actuator will be removed topic={topic}");
            self.announced.remove(topic);
        }
        clear_documents(broker, &gone).await;
        self.departed.retain(|t| !wanted.contains_key(t));
        self.departed.extend(gone);
        for (topic, entry) in wanted {
            if self.announced.get(&topic) != Some(&entry)
                && publish_document(broker, &topic, &entry.1).await
            {
                self.announced.insert(topic, entry);
            }
        }
        let remembered = self
            .announced
            .iter()
            .map(|(topic, (name, _))| (name.as_str(), topic.as_str()));
        self.memory.record(remembered);
    }

    /// Home Assistant (re)started: send it every document again, and the removals.
    async fn reannounce(&self, broker: &BrokerHandle) {
        info!("Home Assistant came online; announcing switches again");
        clear_documents(broker, &self.departed).await;
        for (topic, (_, doc)) in &self.announced {
            publish_document(broker, topic, doc).await;
        }
    }

    /// Starts the task announcing `actuators` now and after each [`Announcer::update`].
    pub async fn spawn(
        self,
        actuators: Vec<ActuatorSettings>,
        broker: BrokerHandle,
    ) -> anyhow::Result<Announcer> {
        let births = broker
            .subscribe(&self.node.birth_topic(), QoS::AtLeastOnce)
            .await
            .context("subscribing to Home Assistant's status")?;
        let (current, updates) = watch::channel(actuators);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(self.run(updates, births, broker, shutdown.clone()));
        Ok(Announcer {
            current,
            task,
            shutdown,
        })
    }

    async fn run(
        mut self,
        mut updates: watch::Receiver<Vec<ActuatorSettings>>,
        mut births: Subscription,
        broker: BrokerHandle,
        shutdown: CancellationToken,
    ) {
        let first = updates.borrow_and_update().clone();
        self.sync(&first, &broker).await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = updates.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let actuators = updates.borrow_and_update().clone();
                    self.sync(&actuators, &broker).await;
                }
                Some(message) = births.recv() => {
                    if is_birth(&message) {
                        self.reannounce(&broker).await;
                    }
                }
            }
        }
    }
}

/// The running discovery task of the actuators.
pub struct Announcer {
    current: watch::Sender<Vec<ActuatorSettings>>,
    task: JoinHandle<()>,
    shutdown: CancellationToken,
}

impl Announcer {
    /// The actuators now running; only the latest list matters if several queue up.
    pub fn update(&self, actuators: Vec<ActuatorSettings>) {
        self.current.send_replace(actuators);
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensors::settings::Pin;

    #[test]
    fn a_relay_is_a_switch_commanded_on_its_set_topic() {
        let discovery = SwitchDiscovery::new(&DiscoverySettings::default(), "loft pi", None);
        let fan = ActuatorSettings {
            name: "bath fan".into(),
            topic: "Bath/Fan".into(),
            pin: Pin::Sim,
            active_low: true,
            initial: Switch::Off,
            safe: Switch::Off,
            auto_off: None,
        };
        let (topic, doc) = discovery.document(&fan);
        assert_eq!(topic, "homeassistant/switch/hearth_loft_pi/bath_fan/config");
        assert_eq!(doc["unique_id"], "hearth_loft_pi_bath_fan");
        assert_eq!(doc["command_topic"], "Bath/Fan/set");
        assert_eq!(doc["state_topic"], "Bath/Fan/state");
        for (key, value) in [
            ("payload_on", "ON"),
            ("payload_off", "OFF"),
            ("state_on", "ON"),
            ("state_off", "OFF"),
        ] {
            assert_eq!(doc[key], value, "{key}");
        }
        assert_eq!(doc["qos"], 1);
        assert_eq!(doc["optimistic"], false);
        assert_eq!(
            doc["availability"],
            json!([{ "topic": "hearth/loft pi/status" }])
        );
        assert_eq!(
            doc["device"]["identifiers"],
            json!(["hearth_loft_pi_bath_fan"])
        );
        assert_eq!(doc["device"]["name"], "bath fan");
        assert_eq!(doc["device"]["via_device"], "hearth_loft_pi");
    }
}
