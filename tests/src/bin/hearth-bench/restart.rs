//! `persistence` part `restart`: a broker holding many retained messages and persistent
//! sessions (each subscribed to its own `node/{i}/set`, a few QoS 1 messages queued each) is
//! stopped with SIGTERM and started again on its state; timed from spawn until it accepts TCP
//! connections and until a client subscribed to `#` has every retained message. Then every
//! session comes back to check that it, and what was queued for it, survived.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tests::decode::Packet;
use tests::encode;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::persistence::{kib, store_sizes, Bench, Case};
use crate::pipeline::{self, Flow, Message};
use crate::table::Table;

/// Sessions connecting at once while they are made and checked.
const AT_ONCE: usize = 32;
/// Limit for each of populating, stopping, restarting and checking.
const STEP: Duration = Duration::from_secs(120);
/// A returning session is done once nothing came for this long.
const SESSION_IDLE: Duration = Duration::from_secs(2);

struct Row {
    populate_s: f64,
    stop_ms: f64,
    db: Option<u64>,
    wal: Option<u64>,
    accepting_ms: f64,
    all_retained_ms: Option<f64>,
    retained_received: usize,
    sessions_present: usize,
    queued_received: usize,
    notes: Vec<String>,
}

pub async fn run(bench: &Bench<'_>) -> Table {
    let args = bench.args;
    println!(
        "restart: {} retained messages, {} persistent sessions each subscribed at QoS 1 to \
         node/{{i}}/set with {} QoS 1 messages queued; SIGTERM, wait for exit, start again; \
         times from spawn",
        args.retained, args.sessions, args.queued_per_session
    );
    let mut table = Table::new(
        &[
            "broker",
            "populate s",
            "SIGTERM to exit ms",
            "db KiB",
            "wal KiB",
            "accepting ms",
            "all retained ms",
            "retained received",
            "sessions restored",
            "queued received",
        ],
        1,
    );
    let expected_queued = args.sessions * args.queued_per_session;
    for case in [
        Case::hearth(&args.hearth_bin),
        Case::mosquitto(&args.mosquitto_bin),
    ] {
        eprintln!("  restart: {}", case.label);
        match one(bench, &case).await {
            Ok(r) => {
                eprintln!(
                    "    accepting after {:.0} ms, all retained after {} ms",
                    r.accepting_ms,
                    r.all_retained_ms.map_or("-".into(), |v| format!("{v:.0}"))
                );
                let mut notes = r.notes;
                if r.retained_received != args.retained {
                    notes.push(format!(
                        "{} of {} retained messages came",
                        r.retained_received, args.retained
                    ));
                }
                table.row(
                    vec![
                        case.label.to_string(),
                        format!("{:.1}", r.populate_s),
                        format!("{:.0}", r.stop_ms),
                        kib(r.db),
                        kib(r.wal),
                        format!("{:.0}", r.accepting_ms),
                        r.all_retained_ms.map_or("-".into(), |v| format!("{v:.0}")),
                        format!("{}/{}", r.retained_received, args.retained),
                        format!("{}/{}", r.sessions_present, args.sessions),
                        format!("{}/{expected_queued}", r.queued_received),
                    ],
                    &notes,
                );
            }
            Err(e) => {
                eprintln!("    {e:#}");
                table.row(vec![case.label.to_string()], &[format!("{e:#}")]);
            }
        }
    }
    table
}

async fn one(bench: &Bench<'_>, case: &Case) -> Result<Row> {
    let args = bench.args;
    let mut started = bench.fresh(case, "restart").await?;
    let populating = Instant::now();
    populate(started.addr(), bench).await?;
    let populate_s = populating.elapsed().as_secs_f64();
    let (stop, status) = started.broker.terminate(STEP).await?;
    let mut notes = Vec::new();
    if !status.success() {
        notes.push(format!("the first run exited with {status}"));
    }
    let (db, wal) = store_sizes(&started.store.dir, case.store_file());

    let broker = bench.start(case, &started.store).await?;
    let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, broker.port));
    let (retained_received, last) = watch_retained(addr, args.retained).await?;
    let all_retained_ms = last.map(|t| (t - broker.spawned).as_secs_f64() * 1000.0);
    let (sessions_present, queued_received) = check_sessions(addr, bench).await?;
    Ok(Row {
        populate_s,
        stop_ms: stop.as_secs_f64() * 1000.0,
        db,
        wal,
        accepting_ms: broker.accepting_after.as_secs_f64() * 1000.0,
        all_retained_ms,
        retained_received,
        sessions_present,
        queued_received,
        notes,
    })
}

/// Retained messages, sessions, then the messages queued for them.
async fn populate(addr: std::net::SocketAddr, bench: &Bench<'_>) -> Result<()> {
    let args = bench.args;
    let deadline = Instant::now() + STEP;
    let conn = pipeline::connect(addr, "pb-populate", deadline).await?;
    let flow = Flow {
        qos: 1,
        window: 100,
        rate: 0,
    };
    let retained = |i: u64| Message {
        topic: format!("Home/Room{i}/temperature"),
        payload: format!("{:.1}", 18.0 + (i % 60) as f64 / 10.0).into_bytes(),
        retain: true,
    };
    let (conn, _) = pipeline::publish(conn, args.retained as u64, retained, flow, deadline)
        .await
        .context("publishing the retained messages")?;

    let gate = Arc::new(Semaphore::new(AT_ONCE));
    let mut made = JoinSet::new();
    for i in 0..args.sessions {
        let gate = gate.clone();
        made.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let filter = format!("node/{i}/set");
            pipeline::leave_subscribed(addr, &format!("node-{i}"), &filter, deadline).await
        });
    }
    while let Some(done) = made.join_next().await {
        done.context("a session task failed")??;
    }

    let sessions = args.sessions as u64;
    let queued = |i: u64| Message {
        topic: format!("node/{}/set", i % sessions),
        payload: format!("cmd {}", i / sessions).into_bytes(),
        retain: false,
    };
    let total = sessions * args.queued_per_session as u64;
    let (conn, _) = pipeline::publish(conn, total, queued, flow, deadline)
        .await
        .context("queueing messages for the sessions")?;
    pipeline::leave(conn, deadline).await
}

/// Subscribes to `#` and counts retained messages until `expected` came: how many, and when
/// the last did.
async fn watch_retained(
    addr: std::net::SocketAddr,
    expected: usize,
) -> Result<(usize, Option<Instant>)> {
    let deadline = Instant::now() + STEP;
    let mut conn = pipeline::connect(addr, "pb-viewer", deadline).await?;
    conn.send(&encode::subscribe(1, &[("#", 0)])).await?;
    let (mut received, mut last) = (0, None);
    while received < expected {
        match conn.reader.recv(deadline).await {
            Ok(Packet::Publish(p)) if p.retain => {
                received += 1;
                last = Some(Instant::now());
            }
            Ok(Packet::SubAck { codes, .. }) if codes.iter().any(|c| *c > 2) => {
                bail!("SUBSCRIBE # refused")
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("    {received} of {expected} retained messages: {e:#}");
                break;
            }
        }
    }
    let _ = conn.send(&encode::disconnect()).await;
    Ok((received, (received == expected).then_some(last).flatten()))
}

/// Each session comes back: how many were present, and how many queued messages came.
async fn check_sessions(addr: std::net::SocketAddr, bench: &Bench<'_>) -> Result<(usize, usize)> {
    let args = bench.args;
    let deadline = Instant::now() + STEP;
    let gate = Arc::new(Semaphore::new(AT_ONCE));
    let mut back = JoinSet::new();
    for i in 0..args.sessions {
        let gate = gate.clone();
        let expected = args.queued_per_session;
        back.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let id = format!("node-{i}");
            pipeline::come_back(addr, &id, expected, SESSION_IDLE, deadline).await
        });
    }
    let (mut present, mut queued) = (0, 0);
    while let Some(done) = back.join_next().await {
        let drained = done.context("a session task failed")??;
        present += usize::from(drained.session_present);
        queued += drained.payloads.len();
    }
    Ok((present, queued))
}
