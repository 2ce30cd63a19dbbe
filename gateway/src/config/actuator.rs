//! `[[actuator]]` entries: relays the gateway switches, each checked on its own and against the
//! sensors (topics and pins are shared resources).

use std::time::Duration;

use super::error::{excerpt, ErrorSink};
use super::gateway::check_topic_level;
use super::pin;
use super::reader::TableReader;
use super::sensor::check_base_topic;
use super::unique::Unique;
use crate::actuators::settings::{ActuatorSettings, Switch};
use crate::sensors::settings::{Device, Pin, SensorSettings};

/// The highest GPIO on the Pi's 40-pin header.
const MAX_HEADER_PIN: u8 = 27;

/// The actuators that could be read, and the names of all entries (for rules to check their
/// `actuator = "..."` against, even when an entry has other mistakes).
pub(crate) struct Actuators {
    pub settings: Vec<ActuatorSettings>,
    pub names: Vec<String>,
}

pub(crate) fn read_all(
    tables: Vec<TableReader>,
    sensors: &[SensorSettings],
    errs: &mut ErrorSink,
) -> Actuators {
    let mut read = Actuators {
        settings: Vec::new(),
        names: Vec::new(),
    };
    let mut names = Unique::new();
    let mut topics = Unique::new();
    let mut pins = Unique::new();
    for mut t in tables {
        let name = read_name(&mut t, errs);
        let topic = read_topic(&mut t, sensors, errs);
        let pin = pin::read(
            &mut t,
            errs,
            MAX_HEADER_PIN,
            "missing; an actuator needs the BCM `pin` number of its relay, or pin = \"sim\"",
        );
        if let Some(Pin::Bcm(n)) = pin {
            check_pin_is_free(&t, n, sensors, errs);
            pins.insert(errs, &t, "pin", n, |first| {
                format!("GPIO {n} is already driven by {first}; each actuator needs its own pin")
            });
        }
        if let Some(name) = &name {
            names.insert(errs, &t, "name", name.clone(), |first| {
                format!(
                    "\"{}\" is already the name of {first}; rules name actuators, so names must be unique",
                    excerpt(name)
                )
            });
            read.names.push(name.clone());
        }
        if let Some(topic) = &topic {
            topics.insert(errs, &t, "topic", topic.clone(), |first| {
                format!(
                    "\"{}\" is already used by {first}; two actuators would obey the same commands",
                    excerpt(topic)
                )
            });
        }
        let active_low = t.boolean(errs, "active_low").unwrap_or(false);
        let safe = read_switch(&mut t, errs, "safe").unwrap_or(Switch::Off);
        let initial = read_switch(&mut t, errs, "initial").unwrap_or(safe);
        let auto_off = read_auto_off(&mut t, errs);
        t.finish(errs);
        if let (Some(name), Some(topic), Some(pin)) = (name, topic, pin) {
            read.settings.push(ActuatorSettings {
                name,
                topic,
                pin,
                active_low,
                initial,
                safe,
                auto_off,
            });
        }
    }
    read
}

fn read_name(t: &mut TableReader, errs: &mut ErrorSink) -> Option<String> {
    let (name, span) = t.required_string(errs, "name", "[[actuator]]")?;
    match check_topic_level(name) {
        Ok(()) => Some(name.to_string()),
        Err(why) => {
            errs.report(&t.key_path("name"), span, why);
            None
        }
    }
}

fn read_topic(
    t: &mut TableReader,
    sensors: &[SensorSettings],
    errs: &mut ErrorSink,
) -> Option<String> {
    let (topic, span) = t.required_string(errs, "topic", "[[actuator]]")?;
    if let Err(why) = check_base_topic(topic) {
        errs.report(&t.key_path("topic"), span, why);
        return None;
    }
    if let Some(s) = sensors.iter().find(|s| s.topic == topic) {
        errs.report(
            &t.key_path("topic"),
            span,
            format!(
                "\"{topic}\" is already the topic of sensor \"{}\"; give the actuator its own, like \"{topic}/Relay\"",
                excerpt(&s.name),
                topic = excerpt(topic),
            ),
        );
        return None;
    }
    Some(topic.to_string())
}

/// A pin read by a gpio_input sensor cannot also drive a relay.
fn check_pin_is_free(t: &TableReader, n: u8, sensors: &[SensorSettings], errs: &mut ErrorSink) {
    let reader = sensors.iter().find(|s| match &s.device {
        Device::GpioInput(g) => g.pin == Pin::Bcm(n),
        _ => false,
    });
    if let Some(s) = reader {
        errs.report(
            &t.key_path("pin"),
            t.span_of("pin"),
            format!(
                "GPIO {n} is already the input of sensor \"{}\"; an actuator needs a pin of its own",
                excerpt(&s.name)
            ),
        );
    }
}

/// `"on"` or `"off"`, in any case.
fn read_switch(t: &mut TableReader, errs: &mut ErrorSink, key: &'static str) -> Option<Switch> {
    let (text, span) = t.string(errs, key)?;
    match text.to_ascii_lowercase().as_str() {
        "on" => Some(Switch::On),
        "off" => Some(Switch::Off),
        _ => {
            errs.report(
                &t.key_path(key),
                span,
                format!(
                    "\"{}\" is not a state; use \"on\" or \"off\"",
                    excerpt(text)
                ),
            );
            None
        }
    }
}

fn read_auto_off(t: &mut TableReader, errs: &mut ErrorSink) -> Option<Duration> {
    let d = t.duration(errs, "auto_off")?;
    if d.is_zero() {
        errs.report(
            &t.key_path("auto_off"),
            t.span_of("auto_off"),
            "must be longer than \"0s\"; leave it out to keep the actuator on until told otherwise",
        );
        return None;
    }
    Some(d)
}
