//! A simulated GPIO pin: an input whose level is set from outside (a test, a simulated PIR),
//! or an output whose level can be read back (a relay).

use core::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use embedded_hal::digital::{ErrorType, InputPin, OutputPin, StatefulOutputPin};

/// One line's level, shared by the pin and its controls. A single flag orders no other memory,
/// so relaxed atomics suffice.
#[derive(Debug, Default)]
struct Line(AtomicBool);

impl Line {
    fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, high: bool) {
        self.0.store(high, Ordering::Relaxed);
    }
}

/// A pin that never fails. As an input it reads the level its controls set; as an output its
/// controls read what it was set to.
#[derive(Debug)]
pub struct SimPin {
    line: Arc<Line>,
}

impl SimPin {
    pub fn new(initial_high: bool) -> Self {
        let line = Line::default();
        line.set(initial_high);
        SimPin {
            line: Arc::new(line),
        }
    }

    /// A handle on this pin's line.
    pub fn control(&self) -> SimPinControl {
        SimPinControl {
            line: Arc::clone(&self.line),
        }
    }
}

impl ErrorType for SimPin {
    type Error = Infallible;
}

impl InputPin for SimPin {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.line.get())
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.line.get())
    }
}

impl OutputPin for SimPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.line.set(false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.line.set(true);
        Ok(())
    }
}

impl StatefulOutputPin for SimPin {
    fn is_set_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.line.get())
    }

    fn is_set_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.line.get())
    }
}

/// Drives or watches a [`SimPin`]'s line from another thread. Clones share the line.
#[derive(Debug, Clone)]
pub struct SimPinControl {
    line: Arc<Line>,
}

impl SimPinControl {
    /// Sets the level an input reads.
    pub fn set_level(&self, high: bool) {
        self.line.set(high);
    }

    /// The line's level: what an output was last set to, or an input's level.
    pub fn is_high(&self) -> bool {
        self.line.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_reads_what_the_control_sets() {
        let mut pin = SimPin::new(false);
        let control = pin.control();
        assert_eq!(pin.is_high(), Ok(false));
        assert_eq!(pin.is_low(), Ok(true));
        let remote = control.clone();
        std::thread::spawn(move || remote.set_level(true))
            .join()
            .unwrap();
        assert_eq!(pin.is_high(), Ok(true));
        assert_eq!(pin.is_low(), Ok(false));
    }

    #[test]
    fn the_control_reads_what_an_output_was_set_to() {
        let mut pin = SimPin::new(true);
        let control = pin.control();
        assert!(control.is_high());
        pin.set_low().unwrap();
        assert!(!control.is_high());
        assert_eq!(pin.is_set_low(), Ok(true));
        pin.toggle().unwrap();
        assert!(control.is_high());
        assert_eq!(pin.is_set_high(), Ok(true));
        pin.set_state(embedded_hal::digital::PinState::Low).unwrap();
        assert!(!control.is_high());
    }

    #[test]
    fn the_control_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone>() {}
        assert_traits::<SimPinControl>();
        fn assert_send<T: Send>() {}
        assert_send::<SimPin>();
    }
}
