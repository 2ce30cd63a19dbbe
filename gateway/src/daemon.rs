//! The running gateway: starts each part from a checked configuration, stops them in order.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use log::info;

use tokio::sync::mpsc;

use crate::actuators::{Actuators, SwitchDiscovery};
use crate::automation::Automation;
use crate::config::Config;
use crate::homeassistant::GatewayAnnouncer;
use crate::sensors::Sensors;
use crate::status;
use crate::systemd::{Notifier, WatchdogTicks};
use broker::{Broker, BrokerHandle};

pub struct Daemon {
    config: Config,
    broker: Broker,
    /// The gateway's own device in Home Assistant, when discovery is on.
    gateway_discovery: Option<GatewayAnnouncer>,
    actuators: Actuators,
    sensors: Sensors,
    automation: Automation,
}

impl Daemon {
    /// Starts the broker, announces the gateway online (and, with discovery, as a device to
    /// Home Assistant), drives the actuators to their start state, starts reading sensors, then
    /// starts the rules.
    pub async fn start(config: Config) -> anyhow::Result<Daemon> {
        match &config.broker.persistence {
            Some(p) => log::info!(
                "broker state kept in {} (changes durable within {:?}{})",
                p.path.display(),
                p.commit_interval,
                if p.durable_acks { "; QoS 1/2 acknowledged once durable" } else { "" }
            ),
            None => log::info!(
                "broker state kept in memory only (persistence = false, or no state_dir): retained messages and sessions do not survive a restart"
            ),
        }
        let broker = Broker::start(config.broker.clone())
            .await
            .context("starting the MQTT broker")?;
        status::announce(&broker.handle(), &config.gateway.name, status::ONLINE)
            .await
            .context("announcing the gateway online")?;
        // Before the sensors and relays, whose devices name the gateway's as their `via_device`.
        let gateway_discovery = if config.discovery.enabled {
            let announcer =
                GatewayAnnouncer::start(&config.discovery, &config.gateway.name, broker.handle())
                    .await
                    .context("announcing the gateway to Home Assistant")?;
            Some(announcer)
        } else {
            None
        };
        let switches = config.discovery.enabled.then(|| {
            SwitchDiscovery::new(
                &config.discovery,
                &config.gateway.name,
                config.gateway.state_dir.clone(),
            )
        });
        let actuators = Actuators::start(
            &config.actuators,
            config.gateway.state_dir.as_deref(),
            broker.handle(),
            switches,
        )
        .await
        .context("starting the actuators")?;
        let sensors = Sensors::start(&config, broker.handle())
            .await
            .context("starting the sensors")?;
        let automation = Automation::start(
            config.rules.clone(),
            config.rule_options.clone(),
            &config.gateway.name,
            broker.handle(),
            actuators.handle(),
        )
        .await
        .context("starting the rules")?;
        info!(
            "gateway {} running with {} sensors, {} actuators and {} rules",
            config.gateway.name,
            config.sensors.len(),
            config.actuators.len(),
            config.rules.len()
        );
        Ok(Daemon {
            config,
            broker,
            gateway_discovery,
            actuators,
            sensors,
            automation,
        })
    }

    /// Where the broker accepts MQTT connections (useful when configured with port 0).
    pub fn broker_addr(&self) -> SocketAddr {
        self.broker.local_addr()
    }

    /// Every listener's name and bound address, in configuration order.
    pub fn listener_addrs(&self) -> &[(String, SocketAddr)] {
        self.broker.listener_addrs()
    }

    pub fn broker(&self) -> BrokerHandle {
        self.broker.handle()
    }

    /// Runs until `shutdown` resolves, then stops cleanly; applies each configuration that
    /// arrives on `reloads` (SIGHUP). Fails if a part stops on its own.
    ///
    /// Tells systemd through `notifier` that the gateway is ready (the broker is listening by
    /// now), feeds its watchdog while the broker's router answers, and says when it reloads and
    /// stops.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()>,
        mut reloads: mpsc::Receiver<Config>,
        notifier: &Notifier,
    ) -> anyhow::Result<()> {
        let listening = format!("MQTT broker listening on {}", self.broker_addr());
        if let Err(e) = notifier.ready(&listening) {
            log::warn!("could not notify systemd that the gateway is ready: {e}");
        }
        if let Some(every) = notifier.watchdog_interval() {
            info!("feeding the systemd watchdog every={every:?}");
        }
        let mut watchdog = WatchdogTicks::new(notifier.watchdog_interval());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => {
                    let _ = notifier.stopping("stopping: announcing offline, closing clients");
                    self.stop().await;
                    return Ok(());
                }
                why = self.broker.failed() => {
                    let _ = notifier.status(&format!("failed: {why}"));
                    bail!("{why}");
                }
                () = watchdog.tick() => self.feed_watchdog(notifier, watchdog.period()).await,
                Some(config) = reloads.recv() => {
                    let _ = notifier.reloading();
                    if let Err(e) = self.reload(config).await {
                        log::error!("reload failed: {e:#}");
                    }
                    let _ = notifier.ready(&listening);
                }
            }
        }
    }

    /// Feeds systemd's watchdog only after a round-trip through the broker's router: a hung
    /// router stops the pings, and systemd restarts the gateway.
    async fn feed_watchdog(&self, notifier: &Notifier, within: Duration) {
        match tokio::time::timeout(within, self.broker.handle().ping()).await {
            Ok(Ok(())) => {
                if let Err(e) = notifier.watchdog() {
                    log::warn!("could not feed the systemd watchdog: {e}");
                }
            }
            Ok(Err(e)) => log::warn!("not feeding the systemd watchdog: {e}"),
            Err(_) => log::warn!(
                "not feeding the systemd watchdog: the broker's router did not answer within {within:?}"
            ),
        }
    }

    /// Applies a new, already checked configuration without dropping a client: actuators and
    /// rules are replaced, and rules that did not change keep their state; the broker's users,
    /// access rules and certificates are put in force (clients whose rights went are
    /// disconnected). The broker's other settings, the sensors and the gateway's name keep
    /// running as they are until a restart.
    pub async fn reload(&mut self, new: Config) -> anyhow::Result<rules::ReloadSummary> {
        let needs_restart: Vec<&str> = [
            ("[gateway]", self.config.gateway != new.gateway),
            ("[[sensor]]", self.config.sensors != new.sensors),
            ("[homeassistant]", self.config.discovery != new.discovery),
        ]
        .into_iter()
        .filter_map(|(table, changed)| changed.then_some(table))
        .collect();
        if !needs_restart.is_empty() {
            log::warn!(
                "changes to {} take effect at the next restart; rules and actuators are reloaded now",
                needs_restart.join(", ")
            );
        }
        // Users, access rules and certificates first: a client whose rights went should not
        // see what the new rules and relays do next.
        let broker = self
            .broker
            .reload(&new.broker)
            .await
            .context("reloading the broker's users, access rules and certificates")?;
        info!(
            "broker reloaded: users, access rules and anonymous access in force; certificates reloaded={} disconnected users={}",
            list(&broker.certificates_reloaded),
            list(&broker.users_disconnected)
        );
        if !broker.needs_restart.is_empty() {
            log::warn!(
                "changes to [broker] {} take effect at the next restart",
                broker.needs_restart.join(", ")
            );
        }
        self.config.broker = new.broker;
        self.actuators
            .reload(&new.actuators)
            .await
            .context("reloading the actuators")?;
        self.config.actuators = new.actuators;
        let summary = self
            .automation
            .reload(new.rules.clone(), new.rule_options.clone())
            .await?;
        self.config.rules = new.rules;
        self.config.rule_options = new.rule_options;
        info!(
            "rules reloaded kept={} added={} changed={} removed={}",
            summary.kept.len(),
            summary.added.len(),
            summary.changed.len(),
            summary.removed.len()
        );
        Ok(summary)
    }

    /// Stops the rules and the sensors (marking them offline), drives the actuators to their
    /// safe state, announces the gateway offline, then stops the broker (which publishes due
    /// wills).
    pub async fn stop(self) {
        info!("gateway {} stopping", self.config.gateway.name);
        self.automation.stop().await;
        self.sensors.stop().await;
        self.actuators.stop().await;
        if let Some(d) = self.gateway_discovery {
            d.stop().await;
        }
        if let Err(e) = status::announce(
            &self.broker.handle(),
            &self.config.gateway.name,
            status::OFFLINE,
        )
        .await
        {
            log::warn!("could not announce the gateway offline: {e}");
        }
        self.broker.shutdown().await;
    }
}

/// `a, b` or `none`, for log lines.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
