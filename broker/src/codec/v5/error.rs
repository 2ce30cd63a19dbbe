//! Reasons a byte stream is not a valid MQTT 5.0 packet, and the Reason Code each is
//! answered with (4.13).

use super::header::PacketType;
use super::property::{Property, PropertyScope};
use super::reason::{ConnackReason, DisconnectReason};
use super::types::Sender;

/// A Malformed Packet, a Protocol Error or a packet too large, found while decoding.
///
/// The connection is closed after each (4.13.1): for an error in CONNECT a CONNACK with
/// [`DecodeError::connack_reason`] may be sent first, for any later packet a DISCONNECT with
/// [`DecodeError::disconnect_reason`] (MQTT-3.14.0-1 forbids a DISCONNECT before CONNACK).
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    // Fixed header (2.1).
    #[error("reserved packet type {0} (2.1.2)")]
    ReservedPacketType(u8),
    #[error("{packet} fixed header flags are {flags:#06b}, must be {expected:#06b} (2.1.3)")]
    InvalidFixedHeaderFlags {
        packet: PacketType,
        flags: u8,
        expected: u8,
    },
    #[error("PUBLISH QoS is 3 (MQTT-3.3.1-4)")]
    InvalidPublishQos,
    #[error("PUBLISH DUP flag is set with QoS 0 (MQTT-3.3.1-2)")]
    DupWithQos0,
    #[error("a {sender} may not send {packet} (Table 2-1)")]
    WrongDirection { packet: PacketType, sender: Sender },
    #[error("{packet} {field} is not a valid variable byte integer: longer than 4 bytes or not in its shortest form (1.5.5, MQTT-1.5.5-1)")]
    MalformedVariableByteInteger {
        packet: PacketType,
        field: &'static str,
    },
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge { size: usize, max: usize },
    #[error("{packet} remaining length is {actual}, must be {expected}")]
    InvalidRemainingLength {
        packet: PacketType,
        expected: usize,
        actual: usize,
    },

    // Lengths disagreeing with the fields.
    #[error("{packet} ends inside its {field} (remaining length too short)")]
    UnexpectedEnd {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet} has {count} bytes after its last field (remaining length too long)")]
    TrailingBytes { packet: PacketType, count: usize },
    #[error("{scope} property length is {length}, but only {available} bytes of the packet are left (2.2.2.1)")]
    PropertyLengthOverrun {
        scope: PropertyScope,
        length: usize,
        available: usize,
    },
    #[error("{scope} properties end inside {field} (property length too short, 2.2.2.1)")]
    PropertiesEndEarly {
        scope: PropertyScope,
        field: &'static str,
    },

    // Strings (1.5.4) and Topic Names (4.7).
    #[error("{packet} {field} is not valid UTF-8 (MQTT-1.5.4-1)")]
    InvalidUtf8 {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet} {field} contains U+0000 (MQTT-1.5.4-2)")]
    NullCharacter {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet} {field} is empty (MQTT-4.7.3-1)")]
    EmptyTopicName {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet} {field} contains wildcard '{wildcard}' (MQTT-4.7.0-1)")]
    WildcardInTopicName {
        packet: PacketType,
        field: &'static str,
        wildcard: char,
    },

    // Properties (2.2.2).
    #[error("{scope} properties contain identifier {id:#04x}, which is not a property (2.2.2.2)")]
    UnknownProperty { scope: PropertyScope, id: u32 },
    #[error("{scope} properties may not contain {property} (Table 2-4)")]
    PropertyNotAllowed {
        scope: PropertyScope,
        property: Property,
    },
    #[error("{scope} properties contain {property} more than once (a Protocol Error, 2.2.2.2)")]
    DuplicateProperty {
        scope: PropertyScope,
        property: Property,
    },
    #[error("{scope} {property} is {value}, must be {expected}")]
    InvalidPropertyValue {
        scope: PropertyScope,
        property: Property,
        value: u32,
        expected: &'static str,
    },
    #[error("{scope} has Authentication Data without an Authentication Method (3.1.2.11.10)")]
    AuthenticationDataWithoutMethod { scope: PropertyScope },
    #[error("AUTH has properties but no Authentication Method (3.15.2.2.2)")]
    MissingAuthenticationMethod,

    // Reason Codes (2.4).
    #[error("{packet} reason code {code:#04x} is not one of its reason codes (2.4)")]
    InvalidReasonCode { packet: PacketType, code: u8 },
    #[error("{packet} reason code {code:#04x} may not be sent by a {sender} (3.14.2.1, 3.15.2.1)")]
    ReasonCodeNotForSender {
        packet: PacketType,
        code: u8,
        sender: Sender,
    },

    // CONNECT.
    #[error("CONNECT protocol name {0:?} is not \"MQTT\" (MQTT-3.1.2-1)")]
    InvalidProtocolName(String),
    #[error("CONNECT protocol version {0} is not 5 (MQTT-3.1.2-2)")]
    UnsupportedProtocolVersion(u8),
    #[error("CONNECT reserved flag (bit 0) is set (MQTT-3.1.2-3)")]
    ConnectReservedFlag,
    #[error("CONNECT will QoS is {0} but the will flag is 0 (MQTT-3.1.2-11)")]
    WillQosWithoutWill(u8),
    #[error("CONNECT will retain is set but the will flag is 0 (MQTT-3.1.2-13)")]
    WillRetainWithoutWill,
    #[error("CONNECT will QoS is 3 (3.1.2.6)")]
    InvalidWillQos,

    // CONNACK.
    #[error("CONNACK acknowledge flags {0:#04x} have reserved bits set (MQTT-3.2.2-1)")]
    ConnackReservedFlags(u8),
    #[error("CONNACK has session present set with reason code {0:#04x} (MQTT-3.2.2-6)")]
    SessionPresentWithRefusal(u8),

    // PUBLISH.
    #[error("PUBLISH topic name is empty and there is no Topic Alias (3.3.2.3.4)")]
    EmptyTopicWithoutAlias,
    #[error("PUBLISH from a client contains a Subscription Identifier (MQTT-3.3.4-6)")]
    SubscriptionIdentifierFromClient,

    // Packet identifiers.
    #[error("{packet} packet identifier is 0 (MQTT-2.2.1-3)")]
    ZeroPacketId { packet: PacketType },

    // SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK.
    #[error("SUBSCRIBE contains no topic filters (MQTT-3.8.3-2)")]
    EmptySubscribe,
    #[error(
        "SUBSCRIBE subscription options {0:#04x} have reserved bits 6 and 7 set (MQTT-3.8.3-5)"
    )]
    SubscribeReservedBits(u8),
    #[error("SUBSCRIBE maximum QoS is 3 (3.8.3.1)")]
    InvalidSubscribeQos,
    #[error("SUBSCRIBE retain handling is 3 (3.8.3.1)")]
    InvalidRetainHandling,
    #[error("SUBSCRIBE sets No Local on shared subscription {0:?} (MQTT-3.8.3-4)")]
    NoLocalOnSharedSubscription(String),
    #[error("SUBACK contains no reason codes (MQTT-3.8.4-6)")]
    EmptySuback,
    #[error("UNSUBSCRIBE contains no topic filters (MQTT-3.10.3-2)")]
    EmptyUnsubscribe,
    #[error("UNSUBACK contains no reason codes (MQTT-3.11.3-1)")]
    EmptyUnsuback,

    // DISCONNECT.
    #[error("DISCONNECT from the server contains a Session Expiry Interval (MQTT-3.14.2-2)")]
    SessionExpiryFromServer,
}

impl DecodeError {
    /// The Reason Code of the CONNACK a server may send before closing, when the error is
    /// in the CONNECT (4.13.1, MQTT-3.1.2-1, MQTT-3.1.2-2).
    pub fn connack_reason(&self) -> ConnackReason {
        use DecodeError as E;
        match self {
            E::PacketTooLarge { .. } => ConnackReason::PacketTooLarge,
            E::InvalidProtocolName(_) | E::UnsupportedProtocolVersion(_) => {
                ConnackReason::UnsupportedProtocolVersion
            }
            _ if self.is_protocol_error() => ConnackReason::ProtocolError,
            _ => ConnackReason::MalformedPacket,
        }
    }

    /// The Reason Code of the DISCONNECT to send before closing, when the error is in a
    /// packet after the CONNECT (4.13.1).
    pub fn disconnect_reason(&self) -> DisconnectReason {
        // Topic Alias 0 is a value the receiver cannot map to a topic: the specification's
        // own code for that is Topic Alias invalid (3.3.2.3.4, MQTT-3.3.2-8, Table 3-10),
        // which only DISCONNECT has; CONNACK stays a plain Protocol Error.
        if let DecodeError::InvalidPropertyValue {
            property: Property::TopicAlias,
            ..
        } = self
        {
            return DisconnectReason::TopicAliasInvalid;
        }
        match self.connack_reason() {
            ConnackReason::PacketTooLarge => DisconnectReason::PacketTooLarge,
            ConnackReason::MalformedPacket => DisconnectReason::MalformedPacket,
            _ => DisconnectReason::ProtocolError,
        }
    }

    /// The packet type the error is about, where the error knows it.
    pub fn packet(&self) -> Option<PacketType> {
        use DecodeError as E;
        Some(match self {
            E::InvalidFixedHeaderFlags { packet, .. }
            | E::WrongDirection { packet, .. }
            | E::MalformedVariableByteInteger { packet, .. }
            | E::InvalidRemainingLength { packet, .. }
            | E::UnexpectedEnd { packet, .. }
            | E::TrailingBytes { packet, .. }
            | E::InvalidUtf8 { packet, .. }
            | E::NullCharacter { packet, .. }
            | E::EmptyTopicName { packet, .. }
            | E::WildcardInTopicName { packet, .. }
            | E::InvalidReasonCode { packet, .. }
            | E::ReasonCodeNotForSender { packet, .. }
            | E::ZeroPacketId { packet } => *packet,
            E::PropertyLengthOverrun { scope, .. }
            | E::PropertiesEndEarly { scope, .. }
            | E::UnknownProperty { scope, .. }
            | E::PropertyNotAllowed { scope, .. }
            | E::DuplicateProperty { scope, .. }
            | E::InvalidPropertyValue { scope, .. }
            | E::AuthenticationDataWithoutMethod { scope } => scope.packet(),
            E::InvalidProtocolName(_)
            | E::UnsupportedProtocolVersion(_)
            | E::ConnectReservedFlag
            | E::WillQosWithoutWill(_)
            | E::WillRetainWithoutWill
            | E::InvalidWillQos => PacketType::Connect,
            E::ConnackReservedFlags(_) | E::SessionPresentWithRefusal(_) => PacketType::Connack,
            E::InvalidPublishQos
            | E::DupWithQos0
            | E::EmptyTopicWithoutAlias
            | E::SubscriptionIdentifierFromClient => PacketType::Publish,
            E::EmptySubscribe
            | E::SubscribeReservedBits(_)
            | E::InvalidSubscribeQos
            | E::InvalidRetainHandling
            | E::NoLocalOnSharedSubscription(_) => PacketType::Subscribe,
            E::EmptySuback => PacketType::Suback,
            E::EmptyUnsubscribe => PacketType::Unsubscribe,
            E::EmptyUnsuback => PacketType::Unsuback,
            E::SessionExpiryFromServer => PacketType::Disconnect,
            E::MissingAuthenticationMethod => PacketType::Auth,
            E::ReservedPacketType(_) | E::PacketTooLarge { .. } => return None,
        })
    }

    /// The specification's two kinds (1.2): a Malformed Packet "cannot be parsed according
    /// to this specification"; a Protocol Error is "detected after the packet has been
    /// parsed", where its data is not allowed. Where a section names the kind, it is used.
    fn is_protocol_error(&self) -> bool {
        use DecodeError as E;
        matches!(
            self,
            E::WrongDirection { .. }
                | E::DuplicateProperty { .. }
                | E::InvalidPropertyValue { .. }
                | E::AuthenticationDataWithoutMethod { .. }
                | E::MissingAuthenticationMethod
                | E::InvalidReasonCode { .. }
                | E::ReasonCodeNotForSender { .. }
                | E::SessionPresentWithRefusal(_)
                | E::EmptyTopicWithoutAlias
                | E::SubscriptionIdentifierFromClient
                | E::ZeroPacketId { .. }
                | E::EmptySubscribe
                | E::InvalidSubscribeQos
                | E::InvalidRetainHandling
                | E::NoLocalOnSharedSubscription(_)
                | E::EmptySuback
                | E::EmptyUnsubscribe
                | E::EmptyUnsuback
                | E::SessionExpiryFromServer
        )
    }
}
