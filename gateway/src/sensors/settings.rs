//! What a `[[sensor]]` entry asks for, checked and typed.

use std::path::PathBuf;
use std::time::Duration;

use drivers::{InputPayload, Quantity};

use broker::QoS;

#[derive(Debug, Clone, PartialEq)]
pub struct SensorSettings {
    /// Unique; names the sensor in logs and in Home Assistant object ids.
    pub name: String,
    /// Base topic: readings go to `<topic>/<quantity>`, availability to `<topic>/status`.
    pub topic: String,
    /// Time between reads of a polled device.
    pub interval: Duration,
    pub device: Device,
    pub publish: PublishSettings,
    /// Starting values and behaviour of a simulated device (ignored for real hardware).
    pub sim: SimSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    Bme280 { bus: I2cBus, address: u8 },
    Scd4x { bus: I2cBus },
    Ds18b20 { id: String, w1: W1Root },
    GpioInput(GpioInputSettings),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioInputSettings {
    pub pin: Pin,
    pub pull: Pull,
    pub active_low: bool,
    pub debounce: Duration,
    pub payload: InputPayload,
}

impl Device {
    pub fn driver_name(&self) -> &'static str {
        match self {
            Device::Bme280 { .. } => "bme280",
            Device::Scd4x { .. } => "scd4x",
            Device::Ds18b20 { .. } => "ds18b20",
            Device::GpioInput(_) => "gpio_input",
        }
    }

    pub fn is_simulated(&self) -> bool {
        match self {
            Device::Bme280 { bus, .. } | Device::Scd4x { bus } => *bus == I2cBus::Sim,
            Device::Ds18b20 { w1, .. } => *w1 == W1Root::Sim,
            Device::GpioInput(g) => g.pin == Pin::Sim,
        }
    }
}

/// An I2C bus: a Linux device such as `/dev/i2c-1`, or the simulated bus.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum I2cBus {
    Dev(PathBuf),
    Sim,
}

/// Where 1-wire devices appear: normally `/sys/bus/w1/devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum W1Root {
    Sysfs(PathBuf),
    Sim,
}

/// A GPIO line by its BCM number (the number after "GPIO" on pinout diagrams), or simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    Bcm(u8),
    Sim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    None,
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The number alone (`21.4`): what phone dashboards and most rules expect.
    Plain,
    /// `{"value":21.4,"unit":"°C","timestamp":"..."}`.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublishSettings {
    pub retain: bool,
    pub qos: QoS,
    pub format: Format,
    /// Digits after the decimal point; `None` uses the quantity's own resolution.
    pub decimals: Option<u32>,
    /// A value is published when it moved at least this far from the last one published.
    pub deadband: f64,
    /// An unchanged value is still republished this often.
    pub heartbeat: Duration,
    /// Publish the mean of the last N samples (1 = no averaging).
    pub average: usize,
    /// Added to the raw value of a quantity, to calibrate a sensor against a reference.
    pub offsets: Vec<(Quantity, f64)>,
}

impl Default for PublishSettings {
    fn default() -> Self {
        Self {
            retain: true,
            qos: QoS::AtMostOnce,
            format: Format::Plain,
            decimals: None,
            deadband: 0.0,
            heartbeat: Duration::from_secs(300),
            average: 1,
            offsets: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimSettings {
    /// Starting values per quantity; unset ones take a typical indoor value.
    pub values: Vec<(Quantity, f64)>,
    /// Peak swing of the device's main quantity (temperature; CO2 for a SCD4x) around its
    /// starting value.
    pub drift: f64,
    pub drift_period: Duration,
    /// A simulated input flips this often (a PIR seeing someone walk by); `None` never.
    pub toggle_every: Option<Duration>,
    /// Simulate a BMP280 (no humidity) where a BME280 is configured.
    pub bmp280: bool,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            drift: 0.0,
            drift_period: Duration::from_secs(600),
            toggle_every: None,
            bmp280: false,
        }
    }
}

impl SimSettings {
    /// The starting value of `q`: the configured one or a typical indoor value.
    pub fn value(&self, q: Quantity) -> f64 {
        self.values
            .iter()
            .find(|(k, _)| *k == q)
            .map(|(_, v)| *v)
            .unwrap_or(match q {
                Quantity::Temperature => 21.0,
                Quantity::Humidity => 45.0,
                Quantity::Pressure => 1013.25,
                Quantity::Co2 => 600.0,
            })
    }
}
