//! One actuator's task: it owns the pin, the state and the auto-off timer, takes commands from
//! rules (through the handle) and from MQTT (`<topic>/set`), and publishes `<topic>/state`.
//! One owner per output keeps commands from both sides in order without locks.

use std::fmt;
use std::time::Duration;

use anyhow::Context;
use drivers::sim::{SimPin, SimPinControl};
use embedded_hal::digital::PinState;
use log::{error, info, warn};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use super::command::Command;
use super::error::ActuatorError;
use super::relay::{level, Relay};
use super::settings::{ActuatorSettings, Switch};
use crate::hw::gpio_output::{open_output, AnyOutputPin};
use crate::sensors::settings::Pin;
use broker::{BrokerHandle, Message, QoS, Subscription};

/// How long an output whose pin could not be claimed waits before trying again.
const RECLAIM_AFTER: Duration = Duration::from_secs(10);

/// Requests queued per actuator before senders wait.
const BACKLOG: usize = 32;

/// Longest part of a bad payload repeated in the log.
const LOGGED_PAYLOAD: usize = 64;

/// Who switched an actuator, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Start,
    Mqtt,
    Rule,
    AutoOff,
    Reload,
    Shutdown,
}

impl fmt::Display for By {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            By::Start => "start",
            By::Mqtt => "mqtt",
            By::Rule => "rule",
            By::AutoOff => "auto_off",
            By::Reload => "reload",
            By::Shutdown => "shutdown",
        })
    }
}

pub enum Request {
    Command {
        command: Command,
        by: By,
        reply: oneshot::Sender<Result<Switch, ActuatorError>>,
    },
    /// Drive the safe state, publish it, release the pin and end.
    Retire(By),
}

/// A running actuator task and what others need to reach it.
pub struct Spawned {
    pub requests: mpsc::Sender<Request>,
    /// The state last driven; `None` until the pin is claimed.
    pub state: watch::Receiver<Option<Switch>>,
    /// The simulated pin's line, to read the level back in tests and the demo.
    pub sim: Option<SimPinControl>,
    pub task: JoinHandle<()>,
}

/// Subscribes to `<topic>/set`, claims the pin at `start`'s level, publishes the state, and
/// leaves a task running the actuator.
pub async fn spawn(
    settings: ActuatorSettings,
    start: Switch,
    broker: BrokerHandle,
) -> anyhow::Result<Spawned> {
    let set_topic = format!("{}/set", settings.topic);
    let commands = broker
        .subscribe(&set_topic, QoS::AtLeastOnce)
        .await
        .with_context(|| format!("actuator {}: subscribing to {set_topic}", settings.name))?;
    let (source, sim) = match settings.pin {
        Pin::Sim => {
            let pin = SimPin::new(level(start, settings.active_low) == PinState::High);
            let control = pin.control();
            (PinSource::Sim(Some(pin)), Some(control))
        }
        Pin::Bcm(bcm) => (PinSource::Bcm(bcm), None),
    };
    let (state_tx, state) = watch::channel(None);
    let (requests, inbox) = mpsc::channel(BACKLOG);
    let mut actuator = Actuator {
        settings,
        source,
        relay: None,
        wanted: start,
        state: state_tx,
        auto_off_at: None,
        reclaim_at: None,
        broker,
    };
    if let Err(reason) = actuator.claim(start, By::Start).await {
        error!(
            "actuator {} cannot claim its pin: {reason}; its commands fail until the pin is free (retrying every {}s)",
            actuator.settings.name,
            RECLAIM_AFTER.as_secs()
        );
    }
    let task = tokio::spawn(actuator.run(inbox, commands));
    Ok(Spawned {
        requests,
        state,
        sim,
        task,
    })
}

/// Where the output pin comes from.
enum PinSource {
    /// Taken once; a simulated pin cannot fail.
    Sim(Option<SimPin>),
    Bcm(u8),
}

impl PinSource {
    async fn open(&mut self, at: PinState) -> Result<AnyOutputPin, String> {
        match self {
            PinSource::Sim(pin) => pin
                .take()
                .map(AnyOutputPin::Sim)
                .ok_or_else(|| "the simulated pin was already claimed".to_string()),
            PinSource::Bcm(bcm) => {
                let bcm = *bcm;
                // Claiming opens device files: off the async runtime.
                tokio::task::spawn_blocking(move || open_output(bcm, at))
                    .await
                    .map_err(|e| format!("claiming GPIO{bcm} failed: {e}"))?
                    .map_err(|e| e.to_string())
            }
        }
    }
}

struct Actuator {
    settings: ActuatorSettings,
    source: PinSource,
    relay: Option<Relay<AnyOutputPin>>,
    /// The state to drive once the pin is claimed, and the state after that.
    wanted: Switch,
    state: watch::Sender<Option<Switch>>,
    auto_off_at: Option<Instant>,
    reclaim_at: Option<Instant>,
    broker: BrokerHandle,
}

impl Actuator {
    async fn run(mut self, mut inbox: mpsc::Receiver<Request>, mut commands: Subscription) {
        loop {
            let auto_off = self.auto_off_at;
            let reclaim = self.reclaim_at.filter(|_| self.relay.is_none());
            tokio::select! {
                request = inbox.recv() => match request {
                    Some(Request::Command { command, by, reply }) => {
                        let _ = reply.send(self.command(command, by).await);
                    }
                    Some(Request::Retire(by)) => return self.retire(by).await,
                    // Every handle is gone without a stop: nobody can command it any more.
                    None => return self.retire(By::Shutdown).await,
                },
                Some(message) = commands.recv() => self.on_set(message).await,
                () = sleep_until(auto_off.unwrap_or_else(Instant::now)), if auto_off.is_some() => {
                    self.auto_off_at = None;
                    if let Err(e) = self.switch(Switch::Off, By::AutoOff).await {
                        warn!("{e}");
                    }
                }
                () = sleep_until(reclaim.unwrap_or_else(Instant::now)), if reclaim.is_some() => {
                    if self.claim(self.wanted, By::Start).await.is_ok() {
                        info!("actuator {} claimed its pin at last", self.settings.name);
                    }
                }
            }
        }
    }

    async fn on_set(&mut self, message: Message) {
        let name = &self.settings.name;
        // A retained command was sent some time in the past, maybe long before this start:
        // acting on it would switch the relay at boot. The broker flags RETAIN only on the stored
        // messages it replays when we subscribe; live commands arrive unflagged (MQTT-3.3.1-9),
        // even when their sender set RETAIN.
        if message.retain {
            warn!(
                "ignored a retained command actuator={name} topic={} payload={:?}; publish an empty retained message there to clear it",
                message.topic,
                shortened(&message.payload)
            );
            return;
        }
        let text = String::from_utf8_lossy(&message.payload);
        match text.parse::<Command>() {
            Ok(command) => {
                if let Err(e) = self.command(command, By::Mqtt).await {
                    warn!("{e}");
                }
            }
            Err(_) => warn!(
                "ignored a command that is not ON, OFF or TOGGLE actuator={name} payload={:?}",
                shortened(&message.payload)
            ),
        }
    }

    async fn command(&mut self, command: Command, by: By) -> Result<Switch, ActuatorError> {
        let current = (*self.state.borrow()).unwrap_or(self.wanted);
        self.switch(command.apply(current), by).await
    }

    /// Drives `target`, publishes it (even when unchanged, as a confirmation), and arms or
    /// disarms the auto-off timer.
    async fn switch(&mut self, target: Switch, by: By) -> Result<Switch, ActuatorError> {
        let Some(relay) = &mut self.relay else {
            // Not claimed yet: try now, straight at the level asked for.
            return self
                .claim(target, by)
                .await
                .map(|()| target)
                .map_err(|reason| ActuatorError::Pin {
                    name: self.settings.name.clone(),
                    reason: format!("cannot claim its pin: {reason}"),
                });
        };
        if let Err(e) = relay.set(target) {
            // Claimed again from scratch on the next command.
            self.relay = None;
            self.reclaim_at = Some(Instant::now() + RECLAIM_AFTER);
            return Err(ActuatorError::Pin {
                name: self.settings.name.clone(),
                reason: format!("cannot drive its pin: {e:?}"),
            });
        }
        self.switched(target, by).await;
        Ok(target)
    }

    /// Claims the pin already driving `target`.
    async fn claim(&mut self, target: Switch, by: By) -> Result<(), String> {
        match self
            .source
            .open(level(target, self.settings.active_low))
            .await
        {
            Ok(pin) => {
                self.relay = Some(Relay::new(pin, self.settings.active_low));
                self.reclaim_at = None;
                self.switched(target, by).await;
                Ok(())
            }
            Err(reason) => {
                self.reclaim_at = Some(Instant::now() + RECLAIM_AFTER);
                Err(reason)
            }
        }
    }

    /// Records, logs and publishes a state just driven.
    async fn switched(&mut self, target: Switch, by: By) {
        let name = &self.settings.name;
        self.wanted = target;
        self.state.send_replace(Some(target));
        info!(
            actuator = name.as_str();
            "actuator switched actuator={name} state={} by={by}",
            target.payload()
        );
        self.auto_off_at = match (target, self.settings.auto_off) {
            (Switch::On, Some(after)) => Some(Instant::now() + after),
            _ => None,
        };
        let topic = format!("{}/state", self.settings.topic);
        if let Err(e) = self
            .broker
            .publish(&topic, target.payload(), QoS::AtLeastOnce, true)
            .await
        {
            warn!("cannot publish the state of actuator={name} topic={topic}: {e}");
        }
    }

    /// Drives the safe state and publishes it; dropping the relay then releases the pin, which
    /// keeps its level (see `hw/gpio_output.rs`).
    async fn retire(mut self, by: By) {
        let safe = self.settings.safe;
        if let Err(e) = self.switch(safe, by).await {
            error!("{e}; it may not be in its safe state");
        }
    }
}

/// A payload cut to a length fit for a log line.
fn shortened(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let mut short: String = text.chars().take(LOGGED_PAYLOAD).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_payloads_are_cut_for_the_log() {
        assert_eq!(shortened(b"ON"), "ON");
        let long = "x".repeat(1000);
        let short = shortened(long.as_bytes());
        assert_eq!(short.chars().count(), LOGGED_PAYLOAD + 1);
        assert!(short.ends_with('…'));
    }
}
