//! The running gateway: starts each part from a checked configuration, stops them in order.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use log::info;

use crate::broker::{Broker, BrokerHandle};
use crate::config::Config;
use crate::sensors::Sensors;
use crate::status;
use crate::systemd::{Notifier, WatchdogTicks};

pub struct Daemon {
    config: Config,
    broker: Broker,
    sensors: Sensors,
}

impl Daemon {
    /// Starts the broker, announces the gateway online, then starts reading sensors.
    pub async fn start(config: Config) -> anyhow::Result<Daemon> {
        let broker = Broker::start(config.broker.clone())
            .await
            .context("starting the MQTT broker")?;
        status::announce(&broker.handle(), &config.gateway.name, status::ONLINE)
            .await
            .context("announcing the gateway online")?;
        let sensors = Sensors::start(&config, broker.handle())
            .await
            .context("starting the sensors")?;
        info!(
            "gateway {} running with {} sensors",
            config.gateway.name,
            config.sensors.len()
        );
        Ok(Daemon {
            config,
            broker,
            sensors,
        })
    }

    /// Where the broker accepts MQTT connections (useful when configured with port 0).
    pub fn broker_addr(&self) -> SocketAddr {
        self.broker.local_addr()
    }

    pub fn broker(&self) -> BrokerHandle {
        self.broker.handle()
    }

    /// Runs until `shutdown` resolves, then stops cleanly. Fails if a part stops on its own.
    ///
    /// Tells systemd through `notifier` that the gateway is ready (the broker is listening by
    /// now), feeds its watchdog while the broker's router answers, and says when it stops.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()>,
        notifier: &Notifier,
    ) -> anyhow::Result<()> {
        let listening = format!("MQTT broker listening on {}", self.broker_addr());
        if let Err(e) = notifier.ready(&listening) {
            log::warn!("could not notify systemd that the gateway is ready: {e}");
        }
        if let Some(every) = notifier.watchdog_interval() {
            info!(every:? = every; "feeding the systemd watchdog");
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

    /// Stops the sensors (marking them offline), announces the gateway offline, then stops the
    /// broker (which publishes due wills).
    pub async fn stop(self) {
        info!("gateway {} stopping", self.config.gateway.name);
        self.sensors.stop().await;
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
