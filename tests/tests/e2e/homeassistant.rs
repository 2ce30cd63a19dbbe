//! Home Assistant discovery end to end: the real gateway announces itself as the device its
//! sensors and relays are reached through, and a client standing in for Home Assistant checks
//! that every `via_device` link resolves.

use std::collections::{BTreeMap, BTreeSet};

use rumqttc::{Publish, QoS};
use serde_json::Value;
use tests::{
    mqtt_options, start_gateway, BrokerOptions, MqttClient, TestBroker, GATEWAY_NAME,
    GATEWAY_STATUS_TOPIC, WAIT,
};

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

async fn client(b: &TestBroker, id: &str, filter: &str) -> MqttClient {
    let (mut c, _) = MqttClient::connect(mqtt_options(b.addr(), id)).await;
    c.subscribe(filter, QoS::AtLeastOnce).await;
    c
}

/// The next message, whatever its topic; fails the test if none comes within `WAIT`.
async fn next(c: &mut MqttClient, waiting_for: &str) -> Publish {
    match c.collect(1, WAIT).await.into_iter().next() {
        Some(p) => p,
        None => panic!("nothing within {WAIT:?} while waiting for {waiting_for}"),
    }
}

/// The next message on `topic`, skipping others.
async fn next_on(c: &mut MqttClient, topic: &str) -> Publish {
    loop {
        let p = next(c, topic).await;
        if p.topic == topic {
            return p;
        }
    }
}

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
    while let Some(missing) = wanted.iter().find(|t| !docs.contains_key(**t)) {
        let p = next(ha, missing).await;
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
    let mut ha = client(&b, "ha", "homeassistant/#").await;
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
    let mut state = client(&b, "ha-state", topic).await;
    let online = next_on(&mut state, topic).await;
    assert_eq!(&online.payload[..], b"online");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_is_announced_again_when_home_assistant_comes_online() {
    // No devices at all: the gateway still appears.
    let b = start_gateway(BrokerOptions::default(), "").await;
    let mut ha = client(&b, "ha", "homeassistant/#").await;
    let first = next_on(&mut ha, GATEWAY_CONFIG).await;
    assert!(
        first.retain,
        "retained, for a Home Assistant that connects later"
    );

    ha.publish(BIRTH, QoS::AtLeastOnce, false, "online").await;
    let again = next_on(&mut ha, GATEWAY_CONFIG).await;
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
        let mut c = client(&b, &format!("phone-{topic}"), topic).await;
        next_on(&mut c, topic).await;
    }
    let mut ha = client(&b, "ha", "homeassistant/#").await;
    ha.publish(BIRTH, QoS::AtLeastOnce, false, "online").await;
    let marker = "homeassistant/test-marker";
    ha.publish(marker, QoS::AtLeastOnce, false, "end").await;
    let mut before_marker = Vec::new();
    loop {
        let p = next(&mut ha, marker).await;
        if p.topic == marker {
            break;
        }
        before_marker.push(p.topic);
    }
    assert_eq!(
        before_marker,
        [BIRTH],
        "only Home Assistant's own birth message"
    );
}
