//! Harness for the end-to-end tests: the real gateway on 127.0.0.1, driven by real clients.
//!
//! `start_broker` launches the broker under test; `RawClient` (MQTT 3.1.1) and `Raw5Client`
//! (MQTT 5.0) speak the wire protocol byte for byte; `MqttClient` wraps a real client library.
//!
//! Tests wait for events, never for time: every wait is bounded by [`WAIT`] and ends as soon
//! as what it waits for arrives. That something did *not* arrive is asserted with a marker
//! (`expect_nothing_before_marker` and friends): a message that reaches the client after
//! anything the case could have caused, so whatever should not have come would have come
//! before it.

// Test code: a broken expectation should panic with its message, failing the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broker;
mod client;
pub mod decode;
pub mod encode;
pub mod inbox;
mod local;
pub mod marker;
pub mod node;
pub mod pki;
mod raw;
pub mod raw5;
mod raw_link;
pub mod tls;
mod users;
pub mod ws;

use std::time::Duration;

pub use broker::{
    start_broker, start_gateway, start_gateway_with_state, BrokerOptions, TestBroker, GATEWAY_NAME,
    GATEWAY_STATUS_TOPIC,
};
pub use client::{client, mqtt_options, text, tls_options, ws_options, wss_options, MqttClient};
pub use decode::{payloads, Packet, Publish};
pub use encode::{Connect, Will};
pub use local::{expect_nothing_before_local, next_local};
pub use node::{node, WS_LISTENER};
pub use pki::{Pki, TempDir};
pub use raw::RawClient;
pub use raw5::Raw5Client;
pub use raw_link::Io;
pub use rumqttc::QoS;
pub use users::Users;

/// Upper bound for anything the broker or gateway is expected to send or do. Waits end as soon
/// as the event comes, so this costs nothing when all is well; it is generous so that a
/// machine whose cores are all busy still gets there.
pub const WAIT: Duration = Duration::from_secs(30);
