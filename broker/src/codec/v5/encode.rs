//! Writing packets to the wire.
//!
//! Encoding trusts its input: strings and binary fields must fit the two-byte length
//! (65,535 bytes), the remaining length must not exceed 268,435,455, and values the
//! decoder refuses (a Topic Alias of 0, Maximum QoS 2 in CONNACK, ...) must not be set.
//! Anything that came out of `decode` satisfies all of these.
//!
//! Properties are written in ascending identifier order, User Properties in their own order.
//! The optional tail of PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH is left out
//! where the spec allows it (3.4.2.1, 3.14.2.1, 3.15.2.1), so those come out in their
//! shortest form.

use bytes::{BufMut, BytesMut};

use super::header::{self, PacketType};
use super::properties::UserProperties;
use super::property::{put_bytes, PropertySet};
use super::reason::{AuthReason, DisconnectReason, PubAckReason, PubRelReason};
use super::types::{Connect, Packet, Publish, SubscriptionOptions};
use super::{QoS, PROTOCOL_LEVEL};

/// A packet that does not fit the receiver's Maximum Packet Size even without the
/// properties the sender may leave out.
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
#[error("{packet} of {size} bytes exceeds the receiver's maximum packet size of {max} bytes")]
pub struct TooLarge {
    pub packet: PacketType,
    /// The smallest size the packet could be sent at.
    pub size: usize,
    pub max: usize,
}

impl Packet {
    /// Appends the packet's wire form to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let remaining = self.remaining_len();
        out.reserve(header::header_len(remaining) + remaining);
        header::write(out, self.packet_type(), self.flags(), remaining);
        self.write_body(out);
    }

    /// Bytes [`Packet::encode`] will append: the size the Maximum Packet Size is compared
    /// with (3.1.2.11.4).
    pub fn encoded_len(&self) -> usize {
        let remaining = self.remaining_len();
        header::header_len(remaining) + remaining
    }

    /// Encodes the packet if it fits in `max_packet_size` bytes, first leaving out its
    /// Reason String and then its User Properties if that makes it fit, as the spec allows
    /// for every packet that carries them (e.g. MQTT-3.2.2-19, MQTT-3.4.2-2,
    /// MQTT-3.4.2-3, MQTT-3.14.2-3). Returns the bytes appended.
    ///
    /// A PUBLISH is never shortened: its User Properties must reach subscribers unaltered
    /// (MQTT-3.3.2-17), so one that is too large is to be discarded as if it had been sent
    /// (MQTT-3.1.2-25). Nothing is appended on error.
    pub fn encode_within(
        &self,
        out: &mut BytesMut,
        max_packet_size: usize,
    ) -> Result<usize, TooLarge> {
        let size = self.encoded_len();
        if size <= max_packet_size {
            self.encode(out);
            return Ok(size);
        }
        let mut shorter = self.clone();
        if let Some((reason_string, _)) = shorter.diagnostics_mut() {
            *reason_string = None;
        }
        if shorter.encoded_len() > max_packet_size {
            if let Some((_, user_properties)) = shorter.diagnostics_mut() {
                user_properties.clear();
            }
        }
        let size = shorter.encoded_len();
        if size > max_packet_size {
            return Err(TooLarge {
                packet: self.packet_type(),
                size,
                max: max_packet_size,
            });
        }
        shorter.encode(out);
        Ok(size)
    }

    /// The Reason String and User Properties of the packets that may drop them to fit.
    fn diagnostics_mut(&mut self) -> Option<(&mut Option<String>, &mut UserProperties)> {
        let (reason_string, user_properties) = match self {
            Packet::Connack(c) => (
                &mut c.properties.reason_string,
                &mut c.properties.user_properties,
            ),
            Packet::Puback(a) | Packet::Pubrec(a) => (
                &mut a.properties.reason_string,
                &mut a.properties.user_properties,
            ),
            Packet::Pubrel(r) | Packet::Pubcomp(r) => (
                &mut r.properties.reason_string,
                &mut r.properties.user_properties,
            ),
            Packet::Suback(s) => (
                &mut s.properties.reason_string,
                &mut s.properties.user_properties,
            ),
            Packet::Unsuback(u) => (
                &mut u.properties.reason_string,
                &mut u.properties.user_properties,
            ),
            Packet::Disconnect(d) => (
                &mut d.properties.reason_string,
                &mut d.properties.user_properties,
            ),
            Packet::Auth(a) => (
                &mut a.properties.reason_string,
                &mut a.properties.user_properties,
            ),
            Packet::Connect(_)
            | Packet::Publish(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::Pingreq
            | Packet::Pingresp => return None,
        };
        Some((reason_string, user_properties))
    }

    fn flags(&self) -> u8 {
        match self {
            Packet::Publish(p) => {
                let dup = p.dup && p.qos != QoS::AtMostOnce;
                (u8::from(dup) << 3) | ((p.qos as u8) << 1) | u8::from(p.retain)
            }
            other => other.packet_type().required_flags().unwrap_or(0),
        }
    }

    fn remaining_len(&self) -> usize {
        match self {
            Packet::Connect(c) => connect_len(c),
            Packet::Connack(c) => 2 + c.properties.encoded_len(),
            Packet::Publish(p) => publish_len(p),
            Packet::Puback(a) | Packet::Pubrec(a) => {
                ack_len(a.reason == PubAckReason::Success, &a.properties)
            }
            Packet::Pubrel(r) | Packet::Pubcomp(r) => {
                ack_len(r.reason == PubRelReason::Success, &r.properties)
            }
            Packet::Subscribe(s) => {
                let filters: usize = s.filters.iter().map(|(f, _)| 2 + f.len() + 1).sum();
                2 + s.properties.encoded_len() + filters
            }
            Packet::Suback(s) => 2 + s.properties.encoded_len() + s.reasons.len(),
            Packet::Unsubscribe(u) => {
                let filters: usize = u.filters.iter().map(|f| 2 + f.len()).sum();
                2 + u.properties.encoded_len() + filters
            }
            Packet::Unsuback(u) => 2 + u.properties.encoded_len() + u.reasons.len(),
            Packet::Pingreq | Packet::Pingresp => 0,
            Packet::Disconnect(d) => {
                match (
                    d.reason == DisconnectReason::NormalDisconnection,
                    d.properties.is_empty(),
                ) {
                    (true, true) => 0,
                    (_, true) => 1,
                    _ => 1 + d.properties.encoded_len(),
                }
            }
            Packet::Auth(a) => {
                if a.reason == AuthReason::Success && a.properties.is_empty() {
                    0
                } else {
                    1 + a.properties.encoded_len()
                }
            }
        }
    }

    fn write_body(&self, out: &mut BytesMut) {
        match self {
            Packet::Connect(c) => write_connect(c, out),
            Packet::Connack(c) => {
                out.put_u8(u8::from(c.session_present));
                out.put_u8(c.reason as u8);
                c.properties.write(out);
            }
            Packet::Publish(p) => {
                put_bytes(out, p.topic.as_bytes());
                if p.qos != QoS::AtMostOnce {
                    out.put_u16(p.pkid);
                }
                p.properties.write(out);
                out.put_slice(&p.payload);
            }
            Packet::Puback(a) | Packet::Pubrec(a) => write_ack(
                out,
                a.pkid,
                a.reason as u8,
                a.reason == PubAckReason::Success,
                &a.properties,
            ),
            Packet::Pubrel(r) | Packet::Pubcomp(r) => write_ack(
                out,
                r.pkid,
                r.reason as u8,
                r.reason == PubRelReason::Success,
                &r.properties,
            ),
            Packet::Subscribe(s) => {
                out.put_u16(s.pkid);
                s.properties.write(out);
                for (filter, options) in &s.filters {
                    put_bytes(out, filter.as_bytes());
                    out.put_u8(options_byte(options));
                }
            }
            Packet::Suback(s) => {
                out.put_u16(s.pkid);
                s.properties.write(out);
                for reason in &s.reasons {
                    out.put_u8(*reason as u8);
                }
            }
            Packet::Unsubscribe(u) => {
                out.put_u16(u.pkid);
                u.properties.write(out);
                for filter in &u.filters {
                    put_bytes(out, filter.as_bytes());
                }
            }
            Packet::Unsuback(u) => {
                out.put_u16(u.pkid);
                u.properties.write(out);
                for reason in &u.reasons {
                    out.put_u8(*reason as u8);
                }
            }
            Packet::Pingreq | Packet::Pingresp => {}
            Packet::Disconnect(d) => {
                let normal = d.reason == DisconnectReason::NormalDisconnection;
                if !(normal && d.properties.is_empty()) {
                    out.put_u8(d.reason as u8);
                }
                if !d.properties.is_empty() {
                    d.properties.write(out);
                }
            }
            Packet::Auth(a) => {
                if !(a.reason == AuthReason::Success && a.properties.is_empty()) {
                    out.put_u8(a.reason as u8);
                    a.properties.write(out);
                }
            }
        }
    }
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP: the packet identifier, then the Reason Code unless
/// it is Success without properties, then the properties unless there are none.
fn ack_len(success: bool, properties: &impl PropertySet) -> usize {
    match (success, properties.is_empty()) {
        (true, true) => 2,
        (_, true) => 3,
        _ => 3 + properties.encoded_len(),
    }
}

fn write_ack(
    out: &mut BytesMut,
    pkid: u16,
    code: u8,
    success: bool,
    properties: &impl PropertySet,
) {
    out.put_u16(pkid);
    if success && properties.is_empty() {
        return;
    }
    out.put_u8(code);
    if !properties.is_empty() {
        properties.write(out);
    }
}

fn options_byte(options: &SubscriptionOptions) -> u8 {
    (options.qos as u8)
        | (u8::from(options.no_local) << 2)
        | (u8::from(options.retain_as_published) << 3)
        | ((options.retain_handling as u8) << 4)
}

fn publish_len(p: &Publish) -> usize {
    let pkid = if p.qos == QoS::AtMostOnce { 0 } else { 2 };
    2 + p.topic.len() + pkid + p.properties.encoded_len() + p.payload.len()
}

/// The protocol name "MQTT" with its length prefix.
const PROTOCOL_NAME: &[u8] = b"MQTT";

fn connect_len(c: &Connect) -> usize {
    // Protocol name, version, flags, keep alive.
    let fixed = 2 + PROTOCOL_NAME.len() + 1 + 1 + 2;
    let will = c.will.as_ref().map_or(0, |w| {
        w.properties.encoded_len() + 2 + w.topic.len() + 2 + w.payload.len()
    });
    let username = c.username.as_ref().map_or(0, |u| 2 + u.len());
    let password = c.password.as_ref().map_or(0, |p| 2 + p.len());
    fixed + c.properties.encoded_len() + 2 + c.client_id.len() + will + username + password
}

fn write_connect(c: &Connect, out: &mut BytesMut) {
    put_bytes(out, PROTOCOL_NAME);
    out.put_u8(PROTOCOL_LEVEL);

    let mut flags = 0u8;
    if c.clean_start {
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
    c.properties.write(out);

    put_bytes(out, c.client_id.as_bytes());
    if let Some(will) = &c.will {
        will.properties.write(out);
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

/// A PUBLISH from borrowed parts: fanning one message out to many subscribers needs no
/// [`Publish`] (and no copy of its topic and properties) per subscriber.
#[derive(Debug, Clone, Copy)]
pub struct PublishView<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
    /// Not written for QoS 0 (MQTT-3.3.1-2), nor is `pkid` (2.2.1).
    pub dup: bool,
    pub pkid: u16,
    pub properties: &'a super::PublishProperties,
}

impl PublishView<'_> {
    fn remaining_len(&self) -> usize {
        let pkid = if self.qos == QoS::AtMostOnce { 0 } else { 2 };
        2 + self.topic.len() + pkid + self.properties.encoded_len() + self.payload.len()
    }

    /// Bytes [`PublishView::encode`] appends: what the client's Maximum Packet Size is
    /// compared with.
    pub fn encoded_len(&self) -> usize {
        let remaining = self.remaining_len();
        header::header_len(remaining) + remaining
    }

    pub fn encode(&self, out: &mut BytesMut) {
        let remaining = self.remaining_len();
        out.reserve(header::header_len(remaining) + remaining);
        let dup = self.dup && self.qos != QoS::AtMostOnce;
        let flags = (u8::from(dup) << 3) | ((self.qos as u8) << 1) | u8::from(self.retain);
        header::write(out, PacketType::Publish, flags, remaining);
        put_bytes(out, self.topic.as_bytes());
        if self.qos != QoS::AtMostOnce {
            out.put_u16(self.pkid);
        }
        self.properties.write(out);
        out.put_slice(self.payload);
    }
}
