//! Carrying out a rule's actions. A failing action is logged and the others still run.

use log::{info, warn};
use rules::{Action, Properties};

use crate::actuators::{ActuatorHandle, Command};
use broker::{BrokerHandle, PublishProperties, QoS};

pub(super) struct Actions {
    broker: BrokerHandle,
    actuators: ActuatorHandle,
}

impl Actions {
    pub(super) fn new(broker: BrokerHandle, actuators: ActuatorHandle) -> Self {
        Self { broker, actuators }
    }

    pub(super) async fn carry_out(&self, rule: &str, action: &Action) {
        match action {
            Action::Publish {
                topic,
                payload,
                qos,
                retain,
                properties,
            } => {
                let qos = QoS::from_u8(*qos).unwrap_or(QoS::AtLeastOnce);
                let bytes = payload.clone().into_bytes();
                let published = self
                    .broker
                    .publish_with_properties(topic, bytes, qos, *retain, mqtt5(properties))
                    .await;
                if let Err(e) = published {
                    warn!(rule; "rule={rule:?} could not publish: {e}");
                }
            }
            Action::Actuate { actuator, command } => match command.parse::<Command>() {
                Ok(command) => {
                    if let Err(e) = self.actuators.command(actuator, command).await {
                        warn!(rule, actuator = actuator.as_str(); "rule={rule:?} could not switch actuator={actuator}: {e}");
                    }
                }
                Err(e) => warn!(rule; "rule={rule:?} actuator={actuator}: {e}"),
            },
            Action::Log { message } => info!(rule; "rule={rule:?} {message}"),
        }
    }
}

/// A rule's properties as the broker sends them. The configuration keeps the expiry within
/// what MQTT can say (whole seconds up to `u32::MAX`).
fn mqtt5(p: &Properties) -> PublishProperties {
    PublishProperties {
        message_expiry_interval: p
            .message_expiry
            .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone().map(Into::into),
        user_properties: p.user_properties.clone(),
        content_type: p.content_type.clone(),
        ..PublishProperties::default()
    }
}
