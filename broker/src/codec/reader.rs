//! Field readers over a packet's variable header and payload.
//!
//! The reader only ever sees the bytes the remaining length covers, so a
//! field running past them is "remaining length too short", and bytes left
//! over at the end are "remaining length too long".

use bytes::{Buf, Bytes};

use super::error::DecodeError;
use super::header::PacketType;

pub(super) struct Reader {
    packet: PacketType,
    buf: Bytes,
}

impl Reader {
    pub fn new(packet: PacketType, body: Bytes) -> Reader {
        Reader { packet, buf: body }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn end(&self, field: &'static str) -> DecodeError {
        DecodeError::UnexpectedEnd {
            packet: self.packet,
            field,
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

    /// A non-zero packet identifier (MQTT-2.3.1-1).
    pub fn pkid(&mut self) -> Result<u16, DecodeError> {
        match self.u16("packet identifier")? {
            0 => Err(DecodeError::ZeroPacketId {
                packet: self.packet,
            }),
            id => Ok(id),
        }
    }

    /// Two-byte length then that many bytes (1.5.3 framing, also used for
    /// binary fields). Shares the packet's buffer rather than copying.
    pub fn binary(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16(field)?);
        if self.buf.len() < len {
            return Err(self.end(field));
        }
        Ok(self.buf.split_to(len))
    }

    /// A UTF-8 encoded string (1.5.3).
    ///
    /// Rust's UTF-8 check already refuses surrogates and overlong forms. A
    /// leading U+FEFF is kept as it is (MQTT-1.5.3-3).
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

    /// A topic name: a string that is non-empty and free of wildcards.
    pub fn topic_name(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let topic = self.string(field)?;
        if topic.is_empty() {
            return Err(DecodeError::EmptyTopicName {
                packet: self.packet,
                field,
            });
        }
        if let Some(wildcard) = topic.chars().find(|c| matches!(c, '+' | '#')) {
            return Err(DecodeError::WildcardInTopicName {
                packet: self.packet,
                field,
                wildcard,
            });
        }
        Ok(topic)
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
