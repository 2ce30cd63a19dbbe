//! What can go wrong talking to an SCD4x, and how it maps onto the gateway's `SensorError`.

use std::fmt::Debug;

use thiserror::Error;

use super::command::Command;
use super::ADDRESS;
use crate::sensor::SensorError;

/// A failed SCD4x command. `E` is the bus's error type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error<E: Debug> {
    /// The transfer failed: no acknowledge (absent, busy, or a command refused in the current
    /// mode), or a bus fault.
    #[error("{command}: I2C transfer failed: {error:?}")]
    Bus { command: Command, error: E },
    /// A word arrived whose CRC does not match its data.
    #[error(
        "{command}: word {index} arrived as {bytes:02X?} (hex), but the CRC of its data is {expected:02X}"
    )]
    Crc {
        command: Command,
        /// Which word of the answer, from 0.
        index: usize,
        /// The two data bytes and the CRC byte as received.
        bytes: [u8; 3],
        expected: u8,
    },
}

impl<E: Debug> From<Error<E>> for SensorError {
    fn from(e: Error<E>) -> Self {
        match e {
            Error::Bus { .. } => SensorError::Bus(format!("SCD4x at {ADDRESS:#04x}, {e}")),
            Error::Crc { .. } => SensorError::Checksum(format!("SCD4x at {ADDRESS:#04x}, {e}")),
        }
    }
}
