//! A message as the broker routes it: shared by every subscriber it fans out to.

use std::sync::Arc;

use bytes::Bytes;

use super::codec::QoS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: Arc<str>,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

impl Message {
    pub fn new(
        topic: impl Into<Arc<str>>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
        }
    }
}
