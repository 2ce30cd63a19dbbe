use super::harness::{hearth, TempConfig};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = hearth().args(args).output().expect("run hearth");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_is_printed() {
    let (code, stdout, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        format!("hearth {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_accepts_a_broker_only_config() {
    let cfg = TempConfig::new("check-ok", "[broker]\nlisten = \"127.0.0.1:1883\"\n");
    let (code, stdout, stderr) = run(&["check", "--config", cfg.path.to_str().expect("utf8")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("valid"), "{stdout}");
}

#[test]
fn check_reports_every_error_of_a_bad_file_with_exit_status_2() {
    let text = "[broker]\nlisten = \"1883\"\nmax_inflight = \"lots\"\nkeepalive = 5\n\n[gateway]\nname = \"my/pi\"\n";
    let cfg = TempConfig::new("check-bad", text);
    let (code, _, stderr) = run(&["check", "--config", cfg.path.to_str().expect("utf8")]);
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "4 errors",
        "line 2: broker.listen",
        "line 3: broker.max_inflight: must be an integer",
        "line 4: broker.keepalive: unknown key",
        "line 7: gateway.name",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let (code, _, stderr) = run(&["check", "--config", "/nonexistent/hearth.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/hearth.toml"), "{stderr}");
    let (code, _, stderr) = run(&["run", "--config", "/nonexistent/hearth.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nothing was started"), "{stderr}");
}

#[test]
fn run_with_a_bad_config_starts_nothing() {
    // Port 1 would need privileges: if anything started, the error would be a listen error.
    let cfg = TempConfig::new(
        "run-bad",
        "[broker]\nlisten = \"127.0.0.1:1\"\nbogus = true\n",
    );
    let (code, _, stderr) = run(&["run", "--config", cfg.path.to_str().expect("utf8")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("broker.bogus"), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}

#[test]
fn check_reports_every_rule_error_of_a_bad_file_with_exit_status_2() {
    let text = r#"[[actuator]]
name = "kitchen-purifier"
topic = "Kitchen/Purifier"
pin = "sim"

[[rule]]
name = "co2"
when = "+/AirQuality/co2"
above = 800
below = 1000
on_enter = { publish = "{1}/Purifier/{2}", payload = "ON" }

[[rule]]
name = "door"
when = "Hall/Door"
equals = "open"
on_enter = { actuator = "purifer", set = "ON" }
"#;
    let cfg = TempConfig::new("check-bad-rules", text);
    let (code, _, stderr) = run(&["check", "--config", cfg.path.to_str().expect("utf8")]);
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "3 errors",
        "line 9: rule[0].above: above (800) is below below (1000)",
        "line 11: rule[0].on_enter.publish: capture {2}",
        "line 17: rule[1].on_enter.actuator: no actuator named \"purifer\"",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn check_reports_bad_mqtt5_properties_of_a_publish_action() {
    let text = r#"[[rule]]
name = "ask heater"
when = "+/Node/status"
equals = "online"
on_enter = { publish = "{1}/Heater/get", payload = "schedule", response_topic = "replies/+", message_expiry = "1500ms" }
on_leave = { publish = "{1}/Heater/get", payload = "stop", user_properties = { room = "{2}" } }
"#;
    let cfg = TempConfig::new("check-bad-properties", text);
    let (code, _, stderr) = run(&["check", "--config", cfg.path.to_str().expect("utf8")]);
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "3 errors",
        "line 5: rule[0].on_enter.response_topic: \"replies/+\" cannot be published to",
        "line 5: rule[0].on_enter.message_expiry: \"1500ms\" is not whole seconds",
        "line 6: rule[0].on_leave.user_properties.room: capture {2}",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}
