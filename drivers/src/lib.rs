//! Hearth's sensor drivers. I2C and GPIO drivers are generic over `embedded-hal` 1.0 traits, so
//! the same code runs against a Pi's buses and against simulated devices in tests and the demo;
//! the DS18B20 is read through the Linux 1-wire files, which its simulation writes.

pub mod bme280;
pub mod clock;
pub mod ds18b20;
pub mod gpio_input;
pub mod measurement;
pub mod scd4x;
pub mod sensor;
pub mod sim;

pub use clock::{Clock, SystemClock};
pub use ds18b20::Ds18b20;
pub use gpio_input::{Debouncer, GpioInput, InputPayload};
pub use measurement::{Measurement, Quantity};
pub use sensor::{Sensor, SensorError};
