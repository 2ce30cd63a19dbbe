//! When a reading is worth publishing: calibrated, averaged, rounded, then sent if it moved
//! beyond the deadband or the heartbeat is due. Pure: time is passed in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use drivers::Quantity;

use super::settings::PublishSettings;

pub struct QuantityPolicy {
    offset: f64,
    decimals: u32,
    deadband: f64,
    heartbeat: Duration,
    window: VecDeque<f64>,
    window_len: usize,
    last: Option<(f64, Instant)>,
}

impl QuantityPolicy {
    pub fn new(quantity: Quantity, settings: &PublishSettings) -> Self {
        let offset = settings
            .offsets
            .iter()
            .find(|(q, _)| *q == quantity)
            .map_or(0.0, |(_, o)| *o);
        Self {
            offset,
            decimals: settings
                .decimals
                .unwrap_or_else(|| quantity.default_decimals()),
            deadband: settings.deadband,
            heartbeat: settings.heartbeat,
            window: VecDeque::with_capacity(settings.average),
            window_len: settings.average.max(1),
            last: None,
        }
    }

    /// Feeds one raw sample; returns the value to publish now, if any.
    pub fn on_sample(&mut self, now: Instant, raw: f64) -> Option<f64> {
        if self.window.len() == self.window_len {
            self.window.pop_front();
        }
        self.window.push_back(raw + self.offset);
        let mean = self.window.iter().sum::<f64>() / self.window.len() as f64;
        let value = round(mean, self.decimals);
        let due = match self.last {
            None => true,
            Some((last, at)) => {
                let moved = if self.deadband > 0.0 {
                    // A small tolerance so that a move of exactly the deadband counts despite
                    // binary rounding (21.2 - 21.0 is 0.1999...).
                    (value - last).abs() + 1e-9 >= self.deadband
                } else {
                    value != last
                };
                moved || now.duration_since(at) >= self.heartbeat
            }
        };
        if due {
            self.last = Some((value, now));
            Some(value)
        } else {
            None
        }
    }

    pub fn decimals(&self) -> u32 {
        self.decimals
    }
}

fn round(v: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (v * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(f: impl FnOnce(&mut PublishSettings)) -> QuantityPolicy {
        let mut s = PublishSettings::default();
        f(&mut s);
        QuantityPolicy::new(Quantity::Temperature, &s)
    }

    /// Feeds (seconds since start, raw value) and returns what was published.
    fn run(p: &mut QuantityPolicy, samples: &[(u64, f64)]) -> Vec<Option<f64>> {
        let t0 = Instant::now();
        samples
            .iter()
            .map(|&(s, v)| p.on_sample(t0 + Duration::from_secs(s), v))
            .collect()
    }

    #[test]
    fn unchanged_values_wait_for_the_heartbeat() {
        let mut p = policy(|s| s.heartbeat = Duration::from_secs(60));
        let got = run(
            &mut p,
            &[(0, 21.0), (30, 21.0), (59, 21.04), (60, 21.0), (90, 21.3)],
        );
        assert_eq!(got, [Some(21.0), None, None, Some(21.0), Some(21.3)]);
    }

    #[test]
    fn deadband_holds_back_small_moves() {
        let mut p = policy(|s| s.deadband = 0.5);
        let got = run(
            &mut p,
            &[(0, 20.0), (1, 20.4), (2, 20.5), (3, 20.1), (4, 20.0)],
        );
        assert_eq!(got, [Some(20.0), None, Some(20.5), None, Some(20.0)]);
    }

    #[test]
    fn moving_average_smooths_spikes() {
        let mut p = policy(|s| s.average = 3);
        let got = run(&mut p, &[(0, 20.0), (1, 20.0), (2, 23.0), (3, 20.0)]);
        assert_eq!(got, [Some(20.0), None, Some(21.0), None]);
    }

    #[test]
    fn offset_and_decimals_apply_before_comparison() {
        let mut p = policy(|s| {
            s.offsets = vec![(Quantity::Temperature, -0.5)];
            s.decimals = Some(0);
        });
        let got = run(&mut p, &[(0, 21.9), (1, 21.8), (2, 22.6)]);
        assert_eq!(got, [Some(21.0), None, Some(22.0)]);
    }
}
