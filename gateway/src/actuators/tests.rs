//! The actuator runtime against the real in-process broker, on tokio's paused clock where
//! timers matter (the clock jumps ahead whenever every task is waiting).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::timeout;

use super::*;
use crate::sensors::settings::Pin;
use broker::{Broker, BrokerSettings, ListenerSettings, QoS, Subscription};

async fn broker() -> Broker {
    let settings = BrokerSettings {
        listeners: vec![ListenerSettings::tcp(SocketAddr::from(([127, 0, 0, 1], 0)))],
        sys_interval: Duration::ZERO,
        ..BrokerSettings::default()
    };
    Broker::start(settings).await.expect("broker starts")
}

/// An active-low simulated relay that starts and rests off.
fn relay(name: &str) -> ActuatorSettings {
    ActuatorSettings {
        name: name.into(),
        topic: format!("Test/{name}"),
        pin: Pin::Sim,
        active_low: true,
        initial: Switch::Off,
        safe: Switch::Off,
        auto_off: None,
    }
}

async fn watch_state(broker: &Broker, name: &str) -> Subscription {
    broker
        .handle()
        .subscribe(&format!("Test/{name}/state"), QoS::AtLeastOnce)
        .await
        .expect("subscribe")
}

/// The next state published, if one comes within `within`.
async fn next_state(states: &mut Subscription, within: Duration) -> Option<String> {
    let message = timeout(within, states.recv()).await.ok()??;
    Some(String::from_utf8_lossy(&message.payload).into_owned())
}

const WAIT: Duration = Duration::from_secs(5);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-actuators-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(start_paused = true)]
async fn auto_off_fires_after_the_last_on_and_not_after_an_off() {
    let b = broker().await;
    let fan = ActuatorSettings {
        auto_off: Some(Duration::from_secs(60)),
        ..relay("fan")
    };
    let actuators = Actuators::start(&[fan], None, b.handle(), None)
        .await
        .unwrap();
    let h = actuators.handle();
    let mut states = watch_state(&b, "fan").await;
    assert_eq!(next_state(&mut states, WAIT).await.as_deref(), Some("OFF"));

    h.command("fan", Command::On).await.unwrap();
    assert_eq!(next_state(&mut states, WAIT).await.as_deref(), Some("ON"));
    assert_eq!(next_state(&mut states, Duration::from_secs(40)).await, None);
    // A repeated ON restarts the timer: nothing at 60 s after the first.
    h.command("fan", Command::On).await.unwrap();
    assert_eq!(next_state(&mut states, WAIT).await.as_deref(), Some("ON"));
    assert_eq!(next_state(&mut states, Duration::from_secs(59)).await, None);
    assert_eq!(
        next_state(&mut states, Duration::from_secs(2))
            .await
            .as_deref(),
        Some("OFF")
    );
    assert_eq!(h.state("fan"), Some(Switch::Off));
    assert_eq!(h.sim_level("fan"), Some(true), "active low: off is high");

    // Switched off early, the timer is disarmed.
    h.command("fan", Command::On).await.unwrap();
    h.command("fan", Command::Off).await.unwrap();
    assert_eq!(next_state(&mut states, WAIT).await.as_deref(), Some("ON"));
    assert_eq!(next_state(&mut states, WAIT).await.as_deref(), Some("OFF"));
    assert_eq!(
        next_state(&mut states, Duration::from_secs(600)).await,
        None
    );
    actuators.stop().await;
}

#[tokio::test]
async fn commands_switch_the_pin_and_report_the_new_state() {
    let b = broker().await;
    let lamp = ActuatorSettings {
        active_low: false,
        ..relay("lamp")
    };
    let actuators = Actuators::start(&[lamp], None, b.handle(), None)
        .await
        .unwrap();
    let h = actuators.handle();
    assert_eq!(h.sim_level("lamp"), Some(false));
    assert_eq!(h.command("lamp", Command::Toggle).await, Ok(Switch::On));
    assert_eq!(h.sim_level("lamp"), Some(true));
    assert_eq!(h.command("lamp", Command::On).await, Ok(Switch::On));
    assert_eq!(h.command("lamp", Command::Toggle).await, Ok(Switch::Off));
    assert_eq!(h.sim_level("lamp"), Some(false));
    assert_eq!(
        h.command("nope", Command::On).await,
        Err(ActuatorError::Unknown {
            name: "nope".into()
        })
    );
    actuators.stop().await;
    assert_eq!(
        h.command("lamp", Command::On).await,
        Err(ActuatorError::Stopped)
    );
}

#[tokio::test]
async fn a_start_after_a_crash_uses_the_safe_state() {
    let b = broker().await;
    let dir = scratch("crash");
    let heater = ActuatorSettings {
        initial: Switch::On,
        safe: Switch::Off,
        ..relay("heater")
    };
    let settings = [heater];

    let first = Actuators::start(&settings, Some(&dir), b.handle(), None)
        .await
        .unwrap();
    assert_eq!(first.handle().state("heater"), Some(Switch::On));
    // The process dies: no stop, the marker stays.
    drop(first);

    let second = Actuators::start(&settings, Some(&dir), b.handle(), None)
        .await
        .unwrap();
    assert_eq!(second.handle().state("heater"), Some(Switch::Off));
    second.stop().await;

    let third = Actuators::start(&settings, Some(&dir), b.handle(), None)
        .await
        .unwrap();
    assert_eq!(
        third.handle().state("heater"),
        Some(Switch::On),
        "after a clean stop the initial state is used again"
    );
    third.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_retires_removed_and_starts_changed_and_new() {
    let b = broker().await;
    let kept = ActuatorSettings {
        auto_off: Some(Duration::from_secs(60)),
        ..relay("kept")
    };
    let removed = ActuatorSettings {
        safe: Switch::Off,
        ..relay("removed")
    };
    let changed = relay("changed");
    let mut actuators = Actuators::start(
        &[kept.clone(), removed.clone(), changed.clone()],
        None,
        b.handle(),
        None,
    )
    .await
    .unwrap();
    let h = actuators.handle();
    for name in ["kept", "removed", "changed"] {
        h.command(name, Command::On).await.unwrap();
    }
    let removed_pin = h.sim_pin("removed").unwrap();
    let mut kept_states = watch_state(&b, "kept").await;
    assert_eq!(
        next_state(&mut kept_states, WAIT).await.as_deref(),
        Some("ON")
    );
    assert_eq!(
        next_state(&mut kept_states, Duration::from_secs(30)).await,
        None
    );

    let changed_now = ActuatorSettings {
        topic: "Test/changed-elsewhere".into(),
        ..changed
    };
    let added = ActuatorSettings {
        initial: Switch::On,
        ..relay("added")
    };
    actuators.reload(&[kept, changed_now, added]).await.unwrap();

    assert_eq!(
        h.state("kept"),
        Some(Switch::On),
        "unchanged keeps its state"
    );
    assert_eq!(
        h.state("changed"),
        Some(Switch::Off),
        "changed restarts at initial"
    );
    assert_eq!(h.state("added"), Some(Switch::On), "new starts at initial");
    assert_eq!(h.state("removed"), None);
    assert!(
        removed_pin.is_high(),
        "removed went to its safe state (off, active low)"
    );
    assert_eq!(
        h.command("removed", Command::On).await,
        Err(ActuatorError::Unknown {
            name: "removed".into()
        })
    );
    // The kept actuator's timer ran on: it fires 60 s after its ON, 30 s from now.
    assert_eq!(
        next_state(&mut kept_states, Duration::from_secs(31))
            .await
            .as_deref(),
        Some("OFF")
    );
    actuators.stop().await;
}

#[tokio::test]
async fn a_pin_that_cannot_be_claimed_fails_its_own_commands_only() {
    let b = broker().await;
    let broken = ActuatorSettings {
        // No GPIO99 on any Pi (and no GPIO at all on a build machine).
        pin: Pin::Bcm(99),
        ..relay("broken")
    };
    let actuators = Actuators::start(&[broken, relay("fine")], None, b.handle(), None)
        .await
        .unwrap();
    let h = actuators.handle();
    let Err(ActuatorError::Pin { name, reason }) = h.command("broken", Command::On).await else {
        panic!("a command to an unclaimed pin succeeded");
    };
    assert_eq!(name, "broken");
    assert!(reason.contains("GPIO99"), "{reason}");
    assert_eq!(h.state("broken"), None);
    assert_eq!(h.command("fine", Command::On).await, Ok(Switch::On));
    actuators.stop().await;
}

#[tokio::test]
async fn stop_drives_and_publishes_the_safe_state() {
    let b = broker().await;
    let pump = ActuatorSettings {
        safe: Switch::Off,
        ..relay("pump")
    };
    let actuators = Actuators::start(&[pump], None, b.handle(), None)
        .await
        .unwrap();
    let h = actuators.handle();
    h.command("pump", Command::On).await.unwrap();
    assert_eq!(h.sim_level("pump"), Some(false));
    actuators.stop().await;
    assert_eq!(h.sim_level("pump"), Some(true));
    assert_eq!(h.state("pump"), Some(Switch::Off));
    let mut later = watch_state(&b, "pump").await;
    assert_eq!(next_state(&mut later, WAIT).await.as_deref(), Some("OFF"));
}

#[tokio::test]
async fn duplicate_names_are_refused() {
    let b = broker().await;
    let Err(e) = Actuators::start(&[relay("a"), relay("a")], None, b.handle(), None).await else {
        panic!("two actuators named a started");
    };
    assert!(e.to_string().contains("\"a\" is used twice"), "{e}");
}
