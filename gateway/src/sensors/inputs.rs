//! GPIO inputs (motion, doors, buttons) watched on one thread and debounced; each debounced
//! change is sent to the publishing side at once. A Pi's pins wake the thread on each edge
//! (interrupts), simulated pins whenever they are steered; the thread then samples until the
//! level has been stable for the debounce window, and otherwise sleeps.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use drivers::sim::SimPinControl;
use drivers::{GpioInput, SensorError};
use tokio::sync::mpsc::Sender;

use crate::hw::gpio::AnyInputPin;

/// Often enough that a 50 ms debounce window is honoured closely.
const POLL: Duration = Duration::from_millis(5);

/// How often an idle thread wakes anyway, for retries and simulated toggles.
const IDLE: Duration = Duration::from_secs(1);

/// What wakes the input thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A pin changed level.
    Edge,
    Stop,
}

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

    /// Flips a simulated input whose time has come; says whether it did.
    fn toggle_if_due(&mut self, now: Instant) -> bool {
        if let (Some((pin, every)), Some(due)) = (&self.sim_toggle, self.next_toggle) {
            if now >= due {
                pin.set_level(!pin.is_high());
                self.next_toggle = Some(now + *every);
                return true;
            }
        }
        false
    }

    fn poll(&mut self, now: Instant) -> Option<Result<bool, SensorError>> {
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

/// Runs until `Wake::Stop` arrives or every waker is dropped, or the publishing side goes away.
pub fn run(mut inputs: Vec<WatchedInput>, changes: Sender<InputChange>, wake: Receiver<Wake>) {
    let settle = inputs.iter().map(|i| i.debounce).max().unwrap_or_default() + POLL * 2;
    // Sample from the start until every level has settled once.
    let mut sample_until = Instant::now() + settle;
    loop {
        let now = Instant::now();
        let timeout = if now < sample_until {
            POLL
        } else {
            let next_toggle = inputs.iter().filter_map(|i| i.next_toggle).min();
            next_toggle.map_or(IDLE, |t| t.saturating_duration_since(now).min(IDLE))
        };
        match wake.recv_timeout(timeout) {
            Ok(Wake::Edge) => sample_until = Instant::now() + settle,
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        for input in &mut inputs {
            if input.toggle_if_due(now) {
                sample_until = now + settle;
            }
            if let Some(result) = input.poll(now) {
                if result.is_err() {
                    // A pin that failed is re-claimed; sample it until it settles again.
                    sample_until = now + settle;
                }
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
