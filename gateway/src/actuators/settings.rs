//! What an `[[actuator]]` entry asks for, checked and typed.

use std::time::Duration;

use crate::sensors::settings::Pin;

/// One output the gateway switches: a relay on a GPIO pin, or a simulated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActuatorSettings {
    /// Unique; rules name the actuator by it.
    pub name: String,
    /// Commands arrive on `<topic>/set` (`ON`, `OFF`, `TOGGLE`); the state is retained on
    /// `<topic>/state`.
    pub topic: String,
    pub pin: Pin,
    /// Most relay boards switch on when their input is pulled low.
    pub active_low: bool,
    /// The state driven at start after a clean shutdown.
    pub initial: Switch,
    /// The state driven at shutdown, and at start after the previous run ended without one.
    pub safe: Switch,
    /// Switches back off this long after being switched on, whoever switched it.
    pub auto_off: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    /// The payload of `<topic>/state`.
    pub fn payload(self) -> &'static str {
        match self {
            Switch::On => "ON",
            Switch::Off => "OFF",
        }
    }
}
