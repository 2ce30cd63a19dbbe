//! `hearth rules test`: recorded messages through the configured rules, printing what would
//! have fired and when, so a threshold can be checked before it switches a heater.
//!
//! Nothing is published and no actuator is touched: the engine is pure and its actions are
//! only printed.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use rules::replay::{self, ReplayError};
use rules::spec::RuleSpec;
use rules::{Engine, Firing, Transition};

/// A recording timestamped with Unix time starts after this (2001); smaller times are offsets
/// from the start of a hand-written file.
const UNIX_TIME_FLOOR: Duration = Duration::from_secs(1_000_000_000);

/// Replays `recording` (the text of a recording file) through `specs` and returns the report.
pub fn report(specs: Vec<RuleSpec>, recording: &str) -> Result<String, ReplayError> {
    let recorded = replay::parse_file(recording)?;
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let mut engine = Engine::new(specs);
    let span = recorded
        .first()
        .map(|r| r.at)
        .zip(recorded.last().map(|r| r.at));
    let count = recorded.len();
    let firings = replay::run(&mut engine, recorded);

    let mut out = String::new();
    let _ = write!(
        out,
        "replayed {count} messages through {} rules",
        names.len()
    );
    if let Some((first, last)) = span {
        let _ = write!(out, ", {} to {}", when(first), when(last));
    }
    out.push_str("\n\n");
    for firing in &firings {
        describe(&mut out, firing);
    }
    summarise(&mut out, &names, &firings, &engine);
    Ok(out)
}

fn describe(out: &mut String, firing: &Firing) {
    let captures = if firing.captures.is_empty() {
        String::new()
    } else {
        format!(" [{}]", firing.captures.join(", "))
    };
    let _ = writeln!(
        out,
        "{}  {:<5}  {:?}{captures}\n    {}",
        when(firing.at),
        firing.transition,
        firing.rule,
        firing.reason
    );
    for action in &firing.actions {
        let _ = writeln!(out, "    -> {action}");
    }
    if firing.actions.is_empty() {
        let _ = writeln!(out, "    -> (no action)");
    }
}

fn summarise(out: &mut String, names: &[String], firings: &[Firing], engine: &Engine) {
    let enters = firings
        .iter()
        .filter(|f| f.transition == Transition::Enter)
        .count();
    let _ = writeln!(
        out,
        "\n{} firings: {enters} enter, {} leave",
        firings.len(),
        firings.len() - enters
    );
    let fired: BTreeSet<&str> = firings.iter().map(|f| f.rule.as_str()).collect();
    let silent: Vec<String> = names
        .iter()
        .filter(|n| !fired.contains(n.as_str()))
        .map(|n| format!("{n:?}"))
        .collect();
    if !silent.is_empty() {
        let _ = writeln!(out, "never fired: {}", silent.join(", "));
    }
    let active: Vec<String> = engine
        .active()
        .into_iter()
        .map(|(rule, captures)| match captures.is_empty() {
            true => format!("{rule:?}"),
            false => format!("{rule:?} [{}]", captures.join(", ")),
        })
        .collect();
    if !active.is_empty() {
        let _ = writeln!(out, "still entered at the end: {}", active.join(", "));
    }
    let stats = engine.stats();
    let _ = writeln!(
        out,
        "ignored messages: {} not a number, {} too large, {} without the JSON field",
        stats.non_numeric, stats.too_large, stats.missing_field
    );
}

/// A Unix time as UTC, or an offset for hand-written recordings.
fn when(at: Duration) -> String {
    if at >= UNIX_TIME_FLOOR {
        humantime::format_rfc3339_millis(UNIX_EPOCH + at).to_string()
    } else {
        format!("+{}", humantime::format_duration(at))
    }
}
