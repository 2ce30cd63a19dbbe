//! The gateway's own topics over real sockets: its status, `$SYS`, a relay's state and its Home
//! Assistant discovery documents cannot be written by network clients unless a rule names them,
//! so what the gateway retained there stays what new subscribers get.

use std::collections::BTreeMap;

use tests::{
    client as mqtt_client, start_gateway, text, BrokerOptions, Connect, RawClient, TestBroker,
    Will, GATEWAY_STATUS_TOPIC,
};

use super::{allow, bare, broker, client, EVERYONE, MARKERS};

/// A simulated relay: its state topic is the gateway's to publish.
const FAN: &str = "\n[[actuator]]\nname = \"bath-fan\"\ntopic = \"Bath/Fan\"\npin = \"sim\"\n";
const FAN_STATE: &str = "Bath/Fan/state";
const FAN_SET: &str = "Bath/Fan/set";
const FAN_DISCOVERY: &str = "homeassistant/switch/hearth_test/bath-fan/config";
const SYS_VERSION: &str = "$SYS/broker/version";

/// The topics a spoofer would like to set.
const PROTECTED: [&str; 4] = [GATEWAY_STATUS_TOPIC, FAN_STATE, FAN_DISCOVERY, SYS_VERSION];

/// What a client subscribing now is handed on each protected topic: the retained values.
async fn retained(b: &TestBroker, id: &str) -> BTreeMap<String, String> {
    let mut c = mqtt_client(b, id, None).await;
    for topic in PROTECTED {
        c.subscribe(topic, rumqttc::QoS::AtLeastOnce).await;
    }
    c.collect(PROTECTED.len())
        .await
        .iter()
        .map(|p| {
            assert!(p.retain, "{} is retained", p.topic);
            (p.topic.clone(), text(p).to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_clients_cannot_overwrite_the_status_sys_a_relays_state_or_its_discovery() {
    let b = start_gateway(BrokerOptions::default(), FAN).await;
    let before = retained(&b, "before").await;
    assert_eq!(before.len(), PROTECTED.len(), "{before:?}");
    assert_eq!(before[FAN_STATE], "OFF");
    let mut watcher = mqtt_client(&b, "watcher", None).await;
    for topic in PROTECTED {
        watcher.subscribe(topic, rumqttc::QoS::AtLeastOnce).await;
    }
    watcher.collect(PROTECTED.len()).await;

    // No rules and no users: anyone on this listener may publish anything else.
    let mut spoofer = RawClient::connect(b.addr(), "spoofer").await;
    for (topic, payload) in [
        (GATEWAY_STATUS_TOPIC, "offline"),
        (FAN_STATE, "ON"),
        // An empty retained message would delete the switch from Home Assistant.
        (FAN_DISCOVERY, ""),
        (SYS_VERSION, "mosquitto 1.4"),
    ] {
        for qos in [1, 2] {
            spoofer.publish(topic, payload, qos, true).await;
        }
    }
    watcher.expect_nothing_before_marker().await;
    assert_eq!(retained(&b, "after").await, before);

    // Commanding the relay is not protected: its state then changes, as the gateway says.
    spoofer.publish(FAN_SET, "ON", 1, false).await;
    watcher.expect_on(FAN_STATE, "ON").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_allow_rule_naming_hearth_opens_the_gateways_topics_and_a_blanket_one_does_not()
{
    let rules = format!(
        "{MARKERS}{}{}",
        allow(&client("admin"), "write", "hearth/#"),
        allow(EVERYONE, "readwrite", "#"),
    );
    let b = broker(BrokerOptions::default(), &rules).await;
    let mut watcher = mqtt_client(&b, "watcher", Some("hearth/#")).await;
    watcher.expect_on(GATEWAY_STATUS_TOPIC, "online").await;

    let mut phone = RawClient::connect(b.addr(), "phone").await;
    phone
        .publish(GATEWAY_STATUS_TOPIC, "offline", 1, true)
        .await;
    watcher.expect_nothing_before_marker().await;

    let mut admin = RawClient::connect(b.addr(), "admin").await;
    admin
        .publish(GATEWAY_STATUS_TOPIC, "maintenance", 1, true)
        .await;
    watcher.expect_on(GATEWAY_STATUS_TOPIC, "maintenance").await;
    let mut later = mqtt_client(&b, "later", Some(GATEWAY_STATUS_TOPIC)).await;
    later.expect_on(GATEWAY_STATUS_TOPIC, "maintenance").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_will_on_a_protected_topic_gets_connack_5_and_the_gateways_values_stay() {
    let b = start_gateway(BrokerOptions::default(), FAN).await;
    let before = retained(&b, "before").await;
    for topic in PROTECTED {
        let connect = Connect::new("esp-bath").will(Will::new(topic, "offline", 1, true));
        assert_eq!(RawClient::refused(b.addr(), &connect).await, 5, "{topic}");
    }
    // A will on the node's own topic is fine, and goes out when the node drops.
    let connect = Connect::new("esp-bath").will(Will::new("Bath/Node/status", "offline", 1, true));
    let (node, _) = RawClient::connect_with(b.addr(), &connect).await;
    node.reset();
    let mut later = mqtt_client(&b, "later", Some("Bath/Node/status")).await;
    later.expect_on("Bath/Node/status", "offline").await;
    assert_eq!(retained(&b, "after").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relays_state_stays_protected_after_a_reload_adds_rules() {
    let b_extra = |rules: &str| format!("{FAN}{}", bare(rules));
    let mut b = start_gateway(BrokerOptions::default(), &b_extra("")).await;
    let rules = format!("{MARKERS}{}", allow(EVERYONE, "readwrite", "#"));
    b.reload(&b_extra(&rules)).await;
    let mut watcher = mqtt_client(&b, "watcher", Some(FAN_STATE)).await;
    watcher.expect_on(FAN_STATE, "OFF").await;
    let mut spoofer = RawClient::connect(b.addr(), "spoofer").await;
    spoofer.publish(FAN_STATE, "ON", 1, true).await;
    watcher.expect_nothing_before_marker().await;
}
