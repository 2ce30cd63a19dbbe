//! Turns reads into MQTT messages: readings through their publish policy, availability on
//! `<topic>/status` (offline after repeated failures, online again on the next good read).

use std::time::{Instant, SystemTime};

use drivers::{InputPayload, Quantity, SensorError};
use log::{debug, info, warn};

use super::inputs::InputChange;
use super::payload;
use super::policy::QuantityPolicy;
use super::settings::{Device, SensorSettings};
use super::worker::Sample;
use crate::status::{OFFLINE, ONLINE};
use broker::{BrokerHandle, QoS};

/// Consecutive failed reads before a sensor is reported unavailable: one glitch on the bus is
/// retried quietly; a device that keeps failing is shown as gone.
pub const FAILURES_BEFORE_OFFLINE: u32 = 3;

pub fn status_topic(base: &str) -> String {
    format!("{base}/status")
}

pub fn reading_topic(base: &str, q: Quantity) -> String {
    format!("{base}/{}", q.topic_suffix())
}

/// Where a GPIO input publishes its state.
pub fn input_state_topic(base: &str) -> String {
    format!("{base}/state")
}

struct SensorState {
    settings: SensorSettings,
    policies: Vec<(Quantity, QuantityPolicy)>,
    online: Option<bool>,
    failures: u32,
    /// Last published state of an input, and when, for its heartbeat.
    input: Option<(bool, Instant)>,
}

pub struct Publisher {
    sensors: Vec<SensorState>,
    broker: BrokerHandle,
}

impl Publisher {
    pub fn new(sensors: &[SensorSettings], broker: BrokerHandle) -> Self {
        let sensors = sensors
            .iter()
            .map(|s| SensorState {
                settings: s.clone(),
                policies: Vec::new(),
                online: None,
                failures: 0,
                input: None,
            })
            .collect();
        Self { sensors, broker }
    }

    async fn publish(&self, topic: &str, payload: String, qos: QoS, retain: bool) {
        if let Err(e) = self.broker.publish(topic, payload, qos, retain).await {
            warn!("cannot publish topic={topic}: {e}");
        }
    }

    async fn set_online(&mut self, index: usize, online: bool) {
        let Some(s) = self.sensors.get_mut(index) else {
            return;
        };
        if s.online == Some(online) {
            return;
        }
        s.online = Some(online);
        let topic = status_topic(&s.settings.topic);
        let payload = if online { ONLINE } else { OFFLINE };
        self.publish(&topic, payload.into(), QoS::AtLeastOnce, true)
            .await;
    }

    pub async fn on_sample(&mut self, sample: Sample) {
        let index = sample.sensor;
        match sample.result {
            Ok(measurements) => {
                self.recovered(index).await;
                for m in measurements {
                    self.on_measurement(index, m.quantity, m.value, sample.at, sample.wall)
                        .await;
                }
            }
            Err(e) => self.failed(index, e).await,
        }
    }

    async fn on_measurement(
        &mut self,
        index: usize,
        q: Quantity,
        value: f64,
        at: Instant,
        wall: SystemTime,
    ) {
        let Some(s) = self.sensors.get_mut(index) else {
            return;
        };
        let publish = &s.settings.publish;
        let policy = match s.policies.iter_mut().position(|(k, _)| *k == q) {
            Some(i) => &mut s.policies[i].1,
            None => {
                s.policies.push((q, QuantityPolicy::new(q, publish)));
                let last = s.policies.len() - 1;
                &mut s.policies[last].1
            }
        };
        let Some(v) = policy.on_sample(at, value) else {
            return;
        };
        let text = payload::reading(publish.format, q, v, policy.decimals(), wall);
        let (topic, qos, retain) = (
            reading_topic(&s.settings.topic, q),
            publish.qos,
            publish.retain,
        );
        self.publish(&topic, text, qos, retain).await;
    }

    async fn recovered(&mut self, index: usize) {
        let Some(s) = self.sensors.get_mut(index) else {
            return;
        };
        if s.online == Some(false) {
            let name = s.settings.name.as_str();
            info!(sensor = name; "sensor back online sensor={name}");
        }
        s.failures = 0;
        self.set_online(index, true).await;
    }

    async fn failed(&mut self, index: usize, e: SensorError) {
        let Some(s) = self.sensors.get_mut(index) else {
            return;
        };
        s.failures = s.failures.saturating_add(1);
        let (name, driver) = (&s.settings.name, s.settings.device.driver_name());
        match s.failures {
            1 => warn!(
                sensor = name.as_str();
                "sensor read failed, retrying sensor={name} driver={driver}: {e}"
            ),
            FAILURES_BEFORE_OFFLINE => warn!(
                sensor = name.as_str();
                "sensor unavailable after {FAILURES_BEFORE_OFFLINE} failed reads sensor={name} driver={driver}: {e}"
            ),
            _ => debug!(sensor = name.as_str(); "sensor read failed again sensor={name}: {e}"),
        }
        if s.failures >= FAILURES_BEFORE_OFFLINE {
            self.set_online(index, false).await;
        }
    }

    pub async fn on_input(&mut self, change: InputChange) {
        let index = change.sensor;
        match change.result {
            Ok(active) => {
                self.recovered(index).await;
                self.publish_input(index, active, change.at).await;
            }
            Err(e) => {
                // A pin that cannot be read will not fix itself by retrying.
                if let Some(s) = self.sensors.get_mut(index) {
                    s.failures = FAILURES_BEFORE_OFFLINE - 1;
                }
                self.failed(index, e).await;
            }
        }
    }

    async fn publish_input(&mut self, index: usize, active: bool, at: Instant) {
        let Some(s) = self.sensors.get_mut(index) else {
            return;
        };
        let Device::GpioInput(g) = &s.settings.device else {
            return;
        };
        let payload: InputPayload = g.payload;
        s.input = Some((active, at));
        let topic = input_state_topic(&s.settings.topic);
        let (qos, retain) = (s.settings.publish.qos, s.settings.publish.retain);
        self.publish(&topic, payload.payload(active).into(), qos, retain)
            .await;
    }

    /// Republishes input states whose heartbeat is due.
    pub async fn input_heartbeats(&mut self, now: Instant) {
        let due: Vec<(usize, bool)> = self
            .sensors
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (state, at) = s.input?;
                (now.duration_since(at) >= s.settings.publish.heartbeat).then_some((i, state))
            })
            .collect();
        for (index, state) in due {
            self.publish_input(index, state, now).await;
        }
    }

    /// At shutdown readings stop: say so, so dashboards do not show stale values as live.
    pub async fn all_offline(&mut self) {
        for index in 0..self.sensors.len() {
            self.set_online(index, false).await;
        }
    }
}
