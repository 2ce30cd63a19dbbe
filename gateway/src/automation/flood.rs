//! A guard against rules that trigger themselves: a rule whose action publishes what makes it
//! leave, and whose leaving publishes what makes it enter, would otherwise switch as fast as
//! the broker can carry the messages, for ever. Real transitions of one rule for one room come
//! seconds apart at the least; past `LIMIT` in `WINDOW` the actions of that rule and room are
//! held back (and logged once) until the window ends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(10);
const LIMIT: u32 = 20;
/// Above this many tracked rule/room pairs, finished windows are forgotten.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub(super) struct FloodGuard {
    windows: HashMap<(String, Vec<String>), Window>,
}

struct Window {
    started: Instant,
    firings: u32,
}

/// Whether a firing's actions may run.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Allow,
    /// The first firing past the limit: log it.
    StartHolding,
    Hold,
}

impl FloodGuard {
    pub(super) fn check(&mut self, rule: &str, captures: &[String], now: Instant) -> Verdict {
        if self.windows.len() > PRUNE_ABOVE {
            self.windows
                .retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let window = self
            .windows
            .entry((rule.to_string(), captures.to_vec()))
            .or_insert(Window {
                started: now,
                firings: 0,
            });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                firings: 0,
            };
        }
        window.firings += 1;
        match window.firings {
            n if n <= LIMIT => Verdict::Allow,
            n if n == LIMIT + 1 => Verdict::StartHolding,
            _ => Verdict::Hold,
        }
    }

    pub(super) fn limit() -> (u32, Duration) {
        (LIMIT, WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_room_past_the_limit_is_held_until_the_window_ends() {
        let mut guard = FloodGuard::default();
        let start = Instant::now();
        let kitchen = vec!["Kitchen".to_string()];
        let living = vec!["LivingRoom".to_string()];
        for i in 0..LIMIT {
            let at = start + Duration::from_millis(u64::from(i));
            assert_eq!(guard.check("co2", &kitchen, at), Verdict::Allow);
        }
        let at = start + Duration::from_millis(100);
        assert_eq!(guard.check("co2", &kitchen, at), Verdict::StartHolding);
        assert_eq!(guard.check("co2", &kitchen, at), Verdict::Hold);
        // Another room, and another rule, are not held back.
        assert_eq!(guard.check("co2", &living, at), Verdict::Allow);
        assert_eq!(guard.check("door", &kitchen, at), Verdict::Allow);
        // A new window starts afresh.
        assert_eq!(guard.check("co2", &kitchen, start + WINDOW), Verdict::Allow);
    }
}
