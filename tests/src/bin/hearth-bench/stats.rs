//! Per-subscriber tallies and the per-scenario result row.

use anyhow::{Context, Result};
use hdrhistogram::Histogram;

/// Latencies are kept in microseconds from 1 us to 10 minutes, 3 significant digits.
pub fn latency_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).context("creating latency histogram")
}

/// Tracks which sequence numbers one subscriber has seen.
pub struct SeenSet {
    bits: Vec<u64>,
    len: u64,
}

/// What `SeenSet::insert` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    First,
    Duplicate,
    OutOfRange,
}

impl SeenSet {
    pub fn new(len: u64) -> Self {
        let words = usize::try_from(len.div_ceil(64)).unwrap_or(usize::MAX);
        SeenSet {
            bits: vec![0; words],
            len,
        }
    }

    pub fn insert(&mut self, seq: u64) -> Seen {
        if seq >= self.len {
            return Seen::OutOfRange;
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        let mask = 1u64 << bit;
        if self.bits[word] & mask != 0 {
            return Seen::Duplicate;
        }
        self.bits[word] |= mask;
        Seen::First
    }
}

/// One table row.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub broker: String,
    /// The MQTT version the clients spoke (`3.1.1`, `5.0`), or those planned for a row that
    /// stands for a broker that did not start.
    pub protocol: String,
    pub scenario: String,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub duplicates: u64,
    /// Delivered messages per second, first publish to last receive.
    pub rate: Option<f64>,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// Messages per second the publisher handed to its client.
    pub publish_rate: Option<f64>,
    /// Anything that makes the figures incomplete: timeouts, errors.
    pub notes: Vec<String>,
}

impl ScenarioResult {
    pub fn empty(broker: &str, scenario: &str) -> Self {
        ScenarioResult {
            broker: broker.to_string(),
            protocol: String::new(),
            scenario: scenario.to_string(),
            sent: 0,
            expected: 0,
            delivered: 0,
            duplicates: 0,
            rate: None,
            p50_us: None,
            p99_us: None,
            publish_rate: None,
            notes: Vec::new(),
        }
    }

    pub fn loss(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_set_detects_duplicates_and_range() {
        let mut seen = SeenSet::new(65);
        assert_eq!(seen.insert(0), Seen::First);
        assert_eq!(seen.insert(64), Seen::First);
        assert_eq!(seen.insert(64), Seen::Duplicate);
        assert_eq!(seen.insert(65), Seen::OutOfRange);
    }
}
