//! MQTT 5.0 packet codec.
//!
//! Decoding is strict: anything the OASIS MQTT Version 5.0 specification (2019) calls a
//! Malformed Packet or a Protocol Error at the packet level is a [`DecodeError`], which names
//! the Reason Code to close with ([`DecodeError::disconnect_reason`],
//! [`DecodeError::connack_reason`]). Rules that need connection state belong to the
//! connection: the first packet is CONNECT and comes once, a Topic Alias above the Topic
//! Alias Maximum (0x94), Receive Maximum exceeded (0x93), a non-zero Session Expiry Interval
//! in DISCONNECT after 0 in CONNECT, what Request Problem Information 0 forbids. Topic
//! Filters are checked only as strings, because a bad filter is answered in SUBACK (0x8F).
//!
//! Both directions are decoded, each against what its [`Sender`] may send, and every packet
//! type is encoded, so any accepted packet survives a re-encode.
//!
//! A connection reads the level with [`connect_protocol_level`] to choose between this
//! decoder and the MQTT 3.1.1 one, then calls [`decode`] with [`Sender::Client`] and its
//! own Maximum Packet Size, and sends with [`Packet::encode_within`] the client's.
//!
//! Input comes from the network, so nothing on the decode path may panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

mod connect;
mod decode;
mod encode;
mod error;
mod header;
mod properties;
mod property;
mod reader;
mod reason;
mod types;
mod varint;

#[cfg(test)]
mod tests;

pub use self::decode::decode;
pub use self::encode::{PublishView, TooLarge};
pub use self::error::DecodeError;
pub use self::header::{connect_protocol_level, PacketType};
pub use self::properties::{
    AckProperties, AuthProperties, ConnackProperties, ConnectProperties, DisconnectProperties,
    PublishProperties, SubscribeProperties, UnsubscribeProperties, UserProperties, WillProperties,
};
pub use self::property::{Property, PropertyScope};
pub use self::reason::{
    AuthReason, ConnackReason, DisconnectReason, PubAckReason, PubRelReason, SubackReason,
    UnsubackReason,
};
pub use self::types::{
    Auth, Connack, Connect, Disconnect, Packet, PubAck, PubRel, Publish, RetainHandling, Sender,
    Suback, Subscribe, SubscriptionOptions, Unsuback, Unsubscribe, Will,
};
pub use self::varint::MAX_VARIABLE_BYTE_INTEGER;
pub use super::QoS;

/// The protocol level byte a CONNECT carries for MQTT 5.0 (3.1.2.2).
pub const PROTOCOL_LEVEL: u8 = 5;
