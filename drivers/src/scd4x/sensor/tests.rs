//! The polling wrapper against a mock bus: start-up, data-ready gating, and recovery.

use std::time::Duration;

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Wait};
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as Bus};

use super::*;
use crate::scd4x::encode_word;

fn answer(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|&w| encode_word(w)).collect()
}

/// Stop, serial number, start: what the first read sends.
fn start_up(serial: [u16; 3]) -> (Vec<Bus>, Vec<Wait>) {
    (
        vec![
            Bus::write(0x62, vec![0x3F, 0x86]),
            Bus::write(0x62, vec![0x36, 0x82]),
            Bus::read(0x62, answer(&serial)),
            Bus::write(0x62, vec![0x21, 0xB1]),
        ],
        vec![Wait::delay_ms(500), Wait::delay_ms(1)],
    )
}

fn data_ready(word: u16) -> [Bus; 2] {
    [
        Bus::write(0x62, vec![0xE4, 0xB8]),
        Bus::read(0x62, answer(&[word])),
    ]
}

fn measurement(words: [u16; 3]) -> [Bus; 2] {
    [
        Bus::write(0x62, vec![0xEC, 0x05]),
        Bus::read(0x62, answer(&words)),
    ]
}

struct Script {
    bus: Vec<Bus>,
    waits: Vec<Wait>,
}

impl Script {
    fn new() -> Self {
        Script {
            bus: Vec::new(),
            waits: Vec::new(),
        }
    }

    fn start_up(mut self) -> Self {
        let (bus, waits) = start_up([0xF896, 0x9F07, 0x3BBE]);
        self.bus.extend(bus);
        self.waits.extend(waits);
        self
    }

    fn ready(mut self, word: u16) -> Self {
        self.bus.extend(data_ready(word));
        self.waits.push(Wait::delay_ms(1));
        self
    }

    fn sample(mut self, words: [u16; 3]) -> Self {
        self.bus.extend(measurement(words));
        self.waits.push(Wait::delay_ms(1));
        self
    }

    fn sensor(&self) -> Scd4xSensor<I2cMock, CheckedDelay> {
        Scd4xSensor::new(I2cMock::new(&self.bus), CheckedDelay::new(&self.waits))
    }
}

fn finish(sensor: Scd4xSensor<I2cMock, CheckedDelay>) {
    let (mut i2c, mut delay) = sensor.release();
    i2c.done();
    delay.done();
}

const SAMPLE: [u16; 3] = [0x01F4, 0x6667, 0x5EB9];

#[test]
fn first_read_starts_measurement_and_returns_all_three_quantities() {
    let script = Script::new().start_up().ready(0x8006).sample(SAMPLE);
    let mut s = script.sensor();
    assert_eq!(
        s.quantities(),
        [Quantity::Co2, Quantity::Temperature, Quantity::Humidity]
    );
    let m = s.read().unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(
        m[0],
        Measurement {
            quantity: Quantity::Co2,
            value: 500.0
        }
    );
    assert_eq!(m[1].quantity, Quantity::Temperature);
    assert!((m[1].value - 25.0027).abs() < 1e-4);
    assert_eq!(m[2].quantity, Quantity::Humidity);
    assert!((m[2].value - 37.0016).abs() < 1e-4);
    assert_eq!(s.serial_number(), Some(273_325_796_834_238));
    finish(s);
}

#[test]
fn a_read_between_samples_is_not_ready_and_does_not_fetch() {
    let script = Script::new()
        .start_up()
        .ready(0x8006)
        .sample(SAMPLE)
        .ready(0x8000);
    let mut s = script.sensor();
    s.read().unwrap();
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::NotReady(m) if m.contains("0x8000")),
        "{e}"
    );
    finish(s);
}

#[test]
fn zero_ppm_is_implausible() {
    let script = Script::new()
        .start_up()
        .ready(0x8006)
        .sample([0, 0x6667, 0x5EB9]);
    let mut s = script.sensor();
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::Implausible(m) if m.contains("CO2 0 ppm")),
        "{e}"
    );
    finish(s);
}

#[test]
fn a_zero_serial_number_is_the_wrong_device() {
    let (bus, waits) = start_up([0, 0, 0]);
    // Measurement is not started on a device that failed identification.
    let bus = &bus[..3];
    let mut s = Scd4xSensor::new(I2cMock::new(bus), CheckedDelay::new(&waits));
    let e = s.read().unwrap_err();
    assert!(matches!(e, SensorError::WrongDevice(_)), "{e}");
    assert_eq!(s.serial_number(), None);
    finish(s);
}

#[test]
fn after_a_bus_error_the_next_read_starts_over() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let mut script = Script::new().start_up();
    script
        .bus
        .push(Bus::write(0x62, vec![0xE4, 0xB8]).with_error(nack));
    let script = script.start_up().ready(0x8006).sample(SAMPLE);
    let mut s = script.sensor();
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::Bus(m) if m.contains("get_data_ready_status")),
        "{e}"
    );
    assert_eq!(s.read().unwrap().len(), 3);
    finish(s);
}

#[test]
fn a_failed_start_is_retried_on_the_next_read() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let mut script = Script::new();
    script
        .bus
        .push(Bus::write(0x62, vec![0x3F, 0x86]).with_error(nack));
    let script = script.start_up().ready(0x8006).sample(SAMPLE);
    let mut s = script.sensor();
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::Bus(m) if m.contains("stop_periodic_measurement")),
        "{e}"
    );
    assert_eq!(s.read().unwrap().len(), 3);
    finish(s);
}

#[test]
fn no_sample_for_too_long_restarts_measurement() {
    let script = Script::new()
        .start_up()
        .ready(0x8000)
        .start_up()
        .ready(0x8006)
        .sample(SAMPLE);
    let mut s = script.sensor().with_stale_after(Duration::ZERO);
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::NotReady(m) if m.contains("restarting")),
        "{e}"
    );
    assert_eq!(s.read().unwrap().len(), 3);
    finish(s);
}
