//! Where drivers and simulated devices read the time. Outside tests it is the system's
//! monotonic clock; a test hands in [`crate::sim::SimClock`] and moves time itself.

use std::fmt;
use std::time::Instant;

/// A monotonic source of the current time.
pub trait Clock: fmt::Debug + Send + Sync {
    fn now(&self) -> Instant;
}

/// The system's monotonic clock, [`Instant::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}
