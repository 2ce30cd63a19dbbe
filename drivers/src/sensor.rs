//! What the gateway asks of a polled device.

use thiserror::Error;

use crate::measurement::{Measurement, Quantity};

/// A device read by polling: each read yields one or more measurements.
///
/// `read` blocks on the bus, so the gateway calls it off the async runtime, one thread per
/// bus, and retries with backoff when it fails.
pub trait Sensor: Send {
    /// The quantities this device reports, known before the first read (Home Assistant
    /// discovery and availability need them up front).
    fn quantities(&self) -> &[Quantity];

    /// Reads the device once.
    fn read(&mut self) -> Result<Vec<Measurement>, SensorError>;
}

/// Why a read produced no measurements. The message repeats what was seen, so a log line is
/// enough to start looking.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SensorError {
    /// The bus transfer failed (no acknowledge, arbitration lost, device unplugged).
    #[error("bus error: {0}")]
    Bus(String),
    /// The device answered, but its data failed its checksum.
    #[error("checksum mismatch: {0}")]
    Checksum(String),
    /// The device has no new data yet (a measurement still in progress).
    #[error("no data ready: {0}")]
    NotReady(String),
    /// The device answered with a value it reports only when something is wrong
    /// (a DS18B20's 85 °C power-on value, a humidity of 0 from a chip without the sensor).
    #[error("implausible reading: {0}")]
    Implausible(String),
    /// Something else answers at this address, or the device is not what the config says.
    #[error("unexpected device: {0}")]
    WrongDevice(String),
    /// Reading a file-backed device (1-wire sysfs) failed.
    #[error("{0}")]
    Io(String),
}
