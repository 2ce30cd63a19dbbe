//! One thread per bus reads that bus's devices on their schedules. Bus I/O blocks, so it stays
//! off the async runtime, and a slow or hung bus delays only its own devices.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use drivers::{Measurement, Sensor, SensorError};
use tokio::sync::mpsc::Sender;

/// Opens (or re-opens) a device: probing and initialising it is part of recovering from a fault.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn Sensor>, SensorError> + Send>;

/// The outcome of one read, sent to the publishing side.
#[derive(Debug)]
pub struct Sample {
    /// Index of the sensor in the configuration.
    pub sensor: usize,
    pub at: Instant,
    pub wall: SystemTime,
    pub result: Result<Vec<Measurement>, SensorError>,
}

/// A device on this bus and where its schedule stands.
pub struct Slot {
    pub sensor: usize,
    pub interval: Duration,
    pub open: Opener,
    device: Option<Box<dyn Sensor>>,
    next_due: Instant,
    failures: u32,
    not_ready_since: Option<Instant>,
}

impl Slot {
    pub fn new(sensor: usize, interval: Duration, open: Opener) -> Self {
        Self {
            sensor,
            interval,
            open,
            device: None,
            next_due: Instant::now(),
            failures: 0,
            not_ready_since: None,
        }
    }

    /// Reads once, re-opening the device first if the last attempt failed.
    fn read(&mut self) -> Result<Vec<Measurement>, SensorError> {
        let device = match &mut self.device {
            Some(d) => d,
            None => self.device.insert((self.open)()?),
        };
        device.read()
    }

    /// Schedules the next read after `result`, and says what to report, if anything.
    fn after_read(
        &mut self,
        now: Instant,
        result: Result<Vec<Measurement>, SensorError>,
    ) -> Option<Result<Vec<Measurement>, SensorError>> {
        let quick_retry = self.interval.min(Duration::from_secs(1));
        match result {
            Ok(measurements) => {
                self.failures = 0;
                self.not_ready_since = None;
                self.next_due = now + self.interval;
                Some(Ok(measurements))
            }
            // A sample still in progress is normal (a SCD4x measures every 5 s); only a device
            // that stays not ready for several periods has stopped answering.
            Err(SensorError::NotReady(why)) => {
                let since = *self.not_ready_since.get_or_insert(now);
                let patience = self.interval.max(Duration::from_secs(5)) * 3;
                if now.duration_since(since) < patience {
                    self.next_due = now + quick_retry;
                    return None;
                }
                self.not_ready_since = None;
                self.fail(now, quick_retry);
                Some(Err(SensorError::NotReady(format!(
                    "{why} (for {}s)",
                    patience.as_secs()
                ))))
            }
            Err(e) => {
                self.fail(now, quick_retry);
                Some(Err(e))
            }
        }
    }

    /// Drops the device so the next attempt re-initialises it, and backs off: the first
    /// retries come quickly, later ones no faster than the interval (at least 30 s apart).
    fn fail(&mut self, now: Instant, base: Duration) {
        self.device = None;
        self.failures = self.failures.saturating_add(1);
        let cap = self.interval.max(Duration::from_secs(30));
        let backoff = base.saturating_mul(1 << self.failures.min(16).saturating_sub(1));
        self.next_due = now + backoff.min(cap);
    }
}

/// Runs until `stop` is signalled or dropped, or the publishing side goes away.
pub fn run(mut slots: Vec<Slot>, samples: Sender<Sample>, stop: Receiver<()>) {
    loop {
        let Some(slot) = slots.iter_mut().min_by_key(|s| s.next_due) else {
            return;
        };
        let wait = slot.next_due.saturating_duration_since(Instant::now());
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let result = slot.read();
        let now = Instant::now();
        if let Some(result) = slot.after_read(now, result) {
            let sample = Sample {
                sensor: slot.sensor,
                at: now,
                wall: SystemTime::now(),
                result,
            };
            if samples.blocking_send(sample).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivers::Quantity;

    fn slot(interval_ms: u64) -> Slot {
        Slot::new(
            0,
            Duration::from_millis(interval_ms),
            Box::new(|| Err(SensorError::Bus("unused".into()))),
        )
    }

    fn ok() -> Result<Vec<Measurement>, SensorError> {
        Ok(vec![Measurement {
            quantity: Quantity::Temperature,
            value: 20.0,
        }])
    }

    #[test]
    fn failures_back_off_up_to_a_cap_and_success_resets() {
        let mut s = slot(200);
        let t0 = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..5 {
            s.after_read(t0, Err(SensorError::Bus("nack".into())));
            delays.push(s.next_due.duration_since(t0).as_millis());
        }
        assert_eq!(delays, [200, 400, 800, 1600, 3200]);
        for _ in 0..20 {
            s.after_read(t0, Err(SensorError::Bus("nack".into())));
        }
        assert_eq!(s.next_due.duration_since(t0), Duration::from_secs(30));
        s.after_read(t0, ok());
        assert_eq!(s.failures, 0);
        assert_eq!(s.next_due.duration_since(t0), Duration::from_millis(200));
    }

    #[test]
    fn not_ready_is_retried_quietly_until_it_lasts_too_long() {
        let mut s = slot(1000);
        let t0 = Instant::now();
        let not_ready = || Err(SensorError::NotReady("no data".into()));
        assert!(s.after_read(t0, not_ready()).is_none());
        assert!(s
            .after_read(t0 + Duration::from_secs(14), not_ready())
            .is_none());
        let reported = s.after_read(t0 + Duration::from_secs(15), not_ready());
        assert!(matches!(reported, Some(Err(SensorError::NotReady(_)))));
        assert_eq!(s.failures, 1);
    }
}
