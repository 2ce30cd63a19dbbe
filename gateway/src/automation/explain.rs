//! Why a rule fired, published retained so a phone sees why the purifier is on:
//! `hearth/<gateway>/rules/<rule>/state` (`ON` while any room has it entered, else `OFF`),
//! `.../active` (a JSON list of the entered captures, e.g. `[["Kitchen"]]`) and `.../last`
//! (the last firing: transition, captures, topic, value, reason, actions, time).

use std::time::SystemTime;

use log::warn;
use rules::{Engine, Firing};
use serde_json::json;

use broker::{BrokerHandle, QoS};

pub(super) struct Explainer {
    broker: BrokerHandle,
    gateway_name: String,
    enabled: bool,
}

const SUBTOPICS: [&str; 3] = ["state", "active", "last"];

impl Explainer {
    pub(super) fn new(broker: BrokerHandle, gateway_name: String, enabled: bool) -> Self {
        Self {
            broker,
            gateway_name,
            enabled,
        }
    }

    pub(super) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Publishes why `firing` happened; `engine` tells which captures of its rule are entered.
    pub(super) async fn explain(&self, firing: &Firing, engine: &Engine) {
        if !self.enabled {
            return;
        }
        let active = engine.active_keys(&firing.rule);
        let state = if active.is_empty() { "OFF" } else { "ON" };
        let last = json!({
            "transition": firing.transition.to_string(),
            "captures": firing.captures,
            "topic": firing.topic,
            "value": firing.value,
            "reason": firing.reason,
            "actions": firing.actions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "at": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        });
        self.publish(&firing.rule, "state", state.to_string()).await;
        self.publish(&firing.rule, "active", json!(active).to_string())
            .await;
        self.publish(&firing.rule, "last", last.to_string()).await;
    }

    /// Clears the retained explanations of rules that were removed or changed on reload.
    pub(super) async fn forget(&self, rules: &[String]) {
        for rule in rules {
            for sub in SUBTOPICS {
                self.publish(rule, sub, String::new()).await;
            }
        }
    }

    async fn publish(&self, rule: &str, sub: &str, payload: String) {
        let topic = format!("hearth/{}/rules/{rule}/{sub}", self.gateway_name);
        if let Err(e) = self
            .broker
            .publish(&topic, payload.into_bytes(), QoS::AtMostOnce, true)
            .await
        {
            warn!("rule={rule:?} could not publish its explanation: {e}");
        }
    }
}
