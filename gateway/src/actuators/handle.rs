//! The cloneable side of the actuators that rules hold: command one by name, read its state.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use drivers::sim::SimPinControl;
use tokio::sync::{mpsc, oneshot, watch};

use super::command::Command;
use super::error::ActuatorError;
use super::settings::Switch;
use super::worker::{By, Request};

/// How to reach one running actuator.
pub(super) struct Entry {
    pub requests: mpsc::Sender<Request>,
    pub state: watch::Receiver<Option<Switch>>,
    pub sim: Option<SimPinControl>,
}

/// Actuators by name. The lock is only held to look an entry up, never across an `.await`.
#[derive(Clone, Default)]
pub(super) struct Registry(Arc<RwLock<HashMap<String, Entry>>>);

impl Registry {
    // A poisoned lock only means a reader panicked; the map itself is intact.
    pub fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Entry>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone)]
pub struct ActuatorHandle {
    pub(super) registry: Registry,
}

impl ActuatorHandle {
    /// Switches the actuator `name` on a rule's behalf; returns its new state.
    pub async fn command(&self, name: &str, command: Command) -> Result<Switch, ActuatorError> {
        self.command_by(name, command, By::Rule).await
    }

    pub(super) async fn command_by(
        &self,
        name: &str,
        command: Command,
        by: By,
    ) -> Result<Switch, ActuatorError> {
        let requests = self
            .registry
            .read()
            .get(name)
            .map(|e| e.requests.clone())
            .ok_or_else(|| ActuatorError::Unknown {
                name: name.to_string(),
            })?;
        let (reply, replied) = oneshot::channel();
        let request = Request::Command { command, by, reply };
        requests
            .send(request)
            .await
            .map_err(|_| ActuatorError::Stopped)?;
        replied.await.map_err(|_| ActuatorError::Stopped)?
    }

    /// The state last driven; `None` for an unknown name or an output whose pin was never
    /// claimed.
    pub fn state(&self, name: &str) -> Option<Switch> {
        self.registry
            .read()
            .get(name)
            .and_then(|e| *e.state.borrow())
    }

    /// The level of a simulated output's pin (`true` = high); `None` for unknown names and
    /// real pins. Lets tests and the demo see what a relay board would.
    pub fn sim_level(&self, name: &str) -> Option<bool> {
        self.sim_pin(name).map(|pin| pin.is_high())
    }

    /// The line of a simulated output's pin; it can still be read after the actuator is
    /// retired or stopped.
    pub fn sim_pin(&self, name: &str) -> Option<SimPinControl> {
        self.registry.read().get(name)?.sim.clone()
    }
}
