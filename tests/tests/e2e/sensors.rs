//! Simulated sensors end to end: the real drivers read simulated chips inside the gateway, and a
//! phone-like rumqttc client sees what a user would.

use std::time::{Duration, Instant};

use rumqttc::{Publish, QoS};
use serde_json::Value;
use tests::{mqtt_options, start_gateway, BrokerOptions, MqttClient, TestBroker, GATEWAY_NAME};

async fn gateway(sensors: &str) -> TestBroker {
    start_gateway(BrokerOptions::default(), sensors).await
}

async fn phone(b: &TestBroker, filter: &str) -> MqttClient {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let id = format!(
        "phone-{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let (mut c, _) = MqttClient::connect(mqtt_options(b.addr(), &id)).await;
    c.subscribe(filter, QoS::AtLeastOnce).await;
    c
}

/// Messages until `count` arrived or none came for `quiet`.
async fn collect_quiet(c: &mut MqttClient, count: usize, quiet: Duration) -> Vec<Publish> {
    let mut got = Vec::new();
    while got.len() < count {
        match tokio::time::timeout(quiet, c.next()).await {
            Ok(p) => got.push(p),
            Err(_) => break,
        }
    }
    got
}

/// The next message on `topic` (others are skipped), within `within`.
async fn next_on(c: &mut MqttClient, topic: &str, within: Duration) -> Option<Publish> {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let got = collect_quiet(c, 1, left).await;
        match got.into_iter().next() {
            Some(p) if p.topic == topic => return Some(p),
            Some(_) => {}
            None => return None,
        }
    }
    None
}

fn text(p: &Publish) -> String {
    String::from_utf8_lossy(&p.payload).into_owned()
}

/// Steers a simulated device the way the demo documents: over MQTT.
async fn sim(c: &MqttClient, sensor: &str, command: &str) {
    let topic = format!("hearth/{GATEWAY_NAME}/sim/{sensor}/set");
    c.publish(&topic, QoS::AtLeastOnce, false, command).await;
}

const WAIT: Duration = Duration::from_secs(5);

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
        assert!(next_on(&mut c, topic, WAIT).await.is_some(), "{topic}");
    }
    let mut later = phone(&b, "+/+/+").await;
    let got = collect_quiet(&mut later, 20, Duration::from_millis(500)).await;
    let value = |topic: &str| {
        got.iter()
            .find(|p| p.topic == topic)
            .map(|p| (text(p), p.retain))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadband_holds_back_small_changes_and_heartbeat_repeats_unchanged_values() {
    let b = gateway(
        r#"
[[sensor]]
name = "probe"
driver = "ds18b20"
w1 = "sim"
id = "28-0000000000aa"
topic = "Cellar"
interval = "100ms"
deadband = 1.0
heartbeat = "1500ms"
sim = { temperature = 10.0 }
"#,
    )
    .await;
    let mut c = phone(&b, "Cellar/temperature").await;
    let first = next_on(&mut c, "Cellar/temperature", WAIT)
        .await
        .expect("first reading");
    assert_eq!(text(&first), "10.0");
    sim(&c, "probe", "temperature=10.6").await;
    // Within the deadband: nothing for well under the heartbeat.
    assert!(
        next_on(&mut c, "Cellar/temperature", Duration::from_millis(700))
            .await
            .is_none(),
        "a 0.6 move inside a 1.0 deadband was published"
    );
    sim(&c, "probe", "temperature=11.5").await;
    let moved = next_on(&mut c, "Cellar/temperature", WAIT)
        .await
        .expect("moved");
    assert_eq!(text(&moved), "11.5");
    let started = Instant::now();
    let repeat = next_on(&mut c, "Cellar/temperature", WAIT)
        .await
        .expect("heartbeat");
    assert_eq!(text(&repeat), "11.5");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "repeated after {:?}, before the heartbeat",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_goes_offline_on_a_fault_and_comes_back() {
    let b = gateway(KITCHEN).await;
    let mut c = phone(&b, "Kitchen/Air/#").await;
    let online = next_on(&mut c, "Kitchen/Air/status", WAIT)
        .await
        .expect("online");
    assert_eq!(text(&online), "online");
    sim(&c, "kitchen-air", "fault=nack").await;
    let offline = next_on(&mut c, "Kitchen/Air/status", WAIT)
        .await
        .expect("offline");
    assert_eq!(text(&offline), "offline");
    // The other sensors carry on meanwhile.
    let mut other = phone(&b, "Living/Air/temperature").await;
    assert!(next_on(&mut other, "Living/Air/temperature", WAIT)
        .await
        .is_some());
    sim(&c, "kitchen-air", "fault=none temperature=23.5").await;
    let back = next_on(&mut c, "Kitchen/Air/status", Duration::from_secs(10))
        .await
        .expect("online again");
    assert_eq!(text(&back), "online");
    let reading = next_on(&mut c, "Kitchen/Air/temperature", WAIT)
        .await
        .expect("reading");
    assert_eq!(text(&reading), "23.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_value_is_not_a_fault_but_a_silent_probe_is() {
    let b = gateway(KITCHEN).await;
    let mut c = phone(&b, "Kitchen/Fridge/status").await;
    assert_eq!(
        text(
            &next_on(&mut c, "Kitchen/Fridge/status", WAIT)
                .await
                .expect("online")
        ),
        "online"
    );
    sim(&c, "fridge", "fault=stuck").await;
    assert!(
        next_on(&mut c, "Kitchen/Fridge/status", Duration::from_secs(1))
            .await
            .is_none(),
        "a stuck value made the probe unavailable"
    );
    sim(&c, "fridge", "fault=nack").await;
    let gone = next_on(&mut c, "Kitchen/Fridge/status", WAIT)
        .await
        .expect("offline");
    assert_eq!(text(&gone), "offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpio_input_edges_are_debounced() {
    let b = gateway(
        r#"
[[sensor]]
name = "hall-motion"
driver = "gpio_input"
pin = "sim"
debounce = "300ms"
topic = "Hall/Motion"
"#,
    )
    .await;
    let mut c = phone(&b, "Hall/Motion/state").await;
    let initial = next_on(&mut c, "Hall/Motion/state", WAIT)
        .await
        .expect("initial state");
    assert_eq!(text(&initial), "OFF");
    // A 50 ms blip is a bounce, not motion.
    sim(&c, "hall-motion", "input=on").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    sim(&c, "hall-motion", "input=off").await;
    assert!(
        next_on(&mut c, "Hall/Motion/state", Duration::from_millis(800))
            .await
            .is_none(),
        "a bounce shorter than the debounce window was published"
    );
    sim(&c, "hall-motion", "input=on").await;
    let on = next_on(&mut c, "Hall/Motion/state", WAIT)
        .await
        .expect("ON");
    assert_eq!(text(&on), "ON");
    // Retained, so a phone opening its dashboard now sees the motion.
    let mut later = phone(&b, "Hall/Motion/state").await;
    let seen = next_on(&mut later, "Hall/Motion/state", WAIT)
        .await
        .expect("retained state");
    assert_eq!((text(&seen).as_str(), seen.retain), ("ON", true));
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
    let co2 = next_on(&mut c, "Living/AirQuality/co2", Duration::from_secs(12))
        .await
        .expect("CO2 reading");
    assert_eq!(text(&co2), "1234");
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
    let mut fridge = phone(&b, "Kitchen/Fridge/temperature").await;
    assert!(next_on(&mut fridge, "Kitchen/Fridge/temperature", WAIT)
        .await
        .is_some());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ha = phone(&b, "homeassistant/#").await;
    let docs = collect_quiet(&mut ha, 100, Duration::from_millis(500)).await;
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
    let mut c = phone(&first, "homeassistant/#").await;
    let announced = c.collect(2).await;
    assert_eq!(announced.len(), 2, "{announced:?}");
    first.stop().await;

    let second = start_gateway_in(&state, keep).await;
    let mut ha = phone(&second, "homeassistant/#").await;
    // Home Assistant announces itself when it connects; the gateway then clears the departed
    // sensor's entity and repeats the others.
    ha.publish("homeassistant/status", QoS::AtLeastOnce, false, "online")
        .await;
    let removed = next_on(
        &mut ha,
        "homeassistant/sensor/hearth_test/drop_temperature/config",
        WAIT,
    )
    .await
    .expect("empty document for the removed sensor");
    assert!(removed.payload.is_empty());
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
    let status = next_on(&mut c, "Absent/Air/status", WAIT)
        .await
        .expect("status");
    assert_eq!(text(&status), "offline");
    let mut other = phone(&b, "Kitchen/Air/temperature").await;
    assert!(next_on(&mut other, "Kitchen/Air/temperature", WAIT)
        .await
        .is_some());
}
