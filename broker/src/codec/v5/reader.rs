//! Field readers over a packet's variable header and payload, or over its properties.
//!
//! A reader only ever sees the bytes the remaining length (or the property length) covers,
//! so a field running past them means that length is too short, and bytes left over at the
//! end mean it is too long.

use bytes::{Buf, Bytes};

use super::error::DecodeError;
use super::header::PacketType;
use super::property::PropertyScope;
use super::varint;

/// What the reader's bytes are, for saying which length was too short.
#[derive(Debug, Clone, Copy)]
enum Region {
    Packet,
    Properties(PropertyScope),
}

pub(super) struct Reader {
    packet: PacketType,
    region: Region,
    buf: Bytes,
}

impl Reader {
    pub fn new(packet: PacketType, body: Bytes) -> Reader {
        Reader {
            packet,
            region: Region::Packet,
            buf: body,
        }
    }

    pub fn packet(&self) -> PacketType {
        self.packet
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn end(&self, field: &'static str) -> DecodeError {
        match self.region {
            Region::Packet => DecodeError::UnexpectedEnd {
                packet: self.packet,
                field,
            },
            Region::Properties(scope) => DecodeError::PropertiesEndEarly { scope, field },
        }
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        if self.buf.is_empty() {
            return Err(self.end(field));
        }
        Ok(self.buf.get_u8())
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        if self.buf.len() < 2 {
            return Err(self.end(field));
        }
        Ok(self.buf.get_u16())
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        if self.buf.len() < 4 {
            return Err(self.end(field));
        }
        Ok(self.buf.get_u32())
    }

    /// A Variable Byte Integer (1.5.5), strict.
    pub fn varint(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        match varint::decode(&self.buf) {
            Ok(Some((value, len))) => {
                self.buf.advance(len);
                Ok(value)
            }
            Ok(None) => Err(self.end(field)),
            Err(varint::Malformed) => Err(DecodeError::MalformedVariableByteInteger {
                packet: self.packet,
                field,
            }),
        }
    }

    /// A non-zero Packet Identifier (MQTT-2.2.1-3).
    pub fn pkid(&mut self) -> Result<u16, DecodeError> {
        match self.u16("packet identifier")? {
            0 => Err(DecodeError::ZeroPacketId {
                packet: self.packet,
            }),
            id => Ok(id),
        }
    }

    /// Two-byte length then that many bytes: Binary Data (1.5.6) and the framing of strings.
    /// Shares the packet's buffer rather than copying.
    pub fn binary(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16(field)?);
        if self.buf.len() < len {
            return Err(self.end(field));
        }
        Ok(self.buf.split_to(len))
    }

    /// A UTF-8 Encoded String (1.5.4), checked as the MQTT 3.1.1 codec checks it.
    ///
    /// Rust's UTF-8 check already refuses surrogates and overlong forms (MQTT-1.5.4-1). A
    /// leading U+FEFF is kept as it is (MQTT-1.5.4-3).
    pub fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let raw = self.binary(field)?;
        let text = std::str::from_utf8(&raw).map_err(|_| DecodeError::InvalidUtf8 {
            packet: self.packet,
            field,
        })?;
        if text.contains('\0') {
            return Err(DecodeError::NullCharacter {
                packet: self.packet,
                field,
            });
        }
        Ok(text.to_owned())
    }

    /// A Topic Name: a string at least one character long (MQTT-4.7.3-1) without wildcards
    /// (MQTT-4.7.0-1). A wildcard makes it malformed, not merely refused: Reason Code 0x90
    /// is for names "correctly formed" but not accepted (Table 3-10).
    pub fn topic_name(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let topic = self.string(field)?;
        check_topic_name(self.packet, field, &topic)?;
        Ok(topic)
    }

    /// Reads a Property Length (2.2.2.1) and hands back a reader over exactly the
    /// properties, so that none can run into the payload.
    pub fn properties(&mut self, scope: PropertyScope) -> Result<Reader, DecodeError> {
        let length = self.varint("property length")? as usize;
        if self.buf.len() < length {
            return Err(DecodeError::PropertyLengthOverrun {
                scope,
                length,
                available: self.buf.len(),
            });
        }
        Ok(Reader {
            packet: self.packet,
            region: Region::Properties(scope),
            buf: self.buf.split_to(length),
        })
    }

    /// Everything left, e.g. a PUBLISH payload.
    pub fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// Fails if any bytes were not consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                packet: self.packet,
                count: self.buf.len(),
            })
        }
    }
}

/// The Topic Name rules of [`Reader::topic_name`], for a name already read.
pub(super) fn check_topic_name(
    packet: PacketType,
    field: &'static str,
    topic: &str,
) -> Result<(), DecodeError> {
    if topic.is_empty() {
        return Err(DecodeError::EmptyTopicName { packet, field });
    }
    if let Some(wildcard) = topic.chars().find(|c| matches!(c, '+' | '#')) {
        return Err(DecodeError::WildcardInTopicName {
            packet,
            field,
            wildcard,
        });
    }
    Ok(())
}
