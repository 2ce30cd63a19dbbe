//! A relay on an output pin: maps ON/OFF to pin levels, whichever way the board is wired.

use embedded_hal::digital::{OutputPin, PinState};

use super::settings::Switch;

/// The level that puts a relay in `switch`: most relay boards switch on when their input is
/// pulled low (`active_low`).
pub fn level(switch: Switch, active_low: bool) -> PinState {
    let on = switch == Switch::On;
    PinState::from(on != active_low)
}

pub struct Relay<P> {
    pin: P,
    active_low: bool,
}

impl<P: OutputPin> Relay<P> {
    /// Takes a pin already driving the level wanted at start (see [`level`]).
    pub fn new(pin: P, active_low: bool) -> Self {
        Relay { pin, active_low }
    }

    pub fn set(&mut self, switch: Switch) -> Result<(), P::Error> {
        self.pin.set_state(level(switch, self.active_low))
    }
}

#[cfg(test)]
mod tests {
    use drivers::sim::SimPin;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};

    use super::*;

    #[test]
    fn levels_follow_the_wiring() {
        assert_eq!(level(Switch::On, false), PinState::High);
        assert_eq!(level(Switch::Off, false), PinState::Low);
        assert_eq!(level(Switch::On, true), PinState::Low);
        assert_eq!(level(Switch::Off, true), PinState::High);
    }

    #[test]
    fn an_active_low_relay_pulls_its_pin_low_to_switch_on() {
        let pin = SimPin::new(true);
        let line = pin.control();
        let mut relay = Relay::new(pin, true);
        relay.set(Switch::On).unwrap_or_else(|e| match e {});
        assert!(!line.is_high());
        relay.set(Switch::Off).unwrap_or_else(|e| match e {});
        assert!(line.is_high());
    }

    #[test]
    fn each_switch_is_one_pin_write() {
        let mut pin = Mock::new(&[
            Transaction::set(State::High),
            Transaction::set(State::Low),
            Transaction::set(State::Low),
        ]);
        let mut relay = Relay::new(pin.clone(), false);
        for switch in [Switch::On, Switch::Off, Switch::Off] {
            relay
                .set(switch)
                .unwrap_or_else(|e| panic!("mock pin failed: {e:?}"));
        }
        pin.done();
    }
}
