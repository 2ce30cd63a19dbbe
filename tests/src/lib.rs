//! Harness for the end-to-end tests: the real gateway on 127.0.0.1, driven by real clients.
//!
//! `start_broker` launches the broker under test; `RawClient` speaks the wire
//! protocol byte for byte; `MqttClient` wraps a real client library.

// Test code: a broken expectation should panic with its message, failing the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broker;
mod client;
pub mod decode;
pub mod encode;
mod raw;

use std::time::Duration;

pub use broker::{
    start_broker, start_gateway, start_gateway_with_state, BrokerOptions, TestBroker, GATEWAY_NAME,
    GATEWAY_STATUS_TOPIC,
};
pub use client::{mqtt_options, MqttClient};
pub use decode::{payloads, Packet, Publish};
pub use encode::{Connect, Will};
pub use raw::RawClient;
pub use rumqttc::QoS;

/// Upper bound for anything the broker is expected to send or do.
pub const WAIT: Duration = Duration::from_secs(5);

/// How long to listen for "nothing more arrives" after the expected traffic.
pub const QUIET: Duration = Duration::from_millis(300);
