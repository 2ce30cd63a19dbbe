//! One subscribing client: waits for its SUBACK, then tallies deliveries
//! until told to stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use hdrhistogram::Histogram;
use rumqttc::QoS;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::cli::Protocol;
use crate::client::{self, Connection, Incoming};
use crate::clock;
use crate::conn::Endpoint;
use crate::payload;
use crate::stats::{latency_histogram, Seen, SeenSet};

/// Progress shared by all subscribers of a scenario, read by the drain loop.
#[derive(Default)]
pub struct Progress {
    pub delivered: AtomicU64,
    pub last_rx_ns: AtomicU64,
}

/// What one subscriber saw.
pub struct SubReport {
    pub delivered: u64,
    pub duplicates: u64,
    /// Payloads with a foreign layout or a sequence number out of range.
    pub foreign: u64,
    pub latency_us: Histogram<u64>,
    pub error: Option<String>,
}

/// A running subscriber.
pub struct Subscriber {
    /// Resolves once the SUBACK arrived (Ok) or the client failed first (Err).
    pub ready: oneshot::Receiver<Result<(), String>>,
    pub task: JoinHandle<SubReport>,
}

pub struct SubscriberSpec {
    pub protocol: Protocol,
    pub client_id: String,
    pub filter: String,
    pub qos: QoS,
    /// Sequence numbers range over 0..expected.
    pub expected: u64,
    /// false keeps the session (subscription and queued messages) when the client is gone.
    pub clean_session: bool,
}

pub fn spawn(
    endpoint: &Endpoint,
    spec: SubscriberSpec,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Result<Subscriber> {
    // Subscribers only send SUBSCRIBE and acks, so a small channel is enough.
    let (client, connection) = client::new(
        endpoint,
        &client::Spec {
            protocol: spec.protocol,
            client_id: &spec.client_id,
            clean_session: spec.clean_session,
            inflight: 100,
            channel_capacity: 16,
        },
    );
    // Queued now, sent by the event loop right after CONNACK.
    client
        .try_subscribe(&spec.filter, spec.qos)
        .map_err(|e| anyhow::anyhow!("queueing SUBSCRIBE for {}: {e}", spec.client_id))?;
    let (ready_tx, ready) = oneshot::channel();
    let histogram = latency_histogram()?;
    let task = tokio::spawn(async move {
        // Keep the client alive: dropping it closes the request channel,
        // which makes the event loop end.
        let _client = client;
        drive(connection, spec, histogram, progress, stop, ready_tx).await
    });
    Ok(Subscriber { ready, task })
}

async fn drive(
    mut connection: Connection,
    spec: SubscriberSpec,
    latency_us: Histogram<u64>,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
    ready_tx: oneshot::Sender<Result<(), String>>,
) -> SubReport {
    let mut ready_tx = Some(ready_tx);
    let mut seen = SeenSet::new(spec.expected);
    let mut report = SubReport {
        delivered: 0,
        duplicates: 0,
        foreign: 0,
        latency_us,
        error: None,
    };
    loop {
        let event = tokio::select! {
            biased;
            _ = stop.changed() => break,
            event = connection.next() => event,
        };
        match event {
            Ok(Incoming::Publish(payload)) => {
                let now = clock::now_ns();
                record(&mut report, &mut seen, &payload, now, &progress);
            }
            Ok(Incoming::SubAck { granted }) => {
                if let Some(tx) = ready_tx.take() {
                    let result = if granted {
                        Ok(())
                    } else {
                        Err(format!("{}: subscription refused", spec.client_id))
                    };
                    // The scenario may have given up waiting already.
                    let _ = tx.send(result);
                }
            }
            Ok(_) => {}
            Err(e) => {
                // No reconnect: a clean session would silently lose the
                // subscription, and the figures would lie.
                let message = format!("{}: {e}", spec.client_id);
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(Err(message.clone()));
                }
                report.error = Some(message);
                break;
            }
        }
    }
    report
}

fn record(report: &mut SubReport, seen: &mut SeenSet, body: &[u8], now: u64, progress: &Progress) {
    let Some((seq, sent_ns)) = payload::decode(body) else {
        report.foreign += 1;
        return;
    };
    match seen.insert(seq) {
        Seen::First => {
            report.delivered += 1;
            let micros = now.saturating_sub(sent_ns) / 1_000;
            report.latency_us.saturating_record(micros.max(1));
            progress.delivered.fetch_add(1, Ordering::Relaxed);
            progress.last_rx_ns.fetch_max(now, Ordering::Relaxed);
        }
        Seen::Duplicate => report.duplicates += 1,
        Seen::OutOfRange => report.foreign += 1,
    }
}
