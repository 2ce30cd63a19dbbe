//! The protocol a connection speaks, and the translation between its packets and the
//! broker's own.
//!
//! The router works in MQTT 5.0's terms, the superset: reason codes, properties, session
//! expiry. An MQTT 5.0 connection hands it what it decoded as it is; an MQTT 3.1 or 3.1.1
//! connection's packets are translated on the way in ([`from_v3`]) and the router's answers
//! on the way out ([`to_v3`]), so a 3.1.1 client sees exactly what it saw before 5.0 came.

mod from_v3;
mod publish;
mod to_v3;

pub(crate) use from_v3::{connect_from_v3, packet_from_v3};
pub(crate) use publish::{encode_publish_v5, publish_len_v5};
pub(crate) use to_v3::packet_to_v3;

use crate::codec::v5::{Connack, ConnackProperties, ConnackReason, Packet};
use crate::codec::Protocol;

/// The protocol revision a client connected with; replies follow its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Version {
    /// MQTT 3.1, protocol name `MQIsdp`.
    V31,
    V311,
    V5,
}

impl Version {
    pub(crate) fn is_v5(self) -> bool {
        self == Version::V5
    }
}

impl From<Protocol> for Version {
    fn from(protocol: Protocol) -> Self {
        match protocol {
            Protocol::V31 => Version::V31,
            Protocol::V311 => Version::V311,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V31 => "3.1",
            Version::V311 => "3.1.1",
            Version::V5 => "5.0",
        })
    }
}

/// The CONNACK that refuses a connection with `reason`, saying why in its Reason String (none
/// if `why` is empty); a 3.1.1 client gets its return code from [`packet_to_v3`].
pub(crate) fn refusing_connack(reason: ConnackReason, why: &str) -> Packet {
    Packet::Connack(Connack {
        session_present: false,
        reason,
        properties: ConnackProperties {
            reason_string: (!why.is_empty()).then(|| why.to_string()),
            ..ConnackProperties::default()
        },
    })
}
