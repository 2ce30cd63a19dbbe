//! Faults a simulated device can be told to show, and how its values drift.

use std::str::FromStr;
use std::time::Duration;

use embedded_hal::i2c::{Error, ErrorKind, NoAcknowledgeSource};

/// What a simulated device does wrong, set at run time through its control handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Answers normally.
    #[default]
    None,
    /// Does not acknowledge its address, as when unplugged.
    Nack,
    /// The transfer fails on the bus (arbitration loss, a glitch on SDA/SCL).
    BusError,
    /// Answers, but its measurement never changes: valid data, frozen.
    Stuck,
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "ok" => Ok(Fault::None),
            "nack" => Ok(Fault::Nack),
            "bus" | "bus_error" => Ok(Fault::BusError),
            "stuck" => Ok(Fault::Stuck),
            other => Err(format!(
                "unknown fault \"{other}\"; use none, nack, bus_error or stuck"
            )),
        }
    }
}

/// The error a simulated I2C device returns, carrying the embedded-hal error kind a real bus
/// would report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimI2cError(pub ErrorKind);

impl SimI2cError {
    pub fn nack() -> Self {
        SimI2cError(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address))
    }

    pub fn bus() -> Self {
        SimI2cError(ErrorKind::Bus)
    }
}

impl Error for SimI2cError {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

impl Fault {
    /// The bus error this fault causes on a transfer, if any.
    pub fn transfer_error(self) -> Option<SimI2cError> {
        match self {
            Fault::Nack => Some(SimI2cError::nack()),
            Fault::BusError => Some(SimI2cError::bus()),
            Fault::None | Fault::Stuck => None,
        }
    }
}

/// A slow swing around the base value, as a room warms and cools over a day (compressed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// Peak deviation from the base value, in the quantity's unit; 0 keeps values exact.
    pub amplitude: f64,
    /// Time for one full swing.
    pub period: Duration,
}

impl Drift {
    pub const NONE: Drift = Drift {
        amplitude: 0.0,
        period: Duration::from_secs(600),
    };

    /// The offset from the base value `elapsed` after the device started.
    pub fn offset(&self, elapsed: Duration) -> f64 {
        if self.amplitude == 0.0 || self.period.is_zero() {
            return 0.0;
        }
        let phase = elapsed.as_secs_f64() / self.period.as_secs_f64();
        self.amplitude * (phase * std::f64::consts::TAU).sin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_their_names() {
        assert_eq!("nack".parse(), Ok(Fault::Nack));
        assert_eq!("Bus_Error".parse(), Ok(Fault::BusError));
        assert_eq!("stuck".parse(), Ok(Fault::Stuck));
        assert_eq!("none".parse(), Ok(Fault::None));
        assert!("melted".parse::<Fault>().is_err());
    }

    #[test]
    fn drift_swings_around_zero() {
        let d = Drift {
            amplitude: 2.0,
            period: Duration::from_secs(100),
        };
        assert!(d.offset(Duration::ZERO).abs() < 1e-9);
        assert!((d.offset(Duration::from_secs(25)) - 2.0).abs() < 1e-9);
        assert!((d.offset(Duration::from_secs(75)) + 2.0).abs() < 1e-9);
        assert_eq!(Drift::NONE.offset(Duration::from_secs(42)), 0.0);
    }
}
