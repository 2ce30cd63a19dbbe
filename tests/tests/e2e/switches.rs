//! Relays as Home Assistant switches: the real daemon announces each actuator by MQTT
//! discovery, and a client reading the documents as Home Assistant does can switch the relay.

use std::path::{Path, PathBuf};

use rumqttc::{Publish, QoS};
use serde_json::Value;
use tests::{
    client, start_gateway, start_gateway_with_state, text, BrokerOptions, MqttClient, TestBroker,
};

const FAN: &str = "\n[[actuator]]\nname = \"bath-fan\"\ntopic = \"Bath/Fan\"\npin = \"sim\"\n";
const LAMP: &str = "\n[[actuator]]\nname = \"hall lamp\"\ntopic = \"Hall/Lamp\"\npin = \"sim\"\n";
const FAN_CONFIG: &str = "homeassistant/switch/hearth_test/bath-fan/config";
const LAMP_CONFIG: &str = "homeassistant/switch/hearth_test/hall_lamp/config";

/// A client standing in for Home Assistant, subscribed to the switches' documents.
async fn home_assistant(b: &TestBroker, id: &str) -> MqttClient {
    client(b, id, Some("homeassistant/switch/#")).await
}

fn parsed(p: &Publish) -> Value {
    serde_json::from_slice(&p.payload)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", p.topic, text(p)))
}

fn field<'a>(doc: &'a Value, key: &str) -> &'a str {
    doc[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {doc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_assistant_finds_the_relay_as_a_switch_and_switches_it() {
    let b = start_gateway(BrokerOptions::default(), FAN).await;
    let mut ha = home_assistant(&b, "ha").await;
    let announced = ha.next().await;
    assert_eq!(
        (announced.topic.as_str(), announced.retain),
        (FAN_CONFIG, true)
    );
    let doc = parsed(&announced);
    assert_eq!(doc["availability"][0]["topic"], "hearth/test/status");

    let mut states = client(&b, "ha-states", Some(field(&doc, "state_topic"))).await;
    assert_eq!(text(&states.next().await), field(&doc, "state_off"));
    states
        .publish(
            field(&doc, "command_topic"),
            QoS::AtLeastOnce,
            false,
            field(&doc, "payload_on"),
        )
        .await;
    assert_eq!(text(&states.next().await), field(&doc, "state_on"));

    // Home Assistant restarted: its birth message brings the document again.
    ha.publish("homeassistant/status", QoS::AtLeastOnce, false, "online")
        .await;
    assert_eq!(ha.next().await.topic, FAN_CONFIG);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_removed_by_a_reload_loses_its_switch() {
    let mut b = start_gateway(BrokerOptions::default(), &format!("{FAN}{LAMP}")).await;
    let mut ha = home_assistant(&b, "ha").await;
    assert_eq!(ha.collect(2).await.len(), 2, "both announced");

    b.reload(FAN).await;
    let cleared = ha.next().await;
    assert_eq!(cleared.topic, LAMP_CONFIG);
    assert!(cleared.payload.is_empty(), "{}", text(&cleared));
    let mut later = home_assistant(&b, "ha-later").await;
    let retained: Vec<String> = later.topics_before_marker().await;
    assert_eq!(
        retained,
        [FAN_CONFIG],
        "only the kept relay is still announced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_removed_between_runs_loses_its_switch_when_home_assistant_comes_online() {
    let state = StateDir::new("hearth-switches");
    let mut first =
        start_gateway_with_state(BrokerOptions::default(), &state.0, &format!("{FAN}{LAMP}")).await;
    let mut ha = home_assistant(&first, "ha").await;
    assert_eq!(ha.collect(2).await.len(), 2, "both announced");
    first.stop().await;

    let second = start_gateway_with_state(BrokerOptions::default(), &state.0, FAN).await;
    let mut ha = home_assistant(&second, "ha").await;
    assert_eq!(ha.next().await.topic, FAN_CONFIG);
    ha.publish("homeassistant/status", QoS::AtLeastOnce, false, "online")
        .await;
    let again = ha.collect(2).await;
    let cleared = again
        .iter()
        .find(|p| p.topic == LAMP_CONFIG)
        .unwrap_or_else(|| panic!("no removal among {again:?}"));
    assert!(cleared.payload.is_empty(), "{}", text(cleared));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_announced_with_discovery_off() {
    let b = start_gateway(
        BrokerOptions::default(),
        &format!("{FAN}\n[homeassistant]\ndiscovery = false\n"),
    )
    .await;
    let mut states = client(&b, "states", Some("Bath/Fan/state")).await;
    assert_eq!(text(&states.next().await), "OFF", "the relay runs");
    let mut ha = client(&b, "ha", Some("homeassistant/#")).await;
    let got = ha.collect_before_marker().await;
    assert!(got.is_empty(), "announced anyway: {got:?}");
}

/// A fresh state directory, removed when the test ends.
struct StateDir(PathBuf);

impl StateDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.0));
    }
}
