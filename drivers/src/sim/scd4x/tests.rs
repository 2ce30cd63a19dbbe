//! The real driver against the simulated device, and the device's protocol on its own.
//!
//! Time is a [`SimClock`] shared by the device and the driver: the driver's waits advance it,
//! and a test advances it where the gateway would wait between polls, so nothing sleeps.

use std::time::Duration;

use embedded_hal::i2c::{ErrorKind, I2c, NoAcknowledgeSource};

use super::*;
use crate::measurement::Measurement;
use crate::scd4x::{Command, Error, Scd4x, Scd4xSensor};
use crate::sensor::{Sensor, SensorError};
use crate::sim::SimClock;

/// One step of the raw temperature and humidity words.
const T_LSB: f64 = 175.0 / 65535.0;
const RH_LSB: f64 = 100.0 / 65535.0;

const NACK_ADDRESS: SimI2cError =
    SimI2cError(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address));
const NACK_DATA: SimI2cError = SimI2cError(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data));

type SimSensor = Scd4xSensor<SimScd4x, SimClock, SimClock>;

/// A device on simulated time and a driver that waits and counts staleness on the same time.
fn sensor(period: Duration) -> (SimSensor, SimScd4xControl, SimClock) {
    let clock = SimClock::new();
    let sim = SimScd4x::with_clock(clock.clone());
    let control = sim.control();
    control.set_measurement_period(period);
    let sensor = Scd4xSensor::new(sim, clock.clone()).with_clock(clock.clone());
    (sensor, control, clock)
}

/// The bare command driver on a device on simulated time.
fn driver() -> (Scd4x<SimScd4x, SimClock>, SimScd4xControl) {
    let clock = SimClock::new();
    let sim = SimScd4x::with_clock(clock.clone());
    let control = sim.control();
    (Scd4x::new(sim, clock), control)
}

fn values(m: &[Measurement]) -> [f64; 3] {
    assert_eq!(m.len(), 3, "{m:?}");
    [m[0].value, m[1].value, m[2].value]
}

fn assert_reads_back(m: &[Measurement], co2: f64, t: f64, rh: f64) {
    let [got_co2, got_t, got_rh] = values(m);
    assert_eq!(got_co2, co2, "{m:?}");
    assert!((got_t - t).abs() <= T_LSB, "{got_t} °C, expected {t}");
    assert!((got_rh - rh).abs() <= RH_LSB, "{got_rh} %, expected {rh}");
}

/// Polls every 5 ms of simulated time until a sample arrives, for at most 5 s of it; other
/// errors than NotReady fail the test.
fn read_until_sample(s: &mut SimSensor, clock: &SimClock) -> Vec<Measurement> {
    let deadline = clock.now() + Duration::from_secs(5);
    loop {
        match s.read() {
            Ok(m) => return m,
            Err(SensorError::NotReady(_)) if clock.now() < deadline => {
                clock.advance(Duration::from_millis(5))
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn the_control_handle_can_be_shared_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<SimScd4xControl>();
}

#[test]
fn the_driver_reads_back_the_environment() {
    let (mut s, control, _) = sensor(Duration::ZERO);
    control.set_environment(812.0, 23.4, 51.2);
    assert_reads_back(&s.read().unwrap(), 812.0, 23.4, 51.2);
    assert_eq!(s.serial_number(), Some(control.serial_number()));
    assert!(control.is_measuring());

    control.set_environment(1500.0, -10.0, 95.0);
    assert_reads_back(&s.read().unwrap(), 1500.0, -10.0, 95.0);
}

#[test]
fn drift_swings_within_its_amplitude() {
    let (mut s, control, clock) = sensor(Duration::ZERO);
    control.set_co2_drift(Drift {
        amplitude: 100.0,
        period: Duration::from_millis(200),
    });
    let mut seen = Vec::new();
    for _ in 0..10 {
        let co2 = values(&s.read().unwrap())[0];
        assert!((500.0..=700.0).contains(&co2), "{co2} ppm");
        seen.push(co2);
        clock.advance(Duration::from_millis(17));
    }
    seen.dedup();
    assert!(seen.len() > 1, "CO2 never moved: {seen:?}");
}

#[test]
fn a_second_read_within_the_period_is_not_ready() {
    let (mut s, _control, clock) = sensor(Duration::from_millis(250));
    // Measurement has only just started: the first sample is a period away.
    assert!(matches!(s.read(), Err(SensorError::NotReady(_))));
    read_until_sample(&mut s, &clock);
    let first = clock.now();
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::NotReady(m) if m.contains("0x8000")),
        "{e}"
    );
    read_until_sample(&mut s, &clock);
    assert!(clock.now() - first >= Duration::from_millis(200));
}

#[test]
fn a_corrupted_crc_is_detected_and_the_next_read_recovers() {
    let (mut s, control, _) = sensor(Duration::ZERO);
    s.read().unwrap();
    control.corrupt_next_crcs(1);
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::Checksum(m) if m.contains("get_data_ready_status")),
        "{e}"
    );
    assert_reads_back(&s.read().unwrap(), 600.0, 21.0, 45.0);
}

#[test]
fn a_corrupted_measurement_word_names_its_position() {
    let (mut d, control) = driver();
    control.set_measurement_period(Duration::ZERO);
    d.start_periodic_measurement().unwrap();
    assert!(d.get_data_ready_status().unwrap().is_ready());
    control.corrupt_next_crcs(1);
    let e = d.read_measurement().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Crc {
                command: Command::ReadMeasurement,
                index: 0,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(d.read_measurement().unwrap().co2_ppm, 600);
}

#[test]
fn nack_and_bus_error_recover_after_fault_none() {
    let (mut s, control, _) = sensor(Duration::ZERO);
    s.read().unwrap();

    control.set_fault(Fault::Nack);
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::Bus(m) if m.contains("NoAcknowledge(Address)")),
        "{e}"
    );
    control.set_fault(Fault::BusError);
    let e = s.read().unwrap_err();
    assert!(
        matches!(&e, SensorError::Bus(m) if m.contains("(Bus)")),
        "{e}"
    );

    control.set_fault(Fault::None);
    control.set_environment(950.0, 19.5, 60.0);
    assert_reads_back(&s.read().unwrap(), 950.0, 19.5, 60.0);
    assert!(control.is_measuring());
}

#[test]
fn stuck_repeats_the_last_sample() {
    let (mut s, control, _) = sensor(Duration::ZERO);
    let before = values(&s.read().unwrap());
    control.set_fault(Fault::Stuck);
    control.set_environment(2000.0, 30.0, 20.0);
    assert_eq!(values(&s.read().unwrap()), before);
    assert_eq!(values(&s.read().unwrap()), before);
    control.set_fault(Fault::None);
    assert_reads_back(&s.read().unwrap(), 2000.0, 30.0, 20.0);
}

#[test]
fn a_power_cycle_is_noticed_and_measurement_restarted() {
    let (s, control, clock) = sensor(Duration::from_millis(20));
    let mut s = s.with_stale_after(Duration::from_millis(200));
    read_until_sample(&mut s, &clock);
    control.power_cycle();
    assert!(!control.is_measuring());
    // Between two polls: the gateway never sees the boot-time NACKs.
    clock.advance(Duration::from_millis(1100));
    let deadline = clock.now() + Duration::from_secs(5);
    let restarted = loop {
        match s.read() {
            Err(SensorError::NotReady(m)) if m.contains("restarting") => break m,
            Err(SensorError::NotReady(_)) if clock.now() < deadline => {
                clock.advance(Duration::from_millis(20))
            }
            other => panic!("{other:?}"),
        }
    };
    assert!(restarted.contains("0x8000"), "{restarted}");
    read_until_sample(&mut s, &clock);
    assert!(control.is_measuring());
}

#[test]
fn commands_refused_while_measuring_are_nacked() {
    let (mut d, control) = driver();
    let serial = control.serial_number();
    d.start_periodic_measurement().unwrap();
    let refused = |command| Error::Bus {
        command,
        error: NACK_DATA,
    };
    assert_eq!(
        d.get_serial_number(),
        Err(refused(Command::GetSerialNumber))
    );
    assert_eq!(d.reinit(), Err(refused(Command::Reinit)));
    assert_eq!(
        d.start_periodic_measurement(),
        Err(refused(Command::StartPeriodicMeasurement))
    );
    d.stop_periodic_measurement().unwrap();
    assert_eq!(d.get_serial_number(), Ok(serial));
    d.reinit().unwrap();
}

#[test]
fn unknown_commands_and_other_addresses_are_nacked() {
    let mut sim = SimScd4x::new();
    assert_eq!(sim.write(0x62, &[]), Ok(()), "an address probe");
    assert_eq!(sim.write(0x62, &[0x12, 0x34]), Err(NACK_DATA));
    assert_eq!(sim.write(0x62, &[0x36]), Err(NACK_DATA));
    assert_eq!(
        sim.write(0x62, &[0x36, 0x82, 0x00, 0x00, 0x81]),
        Err(NACK_DATA)
    );
    assert_eq!(sim.write(0x61, &[0x36, 0x82]), Err(NACK_ADDRESS));
}

#[test]
fn read_measurement_with_nothing_buffered_is_nacked() {
    let (mut d, _) = driver();
    assert_eq!(
        d.read_measurement(),
        Err(Error::Bus {
            command: Command::ReadMeasurement,
            error: NACK_ADDRESS
        })
    );
}

#[test]
fn the_device_answers_only_after_the_execution_time() {
    let clock = SimClock::new();
    let mut sim = SimScd4x::with_clock(clock.clone());
    let mut answer = [0_u8; 9];
    // A repeated start straight after the command comes within its 1 ms.
    assert_eq!(
        sim.write_read(0x62, &[0x36, 0x82], &mut answer),
        Err(NACK_ADDRESS)
    );
    clock.advance(Duration::from_millis(2));
    sim.write(0x62, &[0x36, 0x82]).unwrap();
    clock.advance(Duration::from_millis(2));
    sim.read(0x62, &mut answer).unwrap();
    // The datasheet's example serial number, byte for byte.
    assert_eq!(
        answer,
        [0xF8, 0x96, 0x31, 0x9F, 0x07, 0xC2, 0x3B, 0xBE, 0x89]
    );

    sim.write(0x62, &[0x3F, 0x86]).unwrap();
    assert_eq!(sim.write(0x62, &[0x36, 0x82]), Err(NACK_ADDRESS));
    clock.advance(Duration::from_millis(510));
    sim.write(0x62, &[0x36, 0x82]).unwrap();
}

#[test]
fn data_ready_answers_with_unspecified_high_bits_set() {
    let clock = SimClock::new();
    let mut sim = SimScd4x::with_clock(clock.clone());
    sim.write(0x62, &[0xE4, 0xB8]).unwrap();
    clock.advance(Duration::from_millis(2));
    let mut answer = [0_u8; 4];
    sim.read(0x62, &mut answer).unwrap();
    // 0x8000 with its CRC, then a released bus.
    assert_eq!(answer, [0x80, 0x00, 0xA2, 0xFF]);
}
