//! `[[actuator]]` entries.

use super::*;
use crate::actuators::settings::{ActuatorSettings, Switch};
use crate::sensors::settings::Pin;

#[test]
fn actuators_are_read_with_their_defaults() {
    let text = r#"
[[actuator]]
name = "kitchen-purifier"
topic = "Kitchen/Purifier"
pin = "sim"

[[actuator]]
name = "heater"
topic = "Hall/Heater"
pin = 27
active_low = true
safe = "ON"
auto_off = "2h"
"#;
    let c = Config::parse(text, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.actuators,
        vec![
            ActuatorSettings {
                name: "kitchen-purifier".into(),
                topic: "Kitchen/Purifier".into(),
                pin: Pin::Sim,
                active_low: false,
                initial: Switch::Off,
                safe: Switch::Off,
                auto_off: None,
            },
            ActuatorSettings {
                name: "heater".into(),
                topic: "Hall/Heater".into(),
                pin: Pin::Bcm(27),
                active_low: true,
                initial: Switch::On,
                safe: Switch::On,
                auto_off: Some(Duration::from_secs(7200)),
            },
        ]
    );
}

#[test]
fn initial_may_differ_from_safe() {
    let text = "[[actuator]]\nname = \"a\"\ntopic = \"A\"\npin = \"sim\"\ninitial = \"on\"\n";
    let c = Config::parse(text, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.actuators[0].initial, Switch::On);
    assert_eq!(c.actuators[0].safe, Switch::Off);
}

#[test]
fn bad_actuator_entries_are_all_reported_with_their_paths_and_lines() {
    let text = r#"
[[sensor]]
name = "hall-motion"
driver = "gpio_input"
pin = 17
topic = "Hall/Motion"

[[actuator]]
name = "a"
topic = "Hall/Motion"
pin = 17

[[actuator]]
name = "a"
topic = "Room/A"
pin = 40
safe = "closed"
auto_off = "0s"

[[actuator]]
name = "b/c"
topic = "Room/A"
pin = 5

[[actuator]]
name = "d"
topic = "Room/D"
pin = 5
colour = "red"
"#;
    let found: Vec<(String, usize)> = errors_of(text)
        .into_iter()
        .map(|e| (e.path, e.line))
        .collect();
    let want = [
        ("actuator[0].topic", 10),
        ("actuator[0].pin", 11),
        ("actuator[1].name", 14),
        ("actuator[1].pin", 16),
        ("actuator[1].safe", 17),
        ("actuator[1].auto_off", 18),
        ("actuator[2].name", 21),
        ("actuator[2].topic", 22),
        ("actuator[3].pin", 28),
        ("actuator[3].colour", 29),
    ];
    let want: Vec<(String, usize)> = want.iter().map(|(p, l)| (p.to_string(), *l)).collect();
    assert_eq!(found, want);
}

#[test]
fn actuator_messages_name_the_other_user() {
    let text = r#"
[[sensor]]
name = "hall-motion"
driver = "gpio_input"
pin = 17
topic = "Hall/Motion"

[[actuator]]
name = "relay"
topic = "Hall/Motion"
pin = 17
"#;
    let errs = errors_of(text);
    assert!(
        errs[0].message.contains("sensor \"hall-motion\""),
        "{errs:?}"
    );
    assert!(errs[1].message.contains("GPIO 17"), "{errs:?}");
    assert!(errs[1].message.contains("hall-motion"), "{errs:?}");
}

#[test]
fn a_missing_pin_is_reported_on_the_actuators_line() {
    let errs = errors_of("\n[[actuator]]\nname = \"a\"\ntopic = \"A\"\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].path, "actuator[0].pin");
    assert!(errs[0].message.contains("pin = \"sim\""), "{errs:?}");
}
