//! Strict decoder for server-to-client packets: anything a conforming
//! server must not send is reported as an error.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: u8,
    pub retain: bool,
    pub topic: String,
    /// Zero for QoS 0.
    pub pkid: u16,
    pub payload: Vec<u8>,
}

impl Publish {
    pub fn payload_str(&self) -> &str {
        std::str::from_utf8(&self.payload).expect("payload is not UTF-8")
    }
}

/// Payloads of `msgs` as text, in arrival order.
pub fn payloads(msgs: &[Publish]) -> Vec<String> {
    msgs.iter().map(|p| p.payload_str().to_owned()).collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    ConnAck { session_present: bool, code: u8 },
    Publish(Publish),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    SubAck { pkid: u16, codes: Vec<u8> },
    UnsubAck(u16),
    PingResp,
}

/// Decodes one packet from the front of `buf`.
/// `Ok(None)` means more bytes are needed; `Ok(Some((packet, used)))` otherwise.
pub fn decode(buf: &[u8]) -> Result<Option<(Packet, usize)>, String> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut len = 0usize;
    let mut i = 1;
    loop {
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        len |= usize::from(byte & 0x7F) << (7 * (i - 1));
        i += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if i > 4 {
            return Err("remaining length longer than 4 bytes".into());
        }
    }
    let Some(body) = buf.get(i..i + len) else {
        return Ok(None);
    };
    Ok(Some((parse(first, body)?, i + len)))
}

fn parse(first: u8, body: &[u8]) -> Result<Packet, String> {
    let (kind, flags) = (first >> 4, first & 0x0F);
    if kind == 3 {
        return parse_publish(flags, body).map(Packet::Publish);
    }
    // Fixed-header flags are reserved (MQTT-2.2.2-1); PUBREL must carry 0010.
    let expected_flags = if kind == 6 { 0x02 } else { 0x00 };
    if flags != expected_flags {
        return Err(format!("packet type {kind} with flags {flags:#06b}"));
    }
    let pkid = || -> Result<u16, String> {
        match body {
            [a, b] if (*a, *b) != (0, 0) => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(format!("packet type {kind} with body {body:?}")),
        }
    };
    match kind {
        2 => match body {
            [ack_flags, code] if *ack_flags <= 1 && *code <= 5 => Ok(Packet::ConnAck {
                session_present: *ack_flags == 1,
                code: *code,
            }),
            _ => Err(format!("bad CONNACK body {body:?}")),
        },
        4 => pkid().map(Packet::PubAck),
        5 => pkid().map(Packet::PubRec),
        6 => pkid().map(Packet::PubRel),
        7 => pkid().map(Packet::PubComp),
        9 => parse_suback(body),
        11 => pkid().map(Packet::UnsubAck),
        13 if body.is_empty() => Ok(Packet::PingResp),
        _ => Err(format!("server sent packet type {kind} with body {body:?}")),
    }
}

fn parse_publish(flags: u8, body: &[u8]) -> Result<Publish, String> {
    let (dup, qos, retain) = (flags & 0x08 != 0, (flags >> 1) & 0x03, flags & 0x01 != 0);
    if qos == 3 {
        return Err("PUBLISH with QoS 3".into());
    }
    if qos == 0 && dup {
        return Err("QoS 0 PUBLISH with DUP set (MQTT-3.3.1-2)".into());
    }
    let topic_len = match body {
        [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
        _ => return Err("PUBLISH too short".into()),
    };
    let topic = body
        .get(2..2 + topic_len)
        .ok_or("PUBLISH topic truncated")?;
    let topic = std::str::from_utf8(topic).map_err(|_| "PUBLISH topic not UTF-8")?;
    if topic.is_empty() || topic.contains(['+', '#', '\0']) {
        return Err(format!("PUBLISH with invalid topic {topic:?}"));
    }
    let mut rest = &body[2 + topic_len..];
    let mut pkid = 0;
    if qos > 0 {
        let [a, b, tail @ ..] = rest else {
            return Err("PUBLISH without packet id".into());
        };
        pkid = u16::from_be_bytes([*a, *b]);
        if pkid == 0 {
            return Err("PUBLISH with packet id 0 (MQTT-2.3.1-1)".into());
        }
        rest = tail;
    }
    Ok(Publish {
        dup,
        qos,
        retain,
        topic: topic.into(),
        pkid,
        payload: rest.to_vec(),
    })
}

fn parse_suback(body: &[u8]) -> Result<Packet, String> {
    let [a, b, codes @ ..] = body else {
        return Err("SUBACK too short".into());
    };
    if codes.is_empty() || codes.iter().any(|c| !matches!(c, 0 | 1 | 2 | 0x80)) {
        return Err(format!("SUBACK with return codes {codes:?}"));
    }
    let pkid = u16::from_be_bytes([*a, *b]);
    Ok(Packet::SubAck {
        pkid,
        codes: codes.to_vec(),
    })
}
