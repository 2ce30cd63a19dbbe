//! The publishing client: floods (or paces) its topic, stamping every
//! payload with a sequence number and send time.
//!
//! One task both feeds the rumqttc request channel and polls the event
//! loop. With two tasks every publish wakes the event loop across threads,
//! and those wake-ups cost the client more CPU than the sends themselves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::QoS;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use crate::cli::Protocol;
use crate::client::{self, Client, Connection, Incoming};
use crate::clock;
use crate::conn::Endpoint;
use crate::payload;

pub struct PublisherSpec {
    pub protocol: Protocol,
    pub client_id: String,
    pub topic: String,
    pub qos: QoS,
    pub count: u64,
    /// Messages per second, 0 for no pacing.
    pub rate: u64,
    pub inflight: u16,
    pub channel_capacity: usize,
}

/// What the publisher managed to do.
#[derive(Default, Clone)]
pub struct PubReport {
    /// Messages handed to the client.
    pub sent: u64,
    pub first_send_ns: Option<u64>,
    pub last_send_ns: u64,
    /// The Receive Maximum an MQTT 5.0 broker announced in its CONNACK: its QoS 1 window for
    /// this publisher, if lower than `inflight`.
    pub receive_maximum: Option<u16>,
    /// Why publishing stopped before `count`, if it did.
    pub stopped: Option<String>,
}

/// Limits for one publisher run.
pub struct Deadlines {
    /// CONNACK must have arrived by then.
    pub connect: Instant,
    /// Publishing stops by then, finished or not.
    pub publish: Instant,
}

pub struct Publisher {
    /// PUBACKs received (QoS 1 only).
    pub acked: Arc<AtomicU64>,
    report: oneshot::Receiver<PubReport>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Option<String>>,
}

impl Publisher {
    /// Connects and starts publishing at once; the task keeps polling for
    /// acknowledgements after the last publish until `close`.
    pub fn spawn(endpoint: &Endpoint, spec: PublisherSpec, deadlines: Deadlines) -> Self {
        let (client, connection) = client::new(
            endpoint,
            &client::Spec {
                protocol: spec.protocol,
                client_id: &spec.client_id,
                clean_session: true,
                inflight: spec.inflight,
                channel_capacity: spec.channel_capacity,
            },
        );
        let acked = Arc::new(AtomicU64::new(0));
        let (stop, stop_rx) = watch::channel(false);
        let (report_tx, report) = oneshot::channel();
        let run = Run {
            client,
            connection,
            spec,
            payload_len: endpoint.payload_len,
            acked: acked.clone(),
            report_tx: Some(report_tx),
            report: PubReport::default(),
        };
        let task = tokio::spawn(run.drive(stop_rx, deadlines));
        Publisher {
            acked,
            report,
            stop,
            task,
        }
    }

    /// Waits until every message was handed to the client or publishing stopped.
    pub async fn published(&mut self, deadline: Instant) -> PubReport {
        // The task reports by its own deadline; the slack only covers a task
        // that died without reporting.
        match timeout_at(deadline + Duration::from_secs(5), &mut self.report).await {
            Ok(Ok(report)) => report,
            Ok(Err(_)) => PubReport {
                stopped: Some("publisher task ended without a report".into()),
                ..PubReport::default()
            },
            Err(_) => PubReport {
                stopped: Some("publisher did not report in time".into()),
                ..PubReport::default()
            },
        }
    }

    /// Stops the event loop and returns the error that ended it, if any.
    pub async fn close(self) -> Option<String> {
        let _ = self.stop.send(true);
        match timeout(Duration::from_secs(2), self.task).await {
            Ok(Ok(error)) => error,
            Ok(Err(e)) => Some(format!("publisher task: {e}")),
            Err(_) => Some("publisher event loop did not stop".into()),
        }
    }
}

struct Run {
    client: Client,
    connection: Connection,
    spec: PublisherSpec,
    payload_len: usize,
    acked: Arc<AtomicU64>,
    report_tx: Option<oneshot::Sender<PubReport>>,
    report: PubReport,
}

impl Run {
    async fn drive(
        mut self,
        mut stop: watch::Receiver<bool>,
        deadlines: Deadlines,
    ) -> Option<String> {
        if let Err(why) = self.connect(deadlines.connect).await {
            self.finish(Some(why));
            return None;
        }
        let start = Instant::now();
        let mut seq = 0u64;
        loop {
            let publishing = self.report_tx.is_some();
            if publishing {
                if Instant::now() >= deadlines.publish {
                    self.finish(Some("publishing hit the scenario timeout".into()));
                } else {
                    seq = self.top_up(seq, start);
                    if seq == self.spec.count {
                        self.finish(None);
                    }
                }
            }
            let wake = match self.due(seq, start) {
                Some(due) if publishing => due.min(deadlines.publish),
                _ => deadlines.publish,
            };
            let event = tokio::select! {
                biased;
                _ = stop.changed() => return None,
                event = self.connection.next() => event,
                _ = sleep_until(wake), if self.report_tx.is_some() => continue,
            };
            match event {
                Ok(Incoming::PubAck) => {
                    self.acked.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    let message = format!("{}: {e}", self.spec.client_id);
                    self.finish(Some(format!("publisher connection failed: {e}")));
                    return Some(message);
                }
            }
        }
    }

    /// Polls until CONNACK; rumqttc connects on the first poll.
    async fn connect(&mut self, deadline: Instant) -> Result<(), String> {
        let wait = async {
            loop {
                match self.connection.next().await {
                    Ok(Incoming::ConnAck { receive_maximum }) => {
                        self.report.receive_maximum = receive_maximum;
                        return Ok(());
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("publisher connect failed: {e}")),
                }
            }
        };
        match timeout_at(deadline, wait).await {
            Ok(result) => result,
            Err(_) => Err("publisher got no CONNACK in time".into()),
        }
    }

    /// Fills the request channel with the messages that are due; returns
    /// the next sequence number. A full channel just ends the batch: the
    /// event loop drains it on the next poll.
    fn top_up(&mut self, mut seq: u64, start: Instant) -> u64 {
        let now = Instant::now();
        while seq < self.spec.count {
            if self.due(seq, start).is_some_and(|due| due > now) {
                break;
            }
            let sent_ns = clock::now_ns();
            let body = payload::encode(seq, sent_ns, self.payload_len);
            let topic = self.spec.topic.as_str();
            if self.client.try_publish(topic, self.spec.qos, body).is_err() {
                break;
            }
            self.report.first_send_ns.get_or_insert(sent_ns);
            self.report.last_send_ns = sent_ns;
            self.report.sent += 1;
            seq += 1;
        }
        seq
    }

    /// When message `seq` is due under pacing; `None` without pacing.
    fn due(&self, seq: u64, start: Instant) -> Option<Instant> {
        (self.spec.rate > 0)
            .then(|| start + Duration::from_secs_f64(seq as f64 / self.spec.rate as f64))
    }

    /// Hands the report to the scenario once; later calls do nothing.
    fn finish(&mut self, stopped: Option<String>) {
        if let Some(tx) = self.report_tx.take() {
            self.report.stopped = stopped;
            let _ = tx.send(self.report.clone());
        }
    }
}
