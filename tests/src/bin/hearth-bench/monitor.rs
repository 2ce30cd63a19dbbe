//! The storm's monitor: one client publishes QoS 1 at a steady rate to a topic a second client
//! subscribes to (QoS 1), and every message's latency is kept, so what a storm does to a
//! connected client's messages can be read off any stretch of time afterwards.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tests::decode::Packet;
use tests::encode::{self, Connect};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant, MissedTickBehavior};

use crate::clock;
use crate::passwords::password_of;
use crate::payload;
use crate::raw_conn::Conn;
use crate::stats;

/// What was sent and what arrived, by sequence number.
#[derive(Default)]
pub struct Log {
    /// Send time (`clock::now_ns`) of message `seq`.
    sent_ns: Vec<u64>,
    /// Latency of message `seq`, once it arrived.
    latency_ns: Vec<Option<u64>>,
    pub duplicates: u64,
}

/// The monitor's figures for the messages sent in one stretch of time.
pub struct WindowStats {
    pub sent: u64,
    pub lost: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Log {
    /// Messages sent from `from_ns` (inclusive) to `to_ns` (exclusive).
    pub fn window(&self, from_ns: u64, to_ns: u64) -> Result<WindowStats> {
        let mut latency = stats::latency_histogram()?;
        let (mut sent, mut lost) = (0, 0);
        for (seq, at) in self.sent_ns.iter().enumerate() {
            if !(from_ns..to_ns).contains(at) {
                continue;
            }
            sent += 1;
            match self.latency_ns.get(seq).copied().flatten() {
                Some(ns) => latency.saturating_record((ns / 1000).max(1)),
                None => lost += 1,
            }
        }
        let ms = |q: f64| (!latency.is_empty()).then(|| latency.value_at_quantile(q) as f64 / 1e3);
        Ok(WindowStats {
            sent,
            lost,
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            max_ms: (!latency.is_empty()).then(|| latency.max() as f64 / 1e3),
        })
    }
}

pub struct Monitor {
    stop: watch::Sender<bool>,
    publisher: JoinHandle<Result<()>>,
    puback_reader: JoinHandle<Result<()>>,
    subscriber: JoinHandle<Result<()>>,
    received: watch::Receiver<u64>,
    log: Arc<Mutex<Log>>,
}

fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Monitor {
    /// Connects the subscriber (user `sub_user`), then the publisher (`pub_user`), and starts
    /// publishing `rate` messages a second on `topic`.
    pub async fn start(
        addr: SocketAddr,
        pub_user: &str,
        sub_user: &str,
        topic: &str,
        rate: u64,
        deadline: Instant,
    ) -> Result<Monitor> {
        if rate == 0 {
            bail!("the monitor's rate must be at least 1 message a second");
        }
        let log = Arc::new(Mutex::new(Log::default()));
        let connect = |user: &str| {
            Connect::new(user)
                .keep_alive(60)
                .credentials(user, password_of(user))
        };
        let (mut sub, _) = Conn::handshake(addr, &connect(sub_user), deadline)
            .await
            .context("connecting the monitor's subscriber")?;
        sub.send(&encode::subscribe(1, &[(topic, 1)])).await?;
        sub.recv_until(deadline, |p| match p {
            Packet::SubAck { pkid: 1, codes } => Some(codes.clone()),
            _ => None,
        })
        .await
        .context("waiting for the monitor's SUBACK")?
        .first()
        .filter(|code| **code == 1)
        .ok_or_else(|| anyhow!("the monitor's subscription was not granted QoS 1"))?;
        let (received_tx, received) = watch::channel(0u64);
        let subscriber = tokio::spawn(subscribe_loop(
            sub,
            topic.to_string(),
            log.clone(),
            received_tx,
        ));

        let (publisher, _) = Conn::handshake(addr, &connect(pub_user), deadline)
            .await
            .context("connecting the monitor's publisher")?;
        let Conn { mut reader, writer } = publisher;
        let puback_reader = tokio::spawn(async move {
            loop {
                // PUBACKs are only drained: the subscriber's arrivals are what counts.
                reader
                    .recv(Instant::now() + Duration::from_secs(3600))
                    .await
                    .context("the monitor's publisher")?;
            }
        });
        let (stop, stopped) = watch::channel(false);
        let publisher = tokio::spawn(publish_loop(
            writer,
            topic.to_string(),
            rate,
            log.clone(),
            stopped,
        ));
        Ok(Monitor {
            stop,
            publisher,
            puback_reader,
            subscriber,
            received,
            log,
        })
    }

    /// Waits until the first message has arrived, so the figures start with the flow set up.
    pub async fn flowing(&mut self, deadline: Instant) -> Result<()> {
        tokio::time::timeout_at(deadline, self.received.wait_for(|n| *n > 0))
            .await
            .map_err(|_| anyhow!("no monitor message arrived in time"))?
            .map_err(|_| anyhow!("the monitor's subscriber stopped"))?;
        Ok(())
    }

    /// Stops publishing and waits (up to `drain`) until every message sent has arrived; what
    /// has not by then is lost. Fails if a monitor connection failed meanwhile.
    pub async fn stop(mut self, drain: Duration) -> Result<Log> {
        let _ = self.stop.send(true);
        let published = self
            .publisher
            .await
            .context("the monitor's publisher task")?;
        let sent = lock(&self.log).sent_ns.len() as u64;
        let arrived = timeout(drain, self.received.wait_for(|n| *n >= sent)).await;
        self.puback_reader.abort();
        self.subscriber.abort();
        let subscribed = match self.subscriber.await {
            Ok(result) => result,
            Err(e) if e.is_cancelled() => Ok(()),
            Err(e) => Err(anyhow!("the monitor's subscriber task: {e}")),
        };
        published?;
        subscribed?;
        if arrived.is_err() {
            eprintln!("    monitor: not every message arrived within {drain:?}");
        }
        let log = std::mem::take(&mut *lock(&self.log));
        Ok(log)
    }
}

async fn publish_loop(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    topic: String,
    rate: u64,
    log: Arc<Mutex<Log>>,
    mut stopped: watch::Receiver<bool>,
) -> Result<()> {
    let mut ticks = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    // A late tick is made up for at once, so the offered rate holds over the run.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        }
        let sent_ns = clock::now_ns();
        let pkid = (seq % u64::from(u16::MAX)) as u16 + 1;
        let packet = encode::publish(
            &topic,
            &payload::encode(seq, sent_ns, payload::HEADER_LEN),
            1,
            false,
            false,
            pkid,
        );
        lock(&log).sent_ns.push(sent_ns);
        writer
            .write_all(&packet)
            .await
            .context("the monitor's publisher: writing")?;
        seq += 1;
    }
}

async fn subscribe_loop(
    mut sub: Conn,
    topic: String,
    log: Arc<Mutex<Log>>,
    received: watch::Sender<u64>,
) -> Result<()> {
    let mut arrived = 0u64;
    loop {
        let packet = sub
            .reader
            .recv(Instant::now() + Duration::from_secs(3600))
            .await
            .context("the monitor's subscriber")?;
        let Packet::Publish(publish) = packet else {
            continue;
        };
        let now = clock::now_ns();
        if publish.qos > 0 {
            sub.send(&encode::puback(publish.pkid)).await?;
        }
        if publish.topic != topic {
            continue;
        }
        let Some((seq, sent_ns)) = payload::decode(&publish.payload) else {
            continue;
        };
        let mut log = lock(&log);
        let Ok(seq) = usize::try_from(seq) else {
            continue;
        };
        if log.latency_ns.len() <= seq {
            log.latency_ns.resize(seq + 1, None);
        }
        if log.latency_ns[seq].is_some() {
            log.duplicates += 1;
            continue;
        }
        log.latency_ns[seq] = Some(now.saturating_sub(sent_ns));
        drop(log);
        arrived += 1;
        let _ = received.send(arrived);
    }
}
