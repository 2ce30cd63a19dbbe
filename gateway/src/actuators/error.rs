//! Why a command to an actuator failed.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ActuatorError {
    #[error("no actuator named \"{name}\"; check the name against the [[actuator]] entries")]
    Unknown { name: String },
    #[error("actuator {name}: {reason}")]
    Pin { name: String, reason: String },
    #[error("the actuators have stopped; the gateway is shutting down")]
    Stopped,
}
