//! GPIO inputs (motion, doors, buttons) polled on one thread and debounced; each debounced
//! change is sent to the publishing side at once.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use drivers::sim::SimPinControl;
use drivers::{GpioInput, SensorError};
use tokio::sync::mpsc::Sender;

use crate::hw::gpio::AnyInputPin;

/// Often enough that a 50 ms debounce window is honoured closely, rare enough to cost nothing.
const POLL: Duration = Duration::from_millis(5);

/// A debounced change of state, or a failure to read the pin.
#[derive(Debug)]
pub struct InputChange {
    pub sensor: usize,
    pub at: Instant,
    pub wall: SystemTime,
    pub result: Result<bool, SensorError>,
}

/// Claims the pin; retried while it fails (the GPIO controller missing, the pin busy).
pub type PinOpener = Box<dyn FnMut() -> Result<AnyInputPin, SensorError> + Send>;

/// How long a pin that could not be claimed waits before the next attempt.
const REOPEN_AFTER: Duration = Duration::from_secs(5);

pub struct WatchedInput {
    pub sensor: usize,
    open: PinOpener,
    active_low: bool,
    debounce: Duration,
    input: Option<GpioInput<AnyInputPin>>,
    retry_at: Instant,
    /// A simulated input flips itself this often (a PIR seeing someone walk by).
    pub sim_toggle: Option<(SimPinControl, Duration)>,
    next_toggle: Option<Instant>,
    failing: bool,
}

impl WatchedInput {
    pub fn new(
        sensor: usize,
        open: PinOpener,
        active_low: bool,
        debounce: Duration,
        sim_toggle: Option<(SimPinControl, Duration)>,
    ) -> Self {
        let next_toggle = sim_toggle
            .as_ref()
            .map(|(_, every)| Instant::now() + *every);
        Self {
            sensor,
            open,
            active_low,
            debounce,
            input: None,
            retry_at: Instant::now(),
            sim_toggle,
            next_toggle,
            failing: false,
        }
    }

    fn poll(&mut self, now: Instant) -> Option<Result<bool, SensorError>> {
        if let (Some((pin, every)), Some(due)) = (&self.sim_toggle, self.next_toggle) {
            if now >= due {
                pin.set_level(!pin.is_high());
                self.next_toggle = Some(now + *every);
            }
        }
        if self.input.is_none() {
            if now < self.retry_at {
                return None;
            }
            match (self.open)() {
                Ok(pin) => {
                    self.input = Some(GpioInput::new(pin, self.active_low, self.debounce));
                }
                Err(e) => {
                    self.retry_at = now + REOPEN_AFTER;
                    return self.report_failure(e);
                }
            }
        }
        let input = self.input.as_mut()?;
        match input.poll(now) {
            Ok(change) => {
                self.failing = false;
                change.map(Ok)
            }
            Err(e) => {
                self.input = None;
                self.retry_at = now + REOPEN_AFTER;
                self.report_failure(e)
            }
        }
    }

    /// Reports a failing pin once, not at every attempt.
    fn report_failure(&mut self, e: SensorError) -> Option<Result<bool, SensorError>> {
        if self.failing {
            return None;
        }
        self.failing = true;
        Some(Err(e))
    }
}

/// Runs until `stop` is signalled or dropped, or the publishing side goes away.
pub fn run(mut inputs: Vec<WatchedInput>, changes: Sender<InputChange>, stop: Receiver<()>) {
    loop {
        match stop.recv_timeout(POLL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        for input in &mut inputs {
            if let Some(result) = input.poll(now) {
                let change = InputChange {
                    sensor: input.sensor,
                    at: now,
                    wall: SystemTime::now(),
                    result,
                };
                if changes.blocking_send(change).is_err() {
                    return;
                }
            }
        }
    }
}
