//! A client's Last Will: a message the broker publishes on its behalf when its connection ends
//! without a DISCONNECT, at once or after the Will Delay Interval it asked for (3.1.3.2.2).

use std::time::{Duration, Instant};

use crate::codec::v5;
use crate::message::Message;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Will {
    /// The will as it will be published, with its properties but no expiry yet.
    message: Message,
    /// Its Message Expiry Interval, which counts from when it is published (3.1.3.2.4).
    expiry_interval: Option<u32>,
    /// How long after the connection ends it waits; a new connection to the session within
    /// it cancels it (MQTT-3.1.3-9). Zero for an MQTT 3.1.1 will.
    pub delay: Duration,
}

impl Will {
    /// The will a CONNECT carried.
    pub(crate) fn from_connect(will: v5::Will) -> Will {
        let properties = will.properties;
        let publish = v5::PublishProperties {
            payload_format_indicator: properties.payload_format_indicator,
            content_type: properties.content_type,
            response_topic: properties.response_topic,
            correlation_data: properties.correlation_data,
            user_properties: properties.user_properties,
            ..v5::PublishProperties::default()
        };
        let message = Message::new(will.topic, will.payload, will.qos, will.retain)
            .with_properties(publish, Instant::now());
        Will {
            message,
            expiry_interval: properties.message_expiry_interval,
            delay: Duration::from_secs(u64::from(properties.will_delay_interval.unwrap_or(0))),
        }
    }

    pub(crate) fn topic(&self) -> &str {
        &self.message.topic
    }

    /// The message to publish at `now`, its expiry counting from then.
    pub(crate) fn into_message(self, now: Instant) -> Message {
        let mut message = self.message;
        message.expires_at = self
            .expiry_interval
            .map(|seconds| now + Duration::from_secs(u64::from(seconds)));
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::QoS;

    #[test]
    fn a_wills_expiry_counts_from_its_publication_and_its_properties_travel() {
        let will = v5::Will {
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: v5::WillProperties {
                will_delay_interval: Some(5),
                message_expiry_interval: Some(60),
                content_type: Some("text/plain".into()),
                user_properties: vec![("room".into(), "kitchen".into())],
                ..v5::WillProperties::default()
            },
            topic: "nodes/fridge/status".into(),
            payload: "offline".into(),
        };
        let will = Will::from_connect(will);
        assert_eq!(will.delay, Duration::from_secs(5));
        assert_eq!(will.topic(), "nodes/fridge/status");
        let later = Instant::now() + Duration::from_secs(3600);
        let message = will.into_message(later);
        assert_eq!(message.remaining_expiry(later), Some(60));
        assert!(message.retain);
        let properties = message.properties.as_deref().expect("properties kept");
        assert_eq!(properties.content_type.as_deref(), Some("text/plain"));
        assert_eq!(properties.user_properties.len(), 1);
    }
}
