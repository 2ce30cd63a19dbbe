//! Hearth's sensor drivers. Each device driver is generic over `embedded-hal` 1.0 traits, so the
//! same code runs against a Pi's buses and against simulated devices in tests and the demo.

pub mod measurement;
pub mod sensor;
pub mod sim;

pub use measurement::{Measurement, Quantity};
pub use sensor::{Sensor, SensorError};
