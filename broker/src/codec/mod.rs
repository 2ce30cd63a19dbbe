//! MQTT 3.1 / 3.1.1 packet codec.
//!
//! Decoding is strict: anything the OASIS MQTT 3.1.1 specification calls
//! malformed or a protocol violation at the packet level is a
//! [`DecodeError`]. Rules that need session state (first packet must be
//! CONNECT, empty client id with clean session 0, and so on) belong to the
//! broker, not here. Topic filters are checked only as strings, because a
//! badly placed wildcard is answered with SUBACK 0x80 rather than a close.
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
mod reader;
mod types;
pub mod v5;

#[cfg(test)]
mod tests;

pub use self::decode::decode;
pub use self::encode::encode_publish;
pub use self::error::DecodeError;
pub use self::header::{PacketType, MAX_REMAINING_LENGTH};
pub use self::types::{
    Connack, Connect, ConnectReturnCode, LastWill, Packet, Protocol, Publish, QoS, Suback,
    SubackCode, Subscribe, Unsubscribe,
};
