//! GPIO digital inputs (PIR motion sensors, door contacts, buttons), polled and debounced.
//!
//! The driver only reads levels. Pull-up or pull-down resistors are set by the gateway's GPIO
//! backend when it opens the pin (rppal on the Pi); `active_low` then says which level means
//! "active", e.g. a button to ground with the pull-up enabled is active-low.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use embedded_hal::digital::InputPin;
use thiserror::Error;

use crate::sensor::SensorError;

/// Turns a sampled level into stable states: a new level counts only once it has held for the
/// debounce time. Time is passed in, so it is tested without a clock.
#[derive(Debug, Clone)]
pub struct Debouncer {
    debounce: Duration,
    stable: bool,
    /// When the level first differed from `stable`, if it still does.
    changed_at: Option<Instant>,
}

impl Debouncer {
    pub fn new(debounce: Duration, initial: bool) -> Self {
        Debouncer {
            debounce,
            stable: initial,
            changed_at: None,
        }
    }

    /// Feeds one sample; returns the new stable state when it changes. A level that returns to
    /// the stable one before `debounce` has passed is a bounce and is forgotten.
    pub fn update(&mut self, now: Instant, level: bool) -> Option<bool> {
        if level == self.stable {
            self.changed_at = None;
            return None;
        }
        let since = *self.changed_at.get_or_insert(now);
        if now.saturating_duration_since(since) >= self.debounce {
            self.stable = level;
            self.changed_at = None;
            Some(level)
        } else {
            None
        }
    }

    pub fn state(&self) -> bool {
        self.stable
    }

    pub fn debounce(&self) -> Duration {
        self.debounce
    }
}

/// A debounced digital input. `true` is the active state: motion, door open, button pressed.
#[derive(Debug)]
pub struct GpioInput<P: InputPin> {
    pin: P,
    active_low: bool,
    debounce: Duration,
    /// Set by the first poll, which takes the level as it finds it.
    debouncer: Option<Debouncer>,
}

impl<P: InputPin> GpioInput<P> {
    /// `active_low`: the input is active when the pin reads low.
    pub fn new(pin: P, active_low: bool, debounce: Duration) -> Self {
        GpioInput {
            pin,
            active_low,
            debounce,
            debouncer: None,
        }
    }

    /// Samples the pin. The first poll returns the state found, so the gateway can publish it;
    /// later polls return a state only when it changed and held for the debounce time.
    pub fn poll(&mut self, now: Instant) -> Result<Option<bool>, SensorError> {
        let high = self
            .pin
            .is_high()
            .map_err(|e| SensorError::Bus(format!("reading the GPIO input failed: {e:?}")))?;
        let level = high != self.active_low;
        match &mut self.debouncer {
            Some(debouncer) => Ok(debouncer.update(now, level)),
            None => {
                self.debouncer = Some(Debouncer::new(self.debounce, level));
                Ok(Some(level))
            }
        }
    }

    /// The debounced state, or `None` before the first poll.
    pub fn state(&self) -> Option<bool> {
        self.debouncer.as_ref().map(Debouncer::state)
    }

    pub fn active_low(&self) -> bool {
        self.active_low
    }

    /// Gives back the pin, e.g. to release it.
    pub fn into_inner(self) -> P {
        self.pin
    }
}

/// How a logical state is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputPayload {
    /// `ON` / `OFF`: Home Assistant's binary_sensor default.
    #[default]
    OnOff,
    /// `open` / `closed`, for door and window contacts (active = open).
    OpenClosed,
}

impl InputPayload {
    /// The payload for a logical state (`true` = active).
    pub fn payload(self, active: bool) -> &'static str {
        match (self, active) {
            (InputPayload::OnOff, true) => "ON",
            (InputPayload::OnOff, false) => "OFF",
            (InputPayload::OpenClosed, true) => "open",
            (InputPayload::OpenClosed, false) => "closed",
        }
    }

    /// The name config files use.
    pub fn name(self) -> &'static str {
        match self {
            InputPayload::OnOff => "on_off",
            InputPayload::OpenClosed => "open_closed",
        }
    }
}

impl fmt::Display for InputPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A payload name that is neither `on_off` nor `open_closed`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown payload \"{0}\"; use on_off (ON/OFF, the default) or open_closed \
     (open/closed, for door contacts)"
)]
pub struct UnknownPayload(pub String);

impl FromStr for InputPayload {
    type Err = UnknownPayload;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "on_off" | "onoff" => Ok(InputPayload::OnOff),
            "open_closed" | "openclosed" => Ok(InputPayload::OpenClosed),
            _ => Err(UnknownPayload(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::pin::SimPin;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// One debouncer scenario: samples of `(ms since start, raw level, expected report)`.
    struct Case {
        name: &'static str,
        debounce_ms: u64,
        initial: bool,
        samples: &'static [(u64, bool, Option<bool>)],
    }

    const H: bool = true;
    const L: bool = false;
    const N: Option<bool> = None;

    const CASES: &[Case] = &[
        Case {
            name: "a clean edge reports once it held for the window",
            debounce_ms: 50,
            initial: L,
            samples: &[(0, H, N), (20, H, N), (50, H, Some(H)), (60, H, N)],
        },
        Case {
            name: "a clean edge and back",
            debounce_ms: 50,
            initial: L,
            samples: &[
                (0, H, N),
                (50, H, Some(H)),
                (100, L, N),
                (149, L, N),
                (150, L, Some(L)),
            ],
        },
        Case {
            name: "bounces shorter than the window restart it",
            debounce_ms: 50,
            initial: L,
            samples: &[
                (0, H, N),
                (10, L, N),
                (20, H, N),
                (30, L, N),
                (40, H, N),
                (89, H, N),
                (90, H, Some(H)),
            ],
        },
        Case {
            name: "a bounce back to the old level is ignored",
            debounce_ms: 50,
            initial: H,
            samples: &[(0, L, N), (30, H, N), (60, H, N), (200, H, N)],
        },
        Case {
            name: "the stable level repeated reports nothing",
            debounce_ms: 50,
            initial: L,
            samples: &[(0, L, N), (100, L, N)],
        },
        Case {
            name: "a zero window reports at once",
            debounce_ms: 0,
            initial: L,
            samples: &[(0, H, Some(H)), (1, L, Some(L)), (2, L, N)],
        },
    ];

    #[test]
    fn debouncer_table() {
        let t0 = Instant::now();
        for case in CASES {
            let mut d = Debouncer::new(ms(case.debounce_ms), case.initial);
            for &(at, level, expected) in case.samples {
                assert_eq!(
                    d.update(t0 + ms(at), level),
                    expected,
                    "{} at {at} ms",
                    case.name
                );
            }
        }
    }

    #[test]
    fn a_clock_going_backwards_does_not_panic_or_report() {
        let t0 = Instant::now() + Duration::from_secs(1);
        let mut d = Debouncer::new(ms(50), false);
        assert_eq!(d.update(t0, true), None);
        assert_eq!(d.update(t0 - Duration::from_secs(1), true), None);
        assert!(!d.state());
    }

    #[test]
    fn logical_level_is_physical_xor_active_low() {
        let t0 = Instant::now();
        for (physical_high, active_low, expected) in [
            (true, false, true),
            (false, false, false),
            (true, true, false),
            (false, true, true),
        ] {
            let pin = SimPin::new(physical_high);
            let mut input = GpioInput::new(pin, active_low, ms(20));
            assert_eq!(input.state(), None);
            assert_eq!(
                input.poll(t0),
                Ok(Some(expected)),
                "{physical_high} {active_low}"
            );
            assert_eq!(input.state(), Some(expected));
        }
    }

    #[test]
    fn a_button_to_ground_is_debounced_through_the_pin() {
        let pin = SimPin::new(true); // pulled up, released
        let control = pin.control();
        let mut input = GpioInput::new(pin, true, ms(20));
        let t0 = Instant::now();
        assert_eq!(input.poll(t0), Ok(Some(false)));
        control.set_level(false); // pressed
        assert_eq!(input.poll(t0 + ms(5)), Ok(None));
        control.set_level(true); // contact bounce
        assert_eq!(input.poll(t0 + ms(10)), Ok(None));
        control.set_level(false);
        assert_eq!(input.poll(t0 + ms(15)), Ok(None));
        assert_eq!(input.poll(t0 + ms(35)), Ok(Some(true)));
        assert_eq!(input.state(), Some(true));
        assert!(input.active_low());
    }

    #[test]
    fn payloads_map_states_and_parse_from_config() {
        let table = [
            (InputPayload::OnOff, true, "ON"),
            (InputPayload::OnOff, false, "OFF"),
            (InputPayload::OpenClosed, true, "open"),
            (InputPayload::OpenClosed, false, "closed"),
        ];
        for (payload, active, expected) in table {
            assert_eq!(payload.payload(active), expected);
        }
        assert_eq!(InputPayload::default(), InputPayload::OnOff);
        for (text, expected) in [
            ("on_off", InputPayload::OnOff),
            ("ON-OFF", InputPayload::OnOff),
            (" open_closed ", InputPayload::OpenClosed),
            ("OpenClosed", InputPayload::OpenClosed),
        ] {
            assert_eq!(text.parse(), Ok(expected), "{text}");
        }
        for payload in [InputPayload::OnOff, InputPayload::OpenClosed] {
            assert_eq!(payload.to_string().parse(), Ok(payload));
        }
        let err = "yes_no".parse::<InputPayload>().unwrap_err().to_string();
        assert!(
            err.contains("\"yes_no\"") && err.contains("open_closed"),
            "{err}"
        );
    }
}
