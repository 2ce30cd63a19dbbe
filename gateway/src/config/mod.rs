//! Configuration: read a TOML file into typed settings, reporting every problem at once.
//!
//! Reading is pure (no device or socket is touched), so `hearth check` and `hearth run` share it
//! and nothing starts when a file has errors.

mod broker;
mod error;
mod gateway;
mod reader;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors};
pub use gateway::GatewaySettings;

use crate::broker::BrokerSettings;
use error::ErrorSink;
use reader::TableReader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub gateway: GatewaySettings,
    pub broker: BrokerSettings,
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
        let mut root = TableReader::new(doc.get_ref(), "");
        let gateway_table = root.table(&mut errs, "gateway");
        let gateway = gateway::read(gateway_table, &mut errs);
        let broker_table = root.table(&mut errs, "broker");
        let broker = broker::read(broker_table, &mut errs);
        root.finish(&mut errs);
        if errs.is_empty() {
            Ok(Config { gateway, broker })
        } else {
            Err(errs.into_errors(source_name))
        }
    }
}

#[cfg(test)]
mod tests;
