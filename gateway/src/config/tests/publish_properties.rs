//! MQTT 5 properties on a rule's `publish` action: `response_topic`, `correlation_data`,
//! `message_expiry`, `content_type` and `user_properties`, flat in the action's table.

use super::rules::{assert_error, error_of, rules_of, template, ACTUATORS, RULE};
use super::*;
use ::rules::spec::{ActionSpec, PropertiesSpec};

/// A rule whose `on_enter` publishes with `extra` keys; its filter has one wildcard.
fn publish_with(extra: &str) -> String {
    format!(
        "{RULE}when = \"+/Node/status\"\nequals = \"online\"\n\
         on_enter = {{ publish = \"{{1}}/Heater/get\", payload = \"schedule\", {extra} }}\n"
    )
}

/// The properties of the only rule's first `on_enter` action.
fn properties_of(text: &str) -> PropertiesSpec {
    let rules = rules_of(text);
    match rules.first().and_then(|r| r.on_enter.first()) {
        Some(ActionSpec::Publish { properties, .. }) => properties.clone(),
        other => panic!("expected a publish action, got {other:?}"),
    }
}

#[test]
fn every_property_is_read_user_properties_in_the_order_written() {
    let text = publish_with(
        r#"response_topic = "hearth/replies/{1}/Heater", correlation_data = "{1}-{value}", message_expiry = "10m", content_type = "text/plain", user_properties = { source = "hearth", room = "{1}", floor = "ground" }"#,
    );
    let want = PropertiesSpec {
        response_topic: Some(template("hearth/replies/{1}/Heater")),
        correlation_data: Some(template("{1}-{value}")),
        message_expiry: Some(Duration::from_secs(600)),
        content_type: Some("text/plain".into()),
        // Not sorted: as written.
        user_properties: vec![
            ("source".into(), template("hearth")),
            ("room".into(), template("{1}")),
            ("floor".into(), template("ground")),
        ],
    };
    assert_eq!(properties_of(&text), want);
}

#[test]
fn without_properties_a_publish_has_none_and_each_key_stands_alone() {
    assert_eq!(
        properties_of(&publish_with("qos = 1")),
        PropertiesSpec::default()
    );
    let only_expiry = properties_of(&publish_with(r#"message_expiry = "1h 30s""#));
    assert_eq!(
        only_expiry,
        PropertiesSpec {
            message_expiry: Some(Duration::from_secs(3630)),
            ..PropertiesSpec::default()
        }
    );
    let only_user = properties_of(&publish_with("user_properties = {}"));
    assert_eq!(only_user, PropertiesSpec::default());
}

#[test]
fn an_action_written_as_its_own_table_takes_the_same_keys() {
    let text = format!(
        "{RULE}when = \"+/Node/status\"\nequals = \"online\"\n\n[[rule.on_enter]]\n\
         publish = \"{{1}}/Heater/get\"\npayload = \"schedule\"\n\
         response_topic = \"hearth/replies/{{1}}\"\nmessage_expiry = \"30s\"\n\n\
         [rule.on_enter.user_properties]\nz = \"last letter\"\na = \"first letter\"\n"
    );
    let got = properties_of(&text);
    assert_eq!(got.response_topic, Some(template("hearth/replies/{1}")));
    assert_eq!(got.message_expiry, Some(Duration::from_secs(30)));
    assert_eq!(
        got.user_properties,
        vec![
            ("z".into(), template("last letter")),
            ("a".into(), template("first letter")),
        ]
    );
}

#[test]
fn a_bad_response_topic_is_named_with_the_fix() {
    let path = "rule[0].on_enter.response_topic";
    let cases = [
        (r#"response_topic = "hearth/+/replies""#, "\"hearth/+/replies\" cannot be published to: a topic name must not contain the wildcards"),
        (r#"response_topic = "replies/#""#, "cannot be published to"),
        (r#"response_topic = """#, "must not be empty"),
        (r#"response_topic = "{room}/replies""#, "unknown placeholder {room}"),
        ("response_topic = 1", "must be a string, got integer"),
        (r#"response_topic = "replies/{2}""#, "capture {2} but \"+/Node/status\" has 1 wildcard"),
    ];
    for (extra, says) in cases {
        assert_error(&publish_with(extra), path, "on_enter", says);
    }
}

#[test]
fn correlation_data_is_a_template() {
    let path = "rule[0].on_enter.correlation_data";
    assert_error(
        &publish_with(r#"correlation_data = "{3}""#),
        path,
        "on_enter",
        "capture {3} but",
    );
    assert_error(
        &publish_with("correlation_data = true"),
        path,
        "on_enter",
        "must be a string, got boolean",
    );
}

#[test]
fn message_expiry_is_whole_seconds_from_1s_to_u32_max() {
    let path = "rule[0].on_enter.message_expiry";
    let cases = [
        (r#"message_expiry = "soon""#, "\"soon\" is not a duration"),
        (r#"message_expiry = 600"#, "must be a string, got integer"),
        (r#"message_expiry = "1500ms""#, "\"1500ms\" is not whole seconds; MQTT counts a message's expiry in seconds: write \"1s\" or \"2s\""),
        (r#"message_expiry = "0s""#, "must be at least 1s"),
        (r#"message_expiry = "200years""#, "must be at most 4294967295s (about 136 years), the longest MQTT can say"),
    ];
    for (extra, says) in cases {
        assert_error(&publish_with(extra), path, "on_enter", says);
    }
    // The longest MQTT can say: 4,294,967,295 seconds.
    let longest = properties_of(&publish_with(r#"message_expiry = "4294967295s""#));
    assert_eq!(
        longest.message_expiry,
        Some(Duration::from_secs(u64::from(u32::MAX)))
    );
}

#[test]
fn content_type_is_a_non_empty_mqtt_string() {
    let path = "rule[0].on_enter.content_type";
    let cases = [
        (r#"content_type = """#, "is empty; remove `content_type`"),
        (r#"content_type = "text/\u0000plain""#, "contains U+0000"),
        ("content_type = 1", "must be a string, got integer"),
    ];
    for (extra, says) in cases {
        assert_error(&publish_with(extra), path, "on_enter", says);
    }
}

#[test]
fn user_properties_need_names_and_string_templates() {
    let table = "rule[0].on_enter.user_properties";
    let cases = [
        (
            r#"user_properties = "source=hearth""#,
            table,
            "must be a table, got string; write user_properties = { source = \"hearth\" }",
        ),
        (
            r#"user_properties = { "" = "x" }"#,
            table,
            "a user property needs a name",
        ),
        (
            r#"user_properties = { "a\u0000" = "x" }"#,
            table,
            "\"a\\0\" contains U+0000",
        ),
        (
            "user_properties = { floor = 1 }",
            "rule[0].on_enter.user_properties.floor",
            "must be a string, got integer; write it in quotes: floor = \"1\"",
        ),
        (
            r#"user_properties = { room = "{2}" }"#,
            "rule[0].on_enter.user_properties.room",
            "capture {2} but",
        ),
        (
            r#"user_properties = { room = "{room}" }"#,
            "rule[0].on_enter.user_properties.room",
            "unknown placeholder {room}",
        ),
        (
            r#"user_properties = { note = "a\u0000b" }"#,
            "rule[0].on_enter.user_properties.note",
            "contains U+0000",
        ),
    ];
    for (extra, path, says) in cases {
        assert_error(&publish_with(extra), path, "on_enter", says);
    }
}

#[test]
fn properties_belong_to_publish_actions_only() {
    let text = format!("{RULE}when = \"a\"\nequals = \"x\"\non_enter = {{ log = \"x\", response_topic = \"r\" }}\n");
    let e = error_of(&text);
    assert_eq!(e.path, "rule[0].on_enter.response_topic", "{e}");
    assert!(e.message.contains("unknown key `response_topic`"), "{e}");
}

#[test]
fn every_bad_property_is_reported_with_its_line() {
    let text = format!(
        "{ACTUATORS}{RULE}when = \"+/Node/status\"\nequals = \"online\"\n\n[[rule.on_enter]]\n\
         publish = \"{{1}}/Heater/get\"\npayload = \"schedule\"\n\
         response_topic = \"replies/+\"\ncorrelation_data = \"{{1}}\"\nmessage_expiry = \"2500ms\"\n\
         content_type = \"\"\nuser_properties = {{ \"\" = \"x\", room = 3 }}\n"
    );
    let errs = match Config::parse(&text, "t") {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e.errors,
    };
    let found: Vec<(&str, usize)> = errs.iter().map(|e| (e.path.as_str(), e.line)).collect();
    let line = |needle: &str| {
        let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?}"));
        text[..at].matches('\n').count() + 1
    };
    assert_eq!(
        found,
        [
            ("rule[0].on_enter[0].response_topic", line("response_topic")),
            ("rule[0].on_enter[0].message_expiry", line("message_expiry")),
            ("rule[0].on_enter[0].content_type", line("content_type")),
            (
                "rule[0].on_enter[0].user_properties",
                line("user_properties")
            ),
            (
                "rule[0].on_enter[0].user_properties.room",
                line("user_properties")
            ),
        ],
        "{errs:#?}"
    );
}
