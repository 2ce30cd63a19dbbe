//! Outputs the gateway switches: relays on GPIO pins, commanded over MQTT and by rules.
//!
//! ```text
//! rules ──ActuatorHandle::command──┐
//! MQTT <topic>/set ────────────────┴─▶ one task per actuator (worker.rs) ──▶ pin (relay.rs)
//!                                            └──▶ <topic>/state, retained
//! ```
//!
//! A marker file in the state directory (`marker.rs`) tells a start after a crash, which uses
//! each actuator's safe state instead of its initial one. `discovery.rs` announces the running
//! actuators to Home Assistant as switches.

pub mod command;
pub mod discovery;
pub mod error;
mod handle;
mod marker;
pub mod relay;
pub mod settings;
#[cfg(test)]
mod tests;
mod worker;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use log::{info, warn};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use broker::BrokerHandle;
pub use command::{BadCommand, Command};
use discovery::Announcer;
pub use discovery::SwitchDiscovery;
pub use error::ActuatorError;
pub use handle::ActuatorHandle;
use handle::{Entry, Registry};
use marker::RunMarker;
pub use settings::{ActuatorSettings, Switch};
use worker::{By, Request};

/// The running actuators.
pub struct Actuators {
    running: BTreeMap<String, Running>,
    registry: Registry,
    broker: BrokerHandle,
    marker: RunMarker,
    discovery: Option<Announcer>,
}

struct Running {
    settings: ActuatorSettings,
    task: JoinHandle<()>,
}

impl Actuators {
    /// Claims every output, drives it to its start state (`initial`, or `safe` if the previous
    /// run ended without a clean shutdown), publishes `<topic>/state` retained, and listens on
    /// `<topic>/set`. An output whose pin cannot be claimed is reported and retried; it does
    /// not stop the others. With `discovery`, the actuators are then announced to Home
    /// Assistant as switches.
    pub async fn start(
        settings: &[ActuatorSettings],
        state_dir: Option<&Path>,
        broker: BrokerHandle,
        discovery: Option<SwitchDiscovery>,
    ) -> anyhow::Result<Actuators> {
        check_unique(settings)?;
        let dir = state_dir.map(Path::to_path_buf);
        let (marker, crashed) =
            tokio::task::spawn_blocking(move || RunMarker::claim(dir.as_deref()))
                .await
                .context("checking how the previous run ended")?;
        if crashed && !settings.is_empty() {
            let names: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
            warn!(
                "the previous run did not stop cleanly; starting actuators in their safe state: {}",
                names.join(", ")
            );
        }
        let mut actuators = Actuators {
            running: BTreeMap::new(),
            registry: Registry::default(),
            broker,
            marker,
            discovery: None,
        };
        for s in settings {
            let start = if crashed { s.safe } else { s.initial };
            if let Err(e) = actuators.launch(s, start).await {
                actuators.stop().await;
                return Err(e);
            }
        }
        if let Some(d) = discovery {
            match d.spawn(settings.to_vec(), actuators.broker.clone()).await {
                Ok(announcer) => actuators.discovery = Some(announcer),
                Err(e) => {
                    actuators.stop().await;
                    return Err(e);
                }
            }
        }
        if !settings.is_empty() {
            info!("{} actuators running", settings.len());
        }
        Ok(actuators)
    }

    pub fn handle(&self) -> ActuatorHandle {
        ActuatorHandle {
            registry: self.registry.clone(),
        }
    }

    /// The level of a simulated output's pin (`true` = high), for tests and the demo.
    pub fn sim_level(&self, name: &str) -> Option<bool> {
        self.handle().sim_level(name)
    }

    /// Applies a new list: unchanged actuators keep their state and timers untouched; removed
    /// ones go to their safe state and are released; changed or new ones start as at start-up
    /// (a changed one is first retired like a removed one, which frees its pin).
    pub async fn reload(&mut self, settings: &[ActuatorSettings]) -> anyhow::Result<()> {
        check_unique(settings)?;
        let outdated: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| {
                !settings
                    .iter()
                    .any(|s| &s.name == *name && *s == r.settings)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in &outdated {
            self.retire(name, By::Reload).await;
        }
        let mut failed = Vec::new();
        let mut started = 0;
        for s in settings {
            if !self.running.contains_key(&s.name) {
                match self.launch(s, s.initial).await {
                    Ok(()) => started += 1,
                    Err(e) => failed.push(format!("{e:#}")),
                }
            }
        }
        if let Some(d) = &self.discovery {
            d.update(self.running.values().map(|r| r.settings.clone()).collect());
        }
        info!(
            "actuators reloaded: {} retired, {started} started, {} kept",
            outdated.len(),
            settings.len() - started - failed.len()
        );
        if failed.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("{}", failed.join("; ")))
        }
    }

    /// Drives every output to its safe state, publishes it, marks the shutdown clean.
    /// Commands sent afterwards fail with [`ActuatorError::Stopped`].
    pub async fn stop(self) {
        if let Some(d) = self.discovery {
            d.stop().await;
        }
        for (name, running) in self.running {
            // The entry stays registered, so later commands fail with `Stopped`.
            let requests = self.registry.read().get(&name).map(|e| e.requests.clone());
            wind_down(&name, requests, running.task, By::Shutdown).await;
        }
        let marker = self.marker;
        let _ = tokio::task::spawn_blocking(move || marker.clear()).await;
    }

    async fn launch(&mut self, s: &ActuatorSettings, start: Switch) -> anyhow::Result<()> {
        let spawned = worker::spawn(s.clone(), start, self.broker.clone()).await?;
        let entry = Entry {
            requests: spawned.requests,
            state: spawned.state,
            sim: spawned.sim,
        };
        self.registry.write().insert(s.name.clone(), entry);
        let running = Running {
            settings: s.clone(),
            task: spawned.task,
        };
        self.running.insert(s.name.clone(), running);
        Ok(())
    }

    /// Drives one actuator to its safe state and releases it; its name is then unknown.
    async fn retire(&mut self, name: &str, by: By) {
        let entry = self.registry.write().remove(name);
        let Some(running) = self.running.remove(name) else {
            return;
        };
        wind_down(name, entry.map(|e| e.requests), running.task, by).await;
    }
}

/// Asks an actuator's task to drive its safe state and end, then waits for it.
async fn wind_down(
    name: &str,
    requests: Option<mpsc::Sender<Request>>,
    task: JoinHandle<()>,
    by: By,
) {
    if let Some(requests) = requests {
        let _ = requests.send(Request::Retire(by)).await;
    }
    if let Err(e) = task.await {
        warn!("actuator {name} ended abnormally: {e}; it may not be in its safe state");
    }
}

fn check_unique(settings: &[ActuatorSettings]) -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    for s in settings {
        if !seen.insert(s.name.as_str()) {
            bail!(
                "actuator name \"{}\" is used twice; give each [[actuator]] its own name",
                s.name
            );
        }
    }
    Ok(())
}
