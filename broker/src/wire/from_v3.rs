//! MQTT 3.1 / 3.1.1 packets from a client, in the broker's MQTT 5.0 terms.

use crate::codec::v5::{
    self, ConnectProperties, PubAck, PubAckReason, PubRel, PubRelReason, RetainHandling,
    SubscriptionOptions,
};
use crate::codec::{self, PacketType};

use super::Version;

/// A 3.1.1 CONNECT as 5.0 would say it. Clean session 1 is Clean Start with a Session Expiry
/// Interval of 0 (the session ends with the connection); clean session 0 is a session that
/// never expires (0xFFFFFFFF), which the broker's `session_expiry` then bounds (3.1.2.11.2).
pub(crate) fn connect_from_v3(connect: codec::Connect) -> (Version, v5::Connect) {
    let properties = ConnectProperties {
        session_expiry_interval: (!connect.clean_session).then_some(u32::MAX),
        ..ConnectProperties::default()
    };
    let will = connect.will.map(|w| v5::Will {
        qos: w.qos,
        retain: w.retain,
        properties: v5::WillProperties::default(),
        topic: w.topic,
        payload: w.payload,
    });
    let v5 = v5::Connect {
        clean_start: connect.clean_session,
        keep_alive: connect.keep_alive,
        properties,
        client_id: connect.client_id,
        will,
        username: connect.username,
        password: connect.password,
    };
    (connect.protocol.into(), v5)
}

/// A packet a 3.1.1 client sent after its CONNECT, as 5.0 would say it; `Err` with its type
/// for a packet only servers send.
pub(crate) fn packet_from_v3(packet: codec::Packet) -> Result<v5::Packet, PacketType> {
    let ack = |pkid| PubAck {
        pkid,
        reason: PubAckReason::Success,
        properties: Default::default(),
    };
    let rel = |pkid| PubRel {
        pkid,
        reason: PubRelReason::Success,
        properties: Default::default(),
    };
    Ok(match packet {
        codec::Packet::Connect(connect) => v5::Packet::Connect(connect_from_v3(connect).1),
        codec::Packet::Publish(p) => v5::Packet::Publish(v5::Publish {
            dup: p.dup,
            qos: p.qos,
            retain: p.retain,
            topic: p.topic,
            pkid: p.pkid,
            properties: Default::default(),
            payload: p.payload,
        }),
        codec::Packet::Puback(pkid) => v5::Packet::Puback(ack(pkid)),
        codec::Packet::Pubrec(pkid) => v5::Packet::Pubrec(ack(pkid)),
        codec::Packet::Pubrel(pkid) => v5::Packet::Pubrel(rel(pkid)),
        codec::Packet::Pubcomp(pkid) => v5::Packet::Pubcomp(rel(pkid)),
        // A 3.1.1 subscription has none of 5.0's options: its own messages come back, RETAIN
        // is cleared on live messages (MQTT-3.3.1-9) and retained ones come with every
        // SUBSCRIBE (MQTT-3.8.4-3).
        codec::Packet::Subscribe(s) => v5::Packet::Subscribe(v5::Subscribe {
            pkid: s.pkid,
            properties: Default::default(),
            filters: s
                .filters
                .into_iter()
                .map(|(filter, qos)| {
                    let options = SubscriptionOptions {
                        qos,
                        no_local: false,
                        retain_as_published: false,
                        retain_handling: RetainHandling::SendAtSubscribe,
                    };
                    (filter, options)
                })
                .collect(),
        }),
        codec::Packet::Unsubscribe(u) => v5::Packet::Unsubscribe(v5::Unsubscribe {
            pkid: u.pkid,
            properties: Default::default(),
            filters: u.filters,
        }),
        codec::Packet::Pingreq => v5::Packet::Pingreq,
        codec::Packet::Disconnect => v5::Packet::Disconnect(v5::Disconnect {
            reason: v5::DisconnectReason::NormalDisconnection,
            properties: Default::default(),
        }),
        other @ (codec::Packet::Connack(_)
        | codec::Packet::Suback(_)
        | codec::Packet::Unsuback(_)
        | codec::Packet::Pingresp) => return Err(other.packet_type()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Protocol, QoS};

    fn connect(clean_session: bool) -> codec::Connect {
        codec::Connect {
            protocol: Protocol::V311,
            clean_session,
            keep_alive: 30,
            client_id: "node".into(),
            will: None,
            username: None,
            password: None,
        }
    }

    #[test]
    fn clean_session_is_clean_start_with_a_session_that_ends_or_never_expires() {
        let (version, clean) = connect_from_v3(connect(true));
        assert_eq!(version, Version::V311);
        assert!(clean.clean_start);
        assert_eq!(clean.properties.session_expiry_interval, None);
        let (_, persistent) = connect_from_v3(connect(false));
        assert!(!persistent.clean_start);
        assert_eq!(
            persistent.properties.session_expiry_interval,
            Some(u32::MAX)
        );
    }

    #[test]
    fn a_subscription_gets_the_options_that_behave_as_3_1_1() {
        let sub = codec::Packet::Subscribe(codec::Subscribe {
            pkid: 3,
            filters: vec![("a/#".into(), QoS::AtLeastOnce)],
        });
        let Ok(v5::Packet::Subscribe(s)) = packet_from_v3(sub) else {
            panic!("SUBSCRIBE expected");
        };
        let (filter, options) = &s.filters[0];
        assert_eq!(filter, "a/#");
        assert_eq!(options.qos, QoS::AtLeastOnce);
        assert!(!options.no_local && !options.retain_as_published);
        assert_eq!(options.retain_handling, RetainHandling::SendAtSubscribe);
    }

    #[test]
    fn packets_only_servers_send_are_named() {
        assert_eq!(
            packet_from_v3(codec::Packet::Pingresp),
            Err(PacketType::Pingresp)
        );
    }
}
