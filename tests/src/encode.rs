//! Encoders for client-to-server packets, including ones a library would
//! refuse to build (bad flags, reserved bits, invalid strings).

/// Builds a packet from its first byte and body, adding the remaining length.
pub fn packet(first_byte: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first_byte];
    out.extend(remaining_length(body.len()));
    out.extend_from_slice(body);
    out
}

/// Variable-length encoding of the remaining length (MQTT 2.2.3).
pub fn remaining_length(mut len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return out;
        }
    }
}

/// Appends a length-prefixed string without checking its contents.
pub fn put_str(out: &mut Vec<u8>, s: impl AsRef<[u8]>) {
    let s = s.as_ref();
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

#[derive(Clone, Debug)]
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
}

impl Will {
    pub fn new(topic: &str, payload: impl AsRef<[u8]>, qos: u8, retain: bool) -> Self {
        let payload = payload.as_ref().to_vec();
        Self {
            topic: topic.into(),
            payload,
            qos,
            retain,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Connect {
    pub protocol_name: Vec<u8>,
    pub level: u8,
    pub client_id: Vec<u8>,
    pub clean_session: bool,
    pub keep_alive: u16,
    pub will: Option<Will>,
    /// Sets bit 0 of the connect flags, which must be zero (MQTT-3.1.2-3).
    pub reserved_flag: bool,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
}

impl Connect {
    /// MQTT 3.1.1, clean session, 60 s keepalive.
    pub fn new(client_id: impl AsRef<[u8]>) -> Self {
        Self {
            protocol_name: b"MQTT".to_vec(),
            level: 4,
            client_id: client_id.as_ref().to_vec(),
            clean_session: true,
            keep_alive: 60,
            will: None,
            reserved_flag: false,
            username: None,
            password: None,
        }
    }

    /// MQTT 3.1: protocol name "MQIsdp", level 3.
    pub fn v31(client_id: impl AsRef<[u8]>) -> Self {
        Self {
            protocol_name: b"MQIsdp".to_vec(),
            level: 3,
            ..Self::new(client_id)
        }
    }

    pub fn clean_session(mut self, clean: bool) -> Self {
        self.clean_session = clean;
        self
    }

    pub fn keep_alive(mut self, secs: u16) -> Self {
        self.keep_alive = secs;
        self
    }

    pub fn will(mut self, will: Will) -> Self {
        self.will = Some(will);
        self
    }

    /// A user name and password.
    pub fn credentials(mut self, username: &str, password: impl AsRef<[u8]>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.as_ref().to_vec());
        self
    }

    /// A user name without a password.
    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(username.into());
        self
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut flags = u8::from(self.reserved_flag) | (u8::from(self.clean_session) << 1);
        if let Some(w) = &self.will {
            flags |= 0x04 | (w.qos << 3) | (u8::from(w.retain) << 5);
        }
        flags |= u8::from(self.username.is_some()) << 7 | u8::from(self.password.is_some()) << 6;
        let mut body = Vec::new();
        put_str(&mut body, &self.protocol_name);
        body.push(self.level);
        body.push(flags);
        body.extend_from_slice(&self.keep_alive.to_be_bytes());
        put_str(&mut body, &self.client_id);
        if let Some(w) = &self.will {
            put_str(&mut body, &w.topic);
            put_str(&mut body, &w.payload);
        }
        if let Some(user) = &self.username {
            put_str(&mut body, user);
        }
        if let Some(password) = &self.password {
            put_str(&mut body, password);
        }
        packet(0x10, &body)
    }
}

/// PUBLISH; `qos` is not range-checked so QoS 3 can be sent.
pub fn publish(
    topic: &str,
    payload: &[u8],
    qos: u8,
    retain: bool,
    dup: bool,
    pkid: u16,
) -> Vec<u8> {
    let first = 0x30 | (u8::from(dup) << 3) | (qos << 1) | u8::from(retain);
    let mut body = Vec::new();
    put_str(&mut body, topic);
    if qos > 0 {
        body.extend_from_slice(&pkid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(first, &body)
}

/// SUBSCRIBE with raw option bytes (QoS plus any reserved bits).
pub fn subscribe(pkid: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    for (filter, options) in filters {
        put_str(&mut body, filter);
        body.push(*options);
    }
    packet(0x82, &body)
}

pub fn unsubscribe(pkid: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    for filter in filters {
        put_str(&mut body, filter);
    }
    packet(0xA2, &body)
}

pub fn puback(pkid: u16) -> Vec<u8> {
    packet(0x40, &pkid.to_be_bytes())
}

pub fn pubrec(pkid: u16) -> Vec<u8> {
    packet(0x50, &pkid.to_be_bytes())
}

pub fn pubrel(pkid: u16) -> Vec<u8> {
    packet(0x62, &pkid.to_be_bytes())
}

pub fn pubcomp(pkid: u16) -> Vec<u8> {
    packet(0x70, &pkid.to_be_bytes())
}

pub fn pingreq() -> Vec<u8> {
    vec![0xC0, 0x00]
}

pub fn disconnect() -> Vec<u8> {
    vec![0xE0, 0x00]
}
