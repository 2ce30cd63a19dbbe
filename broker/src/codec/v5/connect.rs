//! CONNECT variable header and payload (3.1.2, 3.1.3).

use super::error::DecodeError;
use super::properties::{ConnectProperties, WillProperties};
use super::reader::Reader;
use super::types::{Connect, Will};
use super::{QoS, PROTOCOL_LEVEL};

const RESERVED: u8 = 0x01;
const CLEAN_START: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_QOS_SHIFT: u8 = 3;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

pub(super) fn decode(r: &mut Reader) -> Result<Connect, DecodeError> {
    protocol(r)?;

    let flags = r.u8("connect flags")?;
    // A set reserved flag is a Malformed Packet (3.1.2.3), as is will QoS 3 (3.1.2.6).
    if flags & RESERVED != 0 {
        return Err(DecodeError::ConnectReservedFlag);
    }
    let will_flag = flags & WILL != 0;
    let will_qos = (flags >> WILL_QOS_SHIFT) & 0b11;
    let will_retain = flags & WILL_RETAIN != 0;
    if !will_flag && will_qos != 0 {
        return Err(DecodeError::WillQosWithoutWill(will_qos));
    }
    if !will_flag && will_retain {
        return Err(DecodeError::WillRetainWithoutWill);
    }
    let will_qos = QoS::from_u8(will_qos).ok_or(DecodeError::InvalidWillQos)?;
    // Unlike 3.1.1, a password without a user name is allowed (3.1.2.9).
    let username_flag = flags & USERNAME != 0;
    let password_flag = flags & PASSWORD != 0;

    let keep_alive = r.u16("keep alive")?;
    let properties = ConnectProperties::decode(r)?;

    // Payload fields come in this fixed order, each present iff flagged (MQTT-3.1.3-1); an
    // absent or extra field shows up as a length error.
    let client_id = r.string("client identifier")?;
    let will = if will_flag {
        let properties = WillProperties::decode(r)?;
        Some(Will {
            qos: will_qos,
            retain: will_retain,
            properties,
            topic: r.topic_name("will topic")?,
            payload: r.binary("will payload")?,
        })
    } else {
        None
    };
    let username = if username_flag {
        Some(r.string("user name")?)
    } else {
        None
    };
    let password = if password_flag {
        Some(r.binary("password")?)
    } else {
        None
    };

    Ok(Connect {
        clean_start: flags & CLEAN_START != 0,
        keep_alive,
        properties,
        client_id,
        will,
        username,
        password,
    })
}

/// Protocol name and version. Anything else stops here, before the rest is parsed, since
/// other versions lay it out differently; the server may still answer CONNACK 0x84
/// (MQTT-3.1.2-1, MQTT-3.1.2-2).
fn protocol(r: &mut Reader) -> Result<(), DecodeError> {
    let name = r.binary("protocol name")?;
    if name.as_ref() != b"MQTT" {
        return Err(DecodeError::InvalidProtocolName(
            String::from_utf8_lossy(&name).into_owned(),
        ));
    }
    let version = r.u8("protocol version")?;
    if version != PROTOCOL_LEVEL {
        return Err(DecodeError::UnsupportedProtocolVersion(version));
    }
    Ok(())
}
