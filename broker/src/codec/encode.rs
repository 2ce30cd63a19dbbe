//! Writing packets to the wire.
//!
//! Encoding trusts its input: strings and binary fields must fit the
//! two-byte length (65,535 bytes) and the remaining length must not exceed
//! 268,435,455. Anything that came out of `decode` satisfies both.

use bytes::{BufMut, BytesMut};

use super::header::{self, PacketType};
use super::types::{Connect, Packet, QoS};

impl Packet {
    /// Appends the packet's wire form to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let remaining = self.remaining_len();
        out.reserve(header::header_len(remaining) + remaining);
        header::write(out, self.packet_type(), self.flags(), remaining);
        self.write_body(out);
    }

    /// Bytes [`Packet::encode`] will append.
    pub fn encoded_len(&self) -> usize {
        let remaining = self.remaining_len();
        header::header_len(remaining) + remaining
    }

    fn flags(&self) -> u8 {
        match self {
            Packet::Publish(p) => publish_flags(p.qos, p.retain, p.dup),
            other => other.packet_type().required_flags().unwrap_or(0),
        }
    }

    fn remaining_len(&self) -> usize {
        match self {
            Packet::Connect(c) => connect_len(c),
            Packet::Publish(p) => publish_len(&p.topic, &p.payload, p.qos),
            // Packet identifier, then per filter its string and QoS byte.
            Packet::Subscribe(s) => 2 + s.filters.iter().map(|(f, _)| 3 + f.len()).sum::<usize>(),
            Packet::Suback(s) => 2 + s.codes.len(),
            Packet::Unsubscribe(u) => 2 + u.filters.iter().map(|f| 2 + f.len()).sum::<usize>(),
            Packet::Connack(_)
            | Packet::Puback(_)
            | Packet::Pubrec(_)
            | Packet::Pubrel(_)
            | Packet::Pubcomp(_)
            | Packet::Unsuback(_) => 2,
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => 0,
        }
    }

    fn write_body(&self, out: &mut BytesMut) {
        match self {
            Packet::Connect(c) => write_connect(c, out),
            Packet::Connack(c) => {
                out.put_u8(u8::from(c.session_present));
                out.put_u8(c.code as u8);
            }
            Packet::Publish(p) => write_publish(out, &p.topic, &p.payload, p.qos, p.pkid),
            Packet::Puback(id)
            | Packet::Pubrec(id)
            | Packet::Pubrel(id)
            | Packet::Pubcomp(id)
            | Packet::Unsuback(id) => out.put_u16(*id),
            Packet::Subscribe(s) => {
                out.put_u16(s.pkid);
                for (filter, qos) in &s.filters {
                    put_bytes(out, filter.as_bytes());
                    out.put_u8(*qos as u8);
                }
            }
            Packet::Suback(s) => {
                out.put_u16(s.pkid);
                for code in &s.codes {
                    out.put_u8(code.to_u8());
                }
            }
            Packet::Unsubscribe(u) => {
                out.put_u16(u.pkid);
                for filter in &u.filters {
                    put_bytes(out, filter.as_bytes());
                }
            }
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => {}
        }
    }
}

/// Encodes a PUBLISH straight from borrowed parts, so fanning one message
/// out to many subscribers needs no `Publish` per subscriber.
///
/// For QoS 0 neither `dup` (MQTT-3.3.1-2) nor `pkid` (MQTT-2.3.1-5) is
/// written, whatever their values.
pub fn encode_publish(
    out: &mut BytesMut,
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
    dup: bool,
    pkid: u16,
) {
    let remaining = publish_len(topic, payload, qos);
    out.reserve(header::header_len(remaining) + remaining);
    header::write(
        out,
        PacketType::Publish,
        publish_flags(qos, retain, dup),
        remaining,
    );
    write_publish(out, topic, payload, qos, pkid);
}

fn publish_flags(qos: QoS, retain: bool, dup: bool) -> u8 {
    let dup = dup && qos != QoS::AtMostOnce;
    (u8::from(dup) << 3) | ((qos as u8) << 1) | u8::from(retain)
}

fn publish_len(topic: &str, payload: &[u8], qos: QoS) -> usize {
    let pkid = if qos == QoS::AtMostOnce { 0 } else { 2 };
    2 + topic.len() + pkid + payload.len()
}

fn write_publish(out: &mut BytesMut, topic: &str, payload: &[u8], qos: QoS, pkid: u16) {
    put_bytes(out, topic.as_bytes());
    if qos != QoS::AtMostOnce {
        out.put_u16(pkid);
    }
    out.put_slice(payload);
}

fn connect_len(c: &Connect) -> usize {
    let name = 2 + c.protocol.name().len();
    let fixed = name + 1 + 1 + 2; // name, level, flags, keep alive
    let will = c
        .will
        .as_ref()
        .map_or(0, |w| 2 + w.topic.len() + 2 + w.payload.len());
    let username = c.username.as_ref().map_or(0, |u| 2 + u.len());
    let password = c.password.as_ref().map_or(0, |p| 2 + p.len());
    fixed + 2 + c.client_id.len() + will + username + password
}

fn write_connect(c: &Connect, out: &mut BytesMut) {
    put_bytes(out, c.protocol.name().as_bytes());
    out.put_u8(c.protocol.level());

    let mut flags = 0u8;
    if c.clean_session {
        flags |= 0x02;
    }
    if let Some(will) = &c.will {
        flags |= 0x04 | ((will.qos as u8) << 3);
        if will.retain {
            flags |= 0x20;
        }
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    out.put_u8(flags);
    out.put_u16(c.keep_alive);

    put_bytes(out, c.client_id.as_bytes());
    if let Some(will) = &c.will {
        put_bytes(out, will.topic.as_bytes());
        put_bytes(out, &will.payload);
    }
    if let Some(username) = &c.username {
        put_bytes(out, username.as_bytes());
    }
    if let Some(password) = &c.password {
        put_bytes(out, password);
    }
}

/// Two-byte big-endian length, then the bytes (1.5.3).
fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    debug_assert!(
        bytes.len() <= usize::from(u16::MAX),
        "field too long for MQTT"
    );
    // Lengths past u16::MAX are a caller bug (see module docs).
    out.put_u16(bytes.len() as u16);
    out.put_slice(bytes);
}
