//! What the engine reports when a rule enters or leaves: the transition, why, and the actions
//! to carry out with their templates already rendered.

use std::fmt;

use crate::properties::Properties;
use crate::spec::Time;

#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: String,
    pub transition: Transition,
    /// What the rule's wildcards matched (`["Kitchen"]`); empty for a rule without any.
    pub captures: Vec<String>,
    /// The topic and value that made the condition hold (or stop holding).
    pub topic: String,
    pub value: String,
    /// A sentence for logs and `explain`: `Kitchen/AirQuality/co2 = 1042 is above 1000 for 2m`.
    pub reason: String,
    pub at: Time,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    Enter,
    Leave,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Publish {
        topic: String,
        payload: String,
        qos: u8,
        retain: bool,
        properties: Properties,
    },
    Actuate {
        actuator: String,
        command: String,
    },
    Log {
        message: String,
    },
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transition::Enter => "enter",
            Transition::Leave => "leave",
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Publish {
                topic,
                payload,
                qos,
                retain,
                properties,
            } => {
                write!(f, "publish {topic} {payload:?} (qos {qos}")?;
                if *retain {
                    f.write_str(", retained")?;
                }
                if !properties.is_empty() {
                    write!(f, ", {properties}")?;
                }
                f.write_str(")")
            }
            Action::Actuate { actuator, command } => write!(f, "set actuator {actuator} {command}"),
            Action::Log { message } => write!(f, "log {message:?}"),
        }
    }
}

impl fmt::Display for Firing {
    /// `co2-high enter [Kitchen]: Kitchen/AirQuality/co2 = 1042 is above 1000`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.rule, self.transition)?;
        if !self.captures.is_empty() {
            write!(f, " [{}]", self.captures.join(", "))?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_table() {
        let cases: &[(Action, &str)] = &[
            (
                Action::Publish {
                    topic: "Kitchen/Purifier/set".into(),
                    payload: "ON".into(),
                    qos: 1,
                    retain: false,
                    properties: Properties::default(),
                },
                r#"publish Kitchen/Purifier/set "ON" (qos 1)"#,
            ),
            (
                Action::Publish {
                    topic: "a".into(),
                    payload: r#"{"POWER":"ON"}"#.into(),
                    qos: 0,
                    retain: true,
                    properties: Properties::default(),
                },
                r#"publish a "{\"POWER\":\"ON\"}" (qos 0, retained)"#,
            ),
            (
                Action::Publish {
                    topic: "Kitchen/Heater/get".into(),
                    payload: "schedule".into(),
                    qos: 1,
                    retain: true,
                    properties: Properties {
                        response_topic: Some("hearth/replies/Kitchen".into()),
                        message_expiry: Some(std::time::Duration::from_secs(30)),
                        ..Properties::default()
                    },
                },
                r#"publish Kitchen/Heater/get "schedule" (qos 1, retained, response topic hearth/replies/Kitchen, expires after 30s)"#,
            ),
            (
                Action::Actuate {
                    actuator: "kitchen-purifier".into(),
                    command: "ON".into(),
                },
                "set actuator kitchen-purifier ON",
            ),
            (
                Action::Log {
                    message: "co2 high".into(),
                },
                r#"log "co2 high""#,
            ),
        ];
        for (action, want) in cases {
            assert_eq!(action.to_string(), *want);
        }
        assert_eq!(Transition::Enter.to_string(), "enter");
        assert_eq!(Transition::Leave.to_string(), "leave");
    }
}
