//! Framing: splitting one packet off the byte stream and decoding its body.

use bytes::{Buf, Bytes, BytesMut};

use super::connect;
use super::error::DecodeError;
use super::header::{self, FixedHeader, PacketType};
use super::properties::{
    AckProperties, AuthProperties, ConnackProperties, DisconnectProperties, PublishProperties,
    SubscribeProperties, UnsubscribeProperties,
};
use super::reader::{self, Reader};
use super::reason::{
    AuthReason, ConnackReason, DisconnectReason, PubAckReason, PubRelReason, SubackReason,
    UnsubackReason,
};
use super::types::{
    Auth, Connack, Disconnect, Packet, PubAck, PubRel, Publish, RetainHandling, Sender, Suback,
    Subscribe, SubscriptionOptions, Unsuback, Unsubscribe,
};
use super::QoS;

/// Packets up to this size are copied out of the read buffer rather than sharing it, as in
/// the MQTT 3.1.1 decoder: what a small packet leaves behind then keeps only its own bytes
/// alive, and the read buffer is reused in place.
const COPY_OUT_BELOW: usize = 1024;

/// Decodes one packet sent by `sender` from the front of `buf` (advancing it), or returns
/// `Ok(None)` if more bytes are needed, leaving `buf` untouched.
///
/// `max_packet_size` bounds the whole packet (fixed header + remaining length), as the
/// Maximum Packet Size property does (3.1.2.11.4). Everything that can be judged from the
/// bytes already present is judged at once: type, flags and direction from the first byte,
/// the size from the fixed header, so an oversized or bogus packet is refused before its
/// body is buffered.
///
/// On error the connection must be closed (see [`DecodeError`]); the contents of `buf` are
/// then unspecified.
pub fn decode(
    buf: &mut BytesMut,
    max_packet_size: usize,
    sender: Sender,
) -> Result<Option<Packet>, DecodeError> {
    let Some(fixed) = header::parse(buf, sender)? else {
        return Ok(None);
    };
    if matches!(
        fixed.packet_type,
        PacketType::Pingreq | PacketType::Pingresp
    ) && fixed.remaining != 0
    {
        return Err(DecodeError::InvalidRemainingLength {
            packet: fixed.packet_type,
            expected: 0,
            actual: fixed.remaining,
        });
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
    body(fixed, packet, sender).map(Some)
}

fn body(fixed: FixedHeader, body: Bytes, sender: Sender) -> Result<Packet, DecodeError> {
    let mut r = Reader::new(fixed.packet_type, body);
    let packet = match fixed.packet_type {
        PacketType::Connect => Packet::Connect(connect::decode(&mut r)?),
        PacketType::Connack => Packet::Connack(connack(&mut r)?),
        PacketType::Publish => Packet::Publish(publish(fixed.flags, &mut r, sender)?),
        PacketType::Puback => Packet::Puback(pub_ack(&mut r)?),
        PacketType::Pubrec => Packet::Pubrec(pub_ack(&mut r)?),
        PacketType::Pubrel => Packet::Pubrel(pub_rel(&mut r)?),
        PacketType::Pubcomp => Packet::Pubcomp(pub_rel(&mut r)?),
        PacketType::Subscribe => Packet::Subscribe(subscribe(&mut r)?),
        PacketType::Suback => Packet::Suback(suback(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(unsubscribe(&mut r)?),
        PacketType::Unsuback => Packet::Unsuback(unsuback(&mut r)?),
        PacketType::Pingreq => Packet::Pingreq,
        PacketType::Pingresp => Packet::Pingresp,
        PacketType::Disconnect => Packet::Disconnect(disconnect(&mut r, sender)?),
        PacketType::Auth => Packet::Auth(auth(&mut r, sender)?),
    };
    r.finish()?;
    Ok(packet)
}

/// A Reason Code from `from_u8`'s table, or the error naming the packet.
fn reason<T>(r: &mut Reader, from_u8: fn(u8) -> Option<T>) -> Result<T, DecodeError> {
    let code = r.u8("reason code")?;
    from_u8(code).ok_or(DecodeError::InvalidReasonCode {
        packet: r.packet(),
        code,
    })
}

fn connack(r: &mut Reader) -> Result<Connack, DecodeError> {
    let flags = r.u8("acknowledge flags")?;
    if flags & 0xfe != 0 {
        return Err(DecodeError::ConnackReservedFlags(flags));
    }
    let reason = reason(r, ConnackReason::from_u8)?;
    let session_present = flags & 0x01 != 0;
    if session_present && reason != ConnackReason::Success {
        return Err(DecodeError::SessionPresentWithRefusal(reason as u8));
    }
    Ok(Connack {
        session_present,
        reason,
        properties: ConnackProperties::decode(r)?,
    })
}

/// `flags` were already vetted by the fixed header (QoS 3, DUP with QoS 0).
fn publish(flags: u8, r: &mut Reader, sender: Sender) -> Result<Publish, DecodeError> {
    let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidPublishQos)?;
    let topic = r.string("topic name")?;
    let pkid = if qos == QoS::AtMostOnce { 0 } else { r.pkid()? };
    let properties = PublishProperties::decode(r, sender)?;
    // An empty Topic Name stands for the one its Topic Alias maps to (3.3.2.3.4).
    if topic.is_empty() {
        if properties.topic_alias.is_none() {
            return Err(DecodeError::EmptyTopicWithoutAlias);
        }
    } else {
        reader::check_topic_name(PacketType::Publish, "topic name", &topic)?;
    }
    Ok(Publish {
        dup: flags & 0b1000 != 0,
        qos,
        retain: flags & 0b0001 != 0,
        topic,
        pkid,
        properties,
        payload: r.rest(),
    })
}

/// PUBACK and PUBREC: a Remaining Length of 2 means Success without properties, and one
/// shorter than 4 means no properties (3.4.2.1, 3.4.2.2.1, 3.5.2.1, 3.5.2.2.1).
fn pub_ack(r: &mut Reader) -> Result<PubAck, DecodeError> {
    let pkid = r.pkid()?;
    let (reason, properties) = if r.is_empty() {
        (PubAckReason::Success, AckProperties::default())
    } else {
        let reason = reason(r, PubAckReason::from_u8)?;
        (reason, optional_ack_properties(r)?)
    };
    Ok(PubAck {
        pkid,
        reason,
        properties,
    })
}

/// PUBREL and PUBCOMP: the same layout as PUBACK (3.6.2, 3.7.2).
fn pub_rel(r: &mut Reader) -> Result<PubRel, DecodeError> {
    let pkid = r.pkid()?;
    let (reason, properties) = if r.is_empty() {
        (PubRelReason::Success, AckProperties::default())
    } else {
        let reason = reason(r, PubRelReason::from_u8)?;
        (reason, optional_ack_properties(r)?)
    };
    Ok(PubRel {
        pkid,
        reason,
        properties,
    })
}

fn optional_ack_properties(r: &mut Reader) -> Result<AckProperties, DecodeError> {
    if r.is_empty() {
        Ok(AckProperties::default())
    } else {
        AckProperties::decode(r)
    }
}

fn subscribe(r: &mut Reader) -> Result<Subscribe, DecodeError> {
    let pkid = r.pkid()?;
    let properties = SubscribeProperties::decode(r)?;
    if r.is_empty() {
        return Err(DecodeError::EmptySubscribe);
    }
    // Grows only as entries are actually read, so its size is bounded by the bytes
    // received, never by a length field.
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.string("topic filter")?;
        let options = subscription_options(r.u8("subscription options")?)?;
        // 4.8.2: a Shared Subscription's filter starts with "$share/".
        if options.no_local && filter.starts_with("$share/") {
            return Err(DecodeError::NoLocalOnSharedSubscription(filter));
        }
        filters.push((filter, options));
    }
    Ok(Subscribe {
        pkid,
        properties,
        filters,
    })
}

/// The Subscription Options byte (3.8.3.1): reserved bits make it malformed
/// (MQTT-3.8.3-5), QoS 3 and Retain Handling 3 are Protocol Errors.
fn subscription_options(byte: u8) -> Result<SubscriptionOptions, DecodeError> {
    if byte & 0xc0 != 0 {
        return Err(DecodeError::SubscribeReservedBits(byte));
    }
    Ok(SubscriptionOptions {
        qos: QoS::from_u8(byte & 0b11).ok_or(DecodeError::InvalidSubscribeQos)?,
        no_local: byte & 0b0100 != 0,
        retain_as_published: byte & 0b1000 != 0,
        retain_handling: RetainHandling::from_u8((byte >> 4) & 0b11)
            .ok_or(DecodeError::InvalidRetainHandling)?,
    })
}

fn suback(r: &mut Reader) -> Result<Suback, DecodeError> {
    let pkid = r.pkid()?;
    let properties = AckProperties::decode(r)?;
    if r.is_empty() {
        return Err(DecodeError::EmptySuback);
    }
    let mut reasons = Vec::new();
    while !r.is_empty() {
        reasons.push(reason(r, SubackReason::from_u8)?);
    }
    Ok(Suback {
        pkid,
        properties,
        reasons,
    })
}

fn unsubscribe(r: &mut Reader) -> Result<Unsubscribe, DecodeError> {
    let pkid = r.pkid()?;
    let properties = UnsubscribeProperties::decode(r)?;
    if r.is_empty() {
        return Err(DecodeError::EmptyUnsubscribe);
    }
    let mut filters = Vec::new();
    while !r.is_empty() {
        filters.push(r.string("topic filter")?);
    }
    Ok(Unsubscribe {
        pkid,
        properties,
        filters,
    })
}

fn unsuback(r: &mut Reader) -> Result<Unsuback, DecodeError> {
    let pkid = r.pkid()?;
    let properties = AckProperties::decode(r)?;
    if r.is_empty() {
        return Err(DecodeError::EmptyUnsuback);
    }
    let mut reasons = Vec::new();
    while !r.is_empty() {
        reasons.push(reason(r, UnsubackReason::from_u8)?);
    }
    Ok(Unsuback {
        pkid,
        properties,
        reasons,
    })
}

/// A Remaining Length of 0 means Normal disconnection; one of 1 means no properties
/// (3.14.2.1, 3.14.2.2.1).
fn disconnect(r: &mut Reader, sender: Sender) -> Result<Disconnect, DecodeError> {
    if r.is_empty() {
        return Ok(Disconnect {
            reason: DisconnectReason::NormalDisconnection,
            properties: DisconnectProperties::default(),
        });
    }
    let reason = reason(r, DisconnectReason::from_u8)?;
    if !reason.may_be_sent_by(sender) {
        return Err(DecodeError::ReasonCodeNotForSender {
            packet: PacketType::Disconnect,
            code: reason as u8,
            sender,
        });
    }
    let properties = if r.is_empty() {
        DisconnectProperties::default()
    } else {
        DisconnectProperties::decode(r, sender)?
    };
    Ok(Disconnect { reason, properties })
}

/// A Remaining Length of 0 means Success without properties (3.15.2.1); otherwise the
/// Property Length is required, and with it an Authentication Method.
fn auth(r: &mut Reader, sender: Sender) -> Result<Auth, DecodeError> {
    let short = r.is_empty();
    let reason = if short {
        AuthReason::Success
    } else {
        reason(r, AuthReason::from_u8)?
    };
    if !reason.may_be_sent_by(sender) {
        return Err(DecodeError::ReasonCodeNotForSender {
            packet: PacketType::Auth,
            code: reason as u8,
            sender,
        });
    }
    let properties = if short {
        AuthProperties::default()
    } else {
        AuthProperties::decode(r)?
    };
    Ok(Auth { reason, properties })
}
