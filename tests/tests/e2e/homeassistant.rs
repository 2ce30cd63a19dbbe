//! Home Assistant discovery end to end: the real gateway announces itself as the device its
//! sensors and relays are reached through, and a client standing in for Home Assistant checks
//! that every `via_device` link resolves.

use std::collections::{BTreeMap, BTreeSet};

use rumqttc::{Publish, QoS};
use serde_json::Value;
use tests::{client, start_gateway, BrokerOptions, MqttClient, GATEWAY_NAME, GATEWAY_STATUS_TOPIC};

/// Where the gateway announces itself (node id `hearth`, object the gateway's name).
const GATEWAY_CONFIG: &str = "homeassistant/binary_sensor/hearth/test/config";
const BIRTH: &str = "homeassistant/status";

/// A sensor, a door contact and a relay: one entity of each kind the gateway announces.
const DEVICES: &str = r#"
[[sensor]]
name = "fridge"
driver = "ds18b20"
w1 = "sim"
id = "28-0316a2795bff"
topic = "Kitchen/Fridge"
interval = "100ms"

[[sensor]]
name = "front-door"
driver = "gpio_input"
pin = "sim"
payload = "open_closed"
topic = "Hall/FrontDoor"

[[actuator]]
name = "bath-fan"
topic = "Bath/Fan"
pin = "sim"
"#;

/// Every document `DEVICES` makes the gateway announce.
const DOCUMENTS: [&str; 4] = [
    GATEWAY_CONFIG,
    "homeassistant/sensor/hearth_test/fridge_temperature/config",
    "homeassistant/binary_sensor/hearth_test/front-door/config",
    "homeassistant/switch/hearth_test/bath-fan/config",
];

fn parsed(p: &Publish) -> Value {
    serde_json::from_slice(&p.payload).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            p.topic,
            String::from_utf8_lossy(&p.payload)
        )
    })
}

/// Discovery documents by config topic, as they arrive, until each of `wanted` has.
async fn documents(ha: &mut MqttClient, wanted: &[&str]) -> BTreeMap<String, Value> {
    let mut docs = BTreeMap::new();
    while wanted.iter().any(|t| !docs.contains_key(*t)) {
        let p = ha.next().await;
        if p.topic.ends_with("/config") {
            docs.insert(p.topic.clone(), parsed(&p));
        }
    }
    docs
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_is_the_device_every_other_device_is_reached_through() {
    let b = start_gateway(BrokerOptions::default(), DEVICES).await;
    let mut ha = client(&b, "ha", Some("homeassistant/#")).await;
    let docs = documents(&mut ha, &DOCUMENTS).await;

    let gateway = &docs[GATEWAY_CONFIG];
    assert_eq!(gateway["state_topic"], GATEWAY_STATUS_TOPIC);
    assert_eq!(gateway["payload_on"], "online");
    assert_eq!(gateway["payload_off"], "offline");
    assert_eq!(gateway["device_class"], "connectivity");
    assert_eq!(gateway["entity_category"], "diagnostic");
    assert!(gateway["unique_id"].is_string(), "{gateway}");
    let device = &gateway["device"];
    assert_eq!(strings(&device["identifiers"]), ["hearth_test"]);
    assert_eq!(device["name"], GATEWAY_NAME);
    for key in ["manufacturer", "model"] {
        assert!(
            device[key].as_str().is_some_and(|s| !s.is_empty()),
            "no {key}: {device}"
        );
    }
    // The workspace's version, which the gateway crate has too.
    assert_eq!(device["sw_version"], env!("CARGO_PKG_VERSION"));
    assert!(device.get("via_device").is_none(), "{device}");

    // Every link names a device that was announced, so Home Assistant can resolve it.
    let identifiers: BTreeSet<&str> = docs
        .values()
        .flat_map(|doc| strings(&doc["device"]["identifiers"]))
        .collect();
    for (topic, doc) in &docs {
        if topic == GATEWAY_CONFIG {
            continue;
        }
        let via = doc["device"]["via_device"]
            .as_str()
            .unwrap_or_else(|| panic!("{topic}: no via_device in {doc}"));
        assert!(
            identifiers.contains(via),
            "{topic}: via_device {via:?} is none of the announced devices {identifiers:?}"
        );
    }
    let unique_ids: BTreeSet<&str> = docs
        .values()
        .filter_map(|doc| doc["unique_id"].as_str())
        .collect();
    assert_eq!(unique_ids.len(), docs.len(), "unique ids repeat: {docs:?}");

    // Home Assistant reads the connectivity from the document's state topic.
    let topic = gateway["state_topic"].as_str().unwrap_or_default();
    let mut state = client(&b, "ha-state", Some(topic)).await;
    let online = state.next_on(topic).await;
    assert_eq!(&online.payload[..], b"online");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_is_announced_again_when_home_assistant_comes_online() {
    // No devices at all: the gateway still appears.
    let b = start_gateway(BrokerOptions::default(), "").await;
    let mut ha = client(&b, "ha", Some("homeassistant/#")).await;
    let first = ha.next_on(GATEWAY_CONFIG).await;
    assert!(
        first.retain,
        "retained, for a Home Assistant that connects later"
    );

    ha.publish(BIRTH, QoS::AtLeastOnce, false, "online").await;
    let again = ha.next_on(GATEWAY_CONFIG).await;
    assert_eq!(parsed(&again), parsed(&first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_is_not_announced_with_discovery_off() {
    let b = start_gateway(
        BrokerOptions::default(),
        &format!("{DEVICES}\n[homeassistant]\ndiscovery = false\n"),
    )
    .await;
    // A sensor is announced before its first reading is published: once the readings are
    // here, any document would have been sent.
    for topic in [
        "Kitchen/Fridge/temperature",
        "Hall/FrontDoor/state",
        "Bath/Fan/state",
    ] {
        let mut c = client(&b, &format!("phone-{topic}"), Some(topic)).await;
        c.next_on(topic).await;
    }
    let mut ha = client(&b, "ha", Some("homeassistant/#")).await;
    ha.publish(BIRTH, QoS::AtLeastOnce, false, "online").await;
    let before_marker: Vec<String> = ha.topics_before_marker().await;
    assert_eq!(
        before_marker,
        [BIRTH],
        "only Home Assistant's own birth message"
    );
}
