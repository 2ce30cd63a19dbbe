//! What a rule or an MQTT client may ask of an actuator.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::settings::Switch;
use crate::config::excerpt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    On,
    Off,
    Toggle,
}

impl Command {
    /// The state an actuator in `current` ends up in.
    pub fn apply(self, current: Switch) -> Switch {
        match (self, current) {
            (Command::On, _) | (Command::Toggle, Switch::Off) => Switch::On,
            (Command::Off, _) | (Command::Toggle, Switch::On) => Switch::Off,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("\"{0}\" is not a command; send ON, OFF or TOGGLE (or 1, 0, true, false)")]
pub struct BadCommand(pub String);

impl FromStr for Command {
    type Err = BadCommand;

    fn from_str(s: &str) -> Result<Self, BadCommand> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" | "1" | "true" => Ok(Command::On),
            "off" | "0" | "false" => Ok(Command::Off),
            "toggle" => Ok(Command::Toggle),
            // Quoted in a log line, so at most a short prefix of what could be a 1 MiB payload.
            _ => Err(BadCommand(excerpt(s).into_owned())),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::On => "ON",
            Command::Off => "OFF",
            Command::Toggle => "TOGGLE",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_whatever_their_case() {
        let table = [
            ("ON", Some(Command::On)),
            ("on", Some(Command::On)),
            (" On\n", Some(Command::On)),
            ("1", Some(Command::On)),
            ("true", Some(Command::On)),
            ("OFF", Some(Command::Off)),
            ("off", Some(Command::Off)),
            ("0", Some(Command::Off)),
            ("FALSE", Some(Command::Off)),
            ("TOGGLE", Some(Command::Toggle)),
            ("toggle", Some(Command::Toggle)),
            ("", None),
            ("onn", None),
            ("2", None),
            ("{\"state\":\"ON\"}", None),
        ];
        for (payload, want) in table {
            assert_eq!(payload.parse::<Command>().ok(), want, "{payload:?}");
        }
    }

    #[test]
    fn a_bad_payload_says_what_is_accepted() {
        let Err(e) = "maybe".parse::<Command>() else {
            panic!("\"maybe\" parsed");
        };
        let text = e.to_string();
        assert!(
            text.contains("\"maybe\"") && text.contains("ON, OFF or TOGGLE"),
            "{text}"
        );
    }

    #[test]
    fn a_huge_bad_payload_is_quoted_only_in_part() {
        let huge = "x".repeat(100_000);
        let Err(e) = huge.parse::<Command>() else {
            panic!("a huge payload parsed");
        };
        let text = e.to_string();
        assert!(text.len() < 200 && text.contains("x…"), "{text}");
    }

    #[test]
    fn toggle_flips_and_the_others_set() {
        assert_eq!(Command::Toggle.apply(Switch::Off), Switch::On);
        assert_eq!(Command::Toggle.apply(Switch::On), Switch::Off);
        assert_eq!(Command::On.apply(Switch::On), Switch::On);
        assert_eq!(Command::Off.apply(Switch::On), Switch::Off);
    }
}
