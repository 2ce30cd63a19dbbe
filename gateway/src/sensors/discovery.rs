//! Home Assistant MQTT discovery: retained `<prefix>/<component>/<node>/<object>/config`
//! documents, so sensors appear in Home Assistant (and apps that read discovery) by themselves,
//! and disappear when they leave the configuration.

use std::collections::BTreeSet;
use std::path::PathBuf;

use drivers::{InputPayload, Quantity};
use log::debug;
use serde_json::{json, Value};

use super::publisher::{input_state_topic, reading_topic, status_topic};
use super::settings::{Device, Format, SensorSettings};
use crate::config::DiscoverySettings;
use crate::homeassistant::{clear_documents, id_safe, publish_document, Memory, Node};
use broker::BrokerHandle;

/// Remembers which documents were announced, across restarts, in this file of the state dir.
const MEMORY_FILE: &str = "discovery-topics";

pub struct Discovery {
    node: Node,
    memory: Memory,
    /// (sensor name, config topic) announced so far.
    announced: BTreeSet<(String, String)>,
    /// Config topics of sensors that left the configuration, cleared again whenever Home
    /// Assistant comes online (it only forgets an entity it hears the empty document for).
    departed: Vec<String>,
}

impl Discovery {
    pub fn new(
        settings: &DiscoverySettings,
        gateway_name: &str,
        state_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            node: Node::new(settings, gateway_name),
            memory: Memory::new(state_dir, MEMORY_FILE),
            announced: BTreeSet::new(),
            departed: Vec::new(),
        }
    }

    /// Home Assistant's birth topic: it publishes `online` there whenever it (re)connects.
    pub fn birth_topic(&self) -> String {
        self.node.birth_topic()
    }

    /// Clears documents announced by an earlier run for sensors no longer configured.
    pub async fn remove_departed(&mut self, sensors: &[SensorSettings], broker: &BrokerHandle) {
        for (name, topic) in self.memory.recall() {
            if sensors.iter().any(|s| s.name == name) {
                self.announced.insert((name, topic));
            } else {
                debug!("Home Assistant entity of a departed sensor will be removed sensor={name} topic={topic}");
                self.departed.push(topic);
            }
        }
        self.clear_departed(broker).await;
        self.remember();
    }

    /// Publishes the empty documents that make Home Assistant drop departed sensors' entities.
    pub async fn clear_departed(&self, broker: &BrokerHandle) {
        clear_documents(broker, &self.departed).await;
    }

    /// Announces a sensor's entities: one per quantity it reports, or one for an input.
    pub async fn announce(
        &mut self,
        sensor: &SensorSettings,
        quantities: &[Quantity],
        broker: &BrokerHandle,
    ) {
        for (topic, doc) in self.documents(sensor, quantities) {
            if publish_document(broker, &topic, &doc.to_string()).await {
                self.announced.insert((sensor.name.clone(), topic));
            }
        }
        self.remember();
    }

    fn remember(&mut self) {
        let announced = self
            .announced
            .iter()
            .map(|(name, topic)| (name.as_str(), topic.as_str()));
        self.memory.record(announced);
    }

    pub fn documents(&self, s: &SensorSettings, quantities: &[Quantity]) -> Vec<(String, Value)> {
        let object = id_safe(&s.name);
        let availability = self.node.availability(Some(status_topic(&s.topic)));
        let device = self.node.device(&object, &s.name, model(&s.device));
        if let Device::GpioInput(g) = &s.device {
            let (class, on, off) = match g.payload {
                InputPayload::OnOff => ("motion", "ON", "OFF"),
                InputPayload::OpenClosed => ("door", "open", "closed"),
            };
            let doc = json!({
                "name": null,
                "unique_id": self.node.unique_id(&object),
                "state_topic": input_state_topic(&s.topic),
                "payload_on": on,
                "payload_off": off,
                "device_class": class,
                "availability": availability,
                "availability_mode": "all",
                "device": device,
            });
            return vec![(self.node.config_topic("binary_sensor", &object), doc)];
        }
        quantities
            .iter()
            .map(|&q| {
                let entity = format!("{object}_{}", q.topic_suffix());
                let mut doc = json!({
                    "name": title(q),
                    "unique_id": self.node.unique_id(&entity),
                    "state_topic": reading_topic(&s.topic, q),
                    "unit_of_measurement": q.unit(),
                    "device_class": device_class(q),
                    "state_class": "measurement",
                    "suggested_display_precision": s.publish.decimals.unwrap_or_else(|| q.default_decimals()),
                    "availability": availability,
                    "availability_mode": "all",
                    "device": device,
                });
                if s.publish.format == Format::Json {
                    doc["value_template"] = json!("{{ value_json.value }}");
                }
                (self.node.config_topic("sensor", &entity), doc)
            })
            .collect()
    }
}

fn device_class(q: Quantity) -> &'static str {
    match q {
        Quantity::Temperature => "temperature",
        Quantity::Humidity => "humidity",
        Quantity::Pressure => "pressure",
        Quantity::Co2 => "carbon_dioxide",
    }
}

fn title(q: Quantity) -> &'static str {
    match q {
        Quantity::Temperature => "Temperature",
        Quantity::Humidity => "Humidity",
        Quantity::Pressure => "Pressure",
        Quantity::Co2 => "CO2",
    }
}

fn model(d: &Device) -> &'static str {
    match d {
        Device::Bme280 { .. } => "BME280",
        Device::Scd4x { .. } => "SCD4x",
        Device::Ds18b20 { .. } => "DS18B20",
        Device::GpioInput(_) => "GPIO input",
    }
}
