//! The fixed header (2.2): packet type, flags and remaining length.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::error::DecodeError;

/// Largest value the four-byte remaining length can hold (2.2.3).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Control packet type, the high nibble of the first byte (2.2.1).
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
}

impl PacketType {
    /// `None` for the reserved types 0 and 15 (and anything above a nibble).
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
        }
    }

    /// The flag nibble Table 2.2 requires, or `None` for PUBLISH whose
    /// flags carry DUP, QoS and RETAIN.
    pub fn required_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::Pubrel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// Remaining length for packet types whose size never varies.
    pub fn fixed_remaining_length(self) -> Option<usize> {
        match self {
            PacketType::Connack
            | PacketType::Puback
            | PacketType::Pubrec
            | PacketType::Pubrel
            | PacketType::Pubcomp
            | PacketType::Unsuback => Some(2),
            PacketType::Pingreq | PacketType::Pingresp | PacketType::Disconnect => Some(0),
            _ => None,
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
/// Type and flags are checked from the first byte alone so a bad stream is
/// refused before anything else arrives.
pub(super) fn parse(buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let type_nibble = first >> 4;
    let packet_type =
        PacketType::from_u8(type_nibble).ok_or(DecodeError::ReservedPacketType(type_nibble))?;
    let flags = first & 0x0f;
    check_flags(packet_type, flags)?;
    let Some((remaining, len_bytes)) = remaining_length(rest)? else {
        return Ok(None);
    };
    Ok(Some(FixedHeader {
        packet_type,
        flags,
        header_len: 1 + len_bytes,
        remaining,
    }))
}

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

/// Decodes the variable-length remaining length; returns the value and the
/// number of bytes it took, or `None` if it is not complete yet.
fn remaining_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let mut value = 0usize;
    for (index, &byte) in bytes.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(Some((value, index + 1)));
        }
    }
    // Four bytes all with the continuation bit set: a fifth is never allowed.
    if bytes.len() >= 4 {
        Err(DecodeError::MalformedRemainingLength)
    } else {
        Ok(None)
    }
}

/// Writes a fixed header. `remaining` must not exceed
/// [`MAX_REMAINING_LENGTH`]; larger values cannot be represented.
pub(super) fn write(out: &mut BytesMut, packet_type: PacketType, flags: u8, remaining: usize) {
    debug_assert!(
        remaining <= MAX_REMAINING_LENGTH,
        "packet too large for MQTT"
    );
    out.put_u8(((packet_type as u8) << 4) | (flags & 0x0f));
    let mut value = remaining;
    loop {
        // Truncation is the point: the low seven bits go in each byte.
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if value == 0 {
            break;
        }
    }
}

/// Bytes a fixed header takes for a given remaining length.
pub(super) fn header_len(remaining: usize) -> usize {
    match remaining {
        0..=127 => 2,
        128..=16_383 => 3,
        16_384..=2_097_151 => 4,
        _ => 5,
    }
}
