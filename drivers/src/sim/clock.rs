//! A clock that moves only when told to, so a test steps a simulated device through time
//! instead of sleeping.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use embedded_hal::delay::DelayNs;

use crate::clock::Clock;

/// Simulated time, shared by its clones. As a driver's delay it advances by the time waited,
/// so a driver's waits pass at once and the simulated device sees them pass.
#[derive(Debug, Clone)]
pub struct SimClock {
    now: Arc<Mutex<Instant>>,
}

impl SimClock {
    /// Starts at the current system time; only [`SimClock::advance`] moves it from there.
    pub fn new() -> Self {
        SimClock {
            now: Arc::new(Mutex::new(Instant::now())),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SimClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DelayNs for SimClock {
    fn delay_ns(&mut self, ns: u32) {
        self.advance(Duration::from_nanos(u64::from(ns)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_time_that_moves_only_when_advanced_or_waited_on() {
        let clock = SimClock::new();
        let mut delay = clock.clone();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_millis(250));
        delay.delay_ms(500);
        assert_eq!(clock.now() - start, Duration::from_millis(750));
    }
}
