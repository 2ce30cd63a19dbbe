//! Rules end to end: ESP8266-like nodes publish readings to the real broker, the gateway's rules
//! switch its (simulated) relays, and a phone-like client sees the retained states change.

use broker::codec::v5::{QoS as V5QoS, SubackReason};
use bytes::Bytes;
use rumqttc::{LastWill, QoS};
use serde_json::Value;
use tests::raw5::{self, Raw5Client};

use super::mosquitto_clients::{run, stdout};
use tests::{
    client, mqtt_options, start_gateway, text, BrokerOptions, MqttClient, TestBroker, GATEWAY_NAME,
};

const PURIFIERS: &str = r#"
[[actuator]]
name = "kitchen-purifier"
topic = "Kitchen/Purifier"
pin = "sim"

[[actuator]]
name = "living-purifier"
topic = "LivingRoom/Purifier"
pin = "sim"
"#;

/// The rule a user writes first, with a `for` short enough for a test.
const CO2_RULE: &str = r#"
[[rule]]
name = "purifier on high co2"
when = "+/AirQuality/co2"
above = 1000
below = 800
for = "300ms"
on_enter = { publish = "{1}/Purifier/set", payload = "ON" }
on_leave = { publish = "{1}/Purifier/set", payload = "OFF" }
"#;

/// A marker for the rules: a message on `marker/<room>/<state>` with the payload `now` makes
/// it command `<room>`'s purifier to `<state>`, the state it already has, once `hold` (the
/// rule's `for`, if any) has passed.
///
/// Its `for` starts after the readings the node sending the marker sent before it, and the
/// engine fires timers in deadline order, so with a `for` at least as long as CO2_RULE's,
/// whatever those readings made CO2_RULE send that purifier was sent before. The relay answers
/// every command, in order, so its answer to the marker comes after its answers to those.
fn marker_rule(hold: Option<&str>) -> String {
    let hold = hold.map_or(String::new(), |d| format!("for = \"{d}\"\n"));
    format!(
        r#"
[[rule]]
name = "marker"
when = "marker/+/+"
equals = "now"
{hold}on_enter = {{ publish = "{{1}}/Purifier/set", payload = "{{2}}" }}
"#
    )
}

/// Asserts the rules switch no purifier on what `node` sent so far: `node` sends the marker of
/// [`marker_rule`], and `room`'s purifier's answer to it, its current `state`, must be the next
/// state `phone` sees.
async fn expect_no_switch_before_marker(
    phone: &mut MqttClient,
    node: &MqttClient,
    room: &str,
    state: &str,
) {
    let marker = format!("marker/{room}/{state}");
    node.publish(&marker, QoS::AtLeastOnce, false, "now").await;
    phone
        .expect_nothing_before(&format!("{room}/Purifier/state"), state)
        .await;
}

async fn gateway(extra: &str) -> TestBroker {
    start_gateway(BrokerOptions::default(), extra).await
}

/// An ESP8266 node as PubSubClient connects: MQTT 3.1.1 with a retained Last Will.
async fn esp_node(b: &TestBroker, id: &str) -> MqttClient {
    let mut opts = mqtt_options(b.addr(), id);
    opts.set_last_will(LastWill::new(
        format!("nodes/{id}/status"),
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    let (c, _) = MqttClient::connect(opts).await;
    c.publish(
        &format!("nodes/{id}/status"),
        QoS::AtLeastOnce,
        true,
        "online",
    )
    .await;
    c
}

/// A CO2 reading from a room's node, as an ESP8266 publishes it (QoS 1).
async fn co2(node: &MqttClient, room: &str, ppm: &str, retain: bool) {
    node.publish(
        &format!("{room}/AirQuality/co2"),
        QoS::AtLeastOnce,
        retain,
        ppm,
    )
    .await;
}

#[tokio::test]
async fn high_co2_switches_that_rooms_purifier_and_not_the_other() {
    let marker = marker_rule(Some("300ms"));
    let b = gateway(&format!("{PURIFIERS}{CO2_RULE}{marker}")).await;
    let mut phone = client(&b, "phone", Some("+/Purifier/state")).await;
    // Both relays start off, retained, so the phone sees them at once.
    let start: Vec<(String, String)> = phone
        .collect(2)
        .await
        .iter()
        .map(|p| (p.topic.clone(), text(p).to_owned()))
        .collect();
    assert!(start.contains(&("Kitchen/Purifier/state".into(), "OFF".into())));
    assert!(start.contains(&("LivingRoom/Purifier/state".into(), "OFF".into())));

    let kitchen = esp_node(&b, "esp-kitchen").await;
    let living = esp_node(&b, "esp-living").await;
    co2(&kitchen, "Kitchen", "1250", true).await;
    co2(&living, "LivingRoom", "640", true).await;

    phone.expect_on("Kitchen/Purifier/state", "ON").await;
    // The living room's purifier stays off.
    expect_no_switch_before_marker(&mut phone, &living, "LivingRoom", "OFF").await;

    // Inside the hysteresis band nothing changes; below 800 the kitchen's purifier goes off.
    co2(&kitchen, "Kitchen", "900", true).await;
    expect_no_switch_before_marker(&mut phone, &kitchen, "Kitchen", "ON").await;
    co2(&kitchen, "Kitchen", "760", true).await;
    phone.expect_on("Kitchen/Purifier/state", "OFF").await;

    let mut later = client(&b, "phone-later", Some("+/Purifier/state")).await;
    let states: Vec<String> = later
        .collect(2)
        .await
        .iter()
        .map(|p| format!("{}={}", p.topic, text(p)))
        .collect();
    assert!(states.contains(&"Kitchen/Purifier/state=OFF".to_string()));
    assert!(states.contains(&"LivingRoom/Purifier/state=OFF".to_string()));
}

#[tokio::test]
async fn a_reading_that_drops_before_for_elapses_switches_nothing() {
    // A `for` long enough that the two readings always arrive well within it.
    let rule = CO2_RULE.replace("300ms", "2s");
    let marker = marker_rule(Some("2s"));
    let b = gateway(&format!("{PURIFIERS}{rule}{marker}")).await;
    let mut phone = client(&b, "phone", Some("Kitchen/Purifier/state")).await;
    phone.expect_on("Kitchen/Purifier/state", "OFF").await;
    let kitchen = esp_node(&b, "esp-kitchen").await;
    co2(&kitchen, "Kitchen", "1300", false).await;
    co2(&kitchen, "Kitchen", "700", false).await;
    // The marker's 2 s run out after the first reading's: a `for` that was not cancelled would
    // have fired before. The condition stopped holding before 2 s: the `for` was cancelled.
    expect_no_switch_before_marker(&mut phone, &kitchen, "Kitchen", "OFF").await;
}

#[tokio::test]
async fn why_a_rule_fired_is_published_for_phones() {
    let b = gateway(&format!("{PURIFIERS}{CO2_RULE}")).await;
    let base = format!("hearth/{GATEWAY_NAME}/rules/purifier on high co2");
    let mut phone = client(&b, "phone", Some(&format!("{base}/#"))).await;
    let kitchen = esp_node(&b, "esp-kitchen").await;
    co2(&kitchen, "Kitchen", "1250", false).await;
    phone.expect_on(&format!("{base}/state"), "ON").await;
    phone
        .expect_on(&format!("{base}/active"), r#"[["Kitchen"]]"#)
        .await;
    let last = phone.next_on(&format!("{base}/last")).await;
    let last: Value = serde_json::from_slice(&last.payload).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(last["transition"], "enter");
    assert_eq!(last["captures"][0], "Kitchen");
    assert_eq!(last["topic"], "Kitchen/AirQuality/co2");
    assert_eq!(last["value"], "1250");
    let reason = last["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("1000"), "the threshold is named: {reason}");
    let action = last["actions"][0].as_str().unwrap_or_default();
    assert!(action.contains("Kitchen/Purifier/set"), "{action}");

    // Retained: a phone opening its app later sees why at once.
    let mut later = client(&b, "phone-later", Some(&format!("{base}/state"))).await;
    let state = later.expect_on(&format!("{base}/state"), "ON").await;
    assert!(state.retain);
}

#[tokio::test]
async fn a_phone_toggles_a_relay_through_its_set_topic() {
    let b = gateway(PURIFIERS).await;
    let mut phone = client(&b, "phone", Some("LivingRoom/Purifier/state")).await;
    phone.expect_on("LivingRoom/Purifier/state", "OFF").await;
    for want in ["ON", "OFF", "ON"] {
        phone
            .publish("LivingRoom/Purifier/set", QoS::AtLeastOnce, false, "TOGGLE")
            .await;
        phone.expect_on("LivingRoom/Purifier/state", want).await;
    }
    phone
        .publish("LivingRoom/Purifier/set", QoS::AtLeastOnce, false, "off")
        .await;
    phone.expect_on("LivingRoom/Purifier/state", "OFF").await;
}

#[tokio::test]
async fn a_rule_switches_an_actuator_by_name_when_a_door_opens() {
    let rule = r#"
[[actuator]]
name = "hall-light"
topic = "Hall/Light"
pin = "sim"

[[rule]]
name = "hall light when the door opens"
when = "Hall/Door/state"
equals = "open"
on_enter = { actuator = "hall-light", set = "ON" }
on_leave = [{ actuator = "hall-light", set = "OFF" }, { log = "door closed after {value}" }]
"#;
    let b = gateway(rule).await;
    let mut phone = client(&b, "phone", Some("Hall/Light/state")).await;
    phone.expect_on("Hall/Light/state", "OFF").await;
    let door = esp_node(&b, "esp-hall").await;
    door.publish("Hall/Door/state", QoS::AtMostOnce, false, "open")
        .await;
    phone.expect_on("Hall/Light/state", "ON").await;
    door.publish("Hall/Door/state", QoS::AtMostOnce, false, "closed")
        .await;
    phone.expect_on("Hall/Light/state", "OFF").await;
}

#[tokio::test]
async fn a_node_whose_will_says_offline_fires_a_staleness_rule() {
    let rule = r#"
[[rule]]
name = "node gone"
when = "nodes/+/status"
silent_for = "1h"
on_enter = { publish = "alerts/{1}", payload = "{1} is offline", qos = 1 }
"#;
    let b = gateway(rule).await;
    let mut phone = client(&b, "phone", Some("alerts/#")).await;
    let node = esp_node(&b, "esp-attic").await;
    // The node's Wi-Fi drops: its socket dies without DISCONNECT and the broker sends its will.
    drop(node);
    phone
        .expect_on("alerts/esp-attic", "esp-attic is offline")
        .await;
}

#[tokio::test]
async fn reload_keeps_a_pending_for_of_an_unchanged_rule() {
    let slow_rule = CO2_RULE.replace("300ms", "1500ms");
    let marker = marker_rule(None);
    let mut b = gateway(&format!("{PURIFIERS}{slow_rule}{marker}")).await;
    let mut phone = client(&b, "phone", Some("Kitchen/Purifier/state")).await;
    phone.expect_on("Kitchen/Purifier/state", "OFF").await;
    let kitchen = esp_node(&b, "esp-kitchen").await;
    co2(&kitchen, "Kitchen", "1250", false).await;
    // The reading has reached the rule (its `for` is now pending) once the marker, sent after
    // it, has; nothing switched meanwhile. Then reload with a new rule, and without the marker.
    expect_no_switch_before_marker(&mut phone, &kitchen, "Kitchen", "OFF").await;
    let extra_rule = r#"
[[rule]]
name = "door"
when = "Hall/Door/state"
equals = "open"
on_enter = { log = "door open" }
"#;
    let summary = b
        .reload(&format!("{PURIFIERS}{slow_rule}{extra_rule}"))
        .await;
    assert_eq!(summary.kept, vec!["purifier on high co2".to_string()]);
    assert_eq!(summary.added, vec!["door".to_string()]);
    // No new reading arrives: only the kept pending `for` can switch the purifier on.
    phone.expect_on("Kitchen/Purifier/state", "ON").await;
    // The node stayed connected through the reload.
    co2(&kitchen, "Kitchen", "700", false).await;
    phone.expect_on("Kitchen/Purifier/state", "OFF").await;
}

#[tokio::test]
async fn reload_restarts_a_changed_rule() {
    let mut b = gateway(&format!("{PURIFIERS}{CO2_RULE}")).await;
    let mut phone = client(&b, "phone", Some("Kitchen/Purifier/state")).await;
    phone.expect_on("Kitchen/Purifier/state", "OFF").await;
    let kitchen = esp_node(&b, "esp-kitchen").await;
    co2(&kitchen, "Kitchen", "1250", false).await;
    phone.expect_on("Kitchen/Purifier/state", "ON").await;
    // A stricter threshold is a different rule: its state starts afresh, so the same reading
    // (not above 1300) does not enter it, and nothing fires.
    let stricter = CO2_RULE.replace("above = 1000", "above = 1300");
    let summary = b.reload(&format!("{PURIFIERS}{stricter}")).await;
    assert_eq!(summary.changed, vec!["purifier on high co2".to_string()]);
    co2(&kitchen, "Kitchen", "1400", false).await;
    // Entering again publishes ON again (the relay confirms every command).
    phone.expect_on("Kitchen/Purifier/state", "ON").await;
}

#[tokio::test]
async fn a_rule_that_triggers_itself_is_held_back_and_the_broker_carries_on() {
    // Entering publishes what makes it leave, and leaving what makes it enter: a loop.
    let rule = r#"
[[rule]]
name = "ping pong"
when = "loop/x"
equals = "a"
on_enter = { publish = "loop/x", payload = "b" }
on_leave = { publish = "loop/x", payload = "a" }
"#;
    // A message on `marker/<n>` makes it publish `<n>` on `loop/marker`.
    let marker = r#"
[[rule]]
name = "marker"
when = "marker/+"
equals = "now"
on_enter = { publish = "loop/marker", payload = "{1}" }
"#;
    let b = gateway(&format!("{rule}{marker}")).await;
    let mut watcher = client(&b, "watcher", Some("loop/x")).await;
    watcher.subscribe("loop/marker", QoS::AtLeastOnce).await;
    watcher
        .publish("loop/x", QoS::AtLeastOnce, false, "a")
        .await;
    // The rules take messages in the order the broker routes them, and publish what they
    // decide before taking the next. A marker sent once the previous one came back is taken
    // after every loop message that came before that one, so whatever those made the rule
    // publish arrives before this marker's answer. A round without loop messages: nothing was
    // left to go on, the loop has stopped.
    let mut seen = Vec::new();
    for round in 1.. {
        let round = round.to_string();
        watcher
            .publish(&format!("marker/{round}"), QoS::AtLeastOnce, false, "now")
            .await;
        let before = watcher.collect_before("loop/marker", &round).await;
        if before.is_empty() {
            break;
        }
        seen.extend(before);
        assert!(seen.len() < 100, "the loop ran on: {} times", seen.len());
    }
    assert!(
        seen.len() > 10 && seen.len() < 100,
        "the loop ran {} times before it was held back",
        seen.len()
    );
    // The broker still serves everyone else.
    let mut phone = client(&b, "phone", Some("other/topic")).await;
    phone
        .publish("other/topic", QoS::AtLeastOnce, false, "hi")
        .await;
    phone.expect_on("other/topic", "hi").await;
}

/// A request/response rule: a cold room asks its MQTT 5 thermostat for its schedule and names
/// where the answer goes and what to tag it with.
const ASK_THERMOSTAT: &str = r#"
[[rule]]
name = "ask a cold room's thermostat"
when = "+/Climate/temperature"
below = 17
on_enter = { publish = "{1}/Thermostat/get", payload = "schedule", response_topic = "hearth/replies/{1}/Thermostat", correlation_data = "{1}-{value}", message_expiry = "10m", content_type = "text/plain", user_properties = { source = "hearth", room = "{1}" } }
"#;

#[tokio::test]
async fn a_rule_asks_an_mqtt5_device_where_to_answer_and_a_311_client_gets_the_message_alone() {
    let b = gateway(ASK_THERMOSTAT).await;
    let (mut thermostat, _) = Raw5Client::connect(b.addr(), "thermostat-kitchen").await;
    assert_eq!(
        thermostat
            .subscribe("Kitchen/Thermostat/get", V5QoS::AtLeastOnce)
            .await,
        SubackReason::GrantedQos1
    );
    let explain = format!("hearth/{GATEWAY_NAME}/rules/ask a cold room's thermostat/last");
    let mut phone = client(&b, "phone", Some("Kitchen/Thermostat/get")).await;
    phone.subscribe(&explain, QoS::AtLeastOnce).await;

    let node = client(&b, "esp-kitchen", None).await;
    node.publish(
        "Kitchen/Climate/temperature",
        QoS::AtLeastOnce,
        false,
        "16.5",
    )
    .await;

    let asked = thermostat.next_on("Kitchen/Thermostat/get").await;
    assert_eq!(raw5::text(&asked), "schedule");
    assert_eq!(asked.qos, V5QoS::AtLeastOnce);
    let p = &asked.properties;
    assert_eq!(
        p.response_topic.as_deref(),
        Some("hearth/replies/Kitchen/Thermostat")
    );
    assert_eq!(
        p.correlation_data,
        Some(Bytes::from_static(b"Kitchen-16.5"))
    );
    assert_eq!(p.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        p.user_properties,
        [
            ("source".to_string(), "hearth".to_string()),
            ("room".to_string(), "Kitchen".to_string()),
        ]
    );
    let expiry = p
        .message_expiry_interval
        .expect("a Message Expiry Interval");
    assert!((1..=600).contains(&expiry), "{expiry} s left of 10m");

    // The same message, topic and payload, reaches an MQTT 3.1.1 client without properties
    // (a property in its PUBLISH would have been read as part of the payload).
    let plain = phone.next_on("Kitchen/Thermostat/get").await;
    assert_eq!(text(&plain), "schedule");
    assert_eq!(plain.qos, QoS::AtLeastOnce);

    // Why the rule fired says what it sent, properties included.
    let last = phone.next_on(&explain).await;
    let last: Value = serde_json::from_slice(&last.payload).unwrap_or_else(|e| panic!("{e}"));
    let action = last["actions"][0].as_str().unwrap_or_default();
    assert!(
        action.contains("response topic hearth/replies/Kitchen/Thermostat"),
        "{action}"
    );
    assert!(action.contains("expires after 10m"), "{action}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_rule_message_keeps_its_properties_for_mosquitto_sub() {
    let rule = ASK_THERMOSTAT.replace(
        "payload = \"schedule\",",
        "payload = \"schedule\", retain = true,",
    );
    assert_ne!(rule, ASK_THERMOSTAT, "the rule is retained");
    let b = gateway(&rule).await;
    let mut phone = client(&b, "phone", Some("Kitchen/Thermostat/get")).await;
    let node = client(&b, "esp-kitchen", None).await;
    node.publish(
        "Kitchen/Climate/temperature",
        QoS::AtLeastOnce,
        false,
        "16.5",
    )
    .await;
    // Once the phone has it, the message is retained: mosquitto_sub gets it on subscribing.
    phone.expect_on("Kitchen/Thermostat/get", "schedule").await;

    let format = "%t %p|%R|%D|%C|%P|%E";
    let args = ["-t", "+/Thermostat/get", "-C", "1", "-q", "1", "-F", format];
    let v5 = run(
        "mosquitto_sub",
        b.addr(),
        &[&["-V", "mqttv5"], &args[..]].concat(),
    )
    .await;
    let line = stdout(&v5);
    let fields: Vec<&str> = line.trim().split('|').collect();
    let [head, response, correlation, content_type, user, expiry] = fields[..] else {
        panic!("unexpected output {line:?}");
    };
    assert_eq!(head, "Kitchen/Thermostat/get schedule");
    assert_eq!(response, "hearth/replies/Kitchen/Thermostat");
    assert_eq!(correlation, "Kitchen-16.5");
    assert_eq!(content_type, "text/plain");
    assert_eq!(user, "source:hearth room:Kitchen");
    let left: u32 = expiry.parse().unwrap_or_else(|e| panic!("{expiry:?}: {e}"));
    assert!((1..=600).contains(&left), "{left} s left of 10m");

    let v311 = run(
        "mosquitto_sub",
        b.addr(),
        &[&["-V", "mqttv311"], &args[..]].concat(),
    )
    .await;
    assert_eq!(stdout(&v311).trim(), "Kitchen/Thermostat/get schedule|||||");
}
