//! Reasons a byte stream is not a valid MQTT 3.1 / 3.1.1 packet.

use super::header::PacketType;
use super::types::ConnectReturnCode;

/// A protocol violation found while decoding.
///
/// Every variant except [`DecodeError::UnsupportedProtocolLevel`] means the
/// broker closes the connection without answering (MQTT-4.8.0-1); see
/// [`DecodeError::connack_code`].
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    // Fixed header.
    #[error("reserved packet type {0} (2.2.1)")]
    ReservedPacketType(u8),
    #[error("{packet} fixed header flags are {flags:#06b}, must be {expected:#06b} (MQTT-2.2.2-1, MQTT-2.2.2-2)")]
    InvalidFixedHeaderFlags {
        packet: PacketType,
        flags: u8,
        expected: u8,
    },
    #[error("remaining length is encoded in more than 4 bytes (2.2.3)")]
    MalformedRemainingLength,
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge { size: usize, max: usize },
    #[error("{packet} remaining length is {actual}, must be {expected}")]
    InvalidRemainingLength {
        packet: PacketType,
        expected: usize,
        actual: usize,
    },

    // Remaining length disagreeing with the fields.
    #[error("{packet} ends inside its {field} (remaining length too short)")]
    UnexpectedEnd {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet} has {count} bytes after its last field (remaining length too long)")]
    TrailingBytes { packet: PacketType, count: usize },

    // Strings (1.5.3).
    #[error("{packet} {field} is not valid UTF-8 (MQTT-1.5.3-1)")]
    InvalidUtf8 {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet} {field} contains U+0000 (MQTT-1.5.3-2)")]
    NullCharacter {
        packet: PacketType,
        field: &'static str,
    },

    // Topic names (4.7).
    #[error("{packet} {field} is empty (MQTT-4.7.3-1)")]
    EmptyTopicName {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet} {field} contains wildcard '{wildcard}' (MQTT-3.3.2-2, MQTT-4.7.1-1)")]
    WildcardInTopicName {
        packet: PacketType,
        field: &'static str,
        wildcard: char,
    },

    // CONNECT.
    #[error("CONNECT protocol name {0:?} is neither \"MQTT\" nor \"MQIsdp\" (MQTT-3.1.2-1)")]
    InvalidProtocolName(String),
    #[error("CONNECT protocol level {0} is not supported for its protocol name (MQTT-3.1.2-2)")]
    UnsupportedProtocolLevel(u8),
    #[error("CONNECT reserved flag (bit 0) is set (MQTT-3.1.2-3)")]
    ConnectReservedFlag,
    #[error("CONNECT will QoS is {0} but the will flag is 0 (MQTT-3.1.2-11, MQTT-3.1.2-13)")]
    WillQosWithoutWill(u8),
    #[error("CONNECT will retain is set but the will flag is 0 (MQTT-3.1.2-11, MQTT-3.1.2-15)")]
    WillRetainWithoutWill,
    #[error("CONNECT will QoS is 3 (MQTT-3.1.2-14)")]
    InvalidWillQos,
    #[error("CONNECT password flag is set without the user name flag (MQTT-3.1.2-22)")]
    PasswordWithoutUsername,

    // CONNACK.
    #[error("CONNACK acknowledge flags {0:#04x} have reserved bits set (3.2.2.1)")]
    ConnackReservedFlags(u8),
    #[error("CONNACK return code {0} is reserved (3.2.2.3)")]
    InvalidConnectReturnCode(u8),
    #[error("CONNACK has session present set with non-zero return code {0} (MQTT-3.2.2-4)")]
    SessionPresentWithRefusal(u8),

    // PUBLISH.
    #[error("PUBLISH QoS is 3 (MQTT-3.3.1-4)")]
    InvalidPublishQos,
    #[error("PUBLISH DUP flag is set with QoS 0 (MQTT-3.3.1-2)")]
    DupWithQos0,

    // Packet identifiers.
    #[error("{packet} packet identifier is 0 (MQTT-2.3.1-1)")]
    ZeroPacketId { packet: PacketType },

    // SUBSCRIBE / SUBACK / UNSUBSCRIBE.
    #[error("SUBSCRIBE contains no topic filters (MQTT-3.8.3-3)")]
    EmptySubscribe,
    #[error("SUBSCRIBE requested QoS byte {0:#04x} has reserved bits set (MQTT-3.8.3-4)")]
    SubscribeReservedBits(u8),
    #[error("SUBSCRIBE requested QoS is 3 (MQTT-3.8.3-4)")]
    InvalidRequestedQos,
    #[error("SUBACK contains no return codes (MQTT-3.8.4-5)")]
    EmptySuback,
    #[error("SUBACK return code {0:#04x} is reserved (MQTT-3.9.3-2)")]
    InvalidSubackCode(u8),
    #[error("UNSUBSCRIBE contains no topic filters (MQTT-3.10.3-2)")]
    EmptyUnsubscribe,
}

impl DecodeError {
    /// The CONNACK code to send before closing, if the spec asks for one.
    ///
    /// Only an unsupported protocol level is answered (MQTT-3.1.2-2); every
    /// other violation closes the connection silently.
    pub fn connack_code(&self) -> Option<ConnectReturnCode> {
        match self {
            DecodeError::UnsupportedProtocolLevel(_) => {
                Some(ConnectReturnCode::UnacceptableProtocolVersion)
            }
            _ => None,
        }
    }
}
