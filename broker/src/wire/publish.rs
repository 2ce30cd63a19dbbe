//! A routed message as a PUBLISH to an MQTT 5 client: its own properties, with what is left
//! of its expiry interval (MQTT-3.3.2-6).

use std::time::Instant;

use bytes::BytesMut;

use crate::codec::v5::{PublishProperties, PublishView};
use crate::codec::QoS;
use crate::message::Message;

/// Appends `message` as a PUBLISH to an MQTT 5 client.
pub(crate) fn encode_publish_v5(
    buf: &mut BytesMut,
    message: &Message,
    qos: QoS,
    retain: bool,
    dup: bool,
    pkid: u16,
) {
    let expiry = || message.remaining_expiry(Instant::now());
    with_view(message, qos, retain, dup, pkid, expiry, |view| {
        view.encode(buf)
    });
}

/// The size of `message` as a PUBLISH to an MQTT 5 client at `qos`: what its Maximum Packet
/// Size is compared with. An expiry interval is counted at its largest.
pub(crate) fn publish_len_v5(message: &Message, qos: QoS) -> usize {
    let expiry = || Some(u32::MAX);
    with_view(message, qos, false, false, 1, expiry, |view| {
        view.encoded_len()
    })
}

/// Calls `f` with the PUBLISH for `message`. Its properties are borrowed from the message,
/// and copied only to add an expiry interval.
fn with_view<R>(
    message: &Message,
    qos: QoS,
    retain: bool,
    dup: bool,
    pkid: u16,
    expiry: impl FnOnce() -> Option<u32>,
    f: impl FnOnce(&PublishView<'_>) -> R,
) -> R {
    let owned;
    let none = PublishProperties::default();
    let properties = match (message.properties.as_deref(), message.expires_at) {
        (properties, None) => properties.unwrap_or(&none),
        (properties, Some(_)) => {
            owned = PublishProperties {
                message_expiry_interval: expiry(),
                ..properties.cloned().unwrap_or_default()
            };
            &owned
        }
    };
    f(&PublishView {
        topic: &message.topic,
        payload: &message.payload,
        qos,
        retain,
        dup,
        pkid,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::v5::{self, Sender};
    use std::time::Duration;

    #[test]
    fn a_message_goes_out_with_its_properties_and_the_expiry_it_has_left() {
        let properties = PublishProperties {
            content_type: Some("application/json".into()),
            message_expiry_interval: Some(120),
            user_properties: vec![("unit".into(), "C".into())],
            ..PublishProperties::default()
        };
        let received = Instant::now() - Duration::from_secs(30);
        let message = Message::new("Kitchen/Fridge/temperature", "4.5", QoS::AtLeastOnce, true)
            .with_properties(properties, received);
        let mut buf = BytesMut::new();
        encode_publish_v5(&mut buf, &message, QoS::AtLeastOnce, true, false, 7);
        assert!(publish_len_v5(&message, QoS::AtLeastOnce) >= buf.len());
        let Ok(Some(v5::Packet::Publish(p))) = v5::decode(&mut buf, 1 << 20, Sender::Server) else {
            panic!("a PUBLISH");
        };
        assert_eq!(
            (p.topic.as_str(), p.pkid, p.retain),
            ("Kitchen/Fridge/temperature", 7, true)
        );
        assert_eq!(
            p.properties.content_type.as_deref(),
            Some("application/json")
        );
        assert_eq!(
            p.properties.user_properties,
            vec![("unit".into(), "C".into())]
        );
        let left = p.properties.message_expiry_interval.expect("expiry sent");
        assert!((89..=90).contains(&left), "{left} of 120 s left after 30 s");
    }
}
