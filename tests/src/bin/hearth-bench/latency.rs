//! What the latency commands share: pausing while the connection is serviced, waiting for one
//! expected message, and the report.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use rumqttc::{Event, EventLoop, Packet};

/// Keeps the connection serviced while pausing.
pub async fn drain_for(events: &mut EventLoop, pause: Duration) -> Result<()> {
    let until = Instant::now() + pause;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, events.poll()).await {
            Err(_) => break,
            Ok(Err(e)) => bail!("connection to the gateway failed: {e}"),
            Ok(Ok(_)) => {}
        }
    }
    Ok(())
}

/// Time from `sent` until a PUBLISH on `topic` whose payload satisfies `wanted`, or `None`
/// if none arrived within `timeout` of `sent`.
pub async fn time_until(
    events: &mut EventLoop,
    sent: Instant,
    timeout: Duration,
    topic: &str,
    wanted: impl Fn(&[u8]) -> bool,
) -> Result<Option<Duration>> {
    let deadline = sent + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.poll()).await {
            Err(_) => return Ok(None),
            Ok(Err(e)) => bail!("connection to the gateway failed: {e}"),
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == topic => {
                if wanted(&p.payload) {
                    return Ok(Some(sent.elapsed()));
                }
            }
            Ok(Ok(_)) => {}
        }
    }
}

/// `label: p50 .., p99 .., max ..` in milliseconds.
pub fn report(label: &str, latencies: &Histogram<u64>, decimals: usize) {
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "{label}: p50 {:.d$} ms, p99 {:.d$} ms, max {:.d$} ms",
        ms(latencies.value_at_quantile(0.5)),
        ms(latencies.value_at_quantile(0.99)),
        ms(latencies.max()),
        d = decimals
    );
}
