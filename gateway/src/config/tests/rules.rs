//! `[[rule]]` entries and the `[rules]` table.

use super::*;
use ::rules::spec::{ActionSpec, Condition, ConditionSpec, PropertiesSpec, RuleSpec, Test};
use ::rules::template::Template;

pub(super) const ACTUATORS: &str = r#"
[[actuator]]
name = "kitchen-purifier"
topic = "Kitchen/Purifier"
pin = "sim"

[[actuator]]
name = "living-purifier"
topic = "LivingRoom/Purifier"
pin = "sim"
"#;

pub(super) fn template(source: &str) -> Template {
    Template::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"))
}

pub(super) fn rules_of(text: &str) -> Vec<RuleSpec> {
    Config::parse(text, "t")
        .unwrap_or_else(|e| panic!("{e}"))
        .rules
}

/// The only error of `text`, after the actuators above.
pub(super) fn error_of(text: &str) -> ConfigError {
    let errs = errors_of(&format!("{ACTUATORS}{text}"));
    match <[ConfigError; 1]>::try_from(errs) {
        Ok([e]) => e,
        Err(errs) => panic!("expected one error, got {errs:#?}"),
    }
}

/// The line of `needle`'s first occurrence in the text `error_of` reads.
fn line_of(text: &str, needle: &str) -> usize {
    let full = format!("{ACTUATORS}{text}");
    let at = full
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"));
    full[..at].matches('\n').count() + 1
}

/// Asserts `text` has one error, at `path` on the line of `needle`, whose message contains
/// `says`.
pub(super) fn assert_error(text: &str, path: &str, needle: &str, says: &str) {
    let e = error_of(text);
    assert_eq!(e.path, path, "{e}");
    assert_eq!(e.line, line_of(text, needle), "{e}");
    assert!(e.message.contains(says), "{e}");
}

#[test]
fn the_first_example_parses_to_exactly_its_spec() {
    let text = r#"
[[rule]]
name = "purifier on high co2"
when = "+/AirQuality/co2"
above = 1000
below = 800          # hysteresis: off again below 800
for = "2m"
on_enter = { publish = "{1}/Purifier/set", payload = "ON" }
on_leave = { publish = "{1}/Purifier/set", payload = "OFF" }
"#;
    let publish = |payload| ActionSpec::Publish {
        topic: template("{1}/Purifier/set"),
        payload: template(payload),
        qos: 1,
        retain: false,
        properties: PropertiesSpec::default(),
    };
    let want = RuleSpec {
        name: "purifier on high co2".into(),
        condition: ConditionSpec::Single(Condition {
            when: "+/AirQuality/co2".into(),
            field: None,
            test: Test::Threshold {
                above: Some(1000.0),
                below: Some(800.0),
            },
        }),
        hold_for: Some(Duration::from_secs(120)),
        min_on: None,
        min_off: None,
        on_enter: vec![publish("ON")],
        on_leave: vec![publish("OFF")],
    };
    assert_eq!(rules_of(text), vec![want]);
    let c = Config::parse(text, "t").unwrap_or_else(|e| panic!("{e}"));
    assert!(c.rule_options.explain, "explain is on by default");
}

#[test]
fn every_test_and_action_form_is_read() {
    let text = format!(
        "{ACTUATORS}{}",
        r#"
[rules]
explain = false

[[rule]]
name = "door"
when = "Hall/Door"
equals = "open"
on_enter = { log = "{rule}: {value}" }

[[rule]]
name = "node gone"
when = "+/Node/status"
silent_for = "10m"
on_enter = [{ log = "{1} quiet" }, { actuator = "kitchen-purifier", set = "toggle" }]

[[rule]]
name = "custom will"
when = "Shed/status"
silent_for = "1h"
offline = ["lost", "dead"]
on_leave = { publish = "Shed/ack", payload = 1.5, qos = 2, retain = true }

[[rule]]
name = "attic"
any = [
  { when = "tele/attic/SENSOR", field = "/AM2301/Temperature", below = 5 },
  { when = "Attic/Window", equals = ["open", "ajar"] },
]
min_on = "1m"
min_off = "30s"
on_enter = { actuator = "{topic}", set = "{value}" }
on_leave = { publish = "Attic/alarm", payload = false }
"#
    );
    let c = Config::parse(&text, "t").unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.rule_options.explain);
    let r = &c.rules;
    assert_eq!(r.len(), 4);
    assert_eq!(
        r[1].condition,
        ConditionSpec::Single(Condition {
            when: "+/Node/status".into(),
            field: None,
            test: Test::Silent {
                after: Duration::from_secs(600),
                offline_payloads: vec!["offline".into()],
            },
        })
    );
    assert_eq!(
        r[1].on_enter[1],
        ActionSpec::Actuate {
            actuator: template("kitchen-purifier"),
            command: template("TOGGLE"),
        }
    );
    assert_eq!(
        r[2].on_leave,
        vec![ActionSpec::Publish {
            topic: template("Shed/ack"),
            payload: template("1.5"),
            qos: 2,
            retain: true,
            properties: PropertiesSpec::default(),
        }]
    );
    let ConditionSpec::Any(any) = &r[3].condition else {
        panic!("{:?}", r[3].condition);
    };
    assert_eq!(any[0].field.as_deref(), Some("/AM2301/Temperature"));
    assert_eq!(
        any[0].test,
        Test::Threshold {
            above: None,
            below: Some(5.0)
        }
    );
    assert_eq!(
        any[1].test,
        Test::Equals(vec!["open".into(), "ajar".into()])
    );
    assert_eq!(r[3].min_off, Some(Duration::from_secs(30)));
    assert!(r[0].on_leave.is_empty());
}

pub(super) const RULE: &str = "\n[[rule]]\nname = \"r\"\n";

#[test]
fn above_below_its_own_below_explains_the_swap() {
    let text =
        format!("{RULE}when = \"co2\"\nabove = 800\nbelow = 1000\non_enter = {{ log = \"x\" }}\n");
    assert_error(
        &text,
        "rule[0].above",
        "above = 800",
        "above (800) is below below (1000): the rule turns on above `above` and off below `below`; swap them, or for a heater swap on_enter and on_leave",
    );
}

#[test]
fn numbers_in_equals_must_be_quoted() {
    let text = format!("{RULE}all = [\n  {{ when = \"a\", above = 1 }},\n  {{ when = \"b\", equals = 1 }},\n]\non_enter = {{ log = \"x\" }}\n");
    assert_error(
        &text,
        "rule[0].all[1].equals",
        "equals = 1",
        "equals = \"1\"",
    );
    let text =
        format!("{RULE}when = \"a\"\nequals = [\"on\", true]\non_enter = {{ log = \"x\" }}\n");
    assert_error(&text, "rule[0].equals", "equals", "got boolean");
}

#[test]
fn two_kinds_of_test_name_both_keys() {
    let text =
        format!("{RULE}when = \"a\"\nbelow = 3\nequals = \"on\"\non_enter = {{ log = \"x\" }}\n");
    let e = error_of(&text);
    assert_eq!(e.path, "rule[0].equals");
    assert!(e.message.contains("`below` and `equals`"), "{e}");
}

#[test]
fn a_condition_needs_a_test() {
    let text = format!("{RULE}when = \"a\"\non_enter = {{ log = \"x\" }}\n");
    assert_error(&text, "rule[0]", "when", "has no test");
}

#[test]
fn offline_without_silent_for_is_explained() {
    let text = format!(
        "{RULE}when = \"a\"\nequals = \"x\"\noffline = \"gone\"\non_enter = {{ log = \"x\" }}\n"
    );
    assert_error(
        &text,
        "rule[0].offline",
        "offline",
        "only applies with silent_for",
    );
}

#[test]
fn a_rule_has_exactly_one_of_when_all_any() {
    let text = format!("{RULE}on_enter = {{ log = \"x\" }}\n");
    assert_error(&text, "rule[0]", "[[rule]]", "has no condition");
    let text = format!("{RULE}when = \"a\"\nabove = 1\nany = [{{ when = \"b\", above = 2 }}]\non_enter = {{ log = \"x\" }}\n");
    assert_error(&text, "rule[0].any", "any =", "`when` and `any`");
    let text = format!("{RULE}all = []\non_enter = {{ log = \"x\" }}\n");
    assert_error(&text, "rule[0].all", "all", "at least one condition");
}

#[test]
fn combined_filters_need_the_same_number_of_wildcards() {
    let text = format!("{RULE}all = [\n  {{ when = \"+/co2\", above = 1 }},\n  {{ when = \"Hall/Door\", equals = \"open\" }},\n  {{ when = \"+/+/state\", equals = \"open\" }},\n]\non_enter = {{ log = \"{{1}}\" }}\n");
    assert_error(
        &text,
        "rule[0].all[2].when",
        "+/+/state",
        "\"+/+/state\" has 2 wildcards but \"+/co2\" has 1 wildcard",
    );
}

#[test]
fn invalid_filters_name_the_reason() {
    let text = format!("{RULE}when = \"a/#/b\"\nabove = 1\non_enter = {{ log = \"x\" }}\n");
    assert_error(&text, "rule[0].when", "a/#/b", "'#' must be the last");
}

#[test]
fn publish_actions_are_checked() {
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = {{ publish = \"b\" }}\n");
    assert_error(
        &text,
        "rule[0].on_enter.payload",
        "on_enter",
        "needs a `payload`",
    );
    let text = format!(
        "{RULE}when = \"a\"\nabove = 1\non_enter = {{ publish = \"b/#\", payload = \"x\" }}\n"
    );
    assert_error(
        &text,
        "rule[0].on_enter.publish",
        "on_enter",
        "\"b/#\" cannot be published to",
    );
    let text = format!("{RULE}when = \"+/a\"\nabove = 1\non_enter = {{ publish = \"{{room}}/x\", payload = \"x\" }}\n");
    assert_error(
        &text,
        "rule[0].on_enter.publish",
        "on_enter",
        "unknown placeholder {room}",
    );
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = {{ publish = \"b\", payload = \"x\", qos = 3 }}\n");
    assert_error(&text, "rule[0].on_enter.qos", "on_enter", "between 0 and 2");
}

#[test]
fn captures_beyond_the_filters_wildcards_are_refused() {
    let text = format!("{RULE}when = \"+/AirQuality/co2\"\nabove = 1\non_leave = [\n  {{ log = \"{{1}}\" }},\n  {{ log = \"{{3}}\" }},\n]\n");
    assert_error(
        &text,
        "rule[0].on_leave[1].log",
        "{3}",
        "capture {3} but \"+/AirQuality/co2\" has 1 wildcard",
    );
}

#[test]
fn actuator_actions_name_existing_actuators_and_commands() {
    let text = format!(
        "{RULE}when = \"a\"\nabove = 1\non_enter = {{ actuator = \"purifer\", set = \"ON\" }}\n"
    );
    assert_error(
        &text,
        "rule[0].on_enter.actuator",
        "on_enter",
        "no actuator named \"purifer\"; actuators are: kitchen-purifier, living-purifier",
    );
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = {{ actuator = \"kitchen-purifer\", set = \"ON\" }}\n");
    assert_error(
        &text,
        "rule[0].on_enter.actuator",
        "on_enter",
        "did you mean \"kitchen-purifier\"?",
    );
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = {{ actuator = \"kitchen-purifier\", set = \"high\" }}\n");
    assert_error(
        &text,
        "rule[0].on_enter.set",
        "on_enter",
        "\"high\" is not a command",
    );
    let text = format!(
        "{RULE}when = \"a\"\nabove = 1\non_enter = {{ actuator = \"kitchen-purifier\" }}\n"
    );
    assert_error(&text, "rule[0].on_enter.set", "on_enter", "missing");
}

#[test]
fn an_action_is_one_of_publish_actuator_log() {
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = {{ log = \"x\", publish = \"b\", payload = \"y\" }}\n");
    assert_error(
        &text,
        "rule[0].on_enter.log",
        "on_enter",
        "`publish` and `log` are two actions",
    );
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = {{ payload = \"x\" }}\n");
    let errs = errors_of(&format!("{ACTUATORS}{text}"));
    assert_eq!(errs[0].path, "rule[0].on_enter", "{errs:#?}");
    assert!(errs[0].message.contains("needs one of"), "{errs:#?}");
}

#[test]
fn a_rule_without_actions_is_refused_with_a_hint() {
    let text = format!("{RULE}when = \"a\"\nabove = 1\n");
    assert_error(&text, "rule[0]", "[[rule]]", "on_enter = { log =");
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = []\n");
    assert_error(&text, "rule[0]", "[[rule]]", "has no action");
}

#[test]
fn rule_names_are_required_unique_topic_levels() {
    let text = "\n[[rule]]\nwhen = \"a\"\nabove = 1\non_enter = { log = \"x\" }\n";
    assert_error(text, "rule[0].name", "[[rule]]", "missing");
    let text = format!("{RULE}when = \"a\"\nabove = 1\non_enter = {{ log = \"x\" }}\n{RULE}when = \"b\"\nabove = 1\non_enter = {{ log = \"x\" }}\n");
    let e = error_of(&text);
    assert_eq!(e.path, "rule[1].name");
    assert!(e.message.contains("rule[0].name"), "{e}");
    let text =
        "\n[[rule]]\nname = \"co2/kitchen\"\nwhen = \"a\"\nabove = 1\non_enter = { log = \"x\" }\n";
    assert_error(text, "rule[0].name", "co2/kitchen", "contains '/'");
}

#[test]
fn unknown_keys_in_inline_tables_are_reported() {
    let text = format!("{RULE}all = [{{ when = \"a\", abve = 1, above = 2 }}]\non_enter = {{ log = \"x\", level = \"warn\" }}\n");
    let errs = errors_of(&format!("{ACTUATORS}{text}"));
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["rule[0].all[0].abve", "rule[0].on_enter.level"],
        "{errs:#?}"
    );
}

#[test]
fn the_rules_table_takes_only_explain() {
    let errs = errors_of("[rules]\nexplain = \"yes\"\nverbose = true\n");
    let found: Vec<(&str, usize)> = errs.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(found, [("rules.explain", 2), ("rules.verbose", 3)]);
}

#[test]
fn one_bad_file_reports_every_mistake() {
    let text = r#"
[[actuator]]
name = "kitchen-purifier"
topic = "Kitchen/Purifier"
pin = "sim"

[[rule]]
name = "co2"
when = "+/AirQuality/co2"
above = 800
below = 1000
on_enter = { publish = "{room}/Purifier/set", payload = "ON" }
on_leave = { publish = "{1}/Purifier/{3}", payload = "OFF" }

[[rule]]
name = "co2"
when = "Hall/#/Door"
equals = "open"
on_enter = { actuator = "purifer", set = "ON", colour = "red" }
"#;
    let errs = errors_of(text);
    let found: Vec<(&str, usize)> = errs.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        found,
        [
            ("rule[0].above", 10),
            ("rule[0].on_enter.publish", 12),
            ("rule[0].on_leave.publish", 13),
            ("rule[1].name", 16),
            ("rule[1].when", 17),
            ("rule[1].on_enter.actuator", 19),
            ("rule[1].on_enter.colour", 19),
        ],
        "{errs:#?}"
    );
}
