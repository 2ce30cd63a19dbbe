//! `persistence` part `strict`: acknowledged QoS 1 messages per second from publishers that
//! each keep a window of PUBLISHes unacknowledged, with Hearth's `durable_acks` (every PUBACK
//! waits for the commit holding its message) against Hearth's group commit and Mosquitto;
//! once to topics an absent persistent subscriber has subscribed to (each message queued
//! for it), once to topics nobody subscribed to.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::clock;
use crate::cpu;
use crate::payload;
use crate::persistence::{self, per, Bench, Case};
use crate::pipeline::{self, Flow, Message, Published};
use crate::table::{self, Table};

/// The project's target for Hearth with `durable_acks`.
const TARGET: f64 = 5_000.0;
const SETUP: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Topics {
    Subscribed,
    Nobody,
}

impl Topics {
    fn label(self) -> &'static str {
        match self {
            Topics::Subscribed => "queued for an offline subscriber",
            Topics::Nobody => "no subscriber",
        }
    }
}

struct Row {
    acked: u64,
    seconds: f64,
    write_bytes: u64,
    broker_cpu: Option<f64>,
    notes: Vec<String>,
}

pub async fn run(bench: &Bench<'_>) -> Table {
    let args = bench.args;
    println!(
        "strict: {} QoS 1 messages of {} B from {} publishers at once, each keeping {} \
         unacknowledged, as fast as the PUBACKs come; msgs/s from the start until the last \
         PUBACK; target for hearth strict: {TARGET:.0} acked msgs/s",
        args.messages,
        args.payload.max(payload::HEADER_LEN),
        args.publishers,
        args.window
    );
    let mut table = Table::new(
        &[
            "broker",
            "topics",
            "PUBACKs",
            "seconds",
            "acked msgs/s",
            "write B/message",
            "broker CPU s",
        ],
        2,
    );
    let cases = [
        Case::hearth_strict(&args.hearth_bin),
        Case::hearth(&args.hearth_bin),
        Case::mosquitto(&args.mosquitto_bin),
    ];
    for topics in [Topics::Subscribed, Topics::Nobody] {
        for case in &cases {
            eprintln!("  strict: {}, {}", case.label, topics.label());
            let cells = |r: &Row| {
                vec![
                    case.label.to_string(),
                    topics.label().to_string(),
                    r.acked.to_string(),
                    format!("{:.2}", r.seconds),
                    table::rate((r.seconds > 0.0).then(|| r.acked as f64 / r.seconds)),
                    per(r.write_bytes, r.acked),
                    r.broker_cpu.map_or("-".into(), |s| format!("{s:.2}")),
                ]
            };
            match one(bench, case, topics).await {
                Ok(r) => {
                    let rate = r.acked as f64 / r.seconds.max(f64::EPSILON);
                    eprintln!("    {} acked in {:.2} s: {rate:.0}/s", r.acked, r.seconds);
                    let mut notes = r.notes.clone();
                    if case.durable_acks && rate < TARGET {
                        notes.push(format!("below the {TARGET:.0} msgs/s target"));
                    }
                    table.row(cells(&r), &notes);
                }
                Err(e) => {
                    eprintln!("    {e:#}");
                    table.row(
                        vec![case.label.to_string(), topics.label().to_string()],
                        &[format!("{e:#}")],
                    );
                }
            }
        }
    }
    table
}

async fn one(bench: &Bench<'_>, case: &Case, topics: Topics) -> Result<Row> {
    let args = bench.args;
    let started = bench.fresh(case, "strict").await?;
    let (addr, pid) = (started.addr(), started.pid());
    let setup = Instant::now() + SETUP;
    let prefix = match topics {
        Topics::Subscribed => {
            let filter = format!("strict/{}/#", bench.run_id);
            pipeline::leave_subscribed(addr, "pb-strict-sub", &filter, setup).await?;
            format!("strict/{}", bench.run_id)
        }
        Topics::Nobody => format!("nobody/{}", bench.run_id),
    };
    let mut conns = Vec::with_capacity(args.publishers);
    for j in 0..args.publishers {
        conns.push(pipeline::connect(addr, &format!("pb-strict-p{j}"), setup).await?);
    }
    let mut notes = Vec::new();
    let (before, quiet) = bench.settled(pid).await?;
    if !quiet {
        notes.push("still writing before the messages began".to_string());
    }
    let cpu_before = cpu::precise_seconds(Some(pid));

    let flow = Flow {
        qos: 1,
        window: args.window,
        rate: 0,
    };
    let each = args.messages / args.publishers as u64;
    let extra = args.messages % args.publishers as u64;
    let go = Arc::new(Barrier::new(args.publishers + 1));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut publishers = JoinSet::new();
    for (j, conn) in conns.into_iter().enumerate() {
        let count = each + u64::from((j as u64) < extra);
        let topic = format!("{prefix}/p{j}");
        let len = args.payload;
        let go = go.clone();
        publishers.spawn(async move {
            go.wait().await;
            let make = |seq: u64| Message {
                topic: topic.clone(),
                payload: payload::encode(seq, clock::now_ns(), len),
                retain: false,
            };
            pipeline::publish(conn, count, make, flow, deadline)
                .await
                .map(|(_, done)| done)
        });
    }
    go.wait().await;
    let mut runs: Vec<Published> = Vec::new();
    while let Some(done) = publishers.join_next().await {
        runs.push(done.context("a publisher task failed")??);
    }
    let cpu_after = cpu::precise_seconds(Some(pid));
    let first = runs.iter().map(|r| r.started).min();
    let last = runs.iter().map(|r| r.finished).max();
    let seconds = match (first, last) {
        (Some(f), Some(l)) => (l - f).as_secs_f64(),
        _ => 0.0,
    };
    let (after, quiet) = bench.settled(pid).await?;
    if !quiet {
        notes.push(persistence::unsettled_note());
    }
    Ok(Row {
        acked: runs.iter().map(|r| r.acked).sum(),
        seconds,
        write_bytes: after.since(&before).write_bytes,
        broker_cpu: cpu_after.zip(cpu_before).map(|(a, b)| a - b),
        notes,
    })
}
