//! `hearth-bench rule-latency`: from a reading published by a node to the rule's action arriving
//! at a subscriber, through a running gateway's broker, rule engine and (optionally) a relay.
//! Readings go to each room in turn, alternating per room between one that enters the rule
//! and one that leaves it, so every reading causes exactly one action.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use rumqttc::QoS;

use crate::cli::RuleLatencyArgs;
use crate::conn::{client, Endpoint};
use crate::latency::{drain_for, report, time_until};

pub async fn run(args: RuleLatencyArgs) -> Result<()> {
    let endpoint = Endpoint::tcp(&args.host, args.port, 256);
    let (client, mut events) = client(&endpoint, "hearth-bench-rule-latency", 10, 100);
    let rooms = args.rooms.max(1);
    client
        .subscribe(args.output.replace("{room}", "+"), QoS::AtMostOnce)
        .await
        .context("queueing SUBSCRIBE")?;
    // The retained state arrives first; settle before timing anything.
    drain_for(&mut events, Duration::from_millis(500)).await?;
    let mut latencies = Histogram::<u64>::new(3).context("histogram")?;
    let mut missed = 0;
    for i in 0..args.samples {
        let room = format!("Bench{}", i % rooms as u64);
        let (reading, expected) = match (i / rooms as u64) % 2 {
            0 => (&args.high, &args.on),
            _ => (&args.low, &args.off),
        };
        let input = args.input.replace("{room}", &room);
        let output = args.output.replace("{room}", &room);
        let sent = Instant::now();
        client
            .publish(&input, QoS::AtLeastOnce, false, reading.clone())
            .await
            .context("queueing the reading")?;
        let timeout = Duration::from_secs(args.timeout);
        let arrived = time_until(&mut events, sent, timeout, &output, |payload| {
            payload == expected.as_bytes()
        })
        .await?;
        match arrived {
            Some(d) => latencies.record(d.as_micros() as u64)?,
            None => missed += 1,
        }
    }
    println!(
        "{} readings on {} -> actions on {}, over {rooms} rooms, {missed} not seen within {} s",
        args.samples, args.input, args.output, args.timeout
    );
    report("reading -> action latency", &latencies, 3);
    Ok(())
}

/// The gateway configuration `rule-latency` expects (`hearth-bench rule-config`): one rule
/// switching a relay in each of `rooms` rooms, beside `filler` rules with wildcards that
/// nothing here enters.
pub fn config(filler: usize, rooms: usize) -> String {
    let mut text = String::from(GATEWAY);
    for room in 0..rooms.max(1) {
        text.push_str(&format!(
            "\n[[actuator]]\nname = \"bench-purifier-{room}\"\ntopic = \"Bench{room}/Purifier\"\npin = \"sim\"\n"
        ));
    }
    for i in 0..filler {
        let when = match i % 4 {
            0 => format!("+/Room{i}/co2"),
            1 => format!("Home/+/Sensor{i}/#"),
            2 => format!("Garden/Bed{i}/moisture"),
            _ => format!("Floor{i}/+/temperature"),
        };
        text.push_str(&format!(
            "\n[[rule]]\nname = \"filler {i}\"\nwhen = \"{when}\"\nabove = 50\non_enter = {{ log = \"filler {i}\" }}\n"
        ));
    }
    text
}

const GATEWAY: &str = r#"[gateway]
name = "bench"

[broker]
listen = "127.0.0.1:1884"

[homeassistant]
discovery = false

[rules]
explain = false

[[rule]]
name = "bench purifier"
when = "+/AirQuality/co2"
above = 1000
below = 800
on_enter = { publish = "{1}/Purifier/set", payload = "ON" }
on_leave = { publish = "{1}/Purifier/set", payload = "OFF" }
"#;
