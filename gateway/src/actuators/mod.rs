//! Outputs the gateway switches: relays on GPIO pins, commanded over MQTT and by rules.

pub mod settings;
