//! Home Assistant MQTT discovery: retained `<prefix>/<component>/<node>/<object>/config`
//! documents, so sensors appear in Home Assistant (and apps that read discovery) by themselves,
//! and disappear when they leave the configuration.

use std::collections::BTreeSet;
use std::path::PathBuf;

use drivers::{InputPayload, Quantity};
use log::{debug, warn};
use serde_json::{json, Value};

use super::publisher::{input_state_topic, reading_topic, status_topic};
use super::settings::{Device, Format, SensorSettings};
use crate::broker::{BrokerHandle, QoS};
use crate::config::DiscoverySettings;

/// Remembers which documents were announced, across restarts, in this file of the state dir.
const MEMORY_FILE: &str = "discovery-topics";

pub struct Discovery {
    prefix: String,
    node_id: String,
    gateway_status: String,
    memory: Option<PathBuf>,
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
            prefix: settings.prefix.clone(),
            node_id: format!("hearth_{}", id_safe(gateway_name)),
            gateway_status: crate::status::status_topic(gateway_name),
            memory: state_dir.map(|d| d.join(MEMORY_FILE)),
            announced: BTreeSet::new(),
            departed: Vec::new(),
        }
    }

    /// Home Assistant's birth topic: it publishes `online` there whenever it (re)connects.
    pub fn birth_topic(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// Clears documents announced by an earlier run for sensors no longer configured.
    pub async fn remove_departed(&mut self, sensors: &[SensorSettings], broker: &BrokerHandle) {
        if let Some(path) = &self.memory {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            for line in text.lines() {
                let Some((name, topic)) = line.split_once('\t') else {
                    continue;
                };
                if sensors.iter().any(|s| s.name == name) {
                    self.announced.insert((name.to_string(), topic.to_string()));
                } else {
                    debug!("Home Assistant entity of a departed sensor will be removed sensor={name} topic={topic}");
                    self.departed.push(topic.to_string());
                }
            }
        }
        self.clear_departed(broker).await;
        self.remember();
    }

    /// Publishes the empty documents that make Home Assistant drop departed sensors' entities.
    pub async fn clear_departed(&self, broker: &BrokerHandle) {
        for topic in &self.departed {
            if let Err(e) = broker
                .publish(topic, Vec::new(), QoS::AtLeastOnce, true)
                .await
            {
                warn!("cannot remove discovery document topic={topic}: {e}");
            }
        }
    }

    /// Announces a sensor's entities: one per quantity it reports, or one for an input.
    pub async fn announce(
        &mut self,
        sensor: &SensorSettings,
        quantities: &[Quantity],
        broker: &BrokerHandle,
    ) {
        for (topic, doc) in self.documents(sensor, quantities) {
            if let Err(e) = broker
                .publish(&topic, doc.to_string(), QoS::AtLeastOnce, true)
                .await
            {
                warn!("cannot publish discovery document topic={topic}: {e}");
                continue;
            }
            self.announced.insert((sensor.name.clone(), topic));
        }
        self.remember();
    }

    fn remember(&mut self) {
        let Some(path) = &self.memory else { return };
        let text: String = self
            .announced
            .iter()
            .map(|(name, topic)| format!("{name}\t{topic}\n"))
            .collect();
        let written = match path.parent() {
            Some(dir) => std::fs::create_dir_all(dir).and_then(|()| std::fs::write(path, text)),
            None => std::fs::write(path, text),
        };
        if let Err(e) = written {
            warn!(
                "cannot record announced Home Assistant entities in {}: {e}; entities of removed sensors may linger",
                path.display()
            );
            // Said once; the gateway carries on without the memory.
            self.memory = None;
        }
    }

    pub fn documents(&self, s: &SensorSettings, quantities: &[Quantity]) -> Vec<(String, Value)> {
        let object = id_safe(&s.name);
        let availability = json!([
            { "topic": status_topic(&s.topic) },
            { "topic": self.gateway_status },
        ]);
        let device = json!({
            "identifiers": [format!("{}_{object}", self.node_id)],
            "name": s.name,
            "model": model(&s.device),
            "via_device": self.node_id,
        });
        if let Device::GpioInput(g) = &s.device {
            let (class, on, off) = match g.payload {
                InputPayload::OnOff => ("motion", "ON", "OFF"),
                InputPayload::OpenClosed => ("door", "open", "closed"),
            };
            let doc = json!({
                "name": null,
                "unique_id": format!("{}_{object}", self.node_id),
                "state_topic": input_state_topic(&s.topic),
                "payload_on": on,
                "payload_off": off,
                "device_class": class,
                "availability": availability,
                "availability_mode": "all",
                "device": device,
            });
            let topic = format!(
                "{}/binary_sensor/{}/{object}/config",
                self.prefix, self.node_id
            );
            return vec![(topic, doc)];
        }
        quantities
            .iter()
            .map(|&q| {
                let mut doc = json!({
                    "name": title(q),
                    "unique_id": format!("{}_{object}_{}", self.node_id, q.topic_suffix()),
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
                let topic = format!(
                    "{}/sensor/{}/{object}_{}/config",
                    self.prefix,
                    self.node_id,
                    q.topic_suffix()
                );
                (topic, doc)
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

/// Home Assistant ids allow letters, digits, `_` and `-`.
fn id_safe(s: &str) -> String {
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
