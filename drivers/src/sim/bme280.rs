//! A simulated BME280 or BMP280 on I2C. It answers the datasheet's register protocol, and its
//! raw ADC registers hold the codes that the datasheet's compensation turns back into the
//! environment it was given, within the resolution its oversampling settings allow.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use embedded_hal::i2c::{ErrorType, I2c, Operation};

use crate::clock::{Clock, SystemClock};
use crate::sim::fault::{Drift, Fault, SimI2cError};

mod reg {
    pub const CALIB_TP: u8 = 0x88;
    pub const CALIB_TP_END: u8 = 0xA1;
    pub const CHIP_ID: u8 = 0xD0;
    pub const RESET: u8 = 0xE0;
    pub const CALIB_H: u8 = 0xE1;
    pub const CALIB_H_END: u8 = 0xE7;
    pub const CTRL_HUM: u8 = 0xF2;
    pub const STATUS: u8 = 0xF3;
    pub const CTRL_MEAS: u8 = 0xF4;
    pub const CONFIG: u8 = 0xF5;
    pub const DATA: u8 = 0xF7;
    pub const DATA_END: u8 = 0xFE;
}

const SOFT_RESET: u8 = 0xB6;
const MODE_MASK: u8 = 0b11;
const MODE_NORMAL: u8 = 0b11;
/// What a skipped (oversampling 0) conversion leaves in the data registers.
const SKIPPED_20: u32 = 0x80000;
const SKIPPED_16: u32 = 0x8000;

/// Which chip to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimChip {
    /// Id 0x60: temperature, humidity and pressure.
    Bme280,
    /// Id 0x58: temperature and pressure; no humidity registers.
    Bmp280,
}

impl SimChip {
    fn id(self) -> u8 {
        match self {
            SimChip::Bme280 => 0x60,
            SimChip::Bmp280 => 0x58,
        }
    }
}

/// The trimming words a chip carries in its NVM.
#[derive(Debug, Clone, Copy)]
struct Trim {
    t1: u16,
    t2: i16,
    t3: i16,
    p1: u16,
    p: [i16; 8],
    h1: u8,
    h2: i16,
    h3: u8,
    h4: i16,
    h5: i16,
    h6: i8,
}

/// A production-like set: every word in the range real parts show.
const TRIM: Trim = Trim {
    t1: 28009,
    t2: 25654,
    t3: 50,
    p1: 39145,
    p: [-10750, 3024, 5667, -120, -7, 15500, -14600, 6000],
    h1: 75,
    h2: 362,
    h3: 0,
    h4: 313,
    h5: 50,
    h6: 30,
};

impl Trim {
    /// Registers 0x88..=0xA1: T and P words little-endian, 0xA0 reserved, 0xA1 dig_H1 (reserved
    /// on a BMP280).
    fn tp_block(&self, chip: SimChip) -> [u8; 26] {
        let mut words = vec![self.t1, self.t2 as u16, self.t3 as u16, self.p1];
        words.extend(self.p.iter().map(|&w| w as u16));
        let mut block = [0; 26];
        for (pair, word) in block.chunks_exact_mut(2).zip(words) {
            pair.copy_from_slice(&word.to_le_bytes());
        }
        if chip == SimChip::Bme280 {
            block[25] = self.h1;
        }
        block
    }

    /// Registers 0xE1..=0xE7, with dig_H4 and dig_H5 sharing a nibble in 0xE5.
    fn h_block(&self) -> [u8; 7] {
        let [h2_lsb, h2_msb] = self.h2.to_le_bytes();
        [
            h2_lsb,
            h2_msb,
            self.h3,
            (self.h4 >> 4) as u8,
            (self.h4 & 0x0F) as u8 | ((self.h5 & 0x0F) as u8) << 4,
            (self.h5 >> 4) as u8,
            self.h6 as u8,
        ]
    }

    /// °C and t_fine (datasheet section 4.2.3, double precision).
    fn temperature(&self, adc: u32) -> (f64, i32) {
        let (adc, t1) = (f64::from(adc), f64::from(self.t1));
        let var1 = (adc / 16384.0 - t1 / 1024.0) * f64::from(self.t2);
        let d = adc / 131072.0 - t1 / 8192.0;
        let var2 = d * d * f64::from(self.t3);
        ((var1 + var2) / 5120.0, (var1 + var2) as i32)
    }

    /// Pa.
    fn pressure(&self, adc: u32, t_fine: i32) -> f64 {
        let [p2, p3, p4, p5, p6, p7, p8, p9] = self.p.map(f64::from);
        let mut var1 = f64::from(t_fine) / 2.0 - 64000.0;
        let mut var2 = var1 * var1 * p6 / 32768.0;
        var2 += var1 * p5 * 2.0;
        var2 = var2 / 4.0 + p4 * 65536.0;
        var1 = (p3 * var1 * var1 / 524288.0 + p2 * var1) / 524288.0;
        var1 = (1.0 + var1 / 32768.0) * f64::from(self.p1);
        if var1 == 0.0 {
            return 0.0;
        }
        let mut p = 1048576.0 - f64::from(adc);
        p = (p - var2 / 4096.0) * 6250.0 / var1;
        var1 = p9 * p * p / 2147483648.0;
        var2 = p * p8 / 32768.0;
        p + (var1 + var2 + p7) / 16.0
    }

    /// % RH, unclamped so the search below sees a monotonic function.
    fn humidity(&self, adc: u32, t_fine: i32) -> f64 {
        let v = f64::from(t_fine) - 76800.0;
        let v = (f64::from(adc) - (f64::from(self.h4) * 64.0 + f64::from(self.h5) / 16384.0 * v))
            * (f64::from(self.h2) / 65536.0
                * (1.0
                    + f64::from(self.h6) / 67108864.0
                        * v
                        * (1.0 + f64::from(self.h3) / 67108864.0 * v)));
        v * (1.0 - f64::from(self.h1) * v / 524288.0)
    }
}

/// The code nearest to compensating to `target`, among those a `bits`-bit conversion leaves in
/// a `width`-bit register (the unresolved low bits read 0). `value` must be monotonic.
fn invert(width: u32, bits: u32, target: f64, value: impl Fn(u32) -> f64) -> u32 {
    let shift = width.saturating_sub(bits);
    let code = |k: u32| k << shift;
    let (mut lo, mut hi) = (0, (1u32 << width.min(bits)) - 1);
    let rising = value(code(hi)) > value(code(lo));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if (value(code(mid)) < target) == rising {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let miss = |k: u32| (value(code(k)) - target).abs();
    if miss(lo) <= miss(hi) {
        code(lo)
    } else {
        code(hi)
    }
}

/// Bits a temperature or pressure conversion resolves (datasheet section 3.5): 16 at x1 plus
/// one per doubling, 20 with the IIR filter on; None when skipped.
fn resolution(osrs: u8, filtered: bool) -> Option<u32> {
    match osrs {
        0 => None,
        _ if filtered => Some(20),
        n => Some(15 + u32::from(n.min(5))),
    }
}

/// What the control handle sets.
#[derive(Debug, Clone, Copy)]
struct Shared {
    temperature_c: f64,
    humidity_pct: f64,
    pressure_hpa: f64,
    temperature_drift: Drift,
    humidity_drift: Drift,
    pressure_drift: Drift,
    fault: Fault,
    /// Set by `power_cycle`, cleared by the device's next transfer.
    power_cycled: bool,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Clone, Copy)]
struct Registers {
    pointer: u8,
    ctrl_hum: u8,
    /// Humidity oversampling in effect: ctrl_hum applies only once ctrl_meas is written.
    osrs_h: u8,
    ctrl_meas: u8,
    config: u8,
    data: [u8; 8],
}

const POWER_ON: Registers = Registers {
    pointer: 0,
    ctrl_hum: 0,
    osrs_h: 0,
    ctrl_meas: 0,
    config: 0,
    data: [0x80, 0, 0, 0x80, 0, 0, 0x80, 0],
};

/// The device side: hand it to the driver as its I2C bus.
#[derive(Debug)]
pub struct SimBme280 {
    address: u8,
    chip: SimChip,
    /// Drift is counted on this, from `started`.
    clock: Box<dyn Clock>,
    started: Instant,
    shared: Arc<Mutex<Shared>>,
    calib_tp: [u8; 26],
    calib_h: [u8; 7],
    regs: Registers,
    /// Set while not acknowledging: the next answered transfer finds the chip after power-on
    /// reset, settings lost, as a replugged one is.
    unplugged: bool,
}

/// Sets what a [`SimBme280`] measures and what it does wrong.
#[derive(Debug, Clone)]
pub struct SimBme280Control {
    shared: Arc<Mutex<Shared>>,
}

impl SimBme280 {
    /// A chip at `address` in 21 °C, 45 % RH and 1013.25 hPa, without drift or fault, on the
    /// system clock.
    pub fn new(address: u8, chip: SimChip) -> (SimBme280, SimBme280Control) {
        Self::with_clock(address, chip, SystemClock)
    }

    /// Like [`SimBme280::new`], with drift following `clock` (a [`crate::sim::SimClock`] in
    /// tests).
    pub fn with_clock(
        address: u8,
        chip: SimChip,
        clock: impl Clock + 'static,
    ) -> (SimBme280, SimBme280Control) {
        let shared = Arc::new(Mutex::new(Shared {
            temperature_c: 21.0,
            humidity_pct: 45.0,
            pressure_hpa: 1013.25,
            temperature_drift: Drift::NONE,
            humidity_drift: Drift::NONE,
            pressure_drift: Drift::NONE,
            fault: Fault::None,
            power_cycled: false,
        }));
        let device = SimBme280 {
            address,
            chip,
            started: clock.now(),
            clock: Box::new(clock),
            shared: Arc::clone(&shared),
            calib_tp: TRIM.tp_block(chip),
            calib_h: match chip {
                SimChip::Bme280 => TRIM.h_block(),
                SimChip::Bmp280 => [0; 7],
            },
            regs: POWER_ON,
            unplugged: false,
        };
        (device, SimBme280Control { shared })
    }

    fn reset(&mut self, stuck: bool) {
        let data = self.regs.data;
        self.regs = POWER_ON;
        if stuck {
            self.regs.data = data;
        }
    }

    fn register(&self, address: u8) -> u8 {
        let bme = self.chip == SimChip::Bme280;
        let at = |block: &[u8], start: u8| {
            let offset = usize::from(address.wrapping_sub(start));
            block.get(offset).copied().unwrap_or(0)
        };
        match address {
            reg::CALIB_TP..=reg::CALIB_TP_END => at(&self.calib_tp, reg::CALIB_TP),
            reg::CHIP_ID => self.chip.id(),
            reg::CALIB_H..=reg::CALIB_H_END => at(&self.calib_h, reg::CALIB_H),
            reg::CTRL_HUM if bme => self.regs.ctrl_hum,
            // Conversions finish at once: never measuring, never copying NVM.
            reg::STATUS => 0,
            reg::CTRL_MEAS => self.regs.ctrl_meas,
            reg::CONFIG => self.regs.config,
            reg::DATA..=reg::DATA_END => at(&self.regs.data, reg::DATA),
            _ => 0,
        }
    }

    fn write_register(&mut self, register: u8, value: u8, now: &Shared) {
        match register {
            reg::RESET if value == SOFT_RESET => self.reset(now.fault == Fault::Stuck),
            reg::CTRL_HUM if self.chip == SimChip::Bme280 => self.regs.ctrl_hum = value & 0x07,
            reg::CTRL_MEAS => {
                self.regs.ctrl_meas = value;
                self.regs.osrs_h = self.regs.ctrl_hum;
                if matches!(value & MODE_MASK, 0b01 | 0b10) {
                    self.measure(now);
                    // Forced mode: one conversion, then back to sleep.
                    self.regs.ctrl_meas &= !MODE_MASK;
                }
            }
            // Bit 1 is reserved and reads 0.
            reg::CONFIG => self.regs.config = value & !0b10,
            // Read-only and reserved registers ignore writes.
            _ => {}
        }
    }

    /// Latches one conversion of the environment, drifted to now, into the data registers.
    fn measure(&mut self, now: &Shared) {
        if now.fault == Fault::Stuck {
            return;
        }
        let elapsed = self.clock.now().saturating_duration_since(self.started);
        let temperature = now.temperature_c + now.temperature_drift.offset(elapsed);
        let humidity = now.humidity_pct + now.humidity_drift.offset(elapsed);
        let pressure_pa = (now.pressure_hpa + now.pressure_drift.offset(elapsed)) * 100.0;

        let filtered = (self.regs.config >> 2) & 0b111 != 0;
        let t_bits = resolution(self.regs.ctrl_meas >> 5, filtered);
        let p_bits = resolution((self.regs.ctrl_meas >> 2) & 0b111, filtered);
        // Pressure and humidity codes follow the real temperature even if its result is skipped.
        let adc_t = invert(20, t_bits.unwrap_or(20), temperature, |a| {
            TRIM.temperature(a).0
        });
        let t_fine = TRIM.temperature(adc_t).1;
        let adc_p = p_bits.map_or(SKIPPED_20, |bits| {
            invert(20, bits, pressure_pa, |a| TRIM.pressure(a, t_fine))
        });
        let adc_h = if self.chip == SimChip::Bme280 && self.regs.osrs_h != 0 {
            invert(16, 16, humidity, |a| TRIM.humidity(a, t_fine))
        } else {
            SKIPPED_16
        };
        let adc_t = if t_bits.is_some() { adc_t } else { SKIPPED_20 };
        let bytes20 = |v: u32| [(v >> 12) as u8, (v >> 4) as u8, (v << 4) as u8];
        let [p0, p1, p2] = bytes20(adc_p);
        let [t0, t1, t2] = bytes20(adc_t);
        let [h0, h1] = (adc_h as u16).to_be_bytes();
        self.regs.data = [p0, p1, p2, t0, t1, t2, h0, h1];
    }
}

impl ErrorType for SimBme280 {
    type Error = SimI2cError;
}

impl I2c for SimBme280 {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), SimI2cError> {
        if address != self.address {
            return Err(SimI2cError::nack());
        }
        let now = {
            let mut shared = lock(&self.shared);
            let now = *shared;
            shared.power_cycled = false;
            now
        };
        self.unplugged |= now.power_cycled;
        if let Some(error) = now.fault.transfer_error() {
            self.unplugged |= now.fault == Fault::Nack;
            return Err(error);
        }
        if std::mem::take(&mut self.unplugged) {
            self.reset(now.fault == Fault::Stuck);
        }
        for operation in operations {
            match operation {
                // Register address, then (register, value) pairs (datasheet section 6.2.1).
                Operation::Write(bytes) => {
                    for pair in bytes.chunks(2) {
                        if let Some(&register) = pair.first() {
                            self.regs.pointer = register;
                        }
                        if let [register, value] = *pair {
                            self.write_register(register, value, &now);
                        }
                    }
                }
                Operation::Read(buffer) => {
                    let pointer = self.regs.pointer;
                    if self.regs.ctrl_meas & MODE_MASK == MODE_NORMAL
                        && (reg::DATA..=reg::DATA_END).contains(&pointer)
                    {
                        self.measure(&now);
                    }
                    for byte in buffer.iter_mut() {
                        *byte = self.register(self.regs.pointer);
                        self.regs.pointer = self.regs.pointer.wrapping_add(1);
                    }
                }
            }
        }
        Ok(())
    }
}

impl SimBme280Control {
    /// The environment the chip measures from now on; a BMP280 ignores the humidity.
    pub fn set_environment(&self, temperature_c: f64, humidity_pct: f64, pressure_hpa: f64) {
        let mut shared = lock(&self.shared);
        shared.temperature_c = temperature_c;
        shared.humidity_pct = humidity_pct;
        shared.pressure_hpa = pressure_hpa;
    }

    pub fn set_temperature_drift(&self, drift: Drift) {
        lock(&self.shared).temperature_drift = drift;
    }

    /// Ignored by a BMP280.
    pub fn set_humidity_drift(&self, drift: Drift) {
        lock(&self.shared).humidity_drift = drift;
    }

    pub fn set_pressure_drift(&self, drift: Drift) {
        lock(&self.shared).pressure_drift = drift;
    }

    pub fn set_fault(&self, fault: Fault) {
        lock(&self.shared).fault = fault;
    }

    pub fn fault(&self) -> Fault {
        lock(&self.shared).fault
    }

    /// Power lost and back: the next transfer finds the chip after power-on reset, its
    /// settings gone and its data registers at 0x80000 (it boots in 2 ms, so nothing NACKs).
    pub fn power_cycle(&self) {
        lock(&self.shared).power_cycled = true;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use embedded_hal_mock::eh1::delay::NoopDelay;

    use super::*;
    use crate::bme280::Bme280Sensor;
    use crate::measurement::{Measurement, Quantity};
    use crate::sensor::{Sensor, SensorError};
    use crate::sim::SimClock;

    const A: u8 = 0x76;

    fn sensor(chip: SimChip) -> (Bme280Sensor<SimBme280, NoopDelay>, SimBme280Control) {
        let (device, control) = SimBme280::new(A, chip);
        (Bme280Sensor::new(device, A, NoopDelay).unwrap(), control)
    }

    fn value(readings: &[Measurement], quantity: Quantity) -> Option<f64> {
        readings
            .iter()
            .find(|m| m.quantity == quantity)
            .map(|m| m.value)
    }

    fn read_register(device: &mut SimBme280, register: u8, buffer: &mut [u8]) {
        device.write_read(A, &[register], buffer).unwrap();
    }

    #[test]
    fn the_driver_reads_back_the_environment_across_the_range() {
        let (mut sensor, control) = sensor(SimChip::Bme280);
        let points = [
            (-39.5, 1.0, 300.5),
            (-12.3, 20.0, 640.0),
            (0.0, 45.5, 850.25),
            (21.37, 55.0, 1013.25),
            (48.2, 80.0, 980.0),
            (84.5, 99.5, 1099.5),
        ];
        for (t, h, p) in points {
            control.set_environment(t, h, p);
            let readings = sensor.read().unwrap();
            let got = |q| value(&readings, q).unwrap();
            let at = format!("set {t} °C {h} % {p} hPa, read {readings:?}");
            assert!((got(Quantity::Temperature) - t).abs() < 0.01, "{at}");
            assert!((got(Quantity::Humidity) - h).abs() < 0.1, "{at}");
            assert!((got(Quantity::Pressure) - p).abs() < 0.01, "{at}");
        }
    }

    #[test]
    fn a_bmp280_is_detected_and_reports_no_humidity() {
        let (mut sensor, control) = sensor(SimChip::Bmp280);
        control.set_environment(18.25, 60.0, 995.5);
        assert_eq!(
            sensor.quantities(),
            [Quantity::Temperature, Quantity::Pressure]
        );
        let readings = sensor.read().unwrap();
        assert_eq!(readings.len(), 2);
        assert_eq!(value(&readings, Quantity::Humidity), None);
        assert!((value(&readings, Quantity::Temperature).unwrap() - 18.25).abs() < 0.01);
        assert!((value(&readings, Quantity::Pressure).unwrap() - 995.5).abs() < 0.01);
    }

    #[test]
    fn registers_answer_as_the_datasheet_maps_them() {
        let (mut bme, _) = SimBme280::new(A, SimChip::Bme280);
        let mut id = [0];
        read_register(&mut bme, 0xD0, &mut id);
        assert_eq!(id, [0x60]);
        // Burst reads auto-increment across the calibration block.
        let mut tp = [0; 26];
        read_register(&mut bme, 0x88, &mut tp);
        assert_eq!(tp, TRIM.tp_block(SimChip::Bme280));
        assert_eq!(tp[..2], 28009u16.to_le_bytes());
        let mut h = [0; 7];
        read_register(&mut bme, 0xE1, &mut h);
        assert_eq!(h, TRIM.h_block());
        // Read-only registers ignore writes; a register pair sequence writes each.
        bme.write(A, &[0xD0, 0x12, 0xF2, 0x01, 0xF5, 0x10]).unwrap();
        read_register(&mut bme, 0xD0, &mut id);
        assert_eq!(id, [0x60]);
        let mut ctrl = [0; 4];
        read_register(&mut bme, 0xF2, &mut ctrl);
        assert_eq!(ctrl, [0x01, 0x00, 0x00, 0x10]);
        // Power-on data registers, then a forced conversion fills them and returns to sleep.
        let mut data = [0; 8];
        read_register(&mut bme, 0xF7, &mut data);
        assert_eq!(data, [0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
        bme.write(A, &[0xF4, 0x51]).unwrap();
        read_register(&mut bme, 0xF7, &mut data);
        assert_ne!(data, [0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
        read_register(&mut bme, 0xF4, &mut id);
        assert_eq!(id, [0x50]);
        // Soft reset restores power-on settings.
        bme.write(A, &[0xE0, 0xB6]).unwrap();
        read_register(&mut bme, 0xF2, &mut ctrl);
        assert_eq!(ctrl, [0; 4]);
        // Another address is not acknowledged.
        assert_eq!(
            bme.write_read(0x77, &[0xD0], &mut id),
            Err(SimI2cError::nack())
        );

        let (mut bmp, _) = SimBme280::new(A, SimChip::Bmp280);
        read_register(&mut bmp, 0xD0, &mut id);
        assert_eq!(id, [0x58]);
        bmp.write(A, &[0xF2, 0x01, 0xF4, 0x51]).unwrap();
        read_register(&mut bmp, 0xF2, &mut id);
        assert_eq!(id, [0x00]);
        read_register(&mut bmp, 0xF7, &mut data);
        assert_eq!(data[6..], [0x80, 0x00]);
        read_register(&mut bmp, 0xA0, &mut ctrl[..2]);
        assert_eq!(ctrl[..2], [0, 0]);
    }

    #[test]
    fn oversampling_sets_the_resolution_of_the_codes() {
        let (mut bme, _) = SimBme280::new(A, SimChip::Bme280);
        let mut data = [0; 8];
        // Temperature x1 (16 bits), pressure skipped.
        bme.write(A, &[0xF4, (0b001 << 5) | 0b01]).unwrap();
        read_register(&mut bme, 0xF7, &mut data);
        assert_eq!(data[..3], [0x80, 0, 0]);
        assert_eq!(data[5] & 0xF0, 0);
        // Humidity needs ctrl_hum, effective from the next ctrl_meas write.
        assert_eq!(data[6..], [0x80, 0]);
    }

    #[test]
    fn the_datasheet_example_runs_through_the_forward_formulas() {
        let trim = Trim {
            t1: 27504,
            t2: 26435,
            t3: -1000,
            p1: 36477,
            p: [-10685, 3024, 2855, 140, -7, 15500, -14600, 6000],
            ..TRIM
        };
        let (t, t_fine) = trim.temperature(519888);
        assert_eq!(t_fine, 128422);
        assert!((t - 25.08).abs() < 0.005);
        assert!((trim.pressure(415148, t_fine) - 100653.27).abs() < 0.02);
        assert_eq!(invert(20, 20, t, |a| trim.temperature(a).0), 519888);
    }

    #[test]
    fn nack_and_bus_error_faults_fail_reads_until_cleared() {
        let (mut sensor, control) = sensor(SimChip::Bme280);
        control.set_environment(22.0, 40.0, 1000.0);
        for fault in [Fault::Nack, Fault::BusError] {
            control.set_fault(fault);
            assert_eq!(control.fault(), fault);
            let err = sensor.read().unwrap_err();
            let SensorError::Bus(message) = &err else {
                panic!("{fault:?}: {err:?}");
            };
            let kind = fault
                .transfer_error()
                .map(|e| format!("{:?}", e.0))
                .unwrap();
            assert!(message.contains(&kind), "{message}");
            control.set_fault(Fault::None);
            let readings = sensor.read().unwrap();
            assert!((value(&readings, Quantity::Temperature).unwrap() - 22.0).abs() < 0.01);
        }
    }

    #[test]
    fn a_stuck_chip_repeats_its_last_reading() {
        let (mut sensor, control) = sensor(SimChip::Bme280);
        control.set_environment(20.0, 50.0, 1010.0);
        let before = sensor.read().unwrap();
        control.set_fault(Fault::Stuck);
        control.set_environment(30.0, 70.0, 990.0);
        assert_eq!(sensor.read().unwrap(), before);
        assert_eq!(sensor.read().unwrap(), before);
        control.set_fault(Fault::None);
        let after = sensor.read().unwrap();
        assert!((value(&after, Quantity::Temperature).unwrap() - 30.0).abs() < 0.01);
    }

    #[test]
    fn drift_moves_values_with_time() {
        let clock = SimClock::new();
        let (device, control) = SimBme280::with_clock(A, SimChip::Bme280, clock.clone());
        let mut sensor = Bme280Sensor::new(device, A, NoopDelay).unwrap();
        control.set_environment(20.0, 50.0, 1000.0);
        // A slow swing: any step well under a quarter period moves the value upwards.
        let drift = Drift {
            amplitude: 50.0,
            period: Duration::from_secs(40),
        };
        control.set_temperature_drift(drift);
        control.set_pressure_drift(drift);
        let first = sensor.read().unwrap();
        clock.advance(Duration::from_millis(300));
        let second = sensor.read().unwrap();
        for q in [Quantity::Temperature, Quantity::Pressure] {
            let moved = value(&second, q).unwrap() - value(&first, q).unwrap();
            assert!(moved > 1.0, "{q} moved {moved}");
        }
        let humidity = value(&second, Quantity::Humidity).unwrap();
        assert!((humidity - 50.0).abs() < 0.1, "{humidity}");
    }

    #[test]
    fn a_power_cycled_chip_is_set_up_again_before_it_is_read() {
        let (mut sensor, control) = sensor(SimChip::Bme280);
        control.set_environment(19.0, 35.0, 1005.0);
        control.power_cycle();
        let readings = sensor.read().unwrap();
        assert!((value(&readings, Quantity::Temperature).unwrap() - 19.0).abs() < 0.01);
        assert!((value(&readings, Quantity::Humidity).unwrap() - 35.0).abs() < 0.1);
        assert!((value(&readings, Quantity::Pressure).unwrap() - 1005.0).abs() < 0.01);
    }
}
