//! Delays for drivers on a bus thread (blocking is fine there, never on the async runtime).

use embedded_hal::delay::DelayNs;

#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadDelay;

impl DelayNs for ThreadDelay {
    fn delay_ns(&mut self, ns: u32) {
        std::thread::sleep(std::time::Duration::from_nanos(u64::from(ns)));
    }
}
