//! The three load shapes, each for every selected MQTT version, and the run of one of them
//! against one broker.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::QoS;
use tokio::sync::watch;
use tokio::time::{sleep, timeout_at, Instant};

use crate::cli::{LoadArgs, Protocol, ScenarioSel};
use crate::conn::Endpoint;
use crate::publisher::{Deadlines, PubReport, Publisher, PublisherSpec};
use crate::stats::{latency_histogram, ScenarioResult};
use crate::subscriber::{self, Progress, SubReport, Subscriber, SubscriberSpec};

/// Upper bound for connecting and subscribing everyone before publishing.
const SETUP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct Scenario {
    pub label: String,
    /// Short name used in topics and client ids.
    pub key: &'static str,
    /// The version publisher and subscribers speak.
    pub protocol: Protocol,
    pub qos: QoS,
    pub subscribers: usize,
    pub messages: u64,
    pub wildcard: bool,
}

/// The scenarios selected on the command line, in table order: each load shape once per
/// `protocols` entry, in turn, so the versions' rows of one shape are measured back to back.
pub fn plan(load: &LoadArgs, protocols: &[Protocol]) -> Vec<Scenario> {
    let shapes = [
        Scenario {
            label: "QoS0 1->1".to_string(),
            key: "q0",
            protocol: Protocol::V4,
            qos: QoS::AtMostOnce,
            subscribers: 1,
            messages: load.messages,
            wildcard: false,
        },
        Scenario {
            label: "QoS1 1->1 pipelined".to_string(),
            key: "q1",
            protocol: Protocol::V4,
            qos: QoS::AtLeastOnce,
            subscribers: 1,
            messages: load.messages,
            wildcard: false,
        },
        Scenario {
            label: format!("QoS0 fan-out 1->{} wildcard", load.subscribers),
            key: "fan",
            protocol: Protocol::V4,
            qos: QoS::AtMostOnce,
            subscribers: load.subscribers,
            messages: load.fanout_count(),
            wildcard: true,
        },
    ];
    let wanted = |s: &Scenario| match load.scenario {
        ScenarioSel::All => true,
        ScenarioSel::Qos0 => s.key == "q0",
        ScenarioSel::Qos1 => s.key == "q1",
        ScenarioSel::Fanout => s.key == "fan",
    };
    shapes
        .into_iter()
        .filter(wanted)
        .flat_map(|shape| {
            protocols.iter().map(move |&protocol| Scenario {
                protocol,
                ..shape.clone()
            })
        })
        .collect()
}

impl Scenario {
    /// Names this scenario in topics and client ids: the key, and for MQTT 5.0 a suffix, so
    /// that the versions' runs of one shape never share a client id or a topic.
    fn tag(&self) -> String {
        match self.protocol {
            Protocol::V4 => self.key.to_string(),
            Protocol::V5 => format!("{}-v5", self.key),
        }
    }
}

/// Everything a scenario run needs besides the scenario itself.
pub struct Target<'a> {
    pub broker: &'a str,
    pub endpoint: Endpoint,
    pub load: &'a LoadArgs,
    /// Distinguishes this process's topics and client ids from any other run.
    pub run_id: &'a str,
}

/// Runs one scenario; never fails, problems end up in the row's notes.
pub async fn run(target: &Target<'_>, scenario: &Scenario) -> ScenarioResult {
    let mut result = ScenarioResult::empty(target.broker, &scenario.label);
    result.protocol = scenario.protocol.word().to_string();
    let deadline = Instant::now() + Duration::from_secs(target.load.timeout);
    let tag = scenario.tag();
    let prefix = format!("bench/{tag}/{}", target.run_id);
    let (filter, topic) = if scenario.wildcard {
        (format!("{prefix}/+"), format!("{prefix}/x"))
    } else {
        (format!("{prefix}/t"), format!("{prefix}/t"))
    };
    let progress = Arc::new(Progress::default());
    let (stop, stop_rx) = watch::channel(false);

    let mut subs = Vec::with_capacity(scenario.subscribers);
    for i in 0..scenario.subscribers {
        let spec = SubscriberSpec {
            protocol: scenario.protocol,
            client_id: format!("hb-{}-{tag}-s{i}", target.run_id),
            filter: filter.clone(),
            qos: scenario.qos,
            expected: scenario.messages,
            clean_session: !target.load.persistent_sessions,
        };
        match subscriber::spawn(&target.endpoint, spec, progress.clone(), stop_rx.clone()) {
            Ok(sub) => subs.push(sub),
            Err(e) => {
                result.notes.push(format!("{e:#}"));
                break;
            }
        }
    }
    let setup_deadline = deadline.min(Instant::now() + SETUP_TIMEOUT);
    if result.notes.is_empty() {
        if let Err(note) = wait_subscribed(&mut subs, setup_deadline).await {
            result.notes.push(note);
        }
    }
    if !result.notes.is_empty() {
        finish_subscribers(&mut result, subs, &stop).await;
        return result;
    }

    let spec = PublisherSpec {
        protocol: scenario.protocol,
        client_id: format!("hb-{}-{tag}-pub", target.run_id),
        topic,
        qos: scenario.qos,
        count: scenario.messages,
        rate: target.load.rate,
        inflight: target.load.inflight,
        channel_capacity: target.load.channel_capacity,
    };
    let deadlines = Deadlines {
        connect: deadline.min(Instant::now() + SETUP_TIMEOUT),
        publish: deadline,
    };
    let mut publisher = Publisher::spawn(&target.endpoint, spec, deadlines);
    let report = publisher.published(deadline).await;
    result.sent = report.sent;
    result.expected = report.sent * scenario.subscribers as u64;
    if let Some(why) = &report.stopped {
        result.notes.push(why.clone());
    }
    let need_acks = scenario.qos != QoS::AtMostOnce;
    if let Some(note) = window_note(need_acks, report.receive_maximum, target.load.inflight) {
        result.notes.push(note);
    }

    let idle = Duration::from_millis(target.load.drain_idle_ms);
    // Even a publisher stopped by the timeout gets one idle window, so
    // messages already on their way are still counted.
    let drain_deadline = deadline.max(Instant::now() + idle);
    let drain = drain_wait(
        &progress,
        &publisher,
        &result,
        need_acks,
        idle,
        drain_deadline,
    );
    if let Some(note) = drain.await {
        result.notes.push(note);
    }
    let acked = publisher.acked.load(Ordering::Relaxed);
    if need_acks && acked < report.sent {
        result
            .notes
            .push(format!("{} PUBACKs missing", report.sent - acked));
    }
    if let Some(e) = publisher.close().await {
        result.notes.push(e);
    }
    finish_subscribers(&mut result, subs, &stop).await;
    fill_rate(&mut result, &report, &progress);
    result
}

/// Says so when an MQTT 5.0 broker's Receive Maximum held the QoS 1 publisher to a smaller
/// window than `--inflight`: the row then measures that window, not the one asked for.
fn window_note(need_acks: bool, receive_maximum: Option<u16>, inflight: u16) -> Option<String> {
    let limit = receive_maximum.filter(|&m| need_acks && m < inflight)?;
    Some(format!(
        "the broker's Receive Maximum {limit} held the publisher to {limit} QoS 1 messages \
         in flight (--inflight {inflight})"
    ))
}

async fn wait_subscribed(subs: &mut [Subscriber], deadline: Instant) -> Result<(), String> {
    for sub in subs.iter_mut() {
        match timeout_at(deadline, &mut sub.ready).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(format!("subscribe failed: {e}")),
            Ok(Err(_)) => return Err("subscriber ended before its SUBACK".into()),
            Err(_) => return Err("not every SUBACK arrived in time".into()),
        }
    }
    Ok(())
}

/// Waits until every expected message arrived (and, for QoS 1, was acked),
/// or until nothing new arrived for `idle`, or until `deadline`.
async fn drain_wait(
    progress: &Progress,
    publisher: &Publisher,
    result: &ScenarioResult,
    need_acks: bool,
    idle: Duration,
    deadline: Instant,
) -> Option<String> {
    let mut last_count = progress.delivered.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    loop {
        let delivered = progress.delivered.load(Ordering::Relaxed);
        let acked = publisher.acked.load(Ordering::Relaxed);
        if delivered >= result.expected && (!need_acks || acked >= result.sent) {
            return None;
        }
        let now = Instant::now();
        if delivered != last_count {
            last_count = delivered;
            last_change = now;
        } else if now - last_change >= idle {
            return None;
        }
        if now >= deadline {
            return Some("drain hit the scenario timeout".into());
        }
        sleep(Duration::from_millis(10)).await;
    }
}

/// Stops every subscriber and folds its tallies into `result`.
async fn finish_subscribers(
    result: &mut ScenarioResult,
    subs: Vec<Subscriber>,
    stop: &watch::Sender<bool>,
) {
    let _ = stop.send(true);
    let mut merged = match latency_histogram() {
        Ok(h) => h,
        Err(e) => {
            result.notes.push(format!("{e:#}"));
            return;
        }
    };
    let (mut errors, mut foreign) = (Vec::new(), 0);
    for sub in subs {
        let report: SubReport = match tokio::time::timeout(Duration::from_secs(5), sub.task).await {
            Ok(Ok(report)) => report,
            Ok(Err(e)) => {
                errors.push(format!("subscriber task: {e}"));
                continue;
            }
            Err(_) => {
                errors.push("subscriber did not stop".into());
                continue;
            }
        };
        result.delivered += report.delivered;
        result.duplicates += report.duplicates;
        foreign += report.foreign;
        if let Err(e) = merged.add(&report.latency_us) {
            errors.push(format!("merging latencies: {e}"));
        }
        // A failed setup already quoted this error; do not repeat it.
        errors.extend(
            report
                .error
                .filter(|e| !result.notes.iter().any(|n| n.contains(e.as_str()))),
        );
    }
    if foreign > 0 {
        result
            .notes
            .push(format!("{foreign} foreign payloads ignored"));
    }
    if let Some(first) = errors.first() {
        let more = errors.len() - 1;
        let suffix = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        result.notes.push(format!("{first}{suffix}"));
    }
    if !merged.is_empty() {
        result.p50_us = Some(merged.value_at_quantile(0.50));
        result.p99_us = Some(merged.value_at_quantile(0.99));
    }
}

fn fill_rate(result: &mut ScenarioResult, report: &PubReport, progress: &Progress) {
    let last_rx = progress.last_rx_ns.load(Ordering::Relaxed);
    if let Some(first) = report.first_send_ns {
        if report.last_send_ns > first {
            let secs = (report.last_send_ns - first) as f64 / 1e9;
            result.publish_rate = Some(report.sent.saturating_sub(1) as f64 / secs);
        }
        if result.delivered > 0 && last_rx > first {
            let secs = (last_rx - first) as f64 / 1e9;
            result.rate = Some(result.delivered as f64 / secs);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn load(args: &[&str]) -> LoadArgs {
        let argv = ["hearth-bench", "compare"]
            .into_iter()
            .chain(args.iter().copied());
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Compare(args) => args.load,
            other => panic!("not compare: {other:?}"),
        }
    }

    #[test]
    fn each_shape_runs_once_per_protocol_back_to_back() {
        let load = load(&["--subscribers", "5"]);
        let plan = plan(&load, &[Protocol::V4, Protocol::V5]);
        let rows: Vec<(&str, Protocol)> = plan.iter().map(|s| (s.key, s.protocol)).collect();
        assert_eq!(
            rows,
            [
                ("q0", Protocol::V4),
                ("q0", Protocol::V5),
                ("q1", Protocol::V4),
                ("q1", Protocol::V5),
                ("fan", Protocol::V4),
                ("fan", Protocol::V5),
            ]
        );
        assert_eq!(plan[5].subscribers, 5);
        assert_eq!(plan[5].label, plan[4].label);
        let tags: Vec<String> = plan.iter().map(Scenario::tag).collect();
        assert_eq!(tags, ["q0", "q0-v5", "q1", "q1-v5", "fan", "fan-v5"]);
    }

    #[test]
    fn one_shape_and_one_protocol() {
        let load = load(&["--scenario", "qos1"]);
        let plan = plan(&load, &[Protocol::V5]);
        assert_eq!(plan.len(), 1);
        assert_eq!((plan[0].key, plan[0].protocol), ("q1", Protocol::V5));
        assert_eq!(plan[0].qos, QoS::AtLeastOnce);
    }

    #[test]
    fn a_lower_receive_maximum_is_noted_for_qos1_only() {
        let note = window_note(true, Some(20), 1000).expect("a note");
        assert!(note.contains("Receive Maximum 20"), "{note}");
        assert_eq!(window_note(false, Some(20), 1000), None);
        assert_eq!(window_note(true, Some(1000), 1000), None);
        assert_eq!(window_note(true, None, 1000), None);
    }
}
