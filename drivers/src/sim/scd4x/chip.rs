//! The simulated chip: its mode, sample buffer, busy time and command handling.

use std::time::{Duration, Instant};

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource, Operation};

use crate::scd4x::{encode_word, ADDRESS};
use crate::sim::fault::{Drift, Fault, SimI2cError};

/// The commands the simulated chip executes. The rest of the datasheet's set (settings,
/// calibration, self test, single shot, power down) is not simulated and is NACKed like an
/// unknown code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Start,
    Read,
    Stop,
    DataReady,
    Serial,
    Reinit,
}

impl Op {
    fn decode(code: u16) -> Option<Op> {
        Some(match code {
            0x21B1 => Op::Start,
            0xEC05 => Op::Read,
            0x3F86 => Op::Stop,
            0xE4B8 => Op::DataReady,
            0x3682 => Op::Serial,
            0x3646 => Op::Reinit,
            _ => return None,
        })
    }

    fn execution_time(self) -> Duration {
        Duration::from_millis(match self {
            Op::Start => 0,
            Op::Read | Op::DataReady | Op::Serial => 1,
            Op::Stop => 500,
            Op::Reinit => 30,
        })
    }

    /// The datasheet's "during measurement" column.
    fn allowed_while_measuring(self) -> bool {
        matches!(self, Op::Read | Op::Stop | Op::DataReady)
    }
}

/// After power-up the chip needs 1000 ms before it answers.
const BOOT_TIME: Duration = Duration::from_millis(1000);

/// Data-ready words. Bits above the low 11 are unspecified; setting one catches a driver that
/// does not mask them.
const READY: u16 = 0x8006;
const NOT_READY: u16 = 0x8000;

/// What a power cycle resets.
struct Chip {
    measuring: bool,
    next_sample: Instant,
    latest: Option<[u16; 3]>,
    ready: bool,
    /// The bytes the next read header gets; `None` NACKs it.
    answer: Option<Vec<u8>>,
    busy_until: Instant,
}

impl Chip {
    fn powered_up(now: Instant, boot: Duration) -> Self {
        Chip {
            measuring: false,
            next_sample: now,
            latest: None,
            ready: false,
            answer: None,
            busy_until: now + boot,
        }
    }
}

/// Everything behind the device and its control handle.
pub(super) struct State {
    pub environment: [f64; 3],
    /// Drift of CO2, temperature and humidity, in that order.
    pub drift: [Drift; 3],
    pub fault: Fault,
    pub corrupt_words: u32,
    pub period: Duration,
    pub serial: u64,
    created: Instant,
    chip: Chip,
}

fn nack_data() -> SimI2cError {
    SimI2cError(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data))
}

impl State {
    pub fn new(now: Instant) -> Self {
        State {
            environment: [600.0, 21.0, 45.0],
            drift: [Drift::NONE; 3],
            fault: Fault::None,
            corrupt_words: 0,
            period: Duration::from_secs(5),
            serial: 0xF896_9F07_3BBE,
            created: now,
            chip: Chip::powered_up(now, Duration::ZERO),
        }
    }

    pub fn is_measuring(&self) -> bool {
        self.chip.measuring
    }

    pub fn power_cycle(&mut self, now: Instant) {
        self.chip = Chip::powered_up(now, BOOT_TIME);
    }

    pub fn set_period(&mut self, period: Duration, now: Instant) {
        self.period = period;
        if self.chip.measuring {
            self.chip.next_sample = self.chip.next_sample.min(now + period);
        }
    }

    /// One I2C transaction. Adjacent writes (and adjacent reads) form one transfer, as
    /// embedded-hal specifies.
    pub fn transfer(
        &mut self,
        address: u8,
        ops: &mut [Operation<'_>],
        now: Instant,
    ) -> Result<(), SimI2cError> {
        if address != ADDRESS {
            return Err(SimI2cError::nack());
        }
        if let Some(e) = self.fault.transfer_error() {
            return Err(e);
        }
        self.advance(now);
        let mut i = 0;
        while i < ops.len() {
            if now < self.chip.busy_until {
                return Err(SimI2cError::nack());
            }
            if let Some(Operation::Write(_)) = ops.get(i) {
                let mut bytes = Vec::new();
                while let Some(Operation::Write(part)) = ops.get(i) {
                    bytes.extend_from_slice(part);
                    i += 1;
                }
                self.write(&bytes, now)?;
            } else {
                let answer = self.chip.answer.take().ok_or_else(SimI2cError::nack)?;
                // Past the answer nobody drives SDA and the pull-ups read as 0xFF.
                let mut bytes = answer.into_iter().chain(std::iter::repeat(0xFF));
                while let Some(Operation::Read(buf)) = ops.get_mut(i) {
                    buf.iter_mut()
                        .for_each(|b| *b = bytes.next().unwrap_or(0xFF));
                    i += 1;
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8], now: Instant) -> Result<(), SimI2cError> {
        let [hi, lo, args @ ..] = bytes else {
            // An empty write only probes the address; one byte is half a command.
            return if bytes.is_empty() {
                Ok(())
            } else {
                Err(nack_data())
            };
        };
        let op = Op::decode(u16::from_be_bytes([*hi, *lo])).ok_or_else(nack_data)?;
        if (self.chip.measuring && !op.allowed_while_measuring()) || !args.is_empty() {
            return Err(nack_data());
        }
        self.chip.answer = None;
        match op {
            Op::Start => {
                self.chip.measuring = true;
                self.chip.ready = false;
                self.chip.next_sample = now + self.period;
            }
            Op::Stop => {
                self.chip.measuring = false;
                self.chip.ready = false;
            }
            // With nothing buffered there is no answer, so the read header is NACKed, as the
            // datasheet says.
            Op::Read => {
                if let (true, Some(sample)) = (self.chip.ready, self.chip.latest) {
                    self.chip.ready = false;
                    self.answer(&sample);
                }
            }
            Op::DataReady => self.answer(&[if self.chip.ready { READY } else { NOT_READY }]),
            Op::Serial => {
                let s = self.serial;
                self.answer(&[(s >> 32) as u16, (s >> 16) as u16, s as u16]);
            }
            Op::Reinit => self.chip.ready = false,
        }
        self.chip.busy_until = now + op.execution_time();
        Ok(())
    }

    fn answer(&mut self, words: &[u16]) {
        let mut bytes = Vec::with_capacity(words.len() * 3);
        for &word in words {
            let mut encoded = encode_word(word);
            if self.corrupt_words > 0 {
                self.corrupt_words -= 1;
                encoded[2] ^= 0x01;
            }
            bytes.extend(encoded);
        }
        self.chip.answer = Some(bytes);
    }

    /// Buffers a new sample when one is due. Samples fall on a fixed grid from the start of
    /// measurement, so a late poll does not shift later ones.
    fn advance(&mut self, now: Instant) {
        if !self.chip.measuring || now < self.chip.next_sample {
            return;
        }
        let sample = match (self.fault, self.chip.latest) {
            (Fault::Stuck, Some(last)) => last,
            _ => self.sample_at(now),
        };
        self.chip.latest = Some(sample);
        self.chip.ready = true;
        self.chip.next_sample = next_tick(self.chip.next_sample, self.period, now);
    }

    fn sample_at(&self, now: Instant) -> [u16; 3] {
        let t = now.duration_since(self.created);
        let [co2, temperature, humidity] = self.environment;
        let [d_co2, d_t, d_rh] = self.drift;
        // `as` saturates (and maps NaN to 0), like the sensor's own clamping to its range.
        [
            (co2 + d_co2.offset(t)).round() as u16,
            ((temperature + d_t.offset(t) + 45.0) * 65535.0 / 175.0).round() as u16,
            ((humidity + d_rh.offset(t)) * 65535.0 / 100.0).round() as u16,
        ]
    }
}

/// The first grid point after `now`, counting from `due` (which is not after `now`).
fn next_tick(due: Instant, period: Duration, now: Instant) -> Instant {
    if period.is_zero() {
        return now;
    }
    let into_period = now.duration_since(due).as_nanos() % period.as_nanos();
    let into_period = Duration::from_nanos(u64::try_from(into_period).unwrap_or(0));
    now.checked_add(period.saturating_sub(into_period))
        .unwrap_or(now)
}
