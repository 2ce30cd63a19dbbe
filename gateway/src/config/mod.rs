//! Configuration: read a TOML file into typed settings, reporting every problem at once.
//!
//! Reading is pure (no device or socket is touched), so `hearth check` and `hearth run` share it
//! and nothing starts when a file has errors.

mod acl;
mod actuator;
mod broker;
mod error;
mod gateway;
mod listener;
mod pin;
mod reader;
mod rule;
mod sensor;
mod unique;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors};
pub use gateway::GatewaySettings;
pub use rule::RuleOptions;

use crate::actuators::settings::ActuatorSettings;
use crate::sensors::settings::SensorSettings;
use ::broker::BrokerSettings;
/// Also for messages that quote an MQTT payload, which can be as large as a packet.
pub(crate) use error::excerpt;
use error::ErrorSink;
use reader::TableReader;
use rules::spec::RuleSpec;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub gateway: GatewaySettings,
    pub broker: BrokerSettings,
    pub sensors: Vec<SensorSettings>,
    pub actuators: Vec<ActuatorSettings>,
    pub rules: Vec<RuleSpec>,
    pub rule_options: RuleOptions,
    pub discovery: DiscoverySettings,
}

/// Home Assistant MQTT discovery (`[homeassistant]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverySettings {
    pub enabled: bool,
    /// Home Assistant's discovery prefix (its default is `homeassistant`).
    pub prefix: String,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: "homeassistant".to_string(),
        }
    }
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, &name),
            Err(e) => Err(ConfigErrors {
                source_name: name,
                errors: vec![ConfigError {
                    path: String::new(),
                    line: 0,
                    message: format!("cannot read the configuration file: {e}"),
                }],
            }),
        }
    }

    /// Checks `text`; `source_name` (usually the path) prefixes the error report.
    pub fn parse(text: &str, source_name: &str) -> Result<Config, ConfigErrors> {
        let mut errs = ErrorSink::new(text);
        let doc = match toml::de::DeTable::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                errs.report("", span, format!("not valid TOML: {}", e.message()));
                return Err(errs.into_errors(source_name));
            }
        };
        let mut root = TableReader::new(doc.get_ref(), "", 0..0);
        let gateway_table = root.table(&mut errs, "gateway");
        let gateway = gateway::read(gateway_table, &mut errs);
        let broker_table = root.table(&mut errs, "broker");
        let (broker, persistence) = broker::read(broker_table, &mut errs);
        let sensor_tables = root.array_of_tables(&mut errs, "sensor");
        let sensors = sensor::read_all(sensor_tables, &mut errs);
        // Actuators before rules: rule actions name actuators.
        let actuator_tables = root.array_of_tables(&mut errs, "actuator");
        let actuators = actuator::read_all(actuator_tables, &sensors, &mut errs);
        let rule_tables = root.array_of_tables(&mut errs, "rule");
        let rules = rule::read_all(rule_tables, &actuators.names, &mut errs);
        let options_table = root.table(&mut errs, "rules");
        let rule_options = rule::read_options(options_table, &mut errs);
        let discovery_table = root.table(&mut errs, "homeassistant");
        let discovery = read_discovery(discovery_table, &mut errs);
        root.finish(&mut errs);
        if errs.is_empty() {
            let mut broker = broker;
            broker.persistence = persistence.in_dir(gateway.state_dir.as_deref());
            broker.protected_topics = gateway_topics(&gateway, &actuators.settings, &discovery);
            if sensors.iter().any(|s| s.device.is_simulated()) {
                broker.open_topics =
                    vec![crate::sensors::sim_control::command_filter(&gateway.name)];
            }
            Ok(Config {
                gateway,
                broker,
                sensors,
                actuators: actuators.settings,
                rules,
                rule_options,
                discovery,
            })
        } else {
            Err(errs.into_errors(source_name))
        }
    }
}

/// The topics only the gateway publishes: its status and explanations, its relays' states and
/// its Home Assistant discovery documents. Network clients may not write them unless an
/// access rule names them, so none of them can be spoofed.
fn gateway_topics(
    gateway: &GatewaySettings,
    actuators: &[ActuatorSettings],
    discovery: &DiscoverySettings,
) -> Vec<String> {
    let mut topics = vec![format!("hearth/{}/#", gateway.name)];
    topics.extend(actuators.iter().map(|a| format!("{}/state", a.topic)));
    if discovery.enabled {
        let id = crate::homeassistant::id_safe(&gateway.name);
        topics.push(format!("{}/+/hearth_{id}/#", discovery.prefix));
        topics.push(format!(
            "{}/binary_sensor/hearth/{id}/config",
            discovery.prefix
        ));
    }
    topics
}

fn read_discovery(table: Option<TableReader>, errs: &mut ErrorSink) -> DiscoverySettings {
    let mut d = DiscoverySettings::default();
    let Some(mut t) = table else { return d };
    if let Some(on) = t.boolean(errs, "discovery") {
        d.enabled = on;
    }
    if let Some((prefix, span)) = t.string(errs, "prefix") {
        match ::broker::topic::validate_topic_name(prefix) {
            Ok(()) => d.prefix = prefix.to_string(),
            Err(e) => errs.report(
                &t.key_path("prefix"),
                span,
                format!("\"{}\": {e}", excerpt(prefix)),
            ),
        }
    }
    t.finish(errs);
    d
}

#[cfg(test)]
mod tests;
