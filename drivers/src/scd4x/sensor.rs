//! The SCD4x as the gateway polls it: started on first use, then one sample per read.

use std::time::{Duration, Instant};

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

use super::{Reading, Scd4x, ADDRESS};
use crate::clock::{Clock, SystemClock};
use crate::measurement::{Measurement, Quantity};
use crate::sensor::{Sensor, SensorError};

const QUANTITIES: [Quantity; 3] = [Quantity::Co2, Quantity::Temperature, Quantity::Humidity];

/// Periodic measurement yields a sample every 5 s. Four periods without one means the sensor
/// is no longer measuring (a brown-out puts it back to idle without any bus error).
const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(20);

/// An SCD4x in periodic measurement mode behind the [`Sensor`] trait.
///
/// The first read (and the first after a bus error or a stale spell) stops any measurement
/// left running, reads the serial number to confirm an SCD4x answers, and starts periodic
/// measurement; that takes just over 500 ms. Reads between samples return
/// [`SensorError::NotReady`].
pub struct Scd4xSensor<I2C, D, C = SystemClock> {
    device: Scd4x<I2C, D>,
    serial: Option<u64>,
    /// When measurement started or the last sample was read; `None` until started.
    last_progress: Option<Instant>,
    stale_after: Duration,
    clock: C,
}

impl<I2C: I2c, D: DelayNs> Scd4xSensor<I2C, D> {
    /// Talks to nothing until the first read.
    pub fn new(i2c: I2C, delay: D) -> Self {
        Scd4xSensor {
            device: Scd4x::new(i2c, delay),
            serial: None,
            last_progress: None,
            stale_after: DEFAULT_STALE_AFTER,
            clock: SystemClock,
        }
    }
}

impl<I2C: I2c, D: DelayNs, C: Clock> Scd4xSensor<I2C, D, C> {
    /// Counts staleness on `clock` instead of the system clock.
    pub fn with_clock<C2: Clock>(self, clock: C2) -> Scd4xSensor<I2C, D, C2> {
        Scd4xSensor {
            device: self.device,
            serial: self.serial,
            last_progress: self.last_progress,
            stale_after: self.stale_after,
            clock,
        }
    }

    /// How long without a new sample before measurement is restarted (default 20 s).
    pub fn with_stale_after(mut self, stale_after: Duration) -> Self {
        self.stale_after = stale_after;
        self
    }

    /// The serial number read when measurement last started.
    pub fn serial_number(&self) -> Option<u64> {
        self.serial
    }

    /// Gives back the bus and the delay; the sensor keeps measuring.
    pub fn release(self) -> (I2C, D) {
        self.device.release()
    }

    fn start(&mut self) -> Result<Instant, SensorError> {
        self.device.stop_periodic_measurement()?;
        let serial = self.device.get_serial_number()?;
        if serial == 0 {
            return Err(SensorError::WrongDevice(format!(
                "the device at {ADDRESS:#04x} answered get_serial_number with 0 (and valid CRCs); \
                 an SCD4x has a non-zero serial number"
            )));
        }
        self.serial = Some(serial);
        self.device.start_periodic_measurement()?;
        let now = self.clock.now();
        self.last_progress = Some(now);
        Ok(now)
    }

    fn read_sample(&mut self, since: Instant) -> Result<Reading, SensorError> {
        let status = self.device.get_data_ready_status()?;
        if !status.is_ready() {
            let waited = self.clock.now().saturating_duration_since(since);
            if waited >= self.stale_after {
                self.last_progress = None;
                return Err(SensorError::NotReady(format!(
                    "SCD4x has had no new sample for {waited:.1?} (data-ready status {:#06x}); \
                     restarting periodic measurement",
                    status.0
                )));
            }
            return Err(SensorError::NotReady(format!(
                "SCD4x has no new sample yet (data-ready status {:#06x}); it samples every 5 s",
                status.0
            )));
        }
        let reading = self.device.read_measurement()?;
        self.last_progress = Some(self.clock.now());
        Ok(reading)
    }
}

impl<I2C, D, C> Sensor for Scd4xSensor<I2C, D, C>
where
    I2C: I2c + Send,
    D: DelayNs + Send,
    C: Clock,
{
    fn quantities(&self) -> &[Quantity] {
        &QUANTITIES
    }

    fn read(&mut self) -> Result<Vec<Measurement>, SensorError> {
        let since = match self.last_progress {
            Some(since) => since,
            None => self.start()?,
        };
        let reading = self.read_sample(since).inspect_err(|e| {
            // After a failed transfer the sensor's mode is unknown (it may have been unplugged
            // and come back idle), so start over on the next read.
            if matches!(e, SensorError::Bus(_)) {
                self.last_progress = None;
            }
        })?;
        if reading.co2_ppm == 0 {
            return Err(SensorError::Implausible(format!(
                "SCD4x reported CO2 0 ppm (temperature {:.2} °C, humidity {:.2} %), as it does \
                 while warming up or after a failed measurement",
                reading.temperature_c, reading.humidity_pct
            )));
        }
        Ok(vec![
            Measurement {
                quantity: Quantity::Co2,
                value: f64::from(reading.co2_ppm),
            },
            Measurement {
                quantity: Quantity::Temperature,
                value: reading.temperature_c,
            },
            Measurement {
                quantity: Quantity::Humidity,
                value: reading.humidity_pct,
            },
        ])
    }
}

#[cfg(test)]
mod tests;
