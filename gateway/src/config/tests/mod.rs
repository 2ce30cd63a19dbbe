use super::*;
use std::time::Duration;

fn errors_of(text: &str) -> Vec<ConfigError> {
    match Config::parse(text, "test.toml") {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e.errors,
    }
}

#[test]
fn broker_only_config_listens_where_it_says() {
    let c = Config::parse("[broker]\nlisten = \"127.0.0.1:1884\"\n", "t").expect("valid");
    assert_eq!(c.broker.listeners[0].addr.to_string(), "127.0.0.1:1884");
    assert_eq!(c.broker.max_inflight, 20);
}

#[test]
fn empty_file_gives_secure_defaults() {
    let c = Config::parse("", "t").expect("valid");
    assert!(c.broker.listeners[0].addr.ip().is_loopback());
}

#[test]
fn every_error_is_reported_with_path_and_line() {
    let text = "[broker]\nlisten = \"localhost\"\nlisen = 1\nconnect_timeout = \"fast\"\nmax_inflight = 0\n\n[gateway]\nname = \"a/b\"\n\n[nonsense]\n";
    let errs = errors_of(text);
    let found: Vec<(String, usize)> = errs.iter().map(|e| (e.path.clone(), e.line)).collect();
    assert_eq!(
        found,
        vec![
            ("broker.listen".to_string(), 2),
            ("broker.lisen".to_string(), 3),
            ("broker.connect_timeout".to_string(), 4),
            ("broker.max_inflight".to_string(), 5),
            ("gateway.name".to_string(), 8),
            ("nonsense".to_string(), 10),
        ],
        "{errs:#?}"
    );
    assert!(
        errs[1]
            .message
            .contains("expected one of: password_file, listen, listener,"),
        "{}",
        errs[1].message
    );
    assert!(errs[2].message.contains("\"10s\""));
}

/// A pasted blob in a value (or a key) comes back as a short prefix, not a 10 kB error line.
#[test]
fn errors_quote_only_a_short_prefix_of_a_huge_value() {
    let huge = "é".repeat(10_000);
    let text = format!(
        "[[sensor]]\nname = \"fridge\"\ndriver = \"{huge}\"\ntopic = \"Kitchen/Fridge\"\n\n\
         [broker]\nlisten = \"{huge}\"\n\"{huge}\" = 1\n"
    );
    let report = match Config::parse(&text, "test.toml") {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e,
    };
    let prefix: String = huge.chars().take(40).collect();
    let found: Vec<(&str, usize)> = report
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.line))
        .collect();
    let unknown = format!("broker.{prefix}…");
    assert_eq!(
        found,
        [
            ("sensor[0].driver", 3),
            ("broker.listen", 7),
            (unknown.as_str(), 8)
        ]
    );
    let longer: String = huge.chars().take(41).collect();
    for e in &report.errors {
        let line = e.to_string();
        assert!(line.contains(&format!("{prefix}…")), "{line}");
        assert!(!line.contains(&longer), "{line}");
        // The unknown key's line also lists the table's keys.
        assert!(line.chars().count() < 600, "{line}");
    }
    assert!(report.to_string().len() < 1500, "{report}");
}

#[test]
fn wrong_types_name_what_was_expected() {
    let errs = errors_of("[broker]\nmax_inflight = \"many\"\nsys_interval = 5\n");
    assert_eq!(errs[0].message, "must be an integer, got string");
    assert_eq!(errs[1].message, "must be a string, got integer");
}

#[test]
fn syntax_errors_carry_a_line() {
    let errs = errors_of("[broker]\nlisten = \n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 2, "{errs:?}");
}

#[test]
fn broker_limits_are_read_and_checked() {
    let text =
        "[broker]\nmax_connections_per_address = 0\nmax_connects_per_address_per_second = 5\n\
                max_connect_burst_per_address = 50\nlimit_loopback = true\nmax_topic_length = 200\n\
                max_topic_levels = 12\nmax_retained_messages = 500\n";
    let b = Config::parse(text, "t").expect("valid").broker;
    assert_eq!(b.max_connections_per_address, 0);
    assert_eq!(b.max_connects_per_address_per_second, 5);
    assert_eq!(b.max_connect_burst_per_address, 50);
    assert!(b.limit_loopback);
    assert_eq!(b.max_topic_length, 200);
    assert_eq!(b.max_topic_levels, 12);
    assert_eq!(b.max_retained_messages, 500);

    let bad = "[broker]\nmax_topic_length = 70000\nmax_connect_burst_per_address = 0\nlimit_loopback = 1\n";
    let paths: Vec<String> = errors_of(bad).into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        [
            "broker.max_topic_length",
            "broker.max_connect_burst_per_address",
            "broker.limit_loopback"
        ]
    );
}

#[test]
fn the_reference_config_states_the_broker_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/hearth.toml");
    let c = Config::load(Path::new(path)).expect("valid");
    let d = BrokerSettings::default();
    assert_eq!(
        (
            c.broker.max_connections_per_address,
            c.broker.max_connects_per_address_per_second,
            c.broker.max_connect_burst_per_address,
            c.broker.limit_loopback,
            c.broker.max_topic_length,
            c.broker.max_topic_levels,
            c.broker.max_retained_messages,
        ),
        (
            d.max_connections_per_address,
            d.max_connects_per_address_per_second,
            d.max_connect_burst_per_address,
            d.limit_loopback,
            d.max_topic_length,
            d.max_topic_levels,
            d.max_retained_messages,
        )
    );
}

#[test]
fn durations_are_human() {
    let c = Config::parse("[broker]\nconnect_timeout = \"1m 30s\"\n", "t").expect("valid");
    assert_eq!(c.broker.connect_timeout, Duration::from_secs(90));
}

#[test]
fn missing_file_names_the_path() {
    let e = Config::load(Path::new("/nonexistent/hearth.toml")).expect_err("must fail");
    let text = e.to_string();
    assert!(text.contains("/nonexistent/hearth.toml"), "{text}");
    assert!(text.contains("cannot read"), "{text}");
}

#[test]
fn every_shipped_example_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("config/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Config::load(&path) {
                panic!("{e}");
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no example configs found in {dir}");
}

const GOOD_SENSORS: &str = r#"
[[sensor]]
name = "fridge"
driver = "ds18b20"
id = "28-0316a2795bff"
topic = "Kitchen/Fridge"
interval = "30s"

[[sensor]]
name = "kitchen-air"
driver = "bme280"
bus = "sim"
address = 0x77
topic = "Kitchen/Air"
format = "json"
deadband = 0.2
heartbeat = "10m"
average = 3
decimals = 2
offset = { temperature = -0.5 }
sim = { temperature = 22.5, drift = 0.3 }

[[sensor]]
name = "hall-motion"
driver = "gpio_input"
pin = 17
pull = "down"
debounce = "100ms"
topic = "Hall/Motion"
"#;

#[test]
fn sensors_are_read_with_their_defaults() {
    use crate::sensors::settings::{Device, Format, I2cBus, Pin, W1Root};
    let c = Config::parse(GOOD_SENSORS, "t").expect("valid");
    assert_eq!(c.sensors.len(), 3);
    let fridge = &c.sensors[0];
    assert_eq!(
        fridge.device,
        Device::Ds18b20 {
            id: "28-0316a2795bff".into(),
            w1: W1Root::Sysfs("/sys/bus/w1/devices".into())
        }
    );
    assert!(fridge.publish.retain, "retained by default");
    let air = &c.sensors[1];
    assert_eq!(
        air.device,
        Device::Bme280 {
            bus: I2cBus::Sim,
            address: 0x77
        }
    );
    assert_eq!(air.publish.format, Format::Json);
    assert_eq!(air.publish.average, 3);
    assert_eq!(
        air.publish.offsets,
        vec![(drivers::Quantity::Temperature, -0.5)]
    );
    assert_eq!(air.sim.value(drivers::Quantity::Temperature), 22.5);
    match &c.sensors[2].device {
        Device::GpioInput(g) => assert_eq!(g.pin, Pin::Bcm(17)),
        other => panic!("{other:?}"),
    }
    assert!(c.discovery.enabled, "discovery is on by default");
}

#[test]
fn bad_sensor_entries_are_all_reported_with_their_paths() {
    let text = r#"
[[sensor]]
name = "a"
driver = "dht22"
bus = 1
address = 0x76
topic = "Room/A"

[[sensor]]
name = "b"
driver = "bme280"
bus = "sim"
address = 0x40
topic = "Room/B"

[[sensor]]
name = "c"
driver = "bme280"
bus = "sim"
topic = "Room/B"
interval = "fast"
"#;
    let errs = errors_of(text);
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "sensor[0].driver",
            "sensor[1].address",
            "sensor[2].topic",
            "sensor[2].interval",
        ],
        "{errs:#?}"
    );
    assert!(errs[0]
        .message
        .contains("bme280, scd4x, ds18b20, gpio_input"));
    assert!(errs[1].message.contains("0x76"));
    assert!(errs[2].message.contains("sensor[1].topic"));
    assert_eq!(errs[3].line, 21);
}

#[test]
fn keys_of_another_driver_are_unknown() {
    let errs = errors_of("[[sensor]]\nname = \"f\"\ndriver = \"ds18b20\"\nid = \"28-0316a2795bff\"\ntopic = \"F\"\naddress = 0x76\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path, "sensor[0].address");
    assert!(
        errs[0].message.contains("unknown key"),
        "{}",
        errs[0].message
    );
}

mod actuators;
mod listeners;
mod publish_properties;
mod rules;
