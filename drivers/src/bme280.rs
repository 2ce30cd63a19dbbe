//! Bosch BME280 (temperature, humidity, pressure) and BMP280 (temperature, pressure) on I2C.
//!
//! The BME280 goes through the `bme280` crate. The BMP280 is read through its few registers
//! here: that crate accepts only the production id 0x58 (not the 0x56/0x57 samples) and
//! computes a humidity from registers a BMP280 does not have.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ::bme280::i2c::BME280;
use ::bme280::{Configuration, IIRFilter, Oversampling};
use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, Operation};

use crate::measurement::{Measurement, Quantity};
use crate::sensor::{Sensor, SensorError};

/// The address with SDO to ground.
pub const ADDRESS_PRIMARY: u8 = 0x76;
/// The address with SDO to VDDIO.
pub const ADDRESS_SECONDARY: u8 = 0x77;

/// Register addresses (datasheet section 5.3; BMP280 section 4.3).
mod reg {
    pub const CALIB_TP: u8 = 0x88;
    pub const CHIP_ID: u8 = 0xD0;
    pub const RESET: u8 = 0xE0;
    pub const STATUS: u8 = 0xF3;
    pub const CTRL_MEAS: u8 = 0xF4;
    pub const CONFIG: u8 = 0xF5;
    pub const DATA: u8 = 0xF7;
}

mod chip_id {
    pub const BME280: u8 = 0x60;
    pub const BMP280: u8 = 0x58;
    /// Engineering samples of the BMP280, still found on cheap boards.
    pub const BMP280_SAMPLE_1: u8 = 0x56;
    pub const BMP280_SAMPLE_2: u8 = 0x57;
}

mod value {
    pub const SOFT_RESET: u8 = 0xB6;
    /// Temperature oversampling x2, pressure x8, sleep mode: 17- and 19-bit results (0.0025 °C,
    /// 0.33 Pa) in at most 27.7 ms with humidity, inside the fixed 40 ms the `bme280` crate waits
    /// without looking at the status register.
    pub const CTRL_MEAS_SLEEP: u8 = (0b010 << 5) | (0b100 << 2);
    pub const MODE_FORCED: u8 = 0b01;
    /// IIR filter off: in forced mode a filter would smear one poll into the next.
    pub const CONFIG: u8 = 0;
    pub const STATUS_MEASURING: u8 = 1 << 3;
}

/// Datasheet operating range. The `bme280` crate clamps its results to these limits, so a
/// value at a limit is as suspect as one beyond it.
const TEMPERATURE_C: (f64, f64) = (-40.0, 85.0);
const PRESSURE_HPA: (f64, f64) = (300.0, 1100.0);
const HUMIDITY_PCT: (f64, f64) = (0.0, 100.0);

/// BMP280 measurement time at the oversampling above, at most (BMP280 datasheet table 13).
const BMP280_MEASURE_MS: u32 = 25;
const BMP280_STATUS_POLLS: u32 = 5;
const BMP280_POLL_MS: u32 = 5;
/// Start-up time after power-on or soft reset.
const STARTUP_MS: u32 = 2;

/// Which chip answered the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chip {
    Bme280,
    Bmp280,
}

impl Chip {
    pub fn quantities(self) -> &'static [Quantity] {
        match self {
            Chip::Bme280 => &[
                Quantity::Temperature,
                Quantity::Humidity,
                Quantity::Pressure,
            ],
            Chip::Bmp280 => &[Quantity::Temperature, Quantity::Pressure],
        }
    }
}

impl fmt::Display for Chip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Chip::Bme280 => "BME280",
            Chip::Bmp280 => "BMP280",
        })
    }
}

/// A BME280 or BMP280, told apart by its chip id, measured in forced mode on each read.
pub struct Bme280Sensor<I2C, D> {
    address: u8,
    delay: D,
    device: Device<I2C>,
    /// False after any failed read: the chip may have been replugged or browned out, losing
    /// its settings, so the next read starts again from a soft reset.
    configured: bool,
}

enum Device<I2C> {
    Bme280 {
        bus: SharedBus<I2C>,
        driver: BME280<SharedBus<I2C>>,
    },
    Bmp280 {
        i2c: I2C,
        calibration: Calibration,
    },
}

impl<I2C, D> Bme280Sensor<I2C, D> {
    pub fn chip(&self) -> Chip {
        match self.device {
            Device::Bme280 { .. } => Chip::Bme280,
            Device::Bmp280 { .. } => Chip::Bmp280,
        }
    }

    pub fn address(&self) -> u8 {
        self.address
    }

    fn context(&self, doing: &str) -> String {
        format!("{} at 0x{:02x}: {doing}", self.chip(), self.address)
    }
}

impl<I2C: I2c, D: DelayNs> Bme280Sensor<I2C, D> {
    /// Probes the chip id at `address`, then resets and configures the chip.
    pub fn new(mut i2c: I2C, address: u8, delay: D) -> Result<Self, SensorError> {
        let mut id = [0];
        i2c.write_read(address, &[reg::CHIP_ID], &mut id)
            .map_err(|e| bus_error(&format!("0x{address:02x}: reading the chip id"), e))?;
        let device = match id[0] {
            chip_id::BME280 => {
                let bus = SharedBus(Arc::new(Mutex::new(i2c)));
                let driver = BME280::new(bus.clone(), address);
                Device::Bme280 { bus, driver }
            }
            chip_id::BMP280 | chip_id::BMP280_SAMPLE_1 | chip_id::BMP280_SAMPLE_2 => {
                Device::Bmp280 {
                    i2c,
                    calibration: Calibration::default(),
                }
            }
            other => {
                return Err(SensorError::WrongDevice(format!(
                    "0x{address:02x} answers with chip id 0x{other:02x}, not a BME280 (0x{:02x}) \
                     or BMP280 (0x{:02x}, samples 0x{:02x}/0x{:02x})",
                    chip_id::BME280,
                    chip_id::BMP280,
                    chip_id::BMP280_SAMPLE_1,
                    chip_id::BMP280_SAMPLE_2,
                )))
            }
        };
        let mut sensor = Bme280Sensor {
            address,
            delay,
            device,
            configured: false,
        };
        sensor.configure()?;
        Ok(sensor)
    }

    /// Gives back the bus and the delay.
    pub fn release(self) -> (I2C, D) {
        let Bme280Sensor { delay, device, .. } = self;
        let i2c = match device {
            Device::Bme280 { bus, driver } => {
                drop(driver);
                match bus.into_inner() {
                    Ok(i2c) => i2c,
                    Err(_) => {
                        unreachable!("the bme280 driver, just dropped, held the only other handle")
                    }
                }
            }
            Device::Bmp280 { i2c, .. } => i2c,
        };
        (i2c, delay)
    }

    fn configure(&mut self) -> Result<(), SensorError> {
        let context = self.context("initialising");
        let address = self.address;
        match &mut self.device {
            Device::Bme280 { driver, .. } => driver
                .init_with_config(&mut self.delay, crate_config())
                .map_err(|e| crate_error(&context, e))?,
            Device::Bmp280 { i2c, calibration } => {
                let bus = |e| bus_error(&context, e);
                i2c.write(address, &[reg::RESET, value::SOFT_RESET])
                    .map_err(bus)?;
                self.delay.delay_ms(STARTUP_MS);
                let mut words = [0; 24];
                i2c.write_read(address, &[reg::CALIB_TP], &mut words)
                    .map_err(bus)?;
                *calibration = Calibration::parse(&words);
                // config before ctrl_meas: the chip may ignore config writes outside sleep mode.
                i2c.write(address, &[reg::CONFIG, value::CONFIG])
                    .map_err(bus)?;
                i2c.write(address, &[reg::CTRL_MEAS, value::CTRL_MEAS_SLEEP])
                    .map_err(bus)?;
            }
        }
        self.configured = true;
        Ok(())
    }

    fn read_once(&mut self) -> Result<Vec<Measurement>, SensorError> {
        if !self.configured {
            self.configure()?;
        }
        let (temperature, humidity, pressure_pa) = match self.chip() {
            Chip::Bme280 => self.measure_bme280()?,
            Chip::Bmp280 => self.measure_bmp280()?,
        };
        let mut out = vec![Measurement {
            quantity: Quantity::Temperature,
            value: self.in_range("temperature", "°C", temperature, TEMPERATURE_C)?,
        }];
        if let Some(humidity) = humidity {
            // 100 % is saturation, a real reading; 0 % is what a dead humidity sensor gives.
            if !(humidity > HUMIDITY_PCT.0 && humidity <= HUMIDITY_PCT.1) {
                return Err(SensorError::Implausible(self.context(&format!(
                    "humidity {humidity} % is outside ({}, {}] %",
                    HUMIDITY_PCT.0, HUMIDITY_PCT.1
                ))));
            }
            out.push(Measurement {
                quantity: Quantity::Humidity,
                value: humidity,
            });
        }
        out.push(Measurement {
            quantity: Quantity::Pressure,
            value: self.in_range("pressure", "hPa", pressure_pa / 100.0, PRESSURE_HPA)?,
        });
        Ok(out)
    }

    /// (°C, % RH, Pa) through the `bme280` crate, after checking the chip kept its settings.
    fn measure_bme280(&mut self) -> Result<(f64, Option<f64>, f64), SensorError> {
        let context = self.context("measuring");
        let address = self.address;
        let Device::Bme280 { bus, driver } = &mut self.device else {
            return Err(SensorError::WrongDevice(context));
        };
        // The crate only sets the mode bits before measuring: a chip that reset since (all
        // oversampling "skipped") would yield plausible-looking garbage.
        let mut ctrl_meas = [0];
        bus.lock()
            .write_read(address, &[reg::CTRL_MEAS], &mut ctrl_meas)
            .map_err(|e| bus_error(&context, e))?;
        if ctrl_meas[0] != value::CTRL_MEAS_SLEEP {
            driver
                .init_with_config(&mut self.delay, crate_config())
                .map_err(|e| crate_error(&context, e))?;
        }
        let m = driver
            .measure(&mut self.delay)
            .map_err(|e| crate_error(&context, e))?;
        Ok((
            f64::from(m.temperature),
            Some(f64::from(m.humidity)),
            f64::from(m.pressure),
        ))
    }

    /// (°C, no humidity, Pa) through the BMP280's registers.
    fn measure_bmp280(&mut self) -> Result<(f64, Option<f64>, f64), SensorError> {
        let context = self.context("measuring");
        let address = self.address;
        let Device::Bmp280 { i2c, calibration } = &mut self.device else {
            return Err(SensorError::WrongDevice(context));
        };
        let bus = |e| bus_error(&context, e);
        i2c.write(
            address,
            &[reg::CTRL_MEAS, value::CTRL_MEAS_SLEEP | value::MODE_FORCED],
        )
        .map_err(bus)?;
        self.delay.delay_ms(BMP280_MEASURE_MS);
        let mut status = [0];
        let mut polls = 0;
        loop {
            i2c.write_read(address, &[reg::STATUS], &mut status)
                .map_err(bus)?;
            if status[0] & value::STATUS_MEASURING == 0 {
                break;
            }
            polls += 1;
            if polls == BMP280_STATUS_POLLS {
                return Err(SensorError::NotReady(format!(
                    "{context}: still measuring {} ms after the start (status 0x{:02x})",
                    BMP280_MEASURE_MS + polls * BMP280_POLL_MS,
                    status[0]
                )));
            }
            self.delay.delay_ms(BMP280_POLL_MS);
        }
        let mut data = [0; 6];
        i2c.write_read(address, &[reg::DATA], &mut data)
            .map_err(bus)?;
        let [p_msb, p_lsb, p_xlsb, t_msb, t_lsb, t_xlsb] = data;
        let (temperature, t_fine) = calibration.temperature(adc20(t_msb, t_lsb, t_xlsb));
        let pressure = calibration
            .pressure(adc20(p_msb, p_lsb, p_xlsb), t_fine)
            .ok_or_else(|| {
                SensorError::Implausible(format!(
                    "{context}: pressure calibration gives a zero divisor ({calibration:?})"
                ))
            })?;
        Ok((temperature, None, pressure))
    }

    fn in_range(
        &self,
        what: &str,
        unit: &str,
        v: f64,
        (low, high): (f64, f64),
    ) -> Result<f64, SensorError> {
        if v > low && v < high {
            Ok(v)
        } else {
            Err(SensorError::Implausible(self.context(&format!(
                "{what} {v} {unit} is at or beyond the operating range {low}..{high} {unit}"
            ))))
        }
    }
}

impl<I2C, D> Sensor for Bme280Sensor<I2C, D>
where
    I2C: I2c + Send,
    D: DelayNs + Send,
{
    fn quantities(&self) -> &[Quantity] {
        self.chip().quantities()
    }

    fn read(&mut self) -> Result<Vec<Measurement>, SensorError> {
        let result = self.read_once();
        if result.is_err() {
            self.configured = false;
        }
        result
    }
}

impl<I2C, D> fmt::Debug for Bme280Sensor<I2C, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bme280Sensor")
            .field("chip", &self.chip())
            .field("address", &format_args!("0x{:02x}", self.address))
            .field("configured", &self.configured)
            .finish()
    }
}

fn crate_config() -> Configuration {
    Configuration::default()
        .with_temperature_oversampling(Oversampling::Oversampling2X)
        .with_pressure_oversampling(Oversampling::Oversampling8X)
        .with_humidity_oversampling(Oversampling::Oversampling1X)
        .with_iir_filter(IIRFilter::Off)
}

fn bus_error(context: &str, e: impl embedded_hal::i2c::Error) -> SensorError {
    let kind: ErrorKind = e.kind();
    SensorError::Bus(format!("{context}: {kind} ({kind:?})"))
}

fn crate_error<E: embedded_hal::i2c::Error>(context: &str, e: ::bme280::Error<E>) -> SensorError {
    use ::bme280::Error;
    match e {
        Error::Bus(e) => bus_error(context, e),
        Error::NoCalibrationData => {
            SensorError::NotReady(format!("{context}: calibration words not read yet"))
        }
        Error::UnsupportedChip => SensorError::WrongDevice(format!(
            "{context}: the chip id no longer reads 0x{:02x} (BME280)",
            chip_id::BME280
        )),
        Error::InvalidData => SensorError::Implausible(format!(
            "{context}: invalid data (ctrl_meas mode bits 0b10, or pressure calibration with a \
             zero divisor)"
        )),
        Error::CompensationFailed => {
            SensorError::Implausible(format!("{context}: compensation failed"))
        }
        Error::Delay => SensorError::NotReady(format!("{context}: the delay failed")),
    }
}

/// A 20-bit ADC value from its msb, lsb and xlsb[7:4] registers.
fn adc20(msb: u8, lsb: u8, xlsb: u8) -> i32 {
    (i32::from(msb) << 12) | (i32::from(lsb) << 4) | (i32::from(xlsb) >> 4)
}

/// Temperature and pressure trimming words, 0x88..0x9F (BMP280 datasheet table 17).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Calibration {
    t1: u16,
    t2: i16,
    t3: i16,
    p1: u16,
    p: [i16; 8],
}

impl Calibration {
    fn parse(bytes: &[u8; 24]) -> Self {
        let mut w = [0u16; 12];
        for (word, pair) in w.iter_mut().zip(bytes.chunks_exact(2)) {
            *word = u16::from_le_bytes([pair[0], pair[1]]);
        }
        let signed = |word: u16| word as i16;
        Calibration {
            t1: w[0],
            t2: signed(w[1]),
            t3: signed(w[2]),
            p1: w[3],
            p: [w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11]].map(signed),
        }
    }

    /// °C and t_fine, by the datasheet's double-precision formula (section 8.1).
    fn temperature(&self, adc: i32) -> (f64, i32) {
        let adc = f64::from(adc);
        let t1 = f64::from(self.t1);
        let var1 = (adc / 16384.0 - t1 / 1024.0) * f64::from(self.t2);
        let d = adc / 131072.0 - t1 / 8192.0;
        let var2 = d * d * f64::from(self.t3);
        // The datasheet truncates t_fine to an integer; `as` saturates, never panics.
        ((var1 + var2) / 5120.0, (var1 + var2) as i32)
    }

    /// Pa, by the datasheet's double-precision formula; None where it would divide by zero.
    fn pressure(&self, adc: i32, t_fine: i32) -> Option<f64> {
        let [p2, p3, p4, p5, p6, p7, p8, p9] = self.p.map(f64::from);
        let mut var1 = f64::from(t_fine) / 2.0 - 64000.0;
        let mut var2 = var1 * var1 * p6 / 32768.0;
        var2 += var1 * p5 * 2.0;
        var2 = var2 / 4.0 + p4 * 65536.0;
        var1 = (p3 * var1 * var1 / 524288.0 + p2 * var1) / 524288.0;
        var1 = (1.0 + var1 / 32768.0) * f64::from(self.p1);
        if var1 == 0.0 {
            return None;
        }
        let mut p = 1048576.0 - f64::from(adc);
        p = (p - var2 / 4096.0) * 6250.0 / var1;
        var1 = p9 * p * p / 2147483648.0;
        var2 = p * p8 / 32768.0;
        Some(p + (var1 + var2 + p7) / 16.0)
    }
}

/// The bus, shared with the `bme280` crate's driver, which keeps what it is given and has no
/// way to hand it back. Both handles are used from one thread at a time; the mutex only makes
/// the pair `Send`.
struct SharedBus<I2C>(Arc<Mutex<I2C>>);

impl<I2C> Clone for SharedBus<I2C> {
    fn clone(&self) -> Self {
        SharedBus(Arc::clone(&self.0))
    }
}

impl<I2C> SharedBus<I2C> {
    fn lock(&self) -> MutexGuard<'_, I2C> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bus, once this is the last handle.
    fn into_inner(self) -> Result<I2C, Self> {
        Arc::try_unwrap(self.0)
            .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
            .map_err(SharedBus)
    }
}

impl<I2C: I2c> ErrorType for SharedBus<I2C> {
    type Error = I2C::Error;
}

// Each method forwards as itself: the provided ones would turn every call into `transaction`.
impl<I2C: I2c> I2c for SharedBus<I2C> {
    fn read(&mut self, address: u8, read: &mut [u8]) -> Result<(), Self::Error> {
        self.lock().read(address, read)
    }

    fn write(&mut self, address: u8, write: &[u8]) -> Result<(), Self::Error> {
        self.lock().write(address, write)
    }

    fn write_read(
        &mut self,
        address: u8,
        write: &[u8],
        read: &mut [u8],
    ) -> Result<(), Self::Error> {
        self.lock().write_read(address, write, read)
    }

    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        self.lock().transaction(address, operations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal::i2c::NoAcknowledgeSource;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};

    const A: u8 = ADDRESS_PRIMARY;

    /// BMP280 datasheet section 3.12: dig_T1..dig_T3, dig_P1..dig_P9.
    const EXAMPLE_WORDS: [i32; 12] = [
        27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,
    ];
    /// adc_P = 415148 (0x655AC) and adc_T = 519888 (0x7EED0) as 0xF7..0xFC present them.
    const EXAMPLE_DATA: [u8; 6] = [0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00];
    /// dig_H2 = 362, dig_H3 = 0, dig_H4 = 313, dig_H5 = 50, dig_H6 = 30 at 0xE1..0xE7.
    const H_BLOCK: [u8; 7] = [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E];
    const DIG_H1: u8 = 75;
    /// adc_H = 27000; with the words above and t_fine 128422 the datasheet's double formula
    /// gives 38.2751 % RH.
    const EXAMPLE_HUM: [u8; 2] = [0x69, 0x78];

    fn example_words() -> Vec<u8> {
        EXAMPLE_WORDS
            .iter()
            .flat_map(|&w| (w as u16).to_le_bytes())
            .collect()
    }

    fn nack() -> ErrorKind {
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
    }

    fn probe(id: u8) -> T {
        T::write_read(A, vec![reg::CHIP_ID], vec![id])
    }

    /// What `bme280::BME280::init_with_config` sends, chip id check included.
    fn bme280_init() -> Vec<T> {
        let mut tp = example_words();
        tp.extend([0x00, DIG_H1]);
        vec![
            T::write_read(A, vec![0xD0], vec![0x60]),
            T::write(A, vec![0xE0, 0xB6]),
            T::write_read(A, vec![0x88], tp),
            T::write_read(A, vec![0xE1], H_BLOCK.to_vec()),
            T::write_read(A, vec![0xF4], vec![0x00]),
            T::write(A, vec![0xF2, 0x01]),
            T::write_read(A, vec![0xF4], vec![0x00]),
            T::write(A, vec![0xF4, 0x50]),
            T::write_read(A, vec![0xF5], vec![0x00]),
            T::write(A, vec![0xF5, 0x00]),
        ]
    }

    /// The settings check, then what `bme280::BME280::measure` sends.
    fn bme280_measure(data: &[u8]) -> Vec<T> {
        vec![
            T::write_read(A, vec![0xF4], vec![0x50]),
            T::write_read(A, vec![0xF4], vec![0x50]),
            T::write_read(A, vec![0xF4], vec![0x50]),
            T::write(A, vec![0xF4, 0x51]),
            T::write_read(A, vec![0xF7], data.to_vec()),
        ]
    }

    fn bmp280_init() -> Vec<T> {
        vec![
            T::write(A, vec![0xE0, 0xB6]),
            T::write_read(A, vec![0x88], example_words()),
            T::write(A, vec![0xF5, 0x00]),
            T::write(A, vec![0xF4, 0x50]),
        ]
    }

    fn bmp280_measure(data: &[u8]) -> Vec<T> {
        vec![
            T::write(A, vec![0xF4, 0x51]),
            T::write_read(A, vec![0xF3], vec![0x00]),
            T::write_read(A, vec![0xF7], data.to_vec()),
        ]
    }

    fn sensor(expected: &[T]) -> (Bme280Sensor<Mock, NoopDelay>, Mock) {
        let mock = Mock::new(expected);
        let sensor = Bme280Sensor::new(mock.clone(), A, NoopDelay).unwrap();
        (sensor, mock)
    }

    fn value(readings: &[Measurement], quantity: Quantity) -> Option<f64> {
        readings
            .iter()
            .find(|m| m.quantity == quantity)
            .map(|m| m.value)
    }

    #[test]
    fn probes_a_bme280_and_initialises_it_through_the_crate() {
        let expected = [vec![probe(0x60)], bme280_init()].concat();
        let (sensor, _) = sensor(&expected);
        assert_eq!(sensor.chip(), Chip::Bme280);
        assert_eq!(
            sensor.quantities(),
            [
                Quantity::Temperature,
                Quantity::Humidity,
                Quantity::Pressure
            ]
        );
        let (mut bus, _) = sensor.release();
        bus.done();
    }

    #[test]
    fn probes_a_bmp280_and_its_samples_without_humidity() {
        for id in [0x58, 0x56, 0x57] {
            let expected = [vec![probe(id)], bmp280_init()].concat();
            let (sensor, _) = sensor(&expected);
            assert_eq!(sensor.chip(), Chip::Bmp280, "id 0x{id:02x}");
            assert_eq!(
                sensor.quantities(),
                [Quantity::Temperature, Quantity::Pressure]
            );
            sensor.release().0.done();
        }
    }

    #[test]
    fn another_chip_id_is_the_wrong_device() {
        let mut mock = Mock::new(&[T::write_read(0x77, vec![0xD0], vec![0x61])]);
        let err = Bme280Sensor::new(mock.clone(), 0x77, NoopDelay).unwrap_err();
        let SensorError::WrongDevice(message) = &err else {
            panic!("{err:?}");
        };
        assert!(message.contains("chip id 0x61"), "{message}");
        assert!(message.contains("0x77"), "{message}");
        mock.done();
    }

    #[test]
    fn a_nack_on_the_address_is_a_bus_error() {
        let mut mock = Mock::new(&[probe(0).with_error(nack())]);
        let err = Bme280Sensor::new(mock.clone(), A, NoopDelay).unwrap_err();
        assert_eq!(
            err,
            SensorError::Bus(
                "0x76: reading the chip id: The device did not acknowledge its address \
                 (NoAcknowledge(Address))"
                    .into()
            )
        );
        mock.done();
    }

    #[test]
    fn datasheet_example_through_the_bmp280_registers() {
        let expected = [
            vec![probe(0x58)],
            bmp280_init(),
            bmp280_measure(&EXAMPLE_DATA),
        ]
        .concat();
        let (mut sensor, _) = sensor(&expected);
        let readings = sensor.read().unwrap();
        let t = value(&readings, Quantity::Temperature).unwrap();
        let p = value(&readings, Quantity::Pressure).unwrap();
        // 25.0825 °C; 100653.258 Pa by the datasheet's code, 100653.27 in its table, which
        // carries t_fine unrounded (128422.287).
        assert!((t - 25.08).abs() < 0.005, "{t}");
        assert!((p * 100.0 - 100653.27).abs() < 0.02, "{p}");
        assert_eq!(value(&readings, Quantity::Humidity), None);
        sensor.release().0.done();
    }

    #[test]
    fn datasheet_example_through_the_bme280_crate() {
        let mut data = EXAMPLE_DATA.to_vec();
        data.extend(EXAMPLE_HUM);
        let expected = [vec![probe(0x60)], bme280_init(), bme280_measure(&data)].concat();
        let (mut sensor, _) = sensor(&expected);
        let readings = sensor.read().unwrap();
        let t = value(&readings, Quantity::Temperature).unwrap();
        let p = value(&readings, Quantity::Pressure).unwrap();
        let h = value(&readings, Quantity::Humidity).unwrap();
        assert!((t - 25.08).abs() < 0.005, "{t}");
        // The crate computes in f32: a few hundredths of a pascal of rounding.
        assert!((p * 100.0 - 100653.27).abs() < 0.1, "{p}");
        assert!((h - 38.2751).abs() < 0.001, "{h}");
        sensor.release().0.done();
    }

    #[test]
    fn a_clamped_reading_is_implausible_and_the_next_read_starts_afresh() {
        // adc_T at full scale: about 187 °C, which the crate clamps to 85.
        let mut hot = vec![0x65, 0x5A, 0xC0, 0xFF, 0xFF, 0xF0];
        hot.extend(EXAMPLE_HUM);
        let mut good = EXAMPLE_DATA.to_vec();
        good.extend(EXAMPLE_HUM);
        let expected = [
            vec![probe(0x60)],
            bme280_init(),
            bme280_measure(&hot),
            bme280_init(),
            bme280_measure(&good),
        ]
        .concat();
        let (mut sensor, _) = sensor(&expected);
        let err = sensor.read().unwrap_err();
        assert_eq!(
            err,
            SensorError::Implausible(
                "BME280 at 0x76: temperature 85 °C is at or beyond the operating range -40..85 °C"
                    .into()
            )
        );
        assert_eq!(sensor.read().unwrap().len(), 3);
        sensor.release().0.done();
    }

    #[test]
    fn a_bme280_that_lost_its_settings_is_initialised_before_measuring() {
        let mut data = EXAMPLE_DATA.to_vec();
        data.extend(EXAMPLE_HUM);
        let mut measure = bme280_measure(&data);
        // Power-on value of ctrl_meas: every conversion skipped.
        measure[0] = T::write_read(A, vec![0xF4], vec![0x00]);
        measure.splice(1..1, bme280_init());
        let expected = [vec![probe(0x60)], bme280_init(), measure].concat();
        let (mut sensor, _) = sensor(&expected);
        assert!(sensor.read().is_ok());
        sensor.release().0.done();
    }

    #[test]
    fn a_bus_error_mid_read_is_reported_and_the_next_read_resets_the_chip() {
        let expected = [
            vec![probe(0x58)],
            bmp280_init(),
            vec![
                T::write(A, vec![0xF4, 0x51]),
                T::write_read(A, vec![0xF3], vec![0x00]),
                T::write_read(A, vec![0xF7], vec![0; 6]).with_error(ErrorKind::Bus),
            ],
            bmp280_init(),
            bmp280_measure(&EXAMPLE_DATA),
        ]
        .concat();
        let (mut sensor, _) = sensor(&expected);
        assert_eq!(
            sensor.read().unwrap_err(),
            SensorError::Bus("BMP280 at 0x76: measuring: Bus error occurred (Bus)".into())
        );
        assert!(sensor.read().is_ok());
        sensor.release().0.done();
    }

    #[test]
    fn a_bmp280_still_measuring_is_not_ready() {
        let mut expected = [vec![probe(0x58)], bmp280_init()].concat();
        expected.push(T::write(A, vec![0xF4, 0x51]));
        for _ in 0..BMP280_STATUS_POLLS {
            expected.push(T::write_read(A, vec![0xF3], vec![0x08]));
        }
        let (mut sensor, _) = sensor(&expected);
        assert_eq!(
            sensor.read().unwrap_err(),
            SensorError::NotReady(
                "BMP280 at 0x76: measuring: still measuring 50 ms after the start (status 0x08)"
                    .into()
            )
        );
        sensor.release().0.done();
    }

    #[test]
    fn calibration_words_parse_little_endian_and_signed() {
        let words: [u8; 24] = example_words().try_into().unwrap();
        let c = Calibration::parse(&words);
        assert_eq!((c.t1, c.t2, c.t3, c.p1), (27504, 26435, -1000, 36477));
        assert_eq!(c.p, [-10685, 3024, 2855, 140, -7, 15500, -14600, 6000]);
        let (t, t_fine) = c.temperature(519888);
        assert_eq!(t_fine, 128422);
        assert!((t - 25.0825).abs() < 1e-4, "{t}");
    }
}
