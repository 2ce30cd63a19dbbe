//! Framing: splitting one packet off the byte stream and decoding its body.

use bytes::{Buf, Bytes, BytesMut};

use super::connect;
use super::error::DecodeError;
use super::header::{self, FixedHeader, PacketType};
use super::reader::Reader;
use super::types::{
    Connack, ConnectReturnCode, Packet, Publish, QoS, Suback, SubackCode, Subscribe, Unsubscribe,
};

/// Decodes one packet from the front of `buf` (advancing it) or returns
/// `Ok(None)` if more bytes are needed, leaving `buf` untouched.
///
/// `max_packet_size` bounds the whole packet (fixed header + remaining
/// length). Everything that can be judged from the bytes already present is
/// judged at once: the type and flags from the first byte, the size and the
/// fixed lengths from the fixed header, so an oversized or bogus packet is
/// refused before its body is buffered.
///
/// On error the connection must be closed (or, for
/// [`DecodeError::UnsupportedProtocolLevel`], answered and closed); the
/// contents of `buf` are then unspecified.
/// Packets up to this size are copied out of the read buffer rather than sharing it: what a
/// small packet leaves behind (a retained message, a will, a queued message) then keeps only
/// its own bytes alive, not the connection's whole read buffer, and the buffer is reused in
/// place for the next read instead of being allocated again. Larger packets are shared.
const COPY_OUT_BELOW: usize = 1024;

pub fn decode(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    let Some(fixed) = header::parse(buf)? else {
        return Ok(None);
    };
    if let Some(expected) = fixed.packet_type.fixed_remaining_length() {
        if fixed.remaining != expected {
            return Err(DecodeError::InvalidRemainingLength {
                packet: fixed.packet_type,
                expected,
                actual: fixed.remaining,
            });
        }
    }
    let size = fixed.packet_len();
    if size > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    if buf.len() < size {
        return Ok(None);
    }
    let mut packet = match buf.get(..size) {
        Some(small) if size <= COPY_OUT_BELOW => {
            let copy = Bytes::copy_from_slice(small);
            buf.advance(size);
            copy
        }
        _ => buf.split_to(size).freeze(),
    };
    packet.advance(fixed.header_len);
    body(fixed, packet).map(Some)
}

fn body(fixed: FixedHeader, body: Bytes) -> Result<Packet, DecodeError> {
    let mut r = Reader::new(fixed.packet_type, body);
    let packet = match fixed.packet_type {
        PacketType::Connect => Packet::Connect(connect::decode(&mut r)?),
        PacketType::Connack => Packet::Connack(connack(&mut r)?),
        PacketType::Publish => Packet::Publish(publish(fixed.flags, &mut r)?),
        PacketType::Puback => Packet::Puback(r.pkid()?),
        PacketType::Pubrec => Packet::Pubrec(r.pkid()?),
        PacketType::Pubrel => Packet::Pubrel(r.pkid()?),
        PacketType::Pubcomp => Packet::Pubcomp(r.pkid()?),
        PacketType::Subscribe => Packet::Subscribe(subscribe(&mut r)?),
        PacketType::Suback => Packet::Suback(suback(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(unsubscribe(&mut r)?),
        PacketType::Unsuback => Packet::Unsuback(r.pkid()?),
        PacketType::Pingreq => Packet::Pingreq,
        PacketType::Pingresp => Packet::Pingresp,
        PacketType::Disconnect => Packet::Disconnect,
    };
    r.finish()?;
    Ok(packet)
}

fn connack(r: &mut Reader) -> Result<Connack, DecodeError> {
    let flags = r.u8("acknowledge flags")?;
    if flags & 0xfe != 0 {
        return Err(DecodeError::ConnackReservedFlags(flags));
    }
    let raw = r.u8("return code")?;
    let code = ConnectReturnCode::from_u8(raw).ok_or(DecodeError::InvalidConnectReturnCode(raw))?;
    let session_present = flags & 0x01 != 0;
    if session_present && code != ConnectReturnCode::Accepted {
        return Err(DecodeError::SessionPresentWithRefusal(raw));
    }
    Ok(Connack {
        session_present,
        code,
    })
}

/// `flags` were already vetted by the fixed header (QoS 3, DUP with QoS 0).
fn publish(flags: u8, r: &mut Reader) -> Result<Publish, DecodeError> {
    let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidPublishQos)?;
    let topic = r.topic_name("topic")?;
    let pkid = if qos == QoS::AtMostOnce { 0 } else { r.pkid()? };
    Ok(Publish {
        dup: flags & 0b1000 != 0,
        qos,
        retain: flags & 0b0001 != 0,
        topic,
        pkid,
        payload: r.rest(),
    })
}

fn subscribe(r: &mut Reader) -> Result<Subscribe, DecodeError> {
    let pkid = r.pkid()?;
    if r.is_empty() {
        return Err(DecodeError::EmptySubscribe);
    }
    // Grows only as entries are actually read, so its size is bounded by the
    // bytes received, never by a length field.
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.string("topic filter")?;
        let requested = r.u8("requested QoS")?;
        if requested & 0xfc != 0 {
            return Err(DecodeError::SubscribeReservedBits(requested));
        }
        let qos = QoS::from_u8(requested).ok_or(DecodeError::InvalidRequestedQos)?;
        filters.push((filter, qos));
    }
    Ok(Subscribe { pkid, filters })
}

fn suback(r: &mut Reader) -> Result<Suback, DecodeError> {
    let pkid = r.pkid()?;
    if r.is_empty() {
        return Err(DecodeError::EmptySuback);
    }
    let mut codes = Vec::new();
    while !r.is_empty() {
        let raw = r.u8("return code")?;
        codes.push(SubackCode::from_u8(raw).ok_or(DecodeError::InvalidSubackCode(raw))?);
    }
    Ok(Suback { pkid, codes })
}

fn unsubscribe(r: &mut Reader) -> Result<Unsubscribe, DecodeError> {
    let pkid = r.pkid()?;
    if r.is_empty() {
        return Err(DecodeError::EmptyUnsubscribe);
    }
    let mut filters = Vec::new();
    while !r.is_empty() {
        filters.push(r.string("topic filter")?);
    }
    Ok(Unsubscribe { pkid, filters })
}
