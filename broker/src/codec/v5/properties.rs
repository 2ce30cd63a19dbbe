//! The properties of each packet kind: which identifiers it allows (Table 2-4), the rules
//! on their values, and their wire form.
//!
//! A property that may appear once is an `Option`, so "absent" and "sent with its default
//! value" stay apart and re-encode as they came. User Properties keep their order
//! (MQTT-3.3.2-18).

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::error::DecodeError;
use super::header::PacketType;
use super::property::{Property, PropertyReader, PropertyScope, PropertySet, Value};
use super::reader::Reader;
use super::types::Sender;
use super::QoS;

/// User Properties (2.2.2.2, 0x26): name and value pairs, repeatable, in order.
pub type UserProperties = Vec<(String, String)>;

/// CONNECT properties (3.1.2.11).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectProperties {
    pub session_expiry_interval: Option<u32>,
    /// Never 0 (3.1.2.11.3).
    pub receive_maximum: Option<u16>,
    /// Never 0 (3.1.2.11.4).
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub request_response_information: Option<bool>,
    pub request_problem_information: Option<bool>,
    pub user_properties: UserProperties,
    pub authentication_method: Option<String>,
    /// Only with an `authentication_method` (3.1.2.11.10).
    pub authentication_data: Option<Bytes>,
}

/// Will Properties in the CONNECT payload (3.1.3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WillProperties {
    pub will_delay_interval: Option<u32>,
    /// `Some(true)`: the Will Payload is UTF-8 (3.1.3.2.3).
    pub payload_format_indicator: Option<bool>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<String>,
    /// A Topic Name: non-empty, no wildcards.
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: UserProperties,
}

/// CONNACK properties (3.2.2.3).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnackProperties {
    pub session_expiry_interval: Option<u32>,
    /// Never 0 (3.2.2.3.3).
    pub receive_maximum: Option<u16>,
    /// At most QoS 1: absent means QoS 2 is supported (3.2.2.3.4).
    pub maximum_qos: Option<QoS>,
    pub retain_available: Option<bool>,
    /// Never 0 (3.2.2.3.6).
    pub maximum_packet_size: Option<u32>,
    pub assigned_client_identifier: Option<String>,
    pub topic_alias_maximum: Option<u16>,
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
    pub wildcard_subscription_available: Option<bool>,
    pub subscription_identifiers_available: Option<bool>,
    pub shared_subscription_available: Option<bool>,
    pub server_keep_alive: Option<u16>,
    pub response_information: Option<String>,
    pub server_reference: Option<String>,
    pub authentication_method: Option<String>,
    pub authentication_data: Option<Bytes>,
}

/// PUBLISH properties (3.3.2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishProperties {
    /// `Some(true)`: the payload is UTF-8 (3.3.2.3.2).
    pub payload_format_indicator: Option<bool>,
    pub message_expiry_interval: Option<u32>,
    /// Never 0 (MQTT-3.3.2-8); whether it is within the Topic Alias Maximum is the
    /// connection's call.
    pub topic_alias: Option<u16>,
    /// A Topic Name: non-empty, no wildcards (MQTT-3.3.2-14).
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: UserProperties,
    /// Only from a server, which may send several (MQTT-3.3.4-4, MQTT-3.3.4-6); each
    /// 1 to 268,435,455.
    pub subscription_identifiers: Vec<u32>,
    pub content_type: Option<String>,
}

/// Properties of the packets that carry only diagnostics: PUBACK, PUBREC, PUBREL, PUBCOMP
/// (3.4.2.2, 3.5.2.2, 3.6.2.2, 3.7.2.2), SUBACK (3.9.2.1) and UNSUBACK (3.11.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckProperties {
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
}

/// SUBSCRIBE properties (3.8.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeProperties {
    /// 1 to 268,435,455 (3.8.2.1.2).
    pub subscription_identifier: Option<u32>,
    pub user_properties: UserProperties,
}

/// UNSUBSCRIBE properties (3.10.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsubscribeProperties {
    pub user_properties: UserProperties,
}

/// DISCONNECT properties (3.14.2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisconnectProperties {
    /// Only from a client (MQTT-3.14.2-2).
    pub session_expiry_interval: Option<u32>,
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
    pub server_reference: Option<String>,
}

/// AUTH properties (3.15.2.2).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthProperties {
    /// Required whenever the AUTH has properties at all (3.15.2.2.2).
    pub authentication_method: Option<String>,
    pub authentication_data: Option<Bytes>,
    pub reason_string: Option<String>,
    pub user_properties: UserProperties,
}

// Receive Maximum and Maximum Packet Size of 0 are Protocol Errors where they are defined.
const CONNECT_RECEIVE_MAXIMUM: &str = "1 to 65,535 (3.1.2.11.3)";
const CONNECT_MAXIMUM_PACKET_SIZE: &str = "1 or more (3.1.2.11.4)";
const CONNACK_RECEIVE_MAXIMUM: &str = "1 to 65,535 (3.2.2.3.3)";
const CONNACK_MAXIMUM_PACKET_SIZE: &str = "1 or more (3.2.2.3.6)";
const TOPIC_ALIAS: &str = "1 or more (MQTT-3.3.2-8)";

impl ConnectProperties {
    pub(super) fn decode(body: &mut Reader) -> Result<ConnectProperties, DecodeError> {
        use Property as P;
        let mut p = PropertyReader::new(body, PropertyScope::Packet(PacketType::Connect))?;
        let mut props = ConnectProperties::default();
        while let Some(property) = p.next()? {
            match property {
                P::SessionExpiryInterval => {
                    p.once(&mut props.session_expiry_interval, PropertyReader::four)?
                }
                P::ReceiveMaximum => p.once(&mut props.receive_maximum, |p| {
                    p.nonzero_two(CONNECT_RECEIVE_MAXIMUM)
                })?,
                P::MaximumPacketSize => p.once(&mut props.maximum_packet_size, |p| {
                    p.nonzero_four(CONNECT_MAXIMUM_PACKET_SIZE)
                })?,
                P::TopicAliasMaximum => {
                    p.once(&mut props.topic_alias_maximum, PropertyReader::two)?
                }
                P::RequestResponseInformation => p.once(
                    &mut props.request_response_information,
                    PropertyReader::flag,
                )?,
                P::RequestProblemInformation => {
                    p.once(&mut props.request_problem_information, PropertyReader::flag)?
                }
                P::UserProperty => props.user_properties.push(p.pair()?),
                P::AuthenticationMethod => {
                    p.once(&mut props.authentication_method, PropertyReader::string)?
                }
                P::AuthenticationData => {
                    p.once(&mut props.authentication_data, PropertyReader::binary)?
                }
                _ => return Err(p.not_allowed()),
            }
        }
        if props.authentication_data.is_some() && props.authentication_method.is_none() {
            return Err(DecodeError::AuthenticationDataWithoutMethod { scope: p.scope() });
        }
        Ok(props)
    }
}

impl PropertySet for ConnectProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        use Property as P;
        let mut e = Emit(emit);
        e.four(P::SessionExpiryInterval, self.session_expiry_interval);
        e.text(P::AuthenticationMethod, &self.authentication_method);
        e.binary(P::AuthenticationData, &self.authentication_data);
        e.flag(
            P::RequestProblemInformation,
            self.request_problem_information,
        );
        e.flag(
            P::RequestResponseInformation,
            self.request_response_information,
        );
        e.two(P::ReceiveMaximum, self.receive_maximum);
        e.two(P::TopicAliasMaximum, self.topic_alias_maximum);
        e.users(&self.user_properties);
        e.four(P::MaximumPacketSize, self.maximum_packet_size);
    }
}

impl WillProperties {
    pub(super) fn decode(body: &mut Reader) -> Result<WillProperties, DecodeError> {
        use Property as P;
        let mut p = PropertyReader::new(body, PropertyScope::Will)?;
        let mut props = WillProperties::default();
        while let Some(property) = p.next()? {
            match property {
                P::WillDelayInterval => {
                    p.once(&mut props.will_delay_interval, PropertyReader::four)?
                }
                P::PayloadFormatIndicator => {
                    p.once(&mut props.payload_format_indicator, PropertyReader::flag)?
                }
                P::MessageExpiryInterval => {
                    p.once(&mut props.message_expiry_interval, PropertyReader::four)?
                }
                P::ContentType => p.once(&mut props.content_type, PropertyReader::string)?,
                P::ResponseTopic => {
                    p.once(&mut props.response_topic, PropertyReader::topic_name)?
                }
                P::CorrelationData => {
                    p.once(&mut props.correlation_data, PropertyReader::binary)?
                }
                P::UserProperty => props.user_properties.push(p.pair()?),
                _ => return Err(p.not_allowed()),
            }
        }
        Ok(props)
    }
}

impl PropertySet for WillProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        use Property as P;
        let mut e = Emit(emit);
        e.flag(P::PayloadFormatIndicator, self.payload_format_indicator);
        e.four(P::MessageExpiryInterval, self.message_expiry_interval);
        e.text(P::ContentType, &self.content_type);
        e.text(P::ResponseTopic, &self.response_topic);
        e.binary(P::CorrelationData, &self.correlation_data);
        e.four(P::WillDelayInterval, self.will_delay_interval);
        e.users(&self.user_properties);
    }
}

impl ConnackProperties {
    pub(super) fn decode(body: &mut Reader) -> Result<ConnackProperties, DecodeError> {
        use Property as P;
        let mut p = PropertyReader::new(body, PropertyScope::Packet(PacketType::Connack))?;
        let mut props = ConnackProperties::default();
        while let Some(property) = p.next()? {
            match property {
                P::SessionExpiryInterval => {
                    p.once(&mut props.session_expiry_interval, PropertyReader::four)?
                }
                P::ReceiveMaximum => p.once(&mut props.receive_maximum, |p| {
                    p.nonzero_two(CONNACK_RECEIVE_MAXIMUM)
                })?,
                // 0 or 1 (3.2.2.3.4): a server that supports QoS 2 leaves it out.
                P::MaximumQos => p.once(&mut props.maximum_qos, |p| {
                    Ok(if p.flag()? {
                        QoS::AtLeastOnce
                    } else {
                        QoS::AtMostOnce
                    })
                })?,
                P::RetainAvailable => p.once(&mut props.retain_available, PropertyReader::flag)?,
                P::MaximumPacketSize => p.once(&mut props.maximum_packet_size, |p| {
                    p.nonzero_four(CONNACK_MAXIMUM_PACKET_SIZE)
                })?,
                P::AssignedClientIdentifier => p.once(
                    &mut props.assigned_client_identifier,
                    PropertyReader::string,
                )?,
                P::TopicAliasMaximum => {
                    p.once(&mut props.topic_alias_maximum, PropertyReader::two)?
                }
                P::ReasonString => p.once(&mut props.reason_string, PropertyReader::string)?,
                P::UserProperty => props.user_properties.push(p.pair()?),
                P::WildcardSubscriptionAvailable => p.once(
                    &mut props.wildcard_subscription_available,
                    PropertyReader::flag,
                )?,
                P::SubscriptionIdentifierAvailable => p.once(
                    &mut props.subscription_identifiers_available,
                    PropertyReader::flag,
                )?,
                P::SharedSubscriptionAvailable => p.once(
                    &mut props.shared_subscription_available,
                    PropertyReader::flag,
                )?,
                P::ServerKeepAlive => p.once(&mut props.server_keep_alive, PropertyReader::two)?,
                P::ResponseInformation => {
                    p.once(&mut props.response_information, PropertyReader::string)?
                }
                P::ServerReference => {
                    p.once(&mut props.server_reference, PropertyReader::string)?
                }
                P::AuthenticationMethod => {
                    p.once(&mut props.authentication_method, PropertyReader::string)?
                }
                P::AuthenticationData => {
                    p.once(&mut props.authentication_data, PropertyReader::binary)?
                }
                _ => return Err(p.not_allowed()),
            }
        }
        Ok(props)
    }
}

impl PropertySet for ConnackProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        use Property as P;
        let mut e = Emit(emit);
        e.four(P::SessionExpiryInterval, self.session_expiry_interval);
        e.text(
            P::AssignedClientIdentifier,
            &self.assigned_client_identifier,
        );
        e.two(P::ServerKeepAlive, self.server_keep_alive);
        e.text(P::AuthenticationMethod, &self.authentication_method);
        e.binary(P::AuthenticationData, &self.authentication_data);
        e.text(P::ResponseInformation, &self.response_information);
        e.text(P::ServerReference, &self.server_reference);
        e.text(P::ReasonString, &self.reason_string);
        e.two(P::ReceiveMaximum, self.receive_maximum);
        e.two(P::TopicAliasMaximum, self.topic_alias_maximum);
        e.byte(P::MaximumQos, self.maximum_qos.map(|qos| qos as u8));
        e.flag(P::RetainAvailable, self.retain_available);
        e.users(&self.user_properties);
        e.four(P::MaximumPacketSize, self.maximum_packet_size);
        e.flag(
            P::WildcardSubscriptionAvailable,
            self.wildcard_subscription_available,
        );
        e.flag(
            P::SubscriptionIdentifierAvailable,
            self.subscription_identifiers_available,
        );
        e.flag(
            P::SharedSubscriptionAvailable,
            self.shared_subscription_available,
        );
    }
}

impl PublishProperties {
    pub(super) fn decode(
        body: &mut Reader,
        sender: Sender,
    ) -> Result<PublishProperties, DecodeError> {
        use Property as P;
        let mut p = PropertyReader::new(body, PropertyScope::Packet(PacketType::Publish))?;
        let mut props = PublishProperties::default();
        while let Some(property) = p.next()? {
            match property {
                P::PayloadFormatIndicator => {
                    p.once(&mut props.payload_format_indicator, PropertyReader::flag)?
                }
                P::MessageExpiryInterval => {
                    p.once(&mut props.message_expiry_interval, PropertyReader::four)?
                }
                P::TopicAlias => p.once(&mut props.topic_alias, |p| p.nonzero_two(TOPIC_ALIAS))?,
                P::ResponseTopic => {
                    p.once(&mut props.response_topic, PropertyReader::topic_name)?
                }
                P::CorrelationData => {
                    p.once(&mut props.correlation_data, PropertyReader::binary)?
                }
                P::UserProperty => props.user_properties.push(p.pair()?),
                P::SubscriptionIdentifier => {
                    if sender == Sender::Client {
                        return Err(DecodeError::SubscriptionIdentifierFromClient);
                    }
                    props
                        .subscription_identifiers
                        .push(p.subscription_identifier()?);
                }
                P::ContentType => p.once(&mut props.content_type, PropertyReader::string)?,
                _ => return Err(p.not_allowed()),
            }
        }
        Ok(props)
    }

    /// The properties in their wire form (Property Length, then each property), as the
    /// broker's store keeps a held or retained message's: compact, and read back by the
    /// decoder that checks every PUBLISH.
    pub fn to_stored(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.write(&mut out);
        out.freeze()
    }

    /// What [`Self::to_stored`] wrote; anything else (a value damaged on the card) is the
    /// error that PUBLISH properties like it would get.
    pub fn from_stored(stored: &[u8]) -> Result<PublishProperties, DecodeError> {
        let mut r = Reader::new(PacketType::Publish, Bytes::copy_from_slice(stored));
        // A server's: the Subscription Identifiers a queued message matched are kept.
        let properties = PublishProperties::decode(&mut r, Sender::Server)?;
        r.finish()?;
        Ok(properties)
    }

    /// The bytes [`Self::to_stored`] takes, for the store's size cap.
    pub fn stored_len(&self) -> usize {
        self.encoded_len()
    }
}

impl PropertySet for PublishProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        use Property as P;
        let mut e = Emit(emit);
        e.flag(P::PayloadFormatIndicator, self.payload_format_indicator);
        e.four(P::MessageExpiryInterval, self.message_expiry_interval);
        e.text(P::ContentType, &self.content_type);
        e.text(P::ResponseTopic, &self.response_topic);
        e.binary(P::CorrelationData, &self.correlation_data);
        for &id in &self.subscription_identifiers {
            (e.0)(P::SubscriptionIdentifier, Value::VarInt(id));
        }
        e.two(P::TopicAlias, self.topic_alias);
        e.users(&self.user_properties);
    }
}

impl AckProperties {
    pub(super) fn decode(body: &mut Reader) -> Result<AckProperties, DecodeError> {
        let scope = PropertyScope::Packet(body.packet());
        let mut p = PropertyReader::new(body, scope)?;
        let mut props = AckProperties::default();
        while let Some(property) = p.next()? {
            match property {
                Property::ReasonString => {
                    p.once(&mut props.reason_string, PropertyReader::string)?
                }
                Property::UserProperty => props.user_properties.push(p.pair()?),
                _ => return Err(p.not_allowed()),
            }
        }
        Ok(props)
    }
}

impl PropertySet for AckProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        let mut e = Emit(emit);
        e.text(Property::ReasonString, &self.reason_string);
        e.users(&self.user_properties);
    }
}

impl SubscribeProperties {
    pub(super) fn decode(body: &mut Reader) -> Result<SubscribeProperties, DecodeError> {
        let mut p = PropertyReader::new(body, PropertyScope::Packet(PacketType::Subscribe))?;
        let mut props = SubscribeProperties::default();
        while let Some(property) = p.next()? {
            match property {
                Property::SubscriptionIdentifier => p.once(
                    &mut props.subscription_identifier,
                    PropertyReader::subscription_identifier,
                )?,
                Property::UserProperty => props.user_properties.push(p.pair()?),
                _ => return Err(p.not_allowed()),
            }
        }
        Ok(props)
    }
}

impl PropertySet for SubscribeProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        if let Some(id) = self.subscription_identifier {
            emit(Property::SubscriptionIdentifier, Value::VarInt(id));
        }
        Emit(emit).users(&self.user_properties);
    }
}

impl UnsubscribeProperties {
    pub(super) fn decode(body: &mut Reader) -> Result<UnsubscribeProperties, DecodeError> {
        let mut p = PropertyReader::new(body, PropertyScope::Packet(PacketType::Unsubscribe))?;
        let mut props = UnsubscribeProperties::default();
        while let Some(property) = p.next()? {
            match property {
                Property::UserProperty => props.user_properties.push(p.pair()?),
                _ => return Err(p.not_allowed()),
            }
        }
        Ok(props)
    }
}

impl PropertySet for UnsubscribeProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        Emit(emit).users(&self.user_properties);
    }
}

impl DisconnectProperties {
    pub(super) fn decode(
        body: &mut Reader,
        sender: Sender,
    ) -> Result<DisconnectProperties, DecodeError> {
        use Property as P;
        let mut p = PropertyReader::new(body, PropertyScope::Packet(PacketType::Disconnect))?;
        let mut props = DisconnectProperties::default();
        while let Some(property) = p.next()? {
            match property {
                P::SessionExpiryInterval => {
                    if sender == Sender::Server {
                        return Err(DecodeError::SessionExpiryFromServer);
                    }
                    p.once(&mut props.session_expiry_interval, PropertyReader::four)?
                }
                P::ReasonString => p.once(&mut props.reason_string, PropertyReader::string)?,
                P::UserProperty => props.user_properties.push(p.pair()?),
                P::ServerReference => {
                    p.once(&mut props.server_reference, PropertyReader::string)?
                }
                _ => return Err(p.not_allowed()),
            }
        }
        Ok(props)
    }
}

impl PropertySet for DisconnectProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        use Property as P;
        let mut e = Emit(emit);
        e.four(P::SessionExpiryInterval, self.session_expiry_interval);
        e.text(P::ServerReference, &self.server_reference);
        e.text(P::ReasonString, &self.reason_string);
        e.users(&self.user_properties);
    }
}

impl AuthProperties {
    pub(super) fn decode(body: &mut Reader) -> Result<AuthProperties, DecodeError> {
        use Property as P;
        let mut p = PropertyReader::new(body, PropertyScope::Packet(PacketType::Auth))?;
        let mut props = AuthProperties::default();
        while let Some(property) = p.next()? {
            match property {
                P::AuthenticationMethod => {
                    p.once(&mut props.authentication_method, PropertyReader::string)?
                }
                P::AuthenticationData => {
                    p.once(&mut props.authentication_data, PropertyReader::binary)?
                }
                P::ReasonString => p.once(&mut props.reason_string, PropertyReader::string)?,
                P::UserProperty => props.user_properties.push(p.pair()?),
                _ => return Err(p.not_allowed()),
            }
        }
        // "It is a Protocol Error to omit the Authentication Method" (3.15.2.2.2).
        if props.authentication_method.is_none() {
            return Err(DecodeError::MissingAuthenticationMethod);
        }
        Ok(props)
    }
}

impl PropertySet for AuthProperties {
    fn each<'a>(&'a self, emit: &mut dyn FnMut(Property, Value<'a>)) {
        use Property as P;
        let mut e = Emit(emit);
        e.text(P::AuthenticationMethod, &self.authentication_method);
        e.binary(P::AuthenticationData, &self.authentication_data);
        e.text(P::ReasonString, &self.reason_string);
        e.users(&self.user_properties);
    }
}

/// Emits the properties that are present, each with its wire type.
struct Emit<'e, 'a>(&'e mut dyn FnMut(Property, Value<'a>));

impl<'a> Emit<'_, 'a> {
    fn byte(&mut self, property: Property, value: Option<u8>) {
        if let Some(value) = value {
            (self.0)(property, Value::Byte(value));
        }
    }

    fn flag(&mut self, property: Property, value: Option<bool>) {
        self.byte(property, value.map(u8::from));
    }

    fn two(&mut self, property: Property, value: Option<u16>) {
        if let Some(value) = value {
            (self.0)(property, Value::Two(value));
        }
    }

    fn four(&mut self, property: Property, value: Option<u32>) {
        if let Some(value) = value {
            (self.0)(property, Value::Four(value));
        }
    }

    fn text(&mut self, property: Property, value: &'a Option<String>) {
        if let Some(value) = value {
            (self.0)(property, Value::Text(value));
        }
    }

    fn binary(&mut self, property: Property, value: &'a Option<Bytes>) {
        if let Some(value) = value {
            (self.0)(property, Value::Binary(value));
        }
    }

    fn users(&mut self, pairs: &'a [(String, String)]) {
        for (name, value) in pairs {
            (self.0)(Property::UserProperty, Value::Pair(name, value));
        }
    }
}

/// Shown instead of authentication data, so no log line or panic message can carry it.
fn redacted(secret: &Option<Bytes>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for ConnectProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectProperties")
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("receive_maximum", &self.receive_maximum)
            .field("maximum_packet_size", &self.maximum_packet_size)
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field(
                "request_response_information",
                &self.request_response_information,
            )
            .field(
                "request_problem_information",
                &self.request_problem_information,
            )
            .field("user_properties", &self.user_properties)
            .field("authentication_method", &self.authentication_method)
            .field("authentication_data", &redacted(&self.authentication_data))
            .finish()
    }
}

impl fmt::Debug for ConnackProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnackProperties")
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("receive_maximum", &self.receive_maximum)
            .field("maximum_qos", &self.maximum_qos)
            .field("retain_available", &self.retain_available)
            .field("maximum_packet_size", &self.maximum_packet_size)
            .field(
                "assigned_client_identifier",
                &self.assigned_client_identifier,
            )
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field("reason_string", &self.reason_string)
            .field("user_properties", &self.user_properties)
            .field(
                "wildcard_subscription_available",
                &self.wildcard_subscription_available,
            )
            .field(
                "subscription_identifiers_available",
                &self.subscription_identifiers_available,
            )
            .field(
                "shared_subscription_available",
                &self.shared_subscription_available,
            )
            .field("server_keep_alive", &self.server_keep_alive)
            .field("response_information", &self.response_information)
            .field("server_reference", &self.server_reference)
            .field("authentication_method", &self.authentication_method)
            .field("authentication_data", &redacted(&self.authentication_data))
            .finish()
    }
}

impl fmt::Debug for AuthProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthProperties")
            .field("authentication_method", &self.authentication_method)
            .field("authentication_data", &redacted(&self.authentication_data))
            .field("reason_string", &self.reason_string)
            .field("user_properties", &self.user_properties)
            .finish()
    }
}
