//! Carrying out a rule's actions. A failing action is logged and the others still run.

use log::{info, warn};
use rules::Action;

use crate::actuators::{ActuatorHandle, Command};
use broker::{BrokerHandle, QoS};

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
            } => {
                let qos = QoS::from_u8(*qos).unwrap_or(QoS::AtLeastOnce);
                let bytes = payload.clone().into_bytes();
                if let Err(e) = self.broker.publish(topic, bytes, qos, *retain).await {
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
