//! One condition of a rule, and its state for one capture key: whether it holds, what it last
//! saw, and (for staleness) when it last heard from its topic.

use std::time::Duration;

use crate::spec::{Condition, Test, Time};
use crate::value::{FieldPath, Payload};

/// A condition ready to test messages.
#[derive(Debug, Clone)]
pub(crate) struct Cond {
    pub filter: String,
    pub field: Option<FieldPath>,
    pub test: Test,
    /// Whether the filter has `+`/`#`: such a condition has a state per capture key, the
    /// others one state shared by every key.
    pub wildcard: bool,
}

/// Why a message left a condition's state alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ignored {
    NonNumeric,
    MissingField,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct CondState {
    /// Whether a message has been read (a fresh state holds nothing: unknown is not holding).
    pub known: bool,
    pub holding: bool,
    pub topic: String,
    pub value: String,
    number: Option<f64>,
    /// Staleness: when the silence clock last restarted; `None` until it starts.
    pub last_seen: Option<Time>,
    offline: bool,
}

impl Cond {
    pub fn new(spec: &Condition) -> Cond {
        Cond {
            filter: spec.when.clone(),
            field: spec.field.as_deref().map(FieldPath::parse),
            test: spec.test.clone(),
            wildcard: spec.when.split('/').any(|l| l == "+" || l == "#"),
        }
    }

    pub fn is_silent(&self) -> bool {
        matches!(self.test, Test::Silent { .. })
    }
}

impl CondState {
    /// A state whose topic is known before any message names it (for staleness reasons).
    pub fn for_topic(topic: String) -> CondState {
        CondState {
            topic,
            ..CondState::default()
        }
    }

    /// Reads a message; on `Err` nothing changed.
    pub fn on_message(
        &mut self,
        cond: &Cond,
        now: Time,
        topic: &str,
        payload: &Payload,
    ) -> Result<(), Ignored> {
        let holding = match &cond.test {
            Test::Silent {
                offline_payloads, ..
            } => {
                // Any message is a sign of life; the field only matters for the offline test.
                let field_text = payload.read(cond.field.as_ref()).map(|v| v.text);
                let text = field_text.as_deref().unwrap_or(payload.text());
                self.offline = offline_payloads.iter().any(|p| p == text);
                self.last_seen = Some(now);
                self.set_seen(topic, text, None);
                self.offline
            }
            Test::Equals(values) => {
                let value = payload
                    .read(cond.field.as_ref())
                    .ok_or(Ignored::MissingField)?;
                let holding = values.iter().any(|v| *v == value.text);
                self.set_seen(topic, &value.text, value.number);
                holding
            }
            Test::Threshold { above, below } => {
                let value = payload
                    .read(cond.field.as_ref())
                    .ok_or(Ignored::MissingField)?;
                let number = value.number.ok_or(Ignored::NonNumeric)?;
                let holding = threshold_holds(*above, *below, number, self.holding);
                self.set_seen(topic, &value.text, Some(number));
                holding
            }
        };
        self.holding = holding;
        Ok(())
    }

    fn set_seen(&mut self, topic: &str, text: &str, number: Option<f64>) {
        self.known = true;
        // Reuse the buffers: a busy topic would otherwise allocate on every message.
        self.topic.clear();
        self.topic.push_str(topic);
        self.value.clear();
        self.value.push_str(text);
        self.number = number;
    }

    /// When this state goes silent if nothing arrives; `None` if it is not waiting for that.
    pub fn silence_deadline(&self, cond: &Cond) -> Option<Time> {
        match cond.test {
            Test::Silent { after, .. } if !self.holding => self.last_seen?.checked_add(after),
            _ => None,
        }
    }

    /// Starts the silence clock if it has not started yet.
    pub fn arm(&mut self, cond: &Cond, now: Time) {
        if cond.is_silent() && self.last_seen.is_none() {
            self.last_seen = Some(now);
        }
    }

    /// Goes silent if the deadline has passed; returns whether it did.
    pub fn check_silence(&mut self, cond: &Cond, now: Time) -> bool {
        let due = self.silence_deadline(cond).is_some_and(|d| d <= now);
        if due {
            self.holding = true;
        }
        due
    }

    /// A sentence saying why this state holds or does not.
    pub fn describe(&self, cond: &Cond) -> String {
        let (t, v) = (&self.topic, &self.value);
        match &cond.test {
            Test::Silent { after, .. } => match (self.holding, self.offline, self.known) {
                (true, true, _) => format!("{t} = {v:?}"),
                (true, false, _) => format!("no message on {t} for {}", human(*after)),
                (false, _, true) => format!("{t} = {v:?}"),
                (false, _, false) => format!("waiting for messages on {t}"),
            },
            _ if !self.known => format!("no value yet on {t}"),
            Test::Equals(_) if self.holding => format!("{t} equals {v:?}"),
            Test::Equals(values) => match values.as_slice() {
                [one] => format!("{t} = {v:?}, not {one:?}"),
                many => {
                    let list: Vec<String> = many.iter().map(|m| format!("{m:?}")).collect();
                    format!("{t} = {v:?}, none of {}", list.join(", "))
                }
            },
            Test::Threshold { above, below } => {
                let n = self.number.unwrap_or(f64::NAN);
                let how = match (*above, *below, self.holding) {
                    (Some(a), _, true) if n > a => format!("is above {a}"),
                    (None, Some(b), true) => format!("is below {b}"),
                    (_, Some(b), true) => format!("has not dropped below {b}"),
                    (Some(a), None, false) => format!("is not above {a}"),
                    (None, Some(b), false) => format!("is not below {b}"),
                    (Some(_), Some(b), false) if n < b => format!("is below {b}"),
                    (Some(a), Some(_), false) => format!("has not risen above {a}"),
                    (None, None, _) | (Some(_), None, true) => "has no threshold".to_string(),
                };
                format!("{t} = {v} {how}")
            }
        }
    }
}

/// `above` alone: value > above. `below` alone: value < below. Both: hysteresis, where the
/// band between keeps the previous state.
fn threshold_holds(above: Option<f64>, below: Option<f64>, value: f64, was: bool) -> bool {
    match (above, below) {
        (Some(a), None) => value > a,
        (None, Some(b)) => value < b,
        (Some(a), Some(b)) => {
            if value > a {
                true
            } else if value < b {
                false
            } else {
                was
            }
        }
        (None, None) => false,
    }
}

pub(crate) fn human(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (above, below, value, held before, holds after)
    type Case = (Option<f64>, Option<f64>, f64, bool, bool);

    #[test]
    fn threshold_table() {
        let cases: &[Case] = &[
            (Some(1000.0), None, 1000.5, false, true),
            (Some(1000.0), None, 1000.0, true, false),
            (None, Some(5.0), 4.9, false, true),
            (None, Some(5.0), 5.0, true, false),
            (Some(1000.0), Some(800.0), 1001.0, false, true),
            (Some(1000.0), Some(800.0), 900.0, true, true),
            (Some(1000.0), Some(800.0), 900.0, false, false),
            (Some(1000.0), Some(800.0), 799.0, true, false),
            (Some(1000.0), Some(800.0), 800.0, true, true),
            (Some(1000.0), Some(1000.0), 1000.0, true, true),
            (None, None, 1.0, true, false),
        ];
        for &(above, below, value, was, want) in cases {
            assert_eq!(
                threshold_holds(above, below, value, was),
                want,
                "above {above:?} below {below:?} value {value} was {was}"
            );
        }
    }
}
