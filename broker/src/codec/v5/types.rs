//! Decoded forms of the MQTT 5.0 control packets.

use std::fmt;

use bytes::Bytes;

use super::header::PacketType;
use super::properties::{
    AckProperties, AuthProperties, ConnackProperties, ConnectProperties, DisconnectProperties,
    PublishProperties, SubscribeProperties, UnsubscribeProperties, WillProperties,
};
use super::reason::{
    AuthReason, ConnackReason, DisconnectReason, PubAckReason, PubRelReason, SubackReason,
    UnsubackReason,
};
use super::QoS;

/// Which side of the connection sent the bytes being decoded: what a packet may carry
/// depends on it (Table 2-1, MQTT-3.3.4-6, MQTT-3.14.2-2, Tables 3-10 and 3-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sender {
    Client,
    Server,
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sender::Client => "client",
            Sender::Server => "server",
        })
    }
}

/// CONNECT (3.1), protocol name "MQTT" and level 5.
#[derive(Clone, PartialEq, Eq)]
pub struct Connect {
    pub clean_start: bool,
    pub keep_alive: u16,
    pub properties: ConnectProperties,
    /// May be empty; the server then assigns one (MQTT-3.1.3-6).
    pub client_id: String,
    pub will: Option<Will>,
    pub username: Option<String>,
    /// Allowed without a user name in MQTT 5.0 (3.1.2.9).
    pub password: Option<Bytes>,
}

/// Written by hand so that no log line or panic message can ever show a password (nor, via
/// [`ConnectProperties`]' own Debug, authentication data).
impl fmt::Debug for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connect")
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("properties", &self.properties)
            .field("client_id", &self.client_id)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Will Message carried by CONNECT (3.1.2.5, 3.1.3.2 to 3.1.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub qos: QoS,
    pub retain: bool,
    pub properties: WillProperties,
    pub topic: String,
    pub payload: Bytes,
}

/// CONNACK (3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connack {
    /// Only with [`ConnackReason::Success`] (MQTT-3.2.2-6).
    pub session_present: bool,
    pub reason: ConnackReason,
    pub properties: ConnackProperties,
}

/// PUBLISH (3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// Only meaningful for QoS > 0; never written for QoS 0 (MQTT-3.3.1-2).
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// Empty only together with a Topic Alias (3.3.2.3.4).
    pub topic: String,
    /// 0 when `qos` is [`QoS::AtMostOnce`]; not written then (2.2.1).
    pub pkid: u16,
    pub properties: PublishProperties,
    pub payload: Bytes,
}

/// PUBACK (3.4) and PUBREC (3.5), which share their layout and Reason Codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubAck {
    pub pkid: u16,
    pub reason: PubAckReason,
    pub properties: AckProperties,
}

/// PUBREL (3.6) and PUBCOMP (3.7), which share their layout and Reason Codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubRel {
    pub pkid: u16,
    pub reason: PubRelReason,
    pub properties: AckProperties,
}

/// Retain Handling subscription option (3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RetainHandling {
    /// Send retained messages at the time of the subscribe.
    SendAtSubscribe = 0,
    /// Send retained messages at subscribe only if the subscription does not currently
    /// exist.
    SendAtSubscribeIfNew = 1,
    /// Do not send retained messages at the time of the subscribe.
    DoNotSend = 2,
}

impl RetainHandling {
    /// `None` for 3, a Protocol Error (3.8.3.1).
    pub fn from_u8(value: u8) -> Option<RetainHandling> {
        match value {
            0 => Some(RetainHandling::SendAtSubscribe),
            1 => Some(RetainHandling::SendAtSubscribeIfNew),
            2 => Some(RetainHandling::DoNotSend),
            _ => None,
        }
    }
}

/// The Subscription Options byte of one Topic Filter (3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// Never on a Shared Subscription (MQTT-3.8.3-4).
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

/// SUBSCRIBE (3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub pkid: u16,
    pub properties: SubscribeProperties,
    /// At least one (MQTT-3.8.3-2). Filters are checked only as strings: a badly placed
    /// wildcard is answered with SUBACK 0x8F, not a close.
    pub filters: Vec<(String, SubscriptionOptions)>,
}

/// SUBACK (3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suback {
    pub pkid: u16,
    pub properties: AckProperties,
    /// One per Topic Filter of the SUBSCRIBE, in its order (MQTT-3.9.3-1).
    pub reasons: Vec<SubackReason>,
}

/// UNSUBSCRIBE (3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub pkid: u16,
    pub properties: UnsubscribeProperties,
    /// At least one (MQTT-3.10.3-2).
    pub filters: Vec<String>,
}

/// UNSUBACK (3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuback {
    pub pkid: u16,
    pub properties: AckProperties,
    /// One per Topic Filter of the UNSUBSCRIBE, in its order (MQTT-3.11.3-1).
    pub reasons: Vec<UnsubackReason>,
}

/// DISCONNECT (3.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    pub reason: DisconnectReason,
    pub properties: DisconnectProperties,
}

/// AUTH (3.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub reason: AuthReason,
    pub properties: AuthProperties,
}

/// Any MQTT 5.0 control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    Connack(Connack),
    Publish(Publish),
    Puback(PubAck),
    Pubrec(PubAck),
    Pubrel(PubRel),
    Pubcomp(PubRel),
    Subscribe(Subscribe),
    Suback(Suback),
    Unsubscribe(Unsubscribe),
    Unsuback(Unsuback),
    Pingreq,
    Pingresp,
    Disconnect(Disconnect),
    Auth(Auth),
}

impl Packet {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::Connack(_) => PacketType::Connack,
            Packet::Publish(_) => PacketType::Publish,
            Packet::Puback(_) => PacketType::Puback,
            Packet::Pubrec(_) => PacketType::Pubrec,
            Packet::Pubrel(_) => PacketType::Pubrel,
            Packet::Pubcomp(_) => PacketType::Pubcomp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::Suback(_) => PacketType::Suback,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::Unsuback(_) => PacketType::Unsuback,
            Packet::Pingreq => PacketType::Pingreq,
            Packet::Pingresp => PacketType::Pingresp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }
}
