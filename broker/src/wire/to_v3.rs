//! The router's MQTT 5.0 answers, as an MQTT 3.1 / 3.1.1 client is to get them.

use crate::codec::v5::{self, ConnackReason, SubackReason};
use crate::codec::{self, ConnectReturnCode, QoS, SubackCode};

/// The 3.1.1 form of a packet the server sends, or `None` where 3.1.1 has none: a 3.1.1
/// server closes the connection without DISCONNECT, and has no AUTH. Reason codes become the
/// nearest return codes; properties are dropped.
pub(crate) fn packet_to_v3(packet: &v5::Packet) -> Option<codec::Packet> {
    Some(match packet {
        v5::Packet::Connack(c) => codec::Packet::Connack(codec::Connack {
            session_present: c.session_present,
            code: return_code(c.reason),
        }),
        v5::Packet::Puback(a) => codec::Packet::Puback(a.pkid),
        v5::Packet::Pubrec(a) => codec::Packet::Pubrec(a.pkid),
        v5::Packet::Pubrel(r) => codec::Packet::Pubrel(r.pkid),
        v5::Packet::Pubcomp(r) => codec::Packet::Pubcomp(r.pkid),
        v5::Packet::Suback(s) => codec::Packet::Suback(codec::Suback {
            pkid: s.pkid,
            codes: s.reasons.iter().map(|&r| suback_code(r)).collect(),
        }),
        v5::Packet::Unsuback(u) => codec::Packet::Unsuback(u.pkid),
        v5::Packet::Pingresp => codec::Packet::Pingresp,
        v5::Packet::Publish(p) => codec::Packet::Publish(codec::Publish {
            dup: p.dup,
            qos: p.qos,
            retain: p.retain,
            topic: p.topic.clone(),
            pkid: p.pkid,
            payload: p.payload.clone(),
        }),
        v5::Packet::Disconnect(_)
        | v5::Packet::Auth(_)
        | v5::Packet::Connect(_)
        | v5::Packet::Subscribe(_)
        | v5::Packet::Unsubscribe(_)
        | v5::Packet::Pingreq => return None,
    })
}

/// The 3.1.1 CONNACK return code nearest a 5.0 reason: the five refusals 3.1.1 has keep
/// their meaning, and any other refusal is "server unavailable", which a client retries.
fn return_code(reason: ConnackReason) -> ConnectReturnCode {
    match reason {
        ConnackReason::Success => ConnectReturnCode::Accepted,
        ConnackReason::UnsupportedProtocolVersion => ConnectReturnCode::UnacceptableProtocolVersion,
        ConnackReason::ClientIdentifierNotValid => ConnectReturnCode::IdentifierRejected,
        ConnackReason::BadUserNameOrPassword => ConnectReturnCode::BadUserNameOrPassword,
        ConnackReason::NotAuthorized | ConnackReason::Banned => ConnectReturnCode::NotAuthorized,
        _ => ConnectReturnCode::ServerUnavailable,
    }
}

/// A granted QoS stays; every refusal is 3.1.1's one failure code, 0x80.
fn suback_code(reason: SubackReason) -> SubackCode {
    match reason {
        SubackReason::GrantedQos0 => SubackCode::Granted(QoS::AtMostOnce),
        SubackReason::GrantedQos1 => SubackCode::Granted(QoS::AtLeastOnce),
        SubackReason::GrantedQos2 => SubackCode::Granted(QoS::ExactlyOnce),
        _ => SubackCode::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::v5::{AckProperties, PubAck, PubAckReason};

    #[test]
    fn refusals_keep_their_3_1_1_meaning() {
        let cases = [
            (ConnackReason::Success, ConnectReturnCode::Accepted),
            (
                ConnackReason::ClientIdentifierNotValid,
                ConnectReturnCode::IdentifierRejected,
            ),
            (
                ConnackReason::BadUserNameOrPassword,
                ConnectReturnCode::BadUserNameOrPassword,
            ),
            (
                ConnackReason::NotAuthorized,
                ConnectReturnCode::NotAuthorized,
            ),
            (
                ConnackReason::ServerBusy,
                ConnectReturnCode::ServerUnavailable,
            ),
            (
                ConnackReason::ServerUnavailable,
                ConnectReturnCode::ServerUnavailable,
            ),
        ];
        for (reason, code) in cases {
            assert_eq!(return_code(reason), code, "{reason:?}");
        }
    }

    #[test]
    fn a_refused_filter_is_0x80_and_an_acknowledgement_keeps_only_its_id() {
        let suback = v5::Packet::Suback(v5::Suback {
            pkid: 4,
            properties: AckProperties::default(),
            reasons: vec![
                SubackReason::GrantedQos1,
                SubackReason::NotAuthorized,
                SubackReason::TopicFilterInvalid,
            ],
        });
        assert_eq!(
            packet_to_v3(&suback),
            Some(codec::Packet::Suback(codec::Suback {
                pkid: 4,
                codes: vec![
                    SubackCode::Granted(QoS::AtLeastOnce),
                    SubackCode::Failure,
                    SubackCode::Failure
                ],
            }))
        );
        let puback = v5::Packet::Puback(PubAck {
            pkid: 9,
            reason: PubAckReason::NotAuthorized,
            properties: AckProperties {
                reason_string: Some("denied".into()),
                ..AckProperties::default()
            },
        });
        assert_eq!(packet_to_v3(&puback), Some(codec::Packet::Puback(9)));
        let disconnect = v5::Packet::Disconnect(v5::Disconnect {
            reason: v5::DisconnectReason::SessionTakenOver,
            properties: Default::default(),
        });
        assert_eq!(packet_to_v3(&disconnect), None, "3.1.1 just closes");
    }
}
