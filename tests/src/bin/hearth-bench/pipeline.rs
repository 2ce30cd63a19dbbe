//! Raw MQTT clients for the store benchmarks: a publisher that keeps a window of QoS 1
//! PUBLISHes unacknowledged (paced or not), and a persistent-session subscriber that leaves
//! and later comes back for what was queued. Raw sockets, so the client costs little next to
//! the broker and every packet is the one meant.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tests::decode::Packet;
use tests::encode::{self, Connect};
use tokio::sync::Semaphore;
use tokio::time::{sleep_until, timeout_at, Instant};

use crate::raw_conn::{Conn, PacketReader};

/// Writes are gathered up to this size before they go out in one syscall.
const BATCH_BYTES: usize = 32 * 1024;

/// One message to publish.
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// How to publish: QoS 0 or 1, at most `window` QoS 1 messages unacknowledged, `rate`
/// messages per second (0: as fast as the window allows).
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    pub qos: u8,
    pub window: usize,
    pub rate: u64,
}

/// What a publisher did.
#[derive(Clone, Copy, Debug)]
pub struct Published {
    pub sent: u64,
    /// PUBACKs received (QoS 1).
    pub acked: u64,
    pub started: Instant,
    /// The last PUBACK at QoS 1, the last write at QoS 0.
    pub finished: Instant,
}

/// Connects with a clean session.
pub async fn connect(addr: SocketAddr, client_id: &str, deadline: Instant) -> Result<Conn> {
    let connect = Connect::new(client_id).keep_alive(120);
    let (conn, _) = Conn::handshake(addr, &connect, deadline)
        .await
        .with_context(|| format!("connecting {client_id}"))?;
    Ok(conn)
}

/// Publishes messages `0..count` made by `make` over `conn`; at QoS 1 returns once every
/// PUBACK is in. Fails if that is not done by `deadline`.
pub async fn publish(
    conn: Conn,
    count: u64,
    make: impl Fn(u64) -> Message,
    flow: Flow,
    deadline: Instant,
) -> Result<(Conn, Published)> {
    let Conn { reader, mut writer } = conn;
    let window = Arc::new(Semaphore::new(flow.window.max(1)));
    // At QoS 1 the reader counts PUBACKs in its own task while this one writes.
    let (acks, mut reader) = if flow.qos > 0 {
        let task = tokio::spawn(count_acks(reader, count, window.clone(), deadline));
        (Some(task), None)
    } else {
        (None, Some(reader))
    };
    let started = Instant::now();
    let mut buf = Vec::with_capacity(BATCH_BYTES + 1024);
    let mut sent = 0u64;
    for seq in 0..count {
        if flow.rate > 0 {
            let due = started + Duration::from_secs_f64(seq as f64 / flow.rate as f64);
            if due > Instant::now() {
                flush(&mut writer, &mut buf).await?;
                sleep_until(due.min(deadline)).await;
            }
        }
        if flow.qos > 0 {
            let permit = match window.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    flush(&mut writer, &mut buf).await?;
                    timeout_at(deadline, window.clone().acquire_owned())
                        .await
                        .map_err(|_| anyhow!("{sent} of {count} sent, the window never opened"))?
                        .context("the window closed")?
                }
            };
            // Given back by the PUBACK.
            permit.forget();
        }
        let m = make(seq);
        let pkid = (seq % u64::from(u16::MAX)) as u16 + 1;
        buf.extend(encode::publish(
            &m.topic, &m.payload, flow.qos, m.retain, false, pkid,
        ));
        sent += 1;
        if buf.len() >= BATCH_BYTES {
            flush(&mut writer, &mut buf).await?;
        }
        if Instant::now() >= deadline {
            bail!("{sent} of {count} sent by the deadline");
        }
    }
    flush(&mut writer, &mut buf).await?;
    let mut done = Published {
        sent,
        acked: 0,
        started,
        finished: Instant::now(),
    };
    if let Some(acks) = acks {
        let (back, acked, last) = acks.await.context("the PUBACK reader failed")??;
        reader = Some(back);
        done.acked = acked;
        done.finished = last.unwrap_or(done.finished);
    }
    let reader = reader.context("the PUBACK reader was not given back")?;
    Ok((Conn { reader, writer }, done))
}

/// Counts PUBACKs, reopening the window by one for each, until all `count` are in.
async fn count_acks(
    mut reader: PacketReader,
    count: u64,
    window: Arc<Semaphore>,
    deadline: Instant,
) -> Result<(PacketReader, u64, Option<Instant>)> {
    let (mut acked, mut last) = (0u64, None);
    while acked < count {
        match reader.recv(deadline).await {
            Ok(Packet::PubAck(_)) => {
                acked += 1;
                last = Some(Instant::now());
                window.add_permits(1);
            }
            Ok(_) => {}
            Err(e) => return Err(e.context(format!("{acked} of {count} PUBACKs"))),
        }
    }
    Ok((reader, acked, last))
}

async fn flush(writer: &mut tokio::net::tcp::OwnedWriteHalf, buf: &mut Vec<u8>) -> Result<()> {
    if !buf.is_empty() {
        tokio::io::AsyncWriteExt::write_all(writer, buf)
            .await
            .context("writing PUBLISHes")?;
        buf.clear();
    }
    Ok(())
}

/// Sends DISCONNECT and waits (bounded) until the broker has closed the connection: after
/// that, the session is offline and what comes for it is queued.
pub async fn leave(mut conn: Conn, deadline: Instant) -> Result<()> {
    conn.send(&encode::disconnect()).await?;
    conn.reader
        .closed(deadline)
        .await
        .context("after DISCONNECT")
}

/// Connects with clean_session=false, subscribes to `filter` at QoS 1 and leaves: from then
/// on the broker queues that filter's messages for `client_id`.
pub async fn leave_subscribed(
    addr: SocketAddr,
    client_id: &str,
    filter: &str,
    deadline: Instant,
) -> Result<()> {
    let connect = Connect::new(client_id).clean_session(false).keep_alive(120);
    let (mut conn, _) = Conn::handshake(addr, &connect, deadline)
        .await
        .with_context(|| format!("connecting {client_id}"))?;
    conn.send(&encode::subscribe(1, &[(filter, 1)])).await?;
    let codes = conn
        .recv_until(deadline, |p| match p {
            Packet::SubAck { codes, .. } => Some(codes.clone()),
            _ => None,
        })
        .await
        .with_context(|| format!("{client_id} waiting for SUBACK"))?;
    if codes.iter().any(|c| *c > 2) {
        bail!("{client_id}: SUBSCRIBE {filter} refused ({codes:?})");
    }
    leave(conn, deadline).await
}

/// What a returning session received.
#[derive(Clone, Debug, Default)]
pub struct Drained {
    pub session_present: bool,
    /// PUBLISHes received (each QoS 1 one acknowledged), payloads in arrival order.
    pub payloads: Vec<Vec<u8>>,
    /// From the CONNECT until the last PUBLISH.
    pub took: Duration,
    /// Why fewer than expected came, if they did.
    pub stopped: Option<String>,
}

/// Reconnects `client_id` with clean_session=false and takes what was queued for it: until
/// `expected` PUBLISHes came, or none for `idle`, or `deadline`. Leaves with DISCONNECT.
pub async fn come_back(
    addr: SocketAddr,
    client_id: &str,
    expected: usize,
    idle: Duration,
    deadline: Instant,
) -> Result<Drained> {
    let started = Instant::now();
    let connect = Connect::new(client_id).clean_session(false).keep_alive(120);
    let (mut conn, session_present) = Conn::handshake(addr, &connect, deadline)
        .await
        .with_context(|| format!("reconnecting {client_id}"))?;
    let mut drained = Drained {
        session_present,
        ..Drained::default()
    };
    while drained.payloads.len() < expected {
        let wait = (Instant::now() + idle).min(deadline);
        match conn.reader.recv(wait).await {
            Ok(Packet::Publish(p)) => {
                if p.qos == 1 {
                    conn.send(&encode::puback(p.pkid)).await?;
                }
                drained.payloads.push(p.payload);
                drained.took = started.elapsed();
            }
            Ok(_) => {}
            Err(e) => {
                drained.stopped = Some(format!("{} of {expected}: {e:#}", drained.payloads.len()));
                break;
            }
        }
    }
    let _ = conn.send(&encode::disconnect()).await;
    Ok(drained)
}
