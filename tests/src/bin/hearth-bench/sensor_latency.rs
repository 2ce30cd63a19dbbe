//! `hearth-bench sensor-latency`: how long a change at a simulated sensor takes to reach an MQTT
//! subscriber. It steers a simulated device of a running gateway through its command topic and
//! times each new value's arrival; the sensor's read interval bounds the figure from below.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use rumqttc::QoS;

use crate::cli::SensorLatencyArgs;
use crate::conn::{client, Endpoint};
use crate::latency::{drain_for, report, time_until};

pub async fn run(args: SensorLatencyArgs) -> Result<()> {
    let endpoint = Endpoint::tcp(&args.host, args.port, 256);
    let (client, mut events) = client(&endpoint, "hearth-bench-sensor-latency", 10, 100);
    client
        .subscribe(&args.topic, QoS::AtMostOnce)
        .await
        .context("queueing SUBSCRIBE")?;
    let command_topic = format!("hearth/{}/sim/{}/set", args.gateway, args.sensor);
    let mut latencies = Histogram::<u64>::new(3).context("histogram")?;
    let mut missed = 0;
    // A reply arrives just after a read; waiting a random part of a period before the next
    // change keeps the changes from locking onto the read schedule.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..args.samples {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let pause = (seed >> 33) % (args.spread_ms + 1);
        drain_for(&mut events, Duration::from_millis(pause)).await?;
        // Alternate between two values far enough apart to beat any deadband.
        let value = if i % 2 == 0 { args.low } else { args.high };
        let expected = format!("{value:.prec$}", prec = args.decimals);
        let sent = Instant::now();
        client
            .publish(
                &command_topic,
                QoS::AtLeastOnce,
                false,
                format!("{}={value}", args.quantity),
            )
            .await
            .context("queueing the sim command")?;
        let timeout = Duration::from_secs(args.timeout);
        let arrived = time_until(&mut events, sent, timeout, &args.topic, |payload| {
            String::from_utf8_lossy(payload).contains(&expected)
        })
        .await?;
        match arrived {
            Some(d) => latencies.record(d.as_micros() as u64)?,
            None => missed += 1,
        }
    }
    println!(
        "sensor {} ({}), {} changes, {missed} not seen within {} s",
        args.sensor, args.topic, args.samples, args.timeout
    );
    report("change -> subscriber latency", &latencies, 1);
    Ok(())
}
