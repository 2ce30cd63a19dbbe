//! The fixed header (2.1): packet type, flags and remaining length.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::error::DecodeError;
use super::types::Sender;
use super::varint;

/// MQTT Control Packet type, the high nibble of the first byte (2.1.2, Table 2-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Pubrec = 5,
    Pubrel = 6,
    Pubcomp = 7,
    Subscribe = 8,
    Suback = 9,
    Unsubscribe = 10,
    Unsuback = 11,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    /// `None` for the reserved type 0 (and anything above a nibble).
    pub fn from_u8(value: u8) -> Option<PacketType> {
        Some(match value {
            1 => PacketType::Connect,
            2 => PacketType::Connack,
            3 => PacketType::Publish,
            4 => PacketType::Puback,
            5 => PacketType::Pubrec,
            6 => PacketType::Pubrel,
            7 => PacketType::Pubcomp,
            8 => PacketType::Subscribe,
            9 => PacketType::Suback,
            10 => PacketType::Unsubscribe,
            11 => PacketType::Unsuback,
            12 => PacketType::Pingreq,
            13 => PacketType::Pingresp,
            14 => PacketType::Disconnect,
            15 => PacketType::Auth,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::Connack => "CONNACK",
            PacketType::Publish => "PUBLISH",
            PacketType::Puback => "PUBACK",
            PacketType::Pubrec => "PUBREC",
            PacketType::Pubrel => "PUBREL",
            PacketType::Pubcomp => "PUBCOMP",
            PacketType::Subscribe => "SUBSCRIBE",
            PacketType::Suback => "SUBACK",
            PacketType::Unsubscribe => "UNSUBSCRIBE",
            PacketType::Unsuback => "UNSUBACK",
            PacketType::Pingreq => "PINGREQ",
            PacketType::Pingresp => "PINGRESP",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Auth => "AUTH",
        }
    }

    /// The flag nibble Table 2-2 requires, or `None` for PUBLISH whose flags carry DUP, QoS
    /// and RETAIN.
    pub fn required_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::Pubrel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// Whether `sender` may send this packet type (the direction column of Table 2-1).
    pub fn may_be_sent_by(self, sender: Sender) -> bool {
        match self {
            PacketType::Connect
            | PacketType::Subscribe
            | PacketType::Unsubscribe
            | PacketType::Pingreq => sender == Sender::Client,
            PacketType::Connack
            | PacketType::Suback
            | PacketType::Unsuback
            | PacketType::Pingresp => sender == Sender::Server,
            _ => true,
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FixedHeader {
    pub packet_type: PacketType,
    pub flags: u8,
    /// Bytes taken by the fixed header itself (2..=5).
    pub header_len: usize,
    pub remaining: usize,
}

impl FixedHeader {
    /// Size of the whole packet on the wire.
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining
    }
}

/// Parses the fixed header at the front of `buf` without consuming it.
///
/// Type, flags and direction are checked from the first byte alone so a bad stream is
/// refused before anything else arrives.
pub(super) fn parse(buf: &[u8], sender: Sender) -> Result<Option<FixedHeader>, DecodeError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let type_nibble = first >> 4;
    let packet_type =
        PacketType::from_u8(type_nibble).ok_or(DecodeError::ReservedPacketType(type_nibble))?;
    let flags = first & 0x0f;
    check_flags(packet_type, flags)?;
    if !packet_type.may_be_sent_by(sender) {
        return Err(DecodeError::WrongDirection {
            packet: packet_type,
            sender,
        });
    }
    let remaining =
        varint::decode(rest).map_err(|_| DecodeError::MalformedVariableByteInteger {
            packet: packet_type,
            field: "remaining length",
        })?;
    let Some((remaining, len_bytes)) = remaining else {
        return Ok(None);
    };
    Ok(Some(FixedHeader {
        packet_type,
        flags,
        header_len: 1 + len_bytes,
        remaining: remaining as usize,
    }))
}

/// Invalid flags make a Malformed Packet (2.1.3); so do both QoS bits set (3.3.1.2).
fn check_flags(packet_type: PacketType, flags: u8) -> Result<(), DecodeError> {
    match packet_type.required_flags() {
        Some(expected) if expected != flags => Err(DecodeError::InvalidFixedHeaderFlags {
            packet: packet_type,
            flags,
            expected,
        }),
        Some(_) => Ok(()),
        None => {
            let qos = (flags >> 1) & 0b11;
            if qos == 3 {
                return Err(DecodeError::InvalidPublishQos);
            }
            if flags & 0b1000 != 0 && qos == 0 {
                return Err(DecodeError::DupWithQos0);
            }
            Ok(())
        }
    }
}

/// Writes a fixed header; `remaining` must not exceed [`varint::MAX_VARIABLE_BYTE_INTEGER`].
pub(super) fn write(out: &mut BytesMut, packet_type: PacketType, flags: u8, remaining: usize) {
    out.put_u8(((packet_type as u8) << 4) | (flags & 0x0f));
    varint::write(out, remaining);
}

/// Bytes a fixed header takes for a given remaining length.
pub(super) fn header_len(remaining: usize) -> usize {
    1 + varint::len(remaining)
}

/// The protocol level of the CONNECT at the front of `buf`, read without decoding the rest,
/// so the connection can choose the MQTT 3.1.1 or the 5.0 decoder (3.1.2.1, 3.1.2.2).
///
/// `None` while the level byte has not arrived yet, and for bytes that are not a CONNECT
/// (whichever decoder then gets them refuses them). The protocol name is not checked here:
/// both decoders check it with the level.
pub fn connect_protocol_level(buf: &[u8]) -> Option<u8> {
    let (&first, rest) = buf.split_first()?;
    if first != (PacketType::Connect as u8) << 4 {
        return None;
    }
    let (_, len_bytes) = varint::decode(rest).ok()??;
    let variable_header = rest.get(len_bytes..)?;
    let name_len = usize::from(u16::from_be_bytes([
        *variable_header.first()?,
        *variable_header.get(1)?,
    ]));
    variable_header.get(2 + name_len).copied()
}
