//! `hearth rules test --config PATH --replay FILE`: a recording through the rules, nothing sent.

use super::harness::{hearth, TempConfig};

const CONFIG: &str = r#"
[[rule]]
name = "purifier on high co2"
when = "+/AirQuality/co2"
above = 1000
below = 800
for = "2m"
on_enter = { publish = "{1}/Purifier/set", payload = "ON" }
on_leave = { publish = "{1}/Purifier/set", payload = "OFF" }
"#;

/// Recorded with `mosquitto_sub -v -F '%U %t %p'`: the kitchen stays high for three minutes,
/// the living room only for one.
const RECORDING: &str = "\
1764493200.000000000 Kitchen/AirQuality/co2 1100
1764493200.500000000 LivingRoom/AirQuality/co2 1150
1764493260.000000000 LivingRoom/AirQuality/co2 900
1764493261.000000000 LivingRoom/AirQuality/co2 790
1764493380.000000000 Kitchen/AirQuality/co2 high
1764493400.000000000 Kitchen/AirQuality/co2 750
";

fn rules_test(config: &TempConfig, recording: &str) -> (i32, String, String) {
    let file = config.path.with_file_name("recording.txt");
    std::fs::write(&file, recording).expect("write recording");
    let out = hearth()
        .args(["rules", "test", "--config"])
        .arg(&config.path)
        .arg("--replay")
        .arg(&file)
        .output()
        .expect("run hearth");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_recording_shows_what_would_fire_and_when() {
    let config = TempConfig::new("rules-test", &format!("[broker]\n{CONFIG}"));
    let (code, stdout, stderr) = rules_test(&config, RECORDING);
    assert_eq!(code, 0, "{stderr}");
    // The kitchen's `for` elapses two minutes after its first high reading, between messages.
    assert!(
        stdout.contains("2025-11-30T09:02:00.000Z  enter"),
        "enter at the deadline:\n{stdout}"
    );
    assert!(stdout.contains("[Kitchen]"), "{stdout}");
    assert!(
        stdout.contains("publish Kitchen/Purifier/set \"ON\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("2025-11-30T09:03:20.000Z  leave"),
        "leave below 800:\n{stdout}"
    );
    assert!(
        !stdout.contains("[LivingRoom]"),
        "the living room was high for less than 2m:\n{stdout}"
    );
    assert!(stdout.contains("2 firings: 1 enter, 1 leave"), "{stdout}");
    assert!(stdout.contains("1 not a number"), "{stdout}");
}

#[test]
fn a_malformed_recording_line_is_reported_with_its_line_number() {
    let config = TempConfig::new("rules-test-bad", &format!("[broker]\n{CONFIG}"));
    let (code, _, stderr) = rules_test(
        &config,
        "1764493200 Kitchen/AirQuality/co2 1100\nyesterday x 1\n",
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn a_dry_run_shows_the_mqtt5_properties_a_publish_would_carry() {
    let config = TempConfig::new(
        "rules-test-properties",
        r#"[broker]

[[rule]]
name = "ask heater"
when = "+/Node/status"
equals = "online"
on_enter = { publish = "{1}/Heater/get", payload = "schedule", response_topic = "hearth/replies/{1}", correlation_data = "{1}-{value}", message_expiry = "30s", user_properties = { source = "hearth", room = "{1}" } }
"#,
    );
    let (code, stdout, stderr) = rules_test(&config, "0s Kitchen/Node/status online\n");
    assert_eq!(code, 0, "{stderr}");
    let want = r#"-> publish Kitchen/Heater/get "schedule" (qos 1, response topic hearth/replies/Kitchen, correlation data "Kitchen-online", expires after 30s, user properties source="hearth" room="Kitchen")"#;
    assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
}
