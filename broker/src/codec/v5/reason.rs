//! Reason Codes (2.4), one enum per packet table, so a packet can only carry the codes its
//! table lists. PUBACK and PUBREC share a table, as do PUBREL and PUBCOMP.

use super::types::Sender;

/// Defines a Reason Code enum with `from_u8` (`None` for codes outside the table), `ALL`
/// and `is_error`; `code as u8` gives the wire value.
macro_rules! reason_codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[doc = $doc:literal])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $( $(#[doc = $doc])* $variant = $value, )+
        }

        impl $name {
            /// Every code of the table, in ascending order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// `None` for a value the table does not list.
            pub fn from_u8(value: u8) -> Option<$name> {
                match value {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// Codes of 0x80 and above report failure (2.4).
            pub fn is_error(self) -> bool {
                self as u8 >= 0x80
            }
        }
    };
}

reason_codes! {
    /// CONNACK Reason Code (3.2.2.2, Table 3-1).
    pub enum ConnackReason {
        /// The Connection is accepted.
        Success = 0x00,
        /// The Server does not wish to reveal the reason for the failure.
        UnspecifiedError = 0x80,
        /// Data within the CONNECT packet could not be correctly parsed.
        MalformedPacket = 0x81,
        /// Data in the CONNECT packet does not conform to this specification.
        ProtocolError = 0x82,
        /// The CONNECT is valid but is not accepted by this Server.
        ImplementationSpecificError = 0x83,
        /// The Server does not support the version of the MQTT protocol requested.
        UnsupportedProtocolVersion = 0x84,
        /// The Client Identifier is a valid string but is not allowed by the Server.
        ClientIdentifierNotValid = 0x85,
        /// The Server does not accept the User Name or Password specified by the Client.
        BadUserNameOrPassword = 0x86,
        /// The Client is not authorized to connect.
        NotAuthorized = 0x87,
        /// The MQTT Server is not available.
        ServerUnavailable = 0x88,
        /// The Server is busy. Try again later.
        ServerBusy = 0x89,
        /// This Client has been banned by administrative action.
        Banned = 0x8a,
        /// The authentication method is not supported or does not match the one in use.
        BadAuthenticationMethod = 0x8c,
        /// The Will Topic Name is not malformed, but is not accepted by this Server.
        TopicNameInvalid = 0x90,
        /// The CONNECT packet exceeded the maximum permissible size.
        PacketTooLarge = 0x95,
        /// An implementation or administrative imposed limit has been exceeded.
        QuotaExceeded = 0x97,
        /// The Will Payload does not match the specified Payload Format Indicator.
        PayloadFormatInvalid = 0x99,
        /// The Server does not support retained messages, and Will Retain was set to 1.
        RetainNotSupported = 0x9a,
        /// The Server does not support the QoS set in Will QoS.
        QosNotSupported = 0x9b,
        /// The Client should temporarily use another server.
        UseAnotherServer = 0x9c,
        /// The Client should permanently use another server.
        ServerMoved = 0x9d,
        /// The connection rate limit has been exceeded.
        ConnectionRateExceeded = 0x9f,
    }
}

reason_codes! {
    /// PUBACK and PUBREC Reason Code (3.4.2.1 Table 3-4, 3.5.2.1 Table 3-5: the same list).
    pub enum PubAckReason {
        /// The message is accepted; publication of the QoS 1 (PUBACK) or QoS 2 (PUBREC)
        /// message proceeds.
        Success = 0x00,
        /// The message is accepted but there are no subscribers.
        NoMatchingSubscribers = 0x10,
        /// The receiver does not accept the publish and does not wish to say why.
        UnspecifiedError = 0x80,
        /// The PUBLISH is valid but the receiver is not willing to accept it.
        ImplementationSpecificError = 0x83,
        /// The PUBLISH is not authorized.
        NotAuthorized = 0x87,
        /// The Topic Name is not malformed, but is not accepted by this Client or Server.
        TopicNameInvalid = 0x90,
        /// The Packet Identifier is already in use.
        PacketIdentifierInUse = 0x91,
        /// An implementation or administrative imposed limit has been exceeded.
        QuotaExceeded = 0x97,
        /// The payload format does not match the specified Payload Format Indicator.
        PayloadFormatInvalid = 0x99,
    }
}

reason_codes! {
    /// PUBREL and PUBCOMP Reason Code (3.6.2.1 Table 3-6, 3.7.2.1 Table 3-7: the same list).
    pub enum PubRelReason {
        /// Message released (PUBREL) or Packet Identifier released (PUBCOMP).
        Success = 0x00,
        /// The Packet Identifier is not known.
        PacketIdentifierNotFound = 0x92,
    }
}

reason_codes! {
    /// SUBACK Reason Code, one per Topic Filter (3.9.3, Table 3-8).
    pub enum SubackReason {
        /// The subscription is accepted and the maximum QoS sent will be QoS 0.
        GrantedQos0 = 0x00,
        /// The subscription is accepted and the maximum QoS sent will be QoS 1.
        GrantedQos1 = 0x01,
        /// The subscription is accepted and any received QoS will be sent.
        GrantedQos2 = 0x02,
        /// The subscription is not accepted and the Server does not wish to say why.
        UnspecifiedError = 0x80,
        /// The SUBSCRIBE is valid but the Server does not accept it.
        ImplementationSpecificError = 0x83,
        /// The Client is not authorized to make this subscription.
        NotAuthorized = 0x87,
        /// The Topic Filter is correctly formed but is not allowed for this Client.
        TopicFilterInvalid = 0x8f,
        /// The specified Packet Identifier is already in use.
        PacketIdentifierInUse = 0x91,
        /// An implementation or administrative imposed limit has been exceeded.
        QuotaExceeded = 0x97,
        /// The Server does not support Shared Subscriptions for this Client.
        SharedSubscriptionsNotSupported = 0x9e,
        /// The Server does not support Subscription Identifiers.
        SubscriptionIdentifiersNotSupported = 0xa1,
        /// The Server does not support Wildcard Subscriptions.
        WildcardSubscriptionsNotSupported = 0xa2,
    }
}

reason_codes! {
    /// UNSUBACK Reason Code, one per Topic Filter (3.11.3, Table 3-9).
    pub enum UnsubackReason {
        /// The subscription is deleted.
        Success = 0x00,
        /// No matching Topic Filter is being used by the Client.
        NoSubscriptionExisted = 0x11,
        /// The unsubscribe could not be completed and the Server does not wish to say why.
        UnspecifiedError = 0x80,
        /// The UNSUBSCRIBE is valid but the Server does not accept it.
        ImplementationSpecificError = 0x83,
        /// The Client is not authorized to unsubscribe.
        NotAuthorized = 0x87,
        /// The Topic Filter is correctly formed but is not allowed for this Client.
        TopicFilterInvalid = 0x8f,
        /// The specified Packet Identifier is already in use.
        PacketIdentifierInUse = 0x91,
    }
}

reason_codes! {
    /// DISCONNECT Reason Code (3.14.2.1, Table 3-10). Some are sent only by the Client or
    /// only by the Server: see [`DisconnectReason::may_be_sent_by`].
    pub enum DisconnectReason {
        /// Close the connection normally. Do not send the Will Message.
        NormalDisconnection = 0x00,
        /// The Client wishes to disconnect but requires that the Server also publishes its
        /// Will Message. (Client only.)
        DisconnectWithWillMessage = 0x04,
        /// The connection is closed but the sender does not wish to reveal the reason.
        UnspecifiedError = 0x80,
        /// The received packet does not conform to this specification.
        MalformedPacket = 0x81,
        /// An unexpected or out of order packet was received.
        ProtocolError = 0x82,
        /// The packet received is valid but cannot be processed by this implementation.
        ImplementationSpecificError = 0x83,
        /// The request is not authorized. (Server only.)
        NotAuthorized = 0x87,
        /// The Server is busy and cannot continue processing requests. (Server only.)
        ServerBusy = 0x89,
        /// The Server is shutting down. (Server only.)
        ServerShuttingDown = 0x8b,
        /// The connection is closed because no packet has been received for 1.5 times the
        /// Keepalive time. (Server only.)
        KeepAliveTimeout = 0x8d,
        /// Another connection using the same ClientID has connected. (Server only.)
        SessionTakenOver = 0x8e,
        /// The Topic Filter is correctly formed, but is not accepted by this Server.
        /// (Server only.)
        TopicFilterInvalid = 0x8f,
        /// The Topic Name is correctly formed, but is not accepted by this Client or Server.
        TopicNameInvalid = 0x90,
        /// More than Receive Maximum publications were received without PUBACK or PUBCOMP.
        ReceiveMaximumExceeded = 0x93,
        /// A PUBLISH carried a Topic Alias greater than the Maximum Topic Alias sent in
        /// CONNECT or CONNACK.
        TopicAliasInvalid = 0x94,
        /// The packet size is greater than Maximum Packet Size for this Client or Server.
        PacketTooLarge = 0x95,
        /// The received data rate is too high.
        MessageRateTooHigh = 0x96,
        /// An implementation or administrative imposed limit has been exceeded.
        QuotaExceeded = 0x97,
        /// The connection is closed due to an administrative action.
        AdministrativeAction = 0x98,
        /// The payload format does not match the one specified by the Payload Format
        /// Indicator.
        PayloadFormatInvalid = 0x99,
        /// The Server does not support retained messages. (Server only.)
        RetainNotSupported = 0x9a,
        /// The Client specified a QoS greater than the Maximum QoS in CONNACK. (Server only.)
        QosNotSupported = 0x9b,
        /// The Client should temporarily change its Server. (Server only.)
        UseAnotherServer = 0x9c,
        /// The Server is moved and the Client should permanently change its server location.
        /// (Server only.)
        ServerMoved = 0x9d,
        /// The Server does not support Shared Subscriptions. (Server only.)
        SharedSubscriptionsNotSupported = 0x9e,
        /// This connection is closed because the connection rate is too high. (Server only.)
        ConnectionRateExceeded = 0x9f,
        /// The maximum connection time authorized for this connection has been exceeded.
        /// (Server only.)
        MaximumConnectTime = 0xa0,
        /// The Server does not support Subscription Identifiers. (Server only.)
        SubscriptionIdentifiersNotSupported = 0xa1,
        /// The Server does not support Wildcard Subscriptions. (Server only.)
        WildcardSubscriptionsNotSupported = 0xa2,
    }
}

impl DisconnectReason {
    /// Whether `sender` may use this code: the "Sent by" column of Table 3-10
    /// (MQTT-3.14.2-1).
    pub fn may_be_sent_by(self, sender: Sender) -> bool {
        use DisconnectReason as R;
        match self {
            R::DisconnectWithWillMessage => sender == Sender::Client,
            R::NotAuthorized
            | R::ServerBusy
            | R::ServerShuttingDown
            | R::KeepAliveTimeout
            | R::SessionTakenOver
            | R::TopicFilterInvalid
            | R::RetainNotSupported
            | R::QosNotSupported
            | R::UseAnotherServer
            | R::ServerMoved
            | R::SharedSubscriptionsNotSupported
            | R::ConnectionRateExceeded
            | R::MaximumConnectTime
            | R::SubscriptionIdentifiersNotSupported
            | R::WildcardSubscriptionsNotSupported => sender == Sender::Server,
            _ => true,
        }
    }
}

reason_codes! {
    /// AUTH Reason Code (3.15.2.1, Table 3-11). See [`AuthReason::may_be_sent_by`].
    pub enum AuthReason {
        /// Authentication is successful. (Server only.)
        Success = 0x00,
        /// Continue the authentication with another step.
        ContinueAuthentication = 0x18,
        /// Initiate a re-authentication. (Client only.)
        ReAuthenticate = 0x19,
    }
}

impl AuthReason {
    /// Whether `sender` may use this code: the "Sent by" column of Table 3-11
    /// (MQTT-3.15.2-1).
    pub fn may_be_sent_by(self, sender: Sender) -> bool {
        match self {
            AuthReason::Success => sender == Sender::Server,
            AuthReason::ContinueAuthentication => true,
            AuthReason::ReAuthenticate => sender == Sender::Client,
        }
    }
}
