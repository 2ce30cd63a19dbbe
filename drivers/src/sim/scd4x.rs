//! A simulated SCD4x that answers the real command protocol on the I2C bus, so the real
//! driver runs against it: periodic measurement, data-ready, CRCs, busy times and the
//! datasheet's NACKs.

mod chip;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use embedded_hal::i2c::{ErrorType, I2c, Operation};

use self::chip::State;
use crate::clock::{Clock, SystemClock};
use crate::sim::fault::{Drift, Fault, SimI2cError};

/// The longest measurement period accepted; longer ones are cut to it so time arithmetic
/// cannot overflow.
const MAX_PERIOD: Duration = Duration::from_secs(365 * 24 * 3600);

/// The device on the bus at 0x62. It starts powered up and idle, at 600 ppm, 21 °C, 45 %,
/// with the datasheet's example serial number 0xF896_9F07_3BBE and a 5 s sample period.
pub struct SimScd4x {
    state: Arc<Mutex<State>>,
    /// What the device's sample period, busy times and boot time are counted on.
    clock: Arc<dyn Clock>,
}

/// Changes what the simulated device measures and does wrong, from any thread.
#[derive(Clone)]
pub struct SimScd4xControl {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
}

/// The lock is held only for bookkeeping, never across a sleep, and a panic elsewhere leaves
/// the state usable.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimScd4x {
    /// A device on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// A device whose time is `clock`'s: with a [`crate::sim::SimClock`] a test moves it.
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(clock);
        SimScd4x {
            state: Arc::new(Mutex::new(State::new(clock.now()))),
            clock,
        }
    }

    pub fn control(&self) -> SimScd4xControl {
        SimScd4xControl {
            state: Arc::clone(&self.state),
            clock: Arc::clone(&self.clock),
        }
    }
}

impl Default for SimScd4x {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrorType for SimScd4x {
    type Error = SimI2cError;
}

impl I2c for SimScd4x {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        lock(&self.state).transfer(address, operations, self.clock.now())
    }
}

impl SimScd4xControl {
    /// What the next samples measure, before drift.
    pub fn set_environment(&self, co2_ppm: f64, temperature_c: f64, humidity_pct: f64) {
        lock(&self.state).environment = [co2_ppm, temperature_c, humidity_pct];
    }

    pub fn set_co2_drift(&self, drift: Drift) {
        lock(&self.state).drift[0] = drift;
    }

    pub fn set_temperature_drift(&self, drift: Drift) {
        lock(&self.state).drift[1] = drift;
    }

    pub fn set_humidity_drift(&self, drift: Drift) {
        lock(&self.state).drift[2] = drift;
    }

    /// `Nack` and `BusError` fail every transfer; `Stuck` repeats the last sample while still
    /// flagging each new one ready; `None` recovers.
    pub fn set_fault(&self, fault: Fault) {
        lock(&self.state).fault = fault;
    }

    pub fn fault(&self) -> Fault {
        lock(&self.state).fault
    }

    /// Sends a wrong CRC after each of the next `words` words the device answers with,
    /// whichever commands they answer.
    pub fn corrupt_next_crcs(&self, words: u32) {
        lock(&self.state).corrupt_words = words;
    }

    /// Time between samples in periodic measurement (5 s on the device). Zero makes a new
    /// sample ready at every transfer.
    pub fn set_measurement_period(&self, period: Duration) {
        lock(&self.state).set_period(period.min(MAX_PERIOD), self.clock.now());
    }

    /// Power lost and back: the device is idle with nothing buffered, and NACKs everything
    /// for the 1000 ms it takes to boot.
    pub fn power_cycle(&self) {
        lock(&self.state).power_cycle(self.clock.now());
    }

    /// Whether periodic measurement runs.
    pub fn is_measuring(&self) -> bool {
        lock(&self.state).is_measuring()
    }

    pub fn serial_number(&self) -> u64 {
        lock(&self.state).serial
    }
}
