//! One task that feeds the engine and carries out what it decides, in order.

use std::time::{Duration, Instant};

use log::{info, warn};
use rules::spec::RuleSpec;
use rules::{Engine, Firing};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::actions::Actions;
use super::explain::Explainer;
use super::flood::{FloodGuard, Verdict};
use super::Reload;
use crate::actuators::ActuatorHandle;
use crate::config::RuleOptions;
use broker::{BrokerHandle, LocalError, QoS, Subscription};

pub(super) struct Runner {
    engine: Engine,
    /// The engine counts time from here; it survives reloads so pending timers stay right.
    origin: Instant,
    filters: Vec<String>,
    subscription: Option<Subscription>,
    broker: BrokerHandle,
    actions: Actions,
    explainer: Explainer,
    flood: FloodGuard,
}

impl Runner {
    pub(super) async fn start(
        rules: Vec<RuleSpec>,
        options: RuleOptions,
        gateway_name: String,
        broker: BrokerHandle,
        actuators: ActuatorHandle,
    ) -> Result<Runner, LocalError> {
        let mut engine = Engine::new(rules);
        // Starts the silence clocks of topics that may never publish at all; nothing can be
        // due yet.
        let _ = engine.on_tick(Duration::ZERO);
        let filters = engine.filters();
        let subscription = subscribe(&broker, &filters).await?;
        if engine.rule_count() > 0 {
            info!(
                "rules running rules={} filters={}",
                engine.rule_count(),
                filters.len()
            );
        }
        Ok(Runner {
            engine,
            origin: Instant::now(),
            filters,
            subscription,
            actions: Actions::new(broker.clone(), actuators),
            explainer: Explainer::new(broker.clone(), gateway_name, options.explain),
            flood: FloodGuard::default(),
            broker,
        })
    }

    pub(super) async fn run(
        mut self,
        mut reloads: mpsc::Receiver<Reload>,
        shutdown: CancellationToken,
    ) {
        loop {
            let deadline = self.engine.next_deadline().map(|t| self.origin + t);
            let firings = tokio::select! {
                () = shutdown.cancelled() => return,
                message = next_message(&mut self.subscription) => match message {
                    Some(m) => self.engine.on_message(self.now(), &m.topic, &m.payload),
                    None => {
                        warn!("the broker stopped; rules stop too");
                        return;
                    }
                },
                () = sleep_until(deadline) => self.engine.on_tick(self.now()),
                Some(request) = reloads.recv() => {
                    self.reload(request).await;
                    continue;
                }
            };
            for firing in &firings {
                self.carry_out(firing).await;
            }
        }
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    async fn carry_out(&mut self, firing: &Firing) {
        info!(
            rule = firing.rule.as_str(), topic = firing.topic.as_str();
            "rule={:?} {} captures={:?}: {}",
            firing.rule, firing.transition, firing.captures, firing.reason
        );
        match self
            .flood
            .check(&firing.rule, &firing.captures, Instant::now())
        {
            Verdict::Allow => {
                for action in &firing.actions {
                    self.actions.carry_out(&firing.rule, action).await;
                }
            }
            Verdict::StartHolding => {
                let (limit, window) = FloodGuard::limit();
                warn!(
                    rule = firing.rule.as_str();
                    "rule={:?} captures={:?} fired more than {limit} times in {window:?}; its actions are held back until the window ends (does an action make the rule enter or leave again?)",
                    firing.rule, firing.captures
                );
                return;
            }
            Verdict::Hold => return,
        }
        self.explainer.explain(firing, &self.engine).await;
    }

    async fn reload(&mut self, request: Reload) {
        let Reload {
            rules,
            options,
            done,
        } = request;
        let summary = self.engine.reload(rules);
        self.explainer.set_enabled(options.explain);
        self.explainer.forget(&summary.removed).await;
        self.explainer.forget(&summary.changed).await;
        // Starts the silence clocks of the new rules.
        for firing in self.engine.on_tick(self.now()) {
            self.carry_out(&firing).await;
        }
        let filters = self.engine.filters();
        // Unchanged filters keep the subscription, so retained messages are not replayed.
        if filters != self.filters {
            match subscribe(&self.broker, &filters).await {
                Ok(subscription) => {
                    self.subscription = subscription;
                    self.filters = filters;
                }
                Err(e) => warn!("rules could not subscribe to their new topics: {e}"),
            }
        }
        let _ = done.send(summary);
    }
}

async fn subscribe(
    broker: &BrokerHandle,
    filters: &[String],
) -> Result<Option<Subscription>, LocalError> {
    if filters.is_empty() {
        return Ok(None);
    }
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    // QoS 1: a rule sees every message a QoS 1 publisher sends.
    broker
        .subscribe_all(&filters, QoS::AtLeastOnce)
        .await
        .map(Some)
}

/// The next message, or never when there is nothing subscribed.
async fn next_message(subscription: &mut Option<Subscription>) -> Option<broker::Message> {
    match subscription {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
