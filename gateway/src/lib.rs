//! Hearth turns a Raspberry Pi into a home-automation sensor gateway: one process hosting the
//! home's MQTT broker, reading sensors and switching things by rules.
//!
//! `main.rs` is the command line; [`daemon`] wires the parts together.

pub mod actuators;
pub mod automation;
pub mod config;
pub mod daemon;
pub mod dry_run;
pub mod fd_limit;
pub mod homeassistant;
pub mod hw;
pub mod logging;
pub mod passwd;
pub mod sensors;
pub mod state_dir;
pub mod status;
pub mod systemd;
