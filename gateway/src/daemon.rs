//! The running gateway: starts each part from a checked configuration, stops them in order.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::{bail, Context};
use log::info;

use crate::broker::{Broker, BrokerHandle};
use crate::config::Config;
use crate::sensors::Sensors;
use crate::status;

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
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            () = shutdown => {
                self.stop().await;
                Ok(())
            }
            why = self.broker.failed() => bail!("{why}"),
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
