//! Byte-level tests of each command against a mock bus, with hand-checked CRCs.

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Wait};
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as Bus};

use super::*;
use crate::sensor::SensorError;

/// A driver whose bus and delay must see exactly these transfers and waits.
fn driver(bus: &[Bus], waits: &[Wait]) -> Scd4x<I2cMock, CheckedDelay> {
    Scd4x::new(I2cMock::new(bus), CheckedDelay::new(waits))
}

fn finish(driver: Scd4x<I2cMock, CheckedDelay>) {
    let (mut i2c, mut delay) = driver.release();
    i2c.done();
    delay.done();
}

#[test]
fn crc_matches_the_datasheet_example() {
    assert_eq!(crc8(&[0xBE, 0xEF]), 0x92);
    assert_eq!(encode_word(0xBEEF), [0xBE, 0xEF, 0x92]);
    // set_ambient_pressure's example argument, 98 700 Pa / 100 = 0x03DB.
    assert_eq!(crc8(&[0x03, 0xDB]), 0x42);
}

#[test]
fn start_periodic_measurement_writes_21b1_and_does_not_wait() {
    let mut d = driver(&[Bus::write(0x62, vec![0x21, 0xB1])], &[]);
    d.start_periodic_measurement().unwrap();
    finish(d);
}

#[test]
fn stop_periodic_measurement_writes_3f86_and_waits_500_ms() {
    let mut d = driver(
        &[Bus::write(0x62, vec![0x3F, 0x86])],
        &[Wait::delay_ms(500)],
    );
    d.stop_periodic_measurement().unwrap();
    finish(d);
}

#[test]
fn reinit_writes_3646_and_waits_30_ms() {
    let mut d = driver(&[Bus::write(0x62, vec![0x36, 0x46])], &[Wait::delay_ms(30)]);
    d.reinit().unwrap();
    finish(d);
}

#[test]
fn serial_number_is_three_words_most_significant_first() {
    let mut d = driver(
        &[
            Bus::write(0x62, vec![0x36, 0x82]),
            Bus::read(
                0x62,
                vec![0xF8, 0x96, 0x31, 0x9F, 0x07, 0xC2, 0x3B, 0xBE, 0x89],
            ),
        ],
        &[Wait::delay_ms(1)],
    );
    assert_eq!(d.get_serial_number().unwrap(), 0xF896_9F07_3BBE);
    assert_eq!(0xF896_9F07_3BBE_u64, 273_325_796_834_238);
    finish(d);
}

/// 0x01F4 = 500 ppm; 0x6667 = 26215 → -45 + 175·26215/65535 = 25.0027 °C;
/// 0x5EB9 = 24249 → 100·24249/65535 = 37.0016 %. CRCs 0x33, 0xA2, 0x3C.
#[test]
fn read_measurement_converts_a_reading_worked_by_hand() {
    let mut d = driver(
        &[
            Bus::write(0x62, vec![0xEC, 0x05]),
            Bus::read(
                0x62,
                vec![0x01, 0xF4, 0x33, 0x66, 0x67, 0xA2, 0x5E, 0xB9, 0x3C],
            ),
        ],
        &[Wait::delay_ms(1)],
    );
    let r = d.read_measurement().unwrap();
    assert_eq!(r.co2_ppm, 500);
    assert!((r.temperature_c - 25.0027).abs() < 1e-4, "{r:?}");
    assert!((r.humidity_pct - 37.0016).abs() < 1e-4, "{r:?}");
    finish(d);
}

#[test]
fn conversions_at_their_endpoints() {
    let mut d = driver(
        &[
            Bus::write(0x62, vec![0xEC, 0x05]),
            Bus::read(0x62, [0x00, 0x00, 0x81].repeat(3)),
            Bus::write(0x62, vec![0xEC, 0x05]),
            Bus::read(0x62, [0xFF, 0xFF, 0xAC].repeat(3)),
        ],
        &[Wait::delay_ms(1), Wait::delay_ms(1)],
    );
    let low = d.read_measurement().unwrap();
    assert_eq!(
        (low.co2_ppm, low.temperature_c, low.humidity_pct),
        (0, -45.0, 0.0)
    );
    let high = d.read_measurement().unwrap();
    assert_eq!(
        (high.co2_ppm, high.temperature_c, high.humidity_pct),
        (65535, 130.0, 100.0)
    );
    finish(d);
}

#[test]
fn data_ready_looks_only_at_the_low_11_bits() {
    // (word, its CRC, ready?)
    let cases = [
        (0x8006_u16, 0x04, true),
        (0x8000, 0xA2, false),
        (0x0800, 0xB6, false),
        (0x0001, 0xB0, true),
        (0x07FF, 0x83, true),
    ];
    let mut bus = Vec::new();
    for &(word, crc, _) in &cases {
        let [hi, lo] = word.to_be_bytes();
        bus.push(Bus::write(0x62, vec![0xE4, 0xB8]));
        bus.push(Bus::read(0x62, vec![hi, lo, crc]));
    }
    let mut d = driver(&bus, &vec![Wait::delay_ms(1); cases.len()]);
    for &(word, _, ready) in &cases {
        let status = d.get_data_ready_status().unwrap();
        assert_eq!(status, DataReadyStatus(word));
        assert_eq!(status.is_ready(), ready, "{word:#06x}");
    }
    finish(d);
}

#[test]
fn a_bad_crc_names_the_command_and_the_bytes() {
    let mut d = driver(
        &[
            Bus::write(0x62, vec![0xEC, 0x05]),
            // The temperature word's CRC is 0xA2; one bit flipped.
            Bus::read(
                0x62,
                vec![0x01, 0xF4, 0x33, 0x66, 0x67, 0xA3, 0x5E, 0xB9, 0x3C],
            ),
        ],
        &[Wait::delay_ms(1)],
    );
    let e = d.read_measurement().unwrap_err();
    assert_eq!(
        e,
        Error::Crc {
            command: Command::ReadMeasurement,
            index: 1,
            bytes: [0x66, 0x67, 0xA3],
            expected: 0xA2,
        }
    );
    let SensorError::Checksum(msg) = SensorError::from(e) else {
        panic!("not a checksum error");
    };
    assert!(msg.contains("read_measurement"), "{msg}");
    assert!(msg.contains("[66, 67, A3]"), "{msg}");
    assert!(msg.contains("A2"), "{msg}");
    finish(d);
}

#[test]
fn a_bad_crc_on_the_last_word_is_caught() {
    let mut d = driver(
        &[
            Bus::write(0x62, vec![0x36, 0x82]),
            Bus::read(
                0x62,
                vec![0xF8, 0x96, 0x31, 0x9F, 0x07, 0xC2, 0x3B, 0xBE, 0x88],
            ),
        ],
        &[Wait::delay_ms(1)],
    );
    assert!(matches!(
        d.get_serial_number(),
        Err(Error::Crc {
            command: Command::GetSerialNumber,
            index: 2,
            ..
        })
    ));
    finish(d);
}

#[test]
fn a_refused_transfer_names_the_command() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let mut d = driver(
        &[
            Bus::write(0x62, vec![0xE4, 0xB8]),
            Bus::read(0x62, vec![0; 3]).with_error(nack),
        ],
        &[Wait::delay_ms(1)],
    );
    let e = d.get_data_ready_status().unwrap_err();
    assert_eq!(
        e,
        Error::Bus {
            command: Command::GetDataReadyStatus,
            error: nack
        }
    );
    let SensorError::Bus(msg) = SensorError::from(e) else {
        panic!("not a bus error");
    };
    assert!(
        msg.contains("0x62") && msg.contains("get_data_ready_status"),
        "{msg}"
    );
    assert!(msg.contains("NoAcknowledge(Address)"), "{msg}");
    finish(d);
}
