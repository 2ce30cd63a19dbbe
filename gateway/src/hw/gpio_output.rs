//! GPIO outputs (relays): rppal on a Pi, or a simulated pin, behind one embedded-hal type.

use embedded_hal::digital::{ErrorType, OutputPin, PinState};
use thiserror::Error;

use drivers::sim::SimPin;

use super::gpio::PinError;

pub enum AnyOutputPin {
    Sim(SimPin),
    Pi(rppal::gpio::OutputPin),
}

impl ErrorType for AnyOutputPin {
    type Error = PinError;
}

/// rppal writes the level into the memory-mapped GPIO registers: it neither fails nor blocks,
/// so switching needs no blocking thread (claiming does, see [`open_output`]).
impl OutputPin for AnyOutputPin {
    fn set_low(&mut self) -> Result<(), PinError> {
        match self {
            AnyOutputPin::Sim(p) => Ok(p.set_low()?),
            AnyOutputPin::Pi(p) => {
                p.set_low();
                Ok(())
            }
        }
    }

    fn set_high(&mut self) -> Result<(), PinError> {
        match self {
            AnyOutputPin::Sim(p) => Ok(p.set_high()?),
            AnyOutputPin::Pi(p) => {
                p.set_high();
                Ok(())
            }
        }
    }
}

/// Why an output pin could not be claimed, with what to do about it.
#[derive(Debug, Error)]
#[error("GPIO{bcm}: {reason}")]
pub struct OpenOutputError {
    pub bcm: u8,
    pub reason: String,
}

/// Claims BCM pin `bcm` as an output already driving `initial`: the level is set before the
/// pin becomes an output, so a relay never sees a glitch while it is claimed.
///
/// Opens device files; call it from a blocking context.
pub fn open_output(bcm: u8, initial: PinState) -> Result<AnyOutputPin, OpenOutputError> {
    let fail = |reason: String| OpenOutputError { bcm, reason };
    let gpio = rppal::gpio::Gpio::new().map_err(|e| fail(hint(e)))?;
    let pin = gpio.get(bcm).map_err(|e| fail(hint(e)))?;
    let mut output = match initial {
        PinState::Low => pin.into_output_low(),
        PinState::High => pin.into_output_high(),
    };
    // rppal turns the pin back into an input when it is dropped, which would leave a relay
    // board's input floating after the gateway exits. The level driven last (the safe state at
    // shutdown) must stay.
    output.set_reset_on_drop(false);
    Ok(AnyOutputPin::Pi(output))
}

fn hint(e: rppal::gpio::Error) -> String {
    use rppal::gpio::Error;
    match e {
        Error::PermissionDenied(path) => format!(
            "permission denied opening {path}; add the user to the gpio group (`sudo usermod -aG gpio hearth`)"
        ),
        Error::PinUsed(_) => {
            "the pin is already in use by another sensor or actuator in this gateway; give each its own pin".into()
        }
        Error::PinNotAvailable(_) => {
            "no such pin; use the BCM number (the number after \"GPIO\" on pinout diagrams)".into()
        }
        Error::UnknownModel => {
            "cannot open the GPIO controller: not a Raspberry Pi (or an unknown model); use `pin = \"sim\"` to simulate the output".into()
        }
        other => format!("cannot open the GPIO controller: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_that_cannot_be_claimed_is_named() {
        // No Pi has a GPIO99, so this never drives a real pin, even when run on one.
        let Err(e) = open_output(99, PinState::High) else {
            panic!("GPIO99 was claimed");
        };
        let text = e.to_string();
        assert!(text.starts_with("GPIO99: "), "{text}");
    }
}
