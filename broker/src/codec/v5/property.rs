//! Properties (2.2.2): identifiers, reading them one at a time with the rules every packet
//! shares, and writing them.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::DecodeError;
use super::header::PacketType;
use super::reader::Reader;
use super::varint;

/// Property identifier (2.2.2.2, Table 2-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Property {
    PayloadFormatIndicator = 0x01,
    MessageExpiryInterval = 0x02,
    ContentType = 0x03,
    ResponseTopic = 0x08,
    CorrelationData = 0x09,
    SubscriptionIdentifier = 0x0b,
    SessionExpiryInterval = 0x11,
    AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13,
    AuthenticationMethod = 0x15,
    AuthenticationData = 0x16,
    RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18,
    RequestResponseInformation = 0x19,
    ResponseInformation = 0x1a,
    ServerReference = 0x1c,
    ReasonString = 0x1f,
    ReceiveMaximum = 0x21,
    TopicAliasMaximum = 0x22,
    TopicAlias = 0x23,
    MaximumQos = 0x24,
    RetainAvailable = 0x25,
    UserProperty = 0x26,
    MaximumPacketSize = 0x27,
    WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29,
    SharedSubscriptionAvailable = 0x2a,
}

impl Property {
    /// `None` for identifiers Table 2-4 does not define.
    pub fn from_id(id: u32) -> Option<Property> {
        use Property as P;
        Some(match id {
            0x01 => P::PayloadFormatIndicator,
            0x02 => P::MessageExpiryInterval,
            0x03 => P::ContentType,
            0x08 => P::ResponseTopic,
            0x09 => P::CorrelationData,
            0x0b => P::SubscriptionIdentifier,
            0x11 => P::SessionExpiryInterval,
            0x12 => P::AssignedClientIdentifier,
            0x13 => P::ServerKeepAlive,
            0x15 => P::AuthenticationMethod,
            0x16 => P::AuthenticationData,
            0x17 => P::RequestProblemInformation,
            0x18 => P::WillDelayInterval,
            0x19 => P::RequestResponseInformation,
            0x1a => P::ResponseInformation,
            0x1c => P::ServerReference,
            0x1f => P::ReasonString,
            0x21 => P::ReceiveMaximum,
            0x22 => P::TopicAliasMaximum,
            0x23 => P::TopicAlias,
            0x24 => P::MaximumQos,
            0x25 => P::RetainAvailable,
            0x26 => P::UserProperty,
            0x27 => P::MaximumPacketSize,
            0x28 => P::WildcardSubscriptionAvailable,
            0x29 => P::SubscriptionIdentifierAvailable,
            0x2a => P::SharedSubscriptionAvailable,
            _ => return None,
        })
    }

    /// The name Table 2-4 gives it.
    pub fn name(self) -> &'static str {
        use Property as P;
        match self {
            P::PayloadFormatIndicator => "Payload Format Indicator",
            P::MessageExpiryInterval => "Message Expiry Interval",
            P::ContentType => "Content Type",
            P::ResponseTopic => "Response Topic",
            P::CorrelationData => "Correlation Data",
            P::SubscriptionIdentifier => "Subscription Identifier",
            P::SessionExpiryInterval => "Session Expiry Interval",
            P::AssignedClientIdentifier => "Assigned Client Identifier",
            P::ServerKeepAlive => "Server Keep Alive",
            P::AuthenticationMethod => "Authentication Method",
            P::AuthenticationData => "Authentication Data",
            P::RequestProblemInformation => "Request Problem Information",
            P::WillDelayInterval => "Will Delay Interval",
            P::RequestResponseInformation => "Request Response Information",
            P::ResponseInformation => "Response Information",
            P::ServerReference => "Server Reference",
            P::ReasonString => "Reason String",
            P::ReceiveMaximum => "Receive Maximum",
            P::TopicAliasMaximum => "Topic Alias Maximum",
            P::TopicAlias => "Topic Alias",
            P::MaximumQos => "Maximum QoS",
            P::RetainAvailable => "Retain Available",
            P::UserProperty => "User Property",
            P::MaximumPacketSize => "Maximum Packet Size",
            P::WildcardSubscriptionAvailable => "Wildcard Subscription Available",
            P::SubscriptionIdentifierAvailable => "Subscription Identifier Available",
            P::SharedSubscriptionAvailable => "Shared Subscription Available",
        }
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#04x})", self.name(), *self as u8)
    }
}

/// Where a set of properties sits: a packet's own, or the Will Properties of a CONNECT
/// (3.1.3.2), which allow a different list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyScope {
    Packet(PacketType),
    Will,
}

impl PropertyScope {
    /// The packet the properties are in.
    pub fn packet(self) -> PacketType {
        match self {
            PropertyScope::Packet(packet) => packet,
            PropertyScope::Will => PacketType::Connect,
        }
    }
}

impl fmt::Display for PropertyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyScope::Packet(packet) => write!(f, "{packet}"),
            PropertyScope::Will => f.write_str("CONNECT will"),
        }
    }
}

/// Reads one property block, one property at a time.
///
/// Each packet's decoder matches the identifiers it allows and reads each value with the
/// method for its type; everything else is [`PropertyReader::not_allowed`].
pub(super) struct PropertyReader {
    scope: PropertyScope,
    r: Reader,
    /// The property whose value is being read, for error messages.
    current: Property,
}

impl PropertyReader {
    /// Reads the Property Length and takes the properties off `body`.
    pub fn new(body: &mut Reader, scope: PropertyScope) -> Result<PropertyReader, DecodeError> {
        Ok(PropertyReader {
            scope,
            r: body.properties(scope)?,
            current: Property::UserProperty,
        })
    }

    pub fn scope(&self) -> PropertyScope {
        self.scope
    }

    /// The next property's identifier, or `None` at the end of the block. An identifier
    /// Table 2-4 does not define makes the packet malformed (2.2.2.2).
    pub fn next(&mut self) -> Result<Option<Property>, DecodeError> {
        if self.r.is_empty() {
            return Ok(None);
        }
        let id = self.r.varint("property identifier")?;
        let property = Property::from_id(id).ok_or(DecodeError::UnknownProperty {
            scope: self.scope,
            id,
        })?;
        self.current = property;
        Ok(Some(property))
    }

    /// A property defined by Table 2-4 but not for this packet: malformed (2.2.2.2).
    pub fn not_allowed(&self) -> DecodeError {
        DecodeError::PropertyNotAllowed {
            scope: self.scope,
            property: self.current,
        }
    }

    /// Reads a value with `read` into `slot`, which must still be empty: every property
    /// but User Property (and a server's Subscription Identifiers) may appear once, "It is
    /// a Protocol Error to include ... more than once" in each property's section.
    pub fn once<T>(
        &mut self,
        slot: &mut Option<T>,
        read: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<(), DecodeError> {
        if slot.is_some() {
            return Err(DecodeError::DuplicateProperty {
                scope: self.scope,
                property: self.current,
            });
        }
        *slot = Some(read(self)?);
        Ok(())
    }

    fn invalid(&self, value: u32, expected: &'static str) -> DecodeError {
        DecodeError::InvalidPropertyValue {
            scope: self.scope,
            property: self.current,
            value,
            expected,
        }
    }

    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        self.r.u8(self.current.name())
    }

    /// A Byte that must be 0 or 1; "a value other than 0 or 1" is a Protocol Error for
    /// every such property (e.g. 3.1.2.11.6, 3.2.2.3.5).
    pub fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.invalid(u32::from(other), "0 or 1")),
        }
    }

    pub fn two(&mut self) -> Result<u16, DecodeError> {
        self.r.u16(self.current.name())
    }

    /// A Two Byte Integer for which 0 is a Protocol Error; `expected` names the rule.
    pub fn nonzero_two(&mut self, expected: &'static str) -> Result<u16, DecodeError> {
        match self.two()? {
            0 => Err(self.invalid(0, expected)),
            value => Ok(value),
        }
    }

    pub fn four(&mut self) -> Result<u32, DecodeError> {
        self.r.u32(self.current.name())
    }

    /// A Four Byte Integer for which 0 is a Protocol Error; `expected` names the rule.
    pub fn nonzero_four(&mut self, expected: &'static str) -> Result<u32, DecodeError> {
        match self.four()? {
            0 => Err(self.invalid(0, expected)),
            value => Ok(value),
        }
    }

    /// A Subscription Identifier: 1 to 268,435,455, 0 is a Protocol Error (3.3.2.3.8,
    /// 3.8.2.1.2).
    pub fn subscription_identifier(&mut self) -> Result<u32, DecodeError> {
        match self.r.varint(self.current.name())? {
            0 => Err(self.invalid(0, "1 to 268,435,455 (3.3.2.3.8, 3.8.2.1.2)")),
            value => Ok(value),
        }
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        self.r.string(self.current.name())
    }

    pub fn topic_name(&mut self) -> Result<String, DecodeError> {
        self.r.topic_name(self.current.name())
    }

    pub fn binary(&mut self) -> Result<Bytes, DecodeError> {
        self.r.binary(self.current.name())
    }

    /// A UTF-8 String Pair (1.5.7), as User Property carries.
    pub fn pair(&mut self) -> Result<(String, String), DecodeError> {
        let name = self.r.string("User Property name")?;
        let value = self.r.string("User Property value")?;
        Ok((name, value))
    }
}

/// One property value to write, borrowed from the packet.
#[derive(Debug, Clone, Copy)]
pub(super) enum Value<'a> {
    Byte(u8),
    Two(u16),
    Four(u32),
    VarInt(u32),
    Text(&'a str),
    Binary(&'a [u8]),
    Pair(&'a str, &'a str),
}

impl Value<'_> {
    fn len(&self) -> usize {
        match self {
            Value::Byte(_) => 1,
            Value::Two(_) => 2,
            Value::Four(_) => 4,
            Value::VarInt(value) => varint::len(*value as usize),
            Value::Text(text) => 2 + text.len(),
            Value::Binary(bytes) => 2 + bytes.len(),
            Value::Pair(name, value) => 4 + name.len() + value.len(),
        }
    }

    fn write(&self, out: &mut BytesMut) {
        match self {
            Value::Byte(value) => out.put_u8(*value),
            Value::Two(value) => out.put_u16(*value),
            Value::Four(value) => out.put_u32(*value),
            Value::VarInt(value) => varint::write(out, *value as usize),
            Value::Text(text) => put_bytes(out, text.as_bytes()),
            Value::Binary(bytes) => put_bytes(out, bytes),
            Value::Pair(name, value) => {
                put_bytes(out, name.as_bytes());
                put_bytes(out, value.as_bytes());
            }
        }
    }
}

/// A packet's properties as the encoder sees them.
///
/// `each` lists them in ascending identifier order (User Properties in their own order), and
/// both the length and the bytes come from it, so they cannot disagree.
pub(super) trait PropertySet {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>));

    /// Bytes of the properties, without the Property Length.
    fn body_len(&self) -> usize {
        let mut len = 0;
        // Every identifier in Table 2-4 is below 0x80, so it takes one byte.
        self.each(&mut |_, value| len += 1 + value.len());
        len
    }

    fn is_empty(&self) -> bool {
        self.body_len() == 0
    }

    /// Bytes of the Property Length and the properties.
    fn encoded_len(&self) -> usize {
        let len = self.body_len();
        varint::len(len) + len
    }

    fn write(&self, out: &mut BytesMut) {
        varint::write(out, self.body_len());
        self.each(&mut |property, value| {
            out.put_u8(property as u8);
            value.write(out);
        });
    }
}

/// Two-byte big-endian length, then the bytes (1.5.4, 1.5.6).
pub(super) fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    debug_assert!(
        bytes.len() <= usize::from(u16::MAX),
        "field too long for MQTT"
    );
    // Lengths past u16::MAX are a caller bug (see the encode module's docs).
    out.put_u16(bytes.len() as u16);
    out.put_slice(bytes);
}
