//! CONNECT variable header and payload (3.1.2, 3.1.3).

use super::error::DecodeError;
use super::reader::Reader;
use super::types::{Connect, LastWill, Protocol, QoS};

const RESERVED: u8 = 0x01;
const CLEAN_SESSION: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_QOS_SHIFT: u8 = 3;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

pub(super) fn decode(r: &mut Reader) -> Result<Connect, DecodeError> {
    let protocol = protocol(r)?;

    let flags = r.u8("connect flags")?;
    // MQTT 3.1 leaves bit 0, and the will QoS and retain bits of a CONNECT without a will,
    // unused rather than zero: they are ignored there, as Mosquitto does. 3.1.1 requires
    // them to be 0.
    let strict = protocol != Protocol::V31;
    if strict && flags & RESERVED != 0 {
        return Err(DecodeError::ConnectReservedFlag);
    }
    let will_flag = flags & WILL != 0;
    let will_qos = (flags >> WILL_QOS_SHIFT) & 0b11;
    let will_retain = flags & WILL_RETAIN != 0;
    if strict && !will_flag && will_qos != 0 {
        return Err(DecodeError::WillQosWithoutWill(will_qos));
    }
    if strict && !will_flag && will_retain {
        return Err(DecodeError::WillRetainWithoutWill);
    }
    let will_qos = if will_flag {
        QoS::from_u8(will_qos).ok_or(DecodeError::InvalidWillQos)?
    } else {
        QoS::AtMostOnce
    };
    let username_flag = flags & USERNAME != 0;
    let password_flag = flags & PASSWORD != 0;
    if password_flag && !username_flag {
        return Err(DecodeError::PasswordWithoutUsername);
    }

    let keep_alive = r.u16("keep alive")?;

    // Payload fields come in this fixed order, each present iff flagged
    // (MQTT-3.1.3-1); an absent or extra field shows up as a length error.
    let client_id = r.string("client identifier")?;
    let will = if will_flag {
        Some(LastWill {
            topic: r.topic_name("will topic")?,
            payload: r.binary("will message")?,
            qos: will_qos,
            retain: will_retain,
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
        protocol,
        clean_session: flags & CLEAN_SESSION != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
    })
}

/// Protocol name and level. A known name with the wrong level stops here,
/// before the rest is parsed, because other revisions lay it out differently
/// and the broker must still answer CONNACK 0x01 (MQTT-3.1.2-2).
fn protocol(r: &mut Reader) -> Result<Protocol, DecodeError> {
    let name = r.binary("protocol name")?;
    let protocol = match name.as_ref() {
        b"MQTT" => Protocol::V311,
        b"MQIsdp" => Protocol::V31,
        _ => {
            return Err(DecodeError::InvalidProtocolName(
                String::from_utf8_lossy(&name).into_owned(),
            ))
        }
    };
    let level = r.u8("protocol level")?;
    if level != protocol.level() {
        return Err(DecodeError::UnsupportedProtocolLevel(level));
    }
    Ok(protocol)
}
