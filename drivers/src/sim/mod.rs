//! Simulated devices. The I2C ones answer the real register protocols and the 1-wire one writes
//! the files the Linux driver would, so the real driver code runs in tests and in the demo.
//! Each has a control handle to change its values and inject faults, and the SCD4x and BME280
//! can run on a [`SimClock`] that a test moves by hand.

pub mod bme280;
pub mod clock;
pub mod ds18b20;
pub mod fault;
pub mod pin;
pub mod scd4x;

pub use self::bme280::{SimBme280, SimBme280Control, SimChip};
pub use clock::SimClock;
pub use ds18b20::{SimDs18b20Control, SimW1Bus};
pub use fault::{Drift, Fault, SimI2cError};
pub use pin::{SimPin, SimPinControl};
pub use scd4x::{SimScd4x, SimScd4xControl};
