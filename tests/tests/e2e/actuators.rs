//! Actuators end to end: the real broker on 127.0.0.1:0, actuators started on it as the daemon
//! does, and phone-like rumqttc clients commanding a simulated relay.

use gateway::actuators::{ActuatorSettings, Actuators, Switch};
use gateway::sensors::settings::Pin;
use rumqttc::QoS;
use tests::{client, start_broker, text, BrokerOptions, TestBroker};

const SET: &str = "Kitchen/Purifier/set";
const STATE: &str = "Kitchen/Purifier/state";

/// An active-low relay board: the pin is low while the purifier runs.
fn purifier() -> ActuatorSettings {
    ActuatorSettings {
        name: "kitchen-purifier".into(),
        topic: "Kitchen/Purifier".into(),
        pin: Pin::Sim,
        active_low: true,
        initial: Switch::Off,
        safe: Switch::Off,
        auto_off: None,
    }
}

/// What a client connecting now receives on `STATE`: the retained state, flagged as such.
async fn retained_state(b: &TestBroker, id: &str) -> (String, bool) {
    let mut c = client(b, id, Some(STATE)).await;
    let p = c.next().await;
    (text(&p).to_owned(), p.retain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_switches_the_purifier_and_sees_its_state() {
    let b = start_broker(BrokerOptions::default()).await;
    let actuators = Actuators::start(&[purifier()], None, b.handle(), None)
        .await
        .unwrap_or_else(|e| panic!("actuators did not start: {e:#}"));
    let pin = |a: &Actuators| a.sim_level("kitchen-purifier");
    assert_eq!(
        pin(&actuators),
        Some(true),
        "off: an active-low input idles high"
    );

    let mut phone = client(&b, "phone", Some(STATE)).await;
    let first = phone.next().await;
    assert_eq!((text(&first), first.retain), ("OFF", true));

    phone.publish(SET, QoS::AtLeastOnce, false, "ON").await;
    assert_eq!(text(&phone.next().await), "ON");
    assert_eq!(pin(&actuators), Some(false));
    assert_eq!(
        retained_state(&b, "later-1").await,
        ("ON".into(), true),
        "a client connecting later sees the state at once"
    );

    phone.publish(SET, QoS::AtLeastOnce, false, "TOGGLE").await;
    assert_eq!(text(&phone.next().await), "OFF");
    assert_eq!(pin(&actuators), Some(true));

    // A repeated command is confirmed too, so an app sees its ON acknowledged.
    phone.publish(SET, QoS::AtLeastOnce, false, "off").await;
    assert_eq!(text(&phone.next().await), "OFF");

    // Garbage is dropped: the next state published is the answer to the ON after it.
    phone.publish(SET, QoS::AtLeastOnce, false, "dance!").await;
    phone.publish(SET, QoS::AtLeastOnce, false, "").await;
    phone.publish(SET, QoS::AtLeastOnce, false, "ON").await;
    assert_eq!(text(&phone.next().await), "ON");
    assert_eq!(pin(&actuators), Some(false));

    // Home Assistant users often publish commands retained: live, they still count.
    phone.publish(SET, QoS::AtLeastOnce, true, "OFF").await;
    assert_eq!(text(&phone.next().await), "OFF");
    phone.publish(SET, QoS::AtLeastOnce, true, "").await;

    phone.publish(SET, QoS::AtLeastOnce, false, "ON").await;
    assert_eq!(text(&phone.next().await), "ON");
    actuators.stop().await;
    assert_eq!(
        text(&phone.next().await),
        "OFF",
        "stop publishes the safe state"
    );
    assert_eq!(retained_state(&b, "later-2").await, ("OFF".into(), true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_leaves_the_relay_in_its_safe_state() {
    let b = start_broker(BrokerOptions::default()).await;
    let settings = ActuatorSettings {
        initial: Switch::On,
        safe: Switch::Off,
        ..purifier()
    };
    let actuators = Actuators::start(&[settings], None, b.handle(), None)
        .await
        .unwrap_or_else(|e| panic!("actuators did not start: {e:#}"));
    let handle = actuators.handle();
    assert_eq!(
        handle.sim_level("kitchen-purifier"),
        Some(false),
        "starts on"
    );
    actuators.stop().await;
    assert_eq!(
        handle.sim_level("kitchen-purifier"),
        Some(true),
        "safe: off"
    );
    assert_eq!(retained_state(&b, "later").await, ("OFF".into(), true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_command_waiting_at_start_is_not_applied() {
    let b = start_broker(BrokerOptions::default()).await;
    // Left behind by an app that published ON retained, long before this start.
    // The broker stores a retained message before routing it, so once a subscriber has it
    // live, it is stored; a later subscriber shows it is.
    let mut probe = client(&b, "probe", Some(SET)).await;
    let stale = client(&b, "stale-app", None).await;
    stale.publish(SET, QoS::AtLeastOnce, true, "ON").await;
    assert_eq!(text(&probe.next().await), "ON");
    let mut late_probe = client(&b, "late-probe", Some(SET)).await;
    let stored = late_probe.next().await;
    assert_eq!(
        (text(&stored), stored.retain),
        ("ON", true),
        "the broker kept it"
    );

    // Subscribed before the start, the phone sees every state in order: the start state, then
    // the answer to each command. Had the stale ON been applied, its ON would come in between.
    let mut phone = client(&b, "phone", Some(STATE)).await;
    let actuators = Actuators::start(&[purifier()], None, b.handle(), None)
        .await
        .unwrap_or_else(|e| panic!("actuators did not start: {e:#}"));
    assert_eq!(text(&phone.next().await), "OFF");
    phone.publish(SET, QoS::AtLeastOnce, false, "OFF").await;
    assert_eq!(text(&phone.next().await), "OFF");
    assert_eq!(actuators.sim_level("kitchen-purifier"), Some(true));
    actuators.stop().await;
}
