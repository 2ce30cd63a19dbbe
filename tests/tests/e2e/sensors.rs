//! Simulated sensors end to end: the real drivers read simulated chips inside the gateway, and a
//! phone-like rumqttc client sees what a user would.

use std::collections::HashSet;

use rumqttc::QoS;
use serde_json::Value;
use tests::{client, start_gateway, text, BrokerOptions, MqttClient, TestBroker, GATEWAY_NAME};

async fn gateway(sensors: &str) -> TestBroker {
    start_gateway(BrokerOptions::default(), sensors).await
}

async fn phone(b: &TestBroker, filter: &str) -> MqttClient {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let id = format!(
        "phone-{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    client(b, &id, Some(filter)).await
}

/// Steers a simulated device the way the demo documents: over MQTT. The gateway applies the
/// commands of one client in the order they were sent.
async fn sim(c: &MqttClient, sensor: &str, command: &str) {
    let topic = format!("hearth/{GATEWAY_NAME}/sim/{sensor}/set");
    c.publish(&topic, QoS::AtLeastOnce, false, command).await;
}

const KITCHEN: &str = r#"
[[sensor]]
name = "kitchen-air"
driver = "bme280"
bus = "sim"
topic = "Kitchen/Air"
interval = "100ms"
sim = { temperature = 22.5, humidity = 48.0, pressure = 1012.0 }

[[sensor]]
name = "living-air"
driver = "bme280"
bus = "sim"
address = 0x77
topic = "Living/Air"
interval = "100ms"
format = "json"
decimals = 2
sim = { temperature = 20.25, humidity = 41.0, pressure = 1010.0 }

[[sensor]]
name = "fridge"
driver = "ds18b20"
w1 = "sim"
id = "28-0316a2795bff"
topic = "Kitchen/Fridge"
interval = "100ms"
sim = { temperature = 4.2 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_are_retained_with_units_and_formats() {
    let b = gateway(KITCHEN).await;
    // Wait for every first reading, then connect as a phone would, later.
    for topic in [
        "Kitchen/Air/temperature",
        "Living/Air/temperature",
        "Kitchen/Fridge/temperature",
    ] {
        let mut c = phone(&b, topic).await;
        c.next_on(topic).await;
    }
    let mut later = phone(&b, "+/+/+").await;
    let got = later.collect_before_marker().await;
    let value = |topic: &str| {
        got.iter()
            .find(|p| p.topic == topic)
            .map(|p| (text(p).to_owned(), p.retain))
            .unwrap_or_else(|| panic!("no retained {topic} in {got:?}"))
    };
    assert_eq!(value("Kitchen/Air/temperature"), ("22.5".into(), true));
    assert_eq!(value("Kitchen/Air/humidity"), ("48.0".into(), true));
    assert_eq!(value("Kitchen/Air/pressure"), ("1012.0".into(), true));
    assert_eq!(value("Kitchen/Fridge/temperature"), ("4.2".into(), true));
    assert_eq!(value("Kitchen/Air/status"), ("online".into(), true));
    let (json, _) = value("Living/Air/temperature");
    let doc: Value = serde_json::from_str(&json).expect("JSON payload");
    assert_eq!(doc["value"], 20.25);
    assert_eq!(doc["unit"], "°C");
    assert!(
        doc["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{doc}"
    );
    let (pressure, _) = value("Living/Air/pressure");
    let doc: Value = serde_json::from_str(&pressure).expect("JSON payload");
    assert_eq!(doc["unit"], "hPa");
}

/// A BME280 whose small moves are held back, and a probe whose unchanged value is repeated.
const CELLAR: &str = r#"
[[sensor]]
name = "probe"
driver = "bme280"
bus = "sim"
topic = "Cellar"
interval = "100ms"
deadband = 1.0
sim = { temperature = 10.0, humidity = 50.0, pressure = 1000.0 }

[[sensor]]
name = "beat"
driver = "ds18b20"
w1 = "sim"
id = "28-0000000000aa"
topic = "Attic"
interval = "100ms"
deadband = 1.0
heartbeat = "1500ms"
sim = { temperature = 10.0 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadband_holds_back_small_changes_and_heartbeat_repeats_unchanged_values() {
    let b = gateway(CELLAR).await;
    let mut c = phone(&b, "Cellar/+").await;
    c.expect_on("Cellar/temperature", "10.0").await;
    // One command, so one sample sees both moves: the temperature's 0.6 inside the 1.0
    // deadband, and the humidity's 10 beyond it. The gateway publishes a sample's readings in
    // order, temperature first, so a published 10.6 would arrive before the humidity.
    sim(&c, "probe", "temperature=10.6 humidity=60").await;
    let before = c.collect_before("Cellar/humidity", "60.0").await;
    assert!(
        !before.iter().any(|p| p.topic == "Cellar/temperature"),
        "a 0.6 move inside a 1.0 deadband was published: {before:?}"
    );
    sim(&c, "probe", "temperature=11.5").await;
    c.expect_on("Cellar/temperature", "11.5").await;

    // Unchanged, so only the heartbeat publishes it again.
    let mut attic = phone(&b, "Attic/temperature").await;
    attic.expect_on("Attic/temperature", "10.0").await;
    attic.expect_on("Attic/temperature", "10.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_goes_offline_on_a_fault_and_comes_back() {
    let b = gateway(KITCHEN).await;
    let mut c = phone(&b, "Kitchen/Air/#").await;
    c.expect_on("Kitchen/Air/status", "online").await;
    sim(&c, "kitchen-air", "fault=nack").await;
    c.expect_on("Kitchen/Air/status", "offline").await;
    // The other sensors carry on meanwhile.
    let mut other = phone(&b, "Living/Air/temperature").await;
    other.next_on("Living/Air/temperature").await;
    sim(&c, "kitchen-air", "fault=none temperature=23.5").await;
    c.expect_on("Kitchen/Air/status", "online").await;
    c.expect_on("Kitchen/Air/temperature", "23.5").await;
}

/// Two probes on one simulated 1-wire bus, read in turn by one thread; the fridge repeats its
/// value every second.
const FRIDGE_AND_PANTRY: &str = r#"
[[sensor]]
name = "fridge"
driver = "ds18b20"
w1 = "sim"
id = "28-0316a2795bff"
topic = "Kitchen/Fridge"
interval = "100ms"
heartbeat = "1s"
sim = { temperature = 4.2 }

[[sensor]]
name = "pantry"
driver = "ds18b20"
w1 = "sim"
id = "28-0316a2795c00"
topic = "Pantry"
interval = "100ms"
sim = { temperature = 15.0 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_value_is_not_a_fault_but_a_silent_probe_is() {
    let b = gateway(FRIDGE_AND_PANTRY).await;
    let mut c = phone(&b, "Kitchen/Fridge/#").await;
    c.subscribe("Pantry/temperature", QoS::AtLeastOnce).await;
    c.expect_on("Kitchen/Fridge/status", "online").await;
    // Stuck, the probe keeps answering 4.2 whatever it is told. The pantry's new value shows
    // the fridge's command applied, and the bus's readings come in the order its thread took
    // them: the fridge's heartbeats after it were read stuck, the second a second of reads
    // into the fault.
    sim(&c, "fridge", "fault=stuck temperature=9.0").await;
    sim(&c, "pantry", "temperature=16.0").await;
    let mut before = c.collect_before("Pantry/temperature", "16.0").await;
    for _ in 0..2 {
        before.extend(c.collect_before("Kitchen/Fridge/temperature", "4.2").await);
    }
    assert!(
        !before.iter().any(|p| p.topic == "Kitchen/Fridge/status"
            || (p.topic == "Kitchen/Fridge/temperature" && text(p) != "4.2")),
        "a stuck value made the probe unavailable or moved: {before:?}"
    );
    sim(&c, "fridge", "fault=nack").await;
    c.expect_on("Kitchen/Fridge/status", "offline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpio_input_edges_are_debounced() {
    // One thread polls both inputs, and publishes their changes in the order it sees them.
    let b = gateway(
        r#"
[[sensor]]
name = "hall-motion"
driver = "gpio_input"
pin = "sim"
debounce = "1s"
topic = "Hall/Motion"

[[sensor]]
name = "marker"
driver = "gpio_input"
pin = "sim"
debounce = "50ms"
topic = "Hall/Marker"
"#,
    )
    .await;
    let mut c = phone(&b, "Hall/+/state").await;
    let initial: HashSet<(String, String)> = c
        .collect(2)
        .await
        .iter()
        .map(|p| (p.topic.clone(), text(p).to_owned()))
        .collect();
    let off = |topic: &str| (topic.to_owned(), "OFF".to_owned());
    assert_eq!(
        initial,
        HashSet::from([off("Hall/Motion/state"), off("Hall/Marker/state")]),
        "initial states"
    );
    // A blip is a bounce, not motion: the motion input is on while the marker input goes on
    // and holds for its 50 ms, then both go off, all well within the motion's 1 s.
    sim(&c, "hall-motion", "input=on").await;
    sim(&c, "marker", "input=on").await;
    c.expect_nothing_before("Hall/Marker/state", "ON").await;
    sim(&c, "hall-motion", "input=off").await;
    sim(&c, "marker", "input=off").await;
    let bounce = c.collect_before("Hall/Marker/state", "OFF").await;
    assert!(
        bounce.is_empty(),
        "a bounce shorter than the debounce window was published: {bounce:?}"
    );
    sim(&c, "hall-motion", "input=on").await;
    c.expect_nothing_before("Hall/Motion/state", "ON").await;
    // Retained, so a phone opening its dashboard now sees the motion.
    let mut later = phone(&b, "Hall/Motion/state").await;
    let seen = later.next_on("Hall/Motion/state").await;
    assert_eq!((text(&seen), seen.retain), ("ON", true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scd4x_co2_readings_arrive() {
    let b = gateway(
        r#"
[[sensor]]
name = "living-co2"
driver = "scd4x"
bus = "sim"
topic = "Living/AirQuality"
interval = "1s"
sim = { co2 = 1234.0 }
"#,
    )
    .await;
    let mut c = phone(&b, "Living/AirQuality/co2").await;
    // The SCD4x (and its twin) produce a sample every 5 s after start.
    c.expect_on("Living/AirQuality/co2", "1234").await;
}

/// What Home Assistant needs to create an entity from a discovery document.
fn check_ha_document(topic: &str, doc: &Value) {
    for key in ["unique_id", "state_topic", "availability", "device"] {
        assert!(!doc[key].is_null(), "{topic}: no {key} in {doc}");
    }
    assert!(doc["device"]["identifiers"].is_array(), "{topic}: {doc}");
    assert!(doc["availability"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_documents_parse_as_home_assistant_expects() {
    let sensors = format!(
        "{KITCHEN}{}",
        r#"
[[sensor]]
name = "old-barometer"
driver = "bme280"
bus = "sim"
topic = "Attic/Air"
interval = "100ms"
sim = { chip = "bmp280" }

[[sensor]]
name = "front-door"
driver = "gpio_input"
pin = "sim"
payload = "open_closed"
topic = "Hall/FrontDoor"
"#
    );
    let b = gateway(&sensors).await;
    // A sensor is announced before its first reading, and so before its status goes online.
    let mut status = phone(&b, "+/+/status").await;
    let mut offline: HashSet<&str> = HashSet::from([
        "Kitchen/Air/status",
        "Living/Air/status",
        "Kitchen/Fridge/status",
        "Attic/Air/status",
        "Hall/FrontDoor/status",
    ]);
    while !offline.is_empty() {
        let p = status.next().await;
        if text(&p) == "online" {
            offline.remove(p.topic.as_str());
        }
    }
    let mut ha = phone(&b, "homeassistant/#").await;
    let docs = ha.collect_before_marker().await;
    let find = |topic: &str| -> Value {
        let p = docs.iter().find(|p| p.topic == topic).unwrap_or_else(|| {
            panic!(
                "no {topic} among {:?}",
                docs.iter().map(|p| &p.topic).collect::<Vec<_>>()
            )
        });
        assert!(p.retain);
        let doc: Value = serde_json::from_slice(&p.payload).expect("discovery JSON");
        check_ha_document(topic, &doc);
        doc
    };
    let t = find("homeassistant/sensor/hearth_test/kitchen-air_temperature/config");
    assert_eq!(t["state_topic"], "Kitchen/Air/temperature");
    assert_eq!(t["device_class"], "temperature");
    assert_eq!(t["unit_of_measurement"], "°C");
    assert_eq!(t["state_class"], "measurement");
    let p = find("homeassistant/sensor/hearth_test/kitchen-air_pressure/config");
    assert_eq!(
        (
            p["device_class"].as_str(),
            p["unit_of_measurement"].as_str()
        ),
        (Some("pressure"), Some("hPa"))
    );
    let j = find("homeassistant/sensor/hearth_test/living-air_temperature/config");
    assert_eq!(j["value_template"], "{{ value_json.value }}");
    let door = find("homeassistant/binary_sensor/hearth_test/front-door/config");
    assert_eq!(door["state_topic"], "Hall/FrontDoor/state");
    assert_eq!(
        (door["payload_on"].as_str(), door["payload_off"].as_str()),
        (Some("open"), Some("closed"))
    );
    assert_eq!(door["device_class"], "door");
    // A BMP280 has no humidity sensor: no entity for it.
    find("homeassistant/sensor/hearth_test/old-barometer_pressure/config");
    assert!(
        !docs
            .iter()
            .any(|p| p.topic.contains("old-barometer_humidity")),
        "humidity entity announced for a BMP280"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_removed_from_the_config_loses_its_entity() {
    let state = std::env::temp_dir().join(format!("hearth-discovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let keep = "\n[[sensor]]\nname = \"keep\"\ndriver = \"ds18b20\"\nw1 = \"sim\"\nid = \"28-0000000000a1\"\ntopic = \"A\"\ninterval = \"100ms\"\n";
    let drop = "\n[[sensor]]\nname = \"drop\"\ndriver = \"ds18b20\"\nw1 = \"sim\"\nid = \"28-0000000000a2\"\ntopic = \"B\"\ninterval = \"100ms\"\n";
    let mut first = start_gateway_in(&state, &format!("{keep}{drop}")).await;
    let mut c = phone(&first, "homeassistant/sensor/#").await;
    let announced = c.collect(2).await;
    assert_eq!(announced.len(), 2, "{announced:?}");
    first.stop().await;

    let second = start_gateway_in(&state, keep).await;
    let mut ha = phone(&second, "homeassistant/#").await;
    // Home Assistant announces itself when it connects; the gateway then clears the departed
    // sensor's entity and repeats the others.
    ha.publish("homeassistant/status", QoS::AtLeastOnce, false, "online")
        .await;
    let removed = ha
        .next_on("homeassistant/sensor/hearth_test/drop_temperature/config")
        .await;
    assert!(
        removed.payload.is_empty(),
        "empty document for the removed sensor"
    );
    let _ = std::fs::remove_dir_all(&state);
}

/// A gateway whose state directory is `state`.
async fn start_gateway_in(state: &std::path::Path, sensors: &str) -> TestBroker {
    tests::start_gateway_with_state(BrokerOptions::default(), state, sensors).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_hardware_is_reported_unavailable_while_the_gateway_runs_on() {
    let b = gateway(&format!(
        "{KITCHEN}{}",
        r#"
[[sensor]]
name = "absent-air"
driver = "bme280"
bus = "/dev/i2c-99"
topic = "Absent/Air"
interval = "100ms"
"#
    ))
    .await;
    let mut c = phone(&b, "Absent/Air/status").await;
    c.expect_on("Absent/Air/status", "offline").await;
    let mut other = phone(&b, "Kitchen/Air/temperature").await;
    other.next_on("Kitchen/Air/temperature").await;
}
