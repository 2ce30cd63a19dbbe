//! `persistence` parts `retained` and `queued`: bytes a broker writes for each retained
//! update and for each QoS 1 message queued for an absent persistent subscriber, and while
//! nothing happens.

use std::time::Duration;

use anyhow::Result;
use tokio::time::Instant;

use crate::clock;
use crate::disk::Io;
use crate::payload;
use crate::persistence::{self, kib, per, Bench, Case};
use crate::pipeline::{self, Flow, Message};
use crate::stats::{Seen, SeenSet};
use crate::table::Table;

/// Time allowed for connecting and subscribing before a measurement.
const SETUP: Duration = Duration::from_secs(15);
/// A returning subscriber is done once nothing came for this long.
const DRAIN_IDLE: Duration = Duration::from_secs(3);

/// A reading like a room thermometer's: `18.0` to `23.9`.
fn reading(i: u64) -> Vec<u8> {
    format!("{:.1}", 18.0 + (i * 7 % 60) as f64 / 10.0).into_bytes()
}

struct RetainedRow {
    updates: u64,
    window: Io,
    idle: Io,
    db: Option<u64>,
    wal: Option<u64>,
    notes: Vec<String>,
}

pub async fn retained(bench: &Bench<'_>) -> Table {
    let args = bench.args;
    let mut cases = vec![Case::hearth(&args.hearth_bin)];
    if args.update_qos > 0 {
        cases.push(Case::hearth_strict(&args.hearth_bin));
    }
    cases.push(Case::mosquitto(&args.mosquitto_bin));
    cases.push(Case::mosquitto_every_second(&args.mosquitto_bin));
    let title = format!(
        "retained: {} retained QoS {} updates/s for {} s over {} topics \
         (Home/Room{{i}}/temperature, payloads like 21.5), then {} s without traffic",
        args.update_rate, args.update_qos, args.seconds, args.topics, args.idle
    );
    println!("{title}");
    let mut table = Table::new(
        &[
            "broker",
            "updates",
            "write_bytes",
            "B/update",
            "wchar B/update",
            "cancelled B",
            "idle write_bytes",
            "idle wchar",
            "db KiB",
            "wal KiB",
        ],
        1,
    );
    for case in &cases {
        eprintln!("  retained: {}", case.label);
        match retained_case(bench, case).await {
            Ok(r) => {
                eprintln!(
                    "    {} updates: {} B written, {} B in the idle window",
                    r.updates, r.window.write_bytes, r.idle.write_bytes
                );
                table.row(
                    vec![
                        case.label.to_string(),
                        r.updates.to_string(),
                        r.window.write_bytes.to_string(),
                        per(r.window.write_bytes, r.updates),
                        per(r.window.wchar, r.updates),
                        r.window.cancelled.to_string(),
                        r.idle.write_bytes.to_string(),
                        r.idle.wchar.to_string(),
                        kib(r.db),
                        kib(r.wal),
                    ],
                    &r.notes,
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

async fn retained_case(bench: &Bench<'_>, case: &Case) -> Result<RetainedRow> {
    let args = bench.args;
    let started = bench.fresh(case, "retained").await?;
    let pid = started.pid();
    let conn = pipeline::connect(started.addr(), "pb-retained", Instant::now() + SETUP).await?;
    let mut notes = Vec::new();
    let (before, quiet) = bench.settled(pid).await?;
    if !quiet {
        notes.push("still writing before the updates began".to_string());
    }
    let count = args.seconds * args.update_rate;
    let flow = Flow {
        qos: args.update_qos,
        window: 100,
        rate: args.update_rate,
    };
    let topics = args.topics as u64;
    let make = |i: u64| Message {
        topic: format!("Home/Room{}/temperature", i % topics),
        payload: reading(i),
        retain: true,
    };
    let deadline = Instant::now() + Duration::from_secs(args.seconds + 30);
    let (conn, published) = pipeline::publish(conn, count, make, flow, deadline).await?;
    let (after, quiet) = bench.settled(pid).await?;
    if !quiet {
        notes.push(persistence::unsettled_note());
    }
    tokio::time::sleep(Duration::from_secs(args.idle)).await;
    let idle = Io::of(pid)?.since(&after);
    let (db, wal) = persistence::store_sizes(&started.store.dir, case.store_file());
    drop(conn);
    Ok(RetainedRow {
        updates: published.sent,
        window: after.since(&before),
        idle,
        db,
        wal,
        notes,
    })
}

struct QueuedRow {
    acked: u64,
    window: Io,
    db: Option<u64>,
    wal: Option<u64>,
    drained: u64,
    duplicates: u64,
    drain_ms: f64,
    drain_writes: Io,
    notes: Vec<String>,
}

pub async fn queued(bench: &Bench<'_>) -> Table {
    let args = bench.args;
    let cases = [
        Case::hearth(&args.hearth_bin),
        Case::hearth_strict(&args.hearth_bin),
        Case::mosquitto(&args.mosquitto_bin),
        Case::mosquitto_every_second(&args.mosquitto_bin),
    ];
    println!(
        "queued: a persistent subscriber (clean_session=false, QoS 1) subscribes and leaves; \
         {} QoS 1 messages of {} B at {}/s are queued for it; then it comes back and drains",
        args.queued,
        args.payload.max(payload::HEADER_LEN),
        args.queued_rate
    );
    let mut table = Table::new(
        &[
            "broker",
            "queued",
            "PUBACKs",
            "write_bytes",
            "B/message",
            "wchar B/message",
            "db KiB",
            "wal KiB",
            "drained",
            "drain ms",
            "drain write_bytes",
        ],
        1,
    );
    for case in &cases {
        eprintln!("  queued: {}", case.label);
        match queued_case(bench, case).await {
            Ok(r) => {
                eprintln!(
                    "    {} acked: {} B written; {} drained in {:.0} ms",
                    r.acked, r.window.write_bytes, r.drained, r.drain_ms
                );
                let mut notes = r.notes;
                if r.duplicates > 0 {
                    notes.push(format!("{} duplicates on the drain", r.duplicates));
                }
                table.row(
                    vec![
                        case.label.to_string(),
                        args.queued.to_string(),
                        r.acked.to_string(),
                        r.window.write_bytes.to_string(),
                        per(r.window.write_bytes, r.acked),
                        per(r.window.wchar, r.acked),
                        kib(r.db),
                        kib(r.wal),
                        r.drained.to_string(),
                        format!("{:.0}", r.drain_ms),
                        r.drain_writes.write_bytes.to_string(),
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

async fn queued_case(bench: &Bench<'_>, case: &Case) -> Result<QueuedRow> {
    let args = bench.args;
    let started = bench.fresh(case, "queued").await?;
    let (addr, pid) = (started.addr(), started.pid());
    let topic = format!("queue/{}/t", bench.run_id);
    let setup = Instant::now() + SETUP;
    pipeline::leave_subscribed(addr, "pb-queue-sub", &topic, setup).await?;
    let conn = pipeline::connect(addr, "pb-queue-pub", setup).await?;
    let mut notes = Vec::new();
    let (before, quiet) = bench.settled(pid).await?;
    if !quiet {
        notes.push("still writing before the messages began".to_string());
    }
    let flow = Flow {
        qos: 1,
        window: 100,
        rate: args.queued_rate,
    };
    let len = args.payload;
    let make = |seq: u64| Message {
        topic: topic.clone(),
        payload: payload::encode(seq, clock::now_ns(), len),
        retain: false,
    };
    let seconds = args.queued / args.queued_rate + 30;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (conn, published) = pipeline::publish(conn, args.queued, make, flow, deadline).await?;
    let (after, quiet) = bench.settled(pid).await?;
    if !quiet {
        notes.push(persistence::unsettled_note());
    }
    let (db, wal) = persistence::store_sizes(&started.store.dir, case.store_file());
    drop(conn);

    let expected = usize::try_from(args.queued).unwrap_or(usize::MAX);
    let deadline = Instant::now() + Duration::from_secs(60);
    let drained = pipeline::come_back(addr, "pb-queue-sub", expected, DRAIN_IDLE, deadline).await?;
    if !drained.session_present {
        notes.push("the session was not present on reconnect".to_string());
    }
    notes.extend(drained.stopped.clone());
    let mut seen = SeenSet::new(args.queued);
    let (mut first, mut duplicates) = (0, 0);
    for body in &drained.payloads {
        match payload::decode(body).map(|(seq, _)| seen.insert(seq)) {
            Some(Seen::First) => first += 1,
            Some(Seen::Duplicate) => duplicates += 1,
            _ => {}
        }
    }
    let (drain_end, _) = bench.settled(pid).await?;
    Ok(QueuedRow {
        acked: published.acked,
        window: after.since(&before),
        db,
        wal,
        drained: first,
        duplicates,
        drain_ms: drained.took.as_secs_f64() * 1000.0,
        drain_writes: drain_end.since(&after),
        notes,
    })
}
