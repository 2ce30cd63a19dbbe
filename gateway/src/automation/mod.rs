//! The rule engine at work: messages from the broker go in, actions come out.
//!
//! ```text
//! broker ──Message──▶ runner.rs ──on_message / on_tick──▶ rules::Engine
//!                        │◀───────────── Firing ────────────────┘
//!                        ├─ actions.rs: publish, switch an actuator, log
//!                        └─ explain.rs: hearth/<gateway>/rules/<rule>/{last,active}
//! ```
//! `rules` is pure and has no clock; the runner owns time and I/O.

mod actions;
mod explain;
mod flood;
mod runner;

use anyhow::Context;
use rules::spec::RuleSpec;
use rules::ReloadSummary;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::actuators::ActuatorHandle;
use crate::config::RuleOptions;
use broker::BrokerHandle;

/// The running rules. Dropping it without `stop` leaves the task to end with the runtime.
pub struct Automation {
    reloads: mpsc::Sender<Reload>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

struct Reload {
    rules: Vec<RuleSpec>,
    options: RuleOptions,
    done: oneshot::Sender<ReloadSummary>,
}

impl Automation {
    pub async fn start(
        rules: Vec<RuleSpec>,
        options: RuleOptions,
        gateway_name: &str,
        broker: BrokerHandle,
        actuators: ActuatorHandle,
    ) -> anyhow::Result<Automation> {
        let (reloads, reload_rx) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        let runner =
            runner::Runner::start(rules, options, gateway_name.to_string(), broker, actuators)
                .await
                .context("subscribing to the rules' topics")?;
        let task = tokio::spawn(runner.run(reload_rx, shutdown.clone()));
        Ok(Automation {
            reloads,
            shutdown,
            task,
        })
    }

    /// Swaps in new rules; unchanged rules keep their state (a pending `for`, the side of the
    /// hysteresis band they are on).
    pub async fn reload(
        &self,
        rules: Vec<RuleSpec>,
        options: RuleOptions,
    ) -> anyhow::Result<ReloadSummary> {
        let (done, summary) = oneshot::channel();
        let request = Reload {
            rules,
            options,
            done,
        };
        self.reloads
            .send(request)
            .await
            .map_err(|_| anyhow::anyhow!("the rule runner has stopped"))?;
        summary
            .await
            .map_err(|_| anyhow::anyhow!("the rule runner stopped during the reload"))
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        if let Err(e) = self.task.await {
            log::error!("the rule runner ended abnormally: {e}");
        }
    }
}
