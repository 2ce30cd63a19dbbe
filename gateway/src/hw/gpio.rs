//! GPIO inputs: rppal on a Pi, or a simulated pin, behind one type the drivers can poll.
//! Outputs are in `gpio_output.rs`.

use std::convert::Infallible;

use drivers::sim::SimPin;
use drivers::SensorError;
use embedded_hal::digital::{ErrorKind, ErrorType, InputPin};

use crate::sensors::settings::Pull;

pub enum AnyInputPin {
    Sim(SimPin),
    Pi(rppal::gpio::InputPin),
}

#[derive(Debug)]
pub struct PinError;

impl embedded_hal::digital::Error for PinError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl From<Infallible> for PinError {
    fn from(e: Infallible) -> Self {
        match e {}
    }
}

impl ErrorType for AnyInputPin {
    type Error = PinError;
}

impl InputPin for AnyInputPin {
    fn is_high(&mut self) -> Result<bool, PinError> {
        match self {
            AnyInputPin::Sim(p) => Ok(p.is_high()?),
            AnyInputPin::Pi(p) => Ok(p.is_high()?),
        }
    }

    fn is_low(&mut self) -> Result<bool, PinError> {
        self.is_high().map(|h| !h)
    }
}

/// Claims BCM pin `bcm` as an input with the given pull resistor; `on_edge` runs on every
/// level change (from rppal's interrupt thread).
pub fn open_input(
    bcm: u8,
    pull: Pull,
    on_edge: impl FnMut() + Send + 'static,
) -> Result<AnyInputPin, SensorError> {
    let gpio = rppal::gpio::Gpio::new().map_err(|e| {
        SensorError::Io(format!(
            "cannot open the GPIO controller: {e}; on a Raspberry Pi add the user to the gpio group (`sudo usermod -aG gpio hearth`)"
        ))
    })?;
    let pin = gpio
        .get(bcm)
        .map_err(|e| SensorError::Io(format!("GPIO{bcm}: {e}")))?;
    let mut input = match pull {
        Pull::None => pin.into_input(),
        Pull::Up => pin.into_input_pullup(),
        Pull::Down => pin.into_input_pulldown(),
    };
    let mut on_edge = on_edge;
    input
        .set_async_interrupt(rppal::gpio::Trigger::Both, None, move |_| on_edge())
        .map_err(|e| SensorError::Io(format!("GPIO{bcm}: cannot watch for edges: {e}")))?;
    Ok(AnyInputPin::Pi(input))
}
