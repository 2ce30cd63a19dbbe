//! Reload: unchanged rules keep all their state, changed ones start fresh, removed ones go
//! quietly.

use rules::spec::RuleSpec;
use rules::{Engine, ReloadSummary};

use super::support::*;

fn co2_for(hold_for: u64) -> RuleSpec {
    RuleSpec {
        hold_for: Some(secs(hold_for)),
        ..single("co2", when("+/co2", band(1000.0, 800.0)))
    }
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn an_unchanged_rule_keeps_its_pending_for_and_fires_at_the_original_deadline() {
    let other = single("hot", when("Hall/temp", above(25.0)));
    let mut engine = Engine::new(vec![co2_for(120), other.clone()]);
    engine.on_message(secs(0), "Kitchen/co2", b"1100");
    assert_eq!(engine.next_deadline(), Some(secs(120)));

    let added = single("new", when("x", above(1.0)));
    let summary = engine.reload(vec![added, co2_for(120)]);
    assert_eq!(
        summary,
        ReloadSummary {
            kept: names(&["co2"]),
            added: names(&["new"]),
            changed: vec![],
            removed: names(&["hot"]),
        }
    );
    assert_eq!(engine.next_deadline(), Some(secs(120)));
    let firings = engine.on_tick(secs(120));
    assert_eq!(briefs(&firings), vec!["120s co2 enter [Kitchen] 1100"]);
}

#[test]
fn an_unchanged_rule_keeps_its_hysteresis_side_and_entered_state() {
    let mut engine = Engine::new(vec![co2_for(0)]);
    engine.on_message(secs(0), "Kitchen/co2", b"1100");
    engine.on_message(secs(1), "Kitchen/co2", b"900");
    engine.reload(vec![co2_for(0)]);
    assert_eq!(
        engine.active(),
        vec![("co2".to_string(), names(&["Kitchen"]))]
    );
    // In the band: still holding, so no firing; below: leaves.
    assert!(engine.on_message(secs(2), "Kitchen/co2", b"950").is_empty());
    let firings = engine.on_message(secs(3), "Kitchen/co2", b"700");
    assert_eq!(briefs(&firings), vec!["3s co2 leave [Kitchen] 700"]);
}

#[test]
fn a_changed_rule_starts_fresh() {
    let mut engine = Engine::new(vec![co2_for(120)]);
    engine.on_message(secs(0), "Kitchen/co2", b"1100");
    engine.on_message(secs(1), "LivingRoom/co2", b"1100");
    engine.on_tick(secs(121));
    assert_eq!(engine.active().len(), 2);

    let summary = engine.reload(vec![co2_for(60)]);
    assert_eq!(summary.changed, names(&["co2"]));
    assert!(engine.active().is_empty());
    assert_eq!(engine.next_deadline(), None);
    // The band's side is forgotten: 900 does not hold for a fresh rule.
    engine.on_message(secs(200), "Kitchen/co2", b"900");
    assert_eq!(engine.next_deadline(), None);
}

#[test]
fn a_removed_rule_is_dropped_without_firing_and_stats_survive() {
    let mut engine = Engine::new(vec![co2_for(0)]);
    engine.on_message(secs(0), "Kitchen/co2", b"1100");
    let summary = engine.reload(vec![]);
    assert_eq!(summary.removed, names(&["co2"]));
    assert_eq!(engine.rule_count(), 0);
    assert!(engine.filters().is_empty());
    assert!(engine.on_message(secs(1), "Kitchen/co2", b"100").is_empty());
    assert_eq!(engine.stats().messages, 2);
    assert_eq!(engine.stats().firings, 1);
}

#[test]
fn kept_rules_keep_silence_clocks_and_new_ones_start_at_the_next_call() {
    let stale = single("stale", when("node/status", silent(60, &[])));
    let mut engine = Engine::new(vec![stale.clone()]);
    engine.on_tick(secs(0));
    assert_eq!(engine.next_deadline(), Some(secs(60)));
    let fresh = single("fresh", when("other/status", silent(60, &[])));
    engine.reload(vec![stale, fresh]);
    assert_eq!(engine.next_deadline(), Some(secs(60)));
    let firings = engine.on_tick(secs(30));
    assert!(firings.is_empty());
    let firings = engine.on_tick(secs(90));
    assert_eq!(
        briefs(&firings),
        vec!["60s stale enter [] ", "90s fresh enter [] "]
    );
}
