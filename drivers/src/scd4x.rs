//! Sensirion SCD4x (SCD40, SCD41) CO2, temperature and humidity sensor on I2C.
//!
//! Every exchange is a 16-bit big-endian command, a wait of the command's execution time, then
//! for commands that answer, a read of 16-bit words each followed by a CRC-8. The sensor does
//! not acknowledge its address while it executes a command, so the waits are not optional.

mod command;
mod crc;
mod error;
mod sensor;
#[cfg(test)]
mod tests;

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

pub use command::Command;
pub use crc::{crc8, encode_word};
pub use error::Error;
pub use sensor::Scd4xSensor;

/// The SCD4x's fixed I2C address.
pub const ADDRESS: u8 = 0x62;

/// The data-ready status word. Only its low 11 bits say whether a sample waits; the others
/// are not specified and are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataReadyStatus(pub u16);

impl DataReadyStatus {
    pub fn is_ready(self) -> bool {
        self.0 & 0x07FF != 0
    }
}

/// One sample of periodic measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub co2_ppm: u16,
    pub temperature_c: f64,
    pub humidity_pct: f64,
}

impl Reading {
    /// Converts the three words of `read_measurement`: CO2 in ppm, then raw temperature and
    /// raw relative humidity.
    pub fn from_words([co2, temperature, humidity]: [u16; 3]) -> Self {
        Reading {
            co2_ppm: co2,
            temperature_c: temperature_c(temperature),
            humidity_pct: humidity_pct(humidity),
        }
    }
}

/// T = -45 + 175 · raw / 65535 °C, so 0 → -45 °C and 65535 → 130 °C.
pub fn temperature_c(raw: u16) -> f64 {
    -45.0 + 175.0 * f64::from(raw) / 65535.0
}

/// RH = 100 · raw / 65535 %, so 0 → 0 % and 65535 → 100 %.
pub fn humidity_pct(raw: u16) -> f64 {
    100.0 * f64::from(raw) / 65535.0
}

/// The SCD4x command set over a blocking I2C bus and a delay.
pub struct Scd4x<I2C, D> {
    i2c: I2C,
    delay: D,
}

impl<I2C: I2c, D: DelayNs> Scd4x<I2C, D> {
    /// A driver for the sensor at [`ADDRESS`]. Sends nothing.
    pub fn new(i2c: I2C, delay: D) -> Self {
        Scd4x { i2c, delay }
    }

    /// Gives back the bus and the delay.
    pub fn release(self) -> (I2C, D) {
        (self.i2c, self.delay)
    }

    /// Starts sampling every 5 s. Refused (NACK) while a measurement already runs.
    pub fn start_periodic_measurement(&mut self) -> Result<(), Error<I2C::Error>> {
        self.send(Command::StartPeriodicMeasurement)
    }

    /// Returns the sensor to idle, and waits the 500 ms it needs before any other command.
    /// Accepted in idle mode too.
    pub fn stop_periodic_measurement(&mut self) -> Result<(), Error<I2C::Error>> {
        self.send(Command::StopPeriodicMeasurement)
    }

    /// Whether a sample waits to be read.
    pub fn get_data_ready_status(&mut self) -> Result<DataReadyStatus, Error<I2C::Error>> {
        let [word] = self.read_words(Command::GetDataReadyStatus)?;
        Ok(DataReadyStatus(word))
    }

    /// Reads and empties the sample buffer. The sensor NACKs this when no sample waits.
    pub fn read_measurement(&mut self) -> Result<Reading, Error<I2C::Error>> {
        self.read_words(Command::ReadMeasurement)
            .map(Reading::from_words)
    }

    /// The 48-bit serial number. Refused (NACK) while a measurement runs.
    pub fn get_serial_number(&mut self) -> Result<u64, Error<I2C::Error>> {
        let [a, b, c] = self.read_words(Command::GetSerialNumber)?;
        Ok(u64::from(a) << 32 | u64::from(b) << 16 | u64::from(c))
    }

    /// Reloads the user settings from EEPROM. Refused (NACK) while a measurement runs.
    pub fn reinit(&mut self) -> Result<(), Error<I2C::Error>> {
        self.send(Command::Reinit)
    }

    /// Writes the command and waits its execution time.
    fn send(&mut self, command: Command) -> Result<(), Error<I2C::Error>> {
        self.i2c
            .write(ADDRESS, &command.code().to_be_bytes())
            .map_err(|error| Error::Bus { command, error })?;
        let wait = command.execution_time_ms();
        if wait > 0 {
            self.delay.delay_ms(wait);
        }
        Ok(())
    }

    /// Sends the command, then reads `N` words and checks each one's CRC.
    fn read_words<const N: usize>(
        &mut self,
        command: Command,
    ) -> Result<[u16; N], Error<I2C::Error>> {
        self.send(command)?;
        let mut raw = [[0_u8; 3]; N];
        self.i2c
            .read(ADDRESS, raw.as_flattened_mut())
            .map_err(|error| Error::Bus { command, error })?;
        let mut words = [0_u16; N];
        for (index, (word, bytes)) in words.iter_mut().zip(raw).enumerate() {
            let [hi, lo, crc] = bytes;
            let expected = crc8(&[hi, lo]);
            if crc != expected {
                return Err(Error::Crc {
                    command,
                    index,
                    bytes,
                    expected,
                });
            }
            *word = u16::from_be_bytes([hi, lo]);
        }
        Ok(words)
    }
}
