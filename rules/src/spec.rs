//! What a rule says, as read from configuration: plain data, checked before it gets here.
//!
//! The gateway's configuration reader builds these (reporting every mistake with its key path);
//! the engine runs them. Equality matters: on reload a rule whose spec is unchanged keeps its
//! state (a pending `for`, which side of the hysteresis band it is on).

use std::time::Duration;

pub use crate::properties::PropertiesSpec;
use crate::template::Template;

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Unique; one topic level (no `/`, `+`, `#`), so it can name the rule's explain topics.
    pub name: String,
    pub condition: ConditionSpec,
    /// `for`: the condition must hold this long before the rule enters; cancelled if it stops
    /// holding first.
    pub hold_for: Option<Duration>,
    /// Once entered, the rule does not leave before this long (a relay never chatters).
    pub min_on: Option<Duration>,
    /// Once left, the rule does not enter again before this long.
    pub min_off: Option<Duration>,
    pub on_enter: Vec<ActionSpec>,
    pub on_leave: Vec<ActionSpec>,
}

/// One condition, or several combined. Conditions whose filters have wildcards are joined by
/// their captures: `all = [{when = "+/AirQuality/co2", ...}, {when = "+/Window/state", ...}]`
/// holds for a room when both hold for that same room. A condition without wildcards applies
/// to every room. All wildcard conditions of one rule have the same number of captures.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionSpec {
    Single(Condition),
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// A valid MQTT topic filter; each `+` or `#` is a capture (`{1}`, `{2}`, ... in templates).
    /// `#` captures the rest of the topic, levels joined by `/`.
    pub when: String,
    /// Where the value sits in a JSON payload: `co2` or `a.b` (object keys), or a JSON pointer
    /// (`/AM2301/Temperature`). `None`: the whole payload is the value.
    pub field: Option<String>,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Numeric. `above` alone: holds while the value is above it. `below` alone: holds while
    /// the value is below it. Both (`above >= below`): hysteresis; starts holding above `above`,
    /// stops holding below `below`, and in between keeps whatever it was.
    Threshold {
        above: Option<f64>,
        below: Option<f64>,
    },
    /// Holds while the value (payload text, or the JSON field as text) equals one of these.
    Equals(Vec<String>),
    /// Staleness: holds once no message has arrived on the topic for `after`, or as soon as
    /// the payload is one of `offline_payloads` (a node's Last Will); stops holding on the
    /// next other message.
    Silent {
        after: Duration,
        offline_payloads: Vec<String>,
    },
}

/// What a rule does when it enters or leaves. Templates may use `{1}`.. captures, `{value}`,
/// `{rule}` and `{topic}`.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpec {
    Publish {
        topic: Template,
        payload: Template,
        /// 0, 1 or 2.
        qos: u8,
        retain: bool,
        /// MQTT 5 properties; MQTT 3.1.1 subscribers get the message without them.
        properties: PropertiesSpec,
    },
    /// Sets a gateway actuator (a relay) by name: `command` renders to `ON`, `OFF` or `TOGGLE`.
    Actuate {
        actuator: Template,
        command: Template,
    },
    Log {
        message: Template,
    },
}

/// Time as the caller counts it: a duration since any fixed origin (the daemon's start, or
/// the Unix epoch for a replayed recording). The engine has no clock of its own.
pub type Time = Duration;
