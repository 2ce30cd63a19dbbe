//! Debian's C clients as a generator: `mosquitto_sub -t bench/t -q 0` piped into this
//! process, which counts the lines as they arrive, and `mosquitto_pub -l -t bench/t -q 0`
//! fed N lines from this process's own pipe to its stdin; all of them with `-V mqttv311` or
//! `-V mqttv5`.
//!
//! Knowing the subscriber is subscribed: mosquitto_sub prints nothing when its SUBACK comes,
//! so a marker message (`hearth-bench-ready-<run>`) is published with a one-off
//! `mosquitto_pub -m` until the marker appears on mosquitto_sub's stdout (each try waits
//! up to 250 ms for it); only then does the flood start. Markers are not counted.
//!
//! Each flood payload is the message's sequence number (10 digits), `:` and filler up to
//! `--payload` bytes, so duplicates and lines that are not the flood's can be told apart.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::{sleep_until, timeout, Instant};

use super::process::{self, Proc};
use super::{Figures, Target};
use crate::cli::Protocol;
use crate::cpu;
use crate::stats::{Seen, SeenSet};

pub const LABEL: &str = "QoS 0 1->1";
const TOPIC: &str = "bench/t";
const SEQ_DIGITS: usize = 10;
/// The broker's CPU is read at most this often while lines arrive (and at the last one).
const CPU_EVERY: Duration = Duration::from_millis(20);
/// The counting thread wakes the scenario at most this often while lines arrive.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);
const MARKER_WAIT: Duration = Duration::from_millis(250);

/// The payload of flood message `seq`.
fn payload(seq: u64, len: usize) -> Vec<u8> {
    let mut line = format!("{seq:0SEQ_DIGITS$}:").into_bytes();
    line.resize(len.max(SEQ_DIGITS + 1), b'x');
    line
}

/// The sequence number of a flood payload, or `None` for any other line.
fn parse_seq(line: &str, len: usize) -> Option<u64> {
    let bytes = line.as_bytes();
    if bytes.len() != len || bytes.get(SEQ_DIGITS) != Some(&b':') {
        return None;
    }
    let digits = line.get(..SEQ_DIGITS)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A moment on the subscriber's side: flood lines counted so far and the broker's CPU.
#[derive(Clone, Copy)]
struct Mark {
    at: Instant,
    count: u64,
    broker_cpu: Option<f64>,
}

/// What the counting thread has seen, shared with the scenario.
struct Count {
    seen: SeenSet,
    /// Distinct flood messages.
    unique: u64,
    duplicates: u64,
    /// Lines that are neither the flood's nor the marker.
    other: u64,
    first: Option<Mark>,
    /// The last line, with the count then.
    last_line: Option<(Instant, u64)>,
    /// The last time the broker's CPU was read (at most every `CPU_EVERY`, and at the N-th).
    last_cpu: Option<Mark>,
}

enum Event {
    Marker,
    Progress(u64),
    Eof,
}

/// The counting thread's handler for mosquitto_sub's lines.
fn counter(
    count: Arc<Mutex<Count>>,
    tx: UnboundedSender<Event>,
    marker: String,
    payload_len: usize,
    expected: u64,
    broker_pid: u32,
) -> impl FnMut(Option<&str>) -> bool + Send + 'static {
    let mut last_event: Option<Instant> = None;
    move |line| {
        let Some(line) = line else {
            let _ = tx.send(Event::Eof);
            return false;
        };
        if line == marker {
            let _ = tx.send(Event::Marker);
            return false;
        }
        let now = Instant::now();
        let mut c = count.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(seq) = parse_seq(line, payload_len) else {
            c.other += 1;
            return true;
        };
        match c.seen.insert(seq) {
            Seen::First => c.unique += 1,
            Seen::Duplicate => c.duplicates += 1,
            Seen::OutOfRange => c.other += 1,
        }
        let unique = c.unique;
        c.last_line = Some((now, unique));
        let mark = || Mark {
            at: now,
            count: unique,
            broker_cpu: cpu::seconds_of(broker_pid),
        };
        if c.first.is_none() {
            c.first = Some(mark());
        }
        let cpu_due = c.last_cpu.is_none_or(|m| now - m.at >= CPU_EVERY);
        if cpu_due || unique == expected {
            c.last_cpu = Some(mark());
        }
        drop(c);
        if unique >= expected || last_event.is_none_or(|t| now - t >= PROGRESS_EVERY) {
            last_event = Some(now);
            let _ = tx.send(Event::Progress(unique));
        }
        false
    }
}

/// The clients' `-V` argument for `protocol`.
fn version(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::V4 => "mqttv311",
        Protocol::V5 => "mqttv5",
    }
}

/// Runs the QoS 0 1->1 flood against the broker in `target`.
pub async fn run(target: &Target<'_>, run_id: &str) -> Result<Figures> {
    let args = target.args;
    let broker = target.broker;
    let port = target.port.to_string();
    let n = args.messages;
    let len = args.payload;
    let marker = format!("hearth-bench-ready-{run_id}");
    let count = Arc::new(Mutex::new(Count {
        seen: SeenSet::new(n),
        unique: 0,
        duplicates: 0,
        other: 0,
        first: None,
        last_line: None,
        last_cpu: None,
    }));
    let (tx, mut events) = unbounded_channel();
    let version = version(target.protocol);
    let sub_args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-V",
        version,
        "-t",
        TOPIC,
        "-q",
        "0",
    ]
    .map(String::from);
    let mut sub = Proc::spawn(
        format!("mosquitto_sub ({broker})"),
        &args.mosquitto_sub,
        &sub_args,
        false,
        counter(count.clone(), tx, marker.clone(), len, n, target.pid),
    )?;
    let tries = subscribed(target, &sub, &mut events, &marker).await?;
    eprintln!("    mosquitto_sub subscribed: the marker arrived after {tries} publish(es)");

    let pub_args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-V",
        version,
        "-l",
        "-t",
        TOPIC,
        "-q",
        "0",
    ]
    .map(String::from);
    let (pub_tx, mut pub_events) = unbounded_channel();
    let mut publisher = Proc::spawn(
        format!("mosquitto_pub ({broker})"),
        &args.mosquitto_pub,
        &pub_args,
        true,
        move |line| {
            if line.is_none() {
                let _ = pub_tx.send(());
            }
            true
        },
    )?;
    let stdin = publisher
        .take_stdin()
        .ok_or_else(|| publisher.error("its stdin is not a pipe"))?;
    let (written_tx, mut written) = unbounded_channel();
    std::thread::Builder::new()
        .name("mosquitto_pub-stdin".to_string())
        .spawn(move || {
            let mut out = BufWriter::with_capacity(1 << 16, stdin);
            let mut done = 0u64;
            let result = (|| {
                for seq in 0..n {
                    let mut line = payload(seq, len);
                    line.push(b'\n');
                    out.write_all(&line)?;
                    done += 1;
                }
                out.flush()
            })();
            // Dropping `out` closes the pipe: mosquitto_pub sends what it read and exits.
            drop(out);
            let _ = written_tx.send(result.map(|()| done).map_err(|e| (done, e)));
        })
        .map_err(|e| publisher.error(format!("starting the thread that feeds it: {e}")))?;

    let hard = Instant::now() + target.timeout;
    let mut notes = Vec::new();
    let (mut pub_exited, mut fed) = (false, None);
    let mut last_activity = Instant::now();
    loop {
        let wake = if pub_exited {
            (last_activity + target.drain_idle).min(hard)
        } else {
            hard
        };
        tokio::select! {
            event = events.recv() => match event {
                Some(Event::Progress(unique)) => {
                    last_activity = Instant::now();
                    if unique >= n {
                        break;
                    }
                }
                Some(Event::Marker) => {}
                Some(Event::Eof) | None => {
                    return Err(sub.error("exited while messages were flowing"));
                }
            },
            _ = pub_events.recv(), if !pub_exited => {
                // Its stdout closed: it has sent what it read, or failed.
                let status = publisher.wait_exit(Duration::from_secs(3)).await?;
                if !status.success() {
                    return Err(publisher.error(format!("exited with {status}")));
                }
                pub_exited = true;
                last_activity = Instant::now();
            },
            result = written.recv(), if fed.is_none() => match result {
                Some(Ok(lines)) => fed = Some(lines),
                Some(Err((lines, e))) => {
                    notes.push(format!("feeding mosquitto_pub stopped after {lines} lines: {e}"));
                    fed = Some(lines);
                }
                None => fed = Some(0),
            },
            () = sleep_until(wake) => {
                if Instant::now() >= hard {
                    notes.push(format!(
                        "stopped at the scenario timeout of {} s",
                        target.timeout.as_secs()
                    ));
                }
                break;
            }
        }
    }
    sub.stop(Duration::from_secs(3)).await?;
    if !pub_exited {
        publisher.stop(Duration::from_secs(3)).await?;
        notes.push("mosquitto_pub had not finished".to_string());
    }
    let c = count.lock().unwrap_or_else(PoisonError::into_inner);
    // Everything arrived before the feeding thread reported: it had written all N lines.
    let sent = fed.or((c.unique >= n).then_some(n));
    if sent.is_none() {
        notes.push("feeding mosquitto_pub had not finished: sent unknown".to_string());
    }
    if c.duplicates > 0 {
        notes.push(format!("{} duplicates", c.duplicates));
    }
    if c.other > 0 {
        notes.push(format!("{} lines that were not the flood's", c.other));
    }
    let mut figures = Figures {
        sent,
        expected: sent,
        received: Some(c.unique),
        notes,
        ..Figures::default()
    };
    if let (Some(first), Some((last_at, last_count))) = (c.first, c.last_line) {
        let secs = (last_at - first.at).as_secs_f64();
        if last_count > first.count && secs > 0.0 {
            figures.rate = Some((last_count - first.count) as f64 / secs);
        }
    }
    if let (Some(first), Some(last)) = (c.first, c.last_cpu) {
        if let (Some(a), Some(b)) = (first.broker_cpu, last.broker_cpu) {
            if last.count > first.count {
                figures.cpu_us = Some((b - a) * 1e6 / (last.count - first.count) as f64);
            }
        }
    }
    Ok(figures)
}

/// Publishes the marker until mosquitto_sub prints it; returns how many publishes it took.
async fn subscribed(
    target: &Target<'_>,
    sub: &Proc,
    events: &mut UnboundedReceiver<Event>,
    marker: &str,
) -> Result<u32> {
    let args = target.args;
    let port = target.port.to_string();
    let marker_args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-V",
        version(target.protocol),
        "-t",
        TOPIC,
        "-q",
        "0",
        "-m",
        marker,
    ]
    .map(String::from);
    let shown = process::command_line(&args.mosquitto_pub, &marker_args);
    let until = Instant::now() + target.startup;
    let mut tries = 0;
    loop {
        tries += 1;
        publish_once(&args.mosquitto_pub, &marker_args)
            .with_context(|| format!("mosquitto_pub ({}): `{shown}`", target.broker))?;
        let wait = async {
            loop {
                match events.recv().await {
                    Some(Event::Marker) => return Ok(()),
                    Some(Event::Eof) | None => {
                        return Err(sub.error("exited before it was subscribed"))
                    }
                    Some(Event::Progress(_)) => {}
                }
            }
        };
        if let Ok(result) = timeout(MARKER_WAIT, wait).await {
            return result.map(|()| tries);
        }
        if Instant::now() >= until {
            return Err(sub.error(format!(
                "the marker published with `{shown}` did not arrive within {} s ({tries} tries)",
                target.startup.as_secs()
            )));
        }
    }
}

fn publish_once(bin: &Path, args: &[String]) -> Result<()> {
    let out = Command::new(bin)
        .args(args)
        .output()
        .context("cannot run it")?;
    if !out.status.success() {
        anyhow::bail!(
            "exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_their_sequence_number() {
        let p = payload(42, 64);
        assert_eq!(p.len(), 64);
        let text = String::from_utf8(p).unwrap();
        assert!(text.starts_with("0000000042:xxx"));
        assert_eq!(parse_seq(&text, 64), Some(42));
        assert_eq!(parse_seq(&text, 63), None);
        assert_eq!(parse_seq("hearth-bench-ready-1", 20), None);
    }
}
