//! The engine: every rule, the trie that routes a message to the conditions it concerns, and
//! the deadlines of all rules in one ordered set.

use std::collections::{BTreeSet, HashMap};

use crate::firing::Firing;
use crate::rule::{Ctx, Rule, Timers};
use crate::spec::{RuleSpec, Time};
use crate::trie::FilterTrie;
use crate::value::{Payload, MAX_PAYLOAD};

pub struct Engine {
    rules: Vec<Rule>,
    trie: FilterTrie,
    /// For each distinct filter (the trie's ids): the (rule, condition) pairs using it.
    targets: Vec<Vec<(usize, usize)>>,
    filters: Vec<String>,
    timers: Timers,
    stats: Stats,
    /// Set when rules appeared whose silence clocks start at the next call.
    unarmed: bool,
}

/// Counters since the engine was created (they survive reloads). A message counts at most
/// once in each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub messages: u64,
    /// Messages ignored by a threshold because their value is not a finite number.
    pub non_numeric: u64,
    /// Messages ignored because their payload exceeds the size limit.
    pub too_large: u64,
    /// Messages ignored because a condition's JSON field was missing or the payload not JSON.
    pub missing_field: u64,
    /// Capture keys not tracked because a rule already had the most it may have.
    pub keys_dropped: u64,
    pub firings: u64,
}

/// What a reload did, by rule name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Unchanged: kept all their state.
    pub kept: Vec<String>,
    pub added: Vec<String>,
    /// Same name, different spec: started fresh.
    pub changed: Vec<String>,
    /// Dropped without firing.
    pub removed: Vec<String>,
}

impl Engine {
    /// Specs are expected to be validated already; an invalid filter simply never matches.
    pub fn new(specs: Vec<RuleSpec>) -> Engine {
        Engine::with_rules(specs.into_iter().map(Rule::new).collect(), Stats::default())
    }

    fn with_rules(rules: Vec<Rule>, stats: Stats) -> Engine {
        let mut trie = FilterTrie::default();
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut targets: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut filters = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            for (ci, filter) in rule.filters().enumerate() {
                if let Some(&id) = ids.get(filter) {
                    targets[id].push((ri, ci));
                } else if trie.insert(filter, targets.len()) {
                    ids.insert(filter, targets.len());
                    targets.push(vec![(ri, ci)]);
                    filters.push(filter.to_string());
                }
            }
        }
        filters.sort();
        let mut timers = BTreeSet::new();
        for (ri, rule) in rules.iter().enumerate() {
            timers.extend(rule.timers().map(|(t, slot)| (t, ri as u32, slot)));
        }
        Engine {
            rules,
            trie,
            targets,
            filters,
            timers,
            stats,
            unarmed: true,
        }
    }

    /// The distinct valid filters of all rules, sorted: what to subscribe to.
    pub fn filters(&self) -> Vec<String> {
        self.filters.clone()
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// (rule, captures) of every key that has entered, in rule order.
    pub fn active(&self) -> Vec<(String, Vec<String>)> {
        self.rules
            .iter()
            .flat_map(|r| r.active().map(|c| (r.spec.name.clone(), c.to_vec())))
            .collect()
    }

    /// The captures of every key of `rule` that has entered (`[[]]` for an entered rule
    /// without wildcards); empty for a rule that is not entered or does not exist.
    pub fn active_keys(&self, rule: &str) -> Vec<Vec<String>> {
        self.rules
            .iter()
            .filter(|r| r.spec.name == rule)
            .flat_map(|r| r.active().map(<[String]>::to_vec))
            .collect()
    }

    /// When `on_tick` next has something to do.
    pub fn next_deadline(&self) -> Option<Time> {
        self.timers.first().map(|&(t, _, _)| t)
    }

    /// Processes a message, after the deadlines due at or before `now`.
    pub fn on_message(&mut self, now: Time, topic: &str, payload: &[u8]) -> Vec<Firing> {
        let mut firings = self.on_tick(now);
        self.stats.messages += 1;
        if payload.len() > MAX_PAYLOAD {
            self.stats.too_large += 1;
            return firings;
        }
        // (rule, condition, captures), grouped by rule so each rule sees the whole message.
        let mut hits: Vec<(usize, usize, Vec<String>)> = Vec::new();
        self.trie.for_each_match(topic, &mut |id, captures| {
            for &(ri, ci) in &self.targets[id] {
                let captures = captures.iter().map(|c| c.to_string()).collect();
                hits.push((ri, ci, captures));
            }
        });
        hits.sort_by_key(|&(ri, _, _)| ri);
        let payload = Payload::new(payload);
        let mut ctx = Ctx {
            index: 0,
            timers: &mut self.timers,
            firings: &mut firings,
            stats: &mut self.stats,
            non_numeric: false,
            missing_field: false,
        };
        let mut rest = hits.as_slice();
        while let Some(&(ri, _, _)) = rest.first() {
            let n = rest.iter().take_while(|h| h.0 == ri).count();
            let (rule_hits, after) = rest.split_at(n);
            rest = after;
            ctx.index = ri as u32;
            self.rules[ri].on_message(now, topic, &payload, rule_hits, &mut ctx);
        }
        let (non_numeric, missing_field) = (ctx.non_numeric, ctx.missing_field);
        self.stats.non_numeric += u64::from(non_numeric);
        self.stats.missing_field += u64::from(missing_field);
        firings
    }

    /// Fires what is due at or before `now`, in time order, each stamped with its deadline.
    pub fn on_tick(&mut self, now: Time) -> Vec<Firing> {
        let mut firings = Vec::new();
        let mut ctx = Ctx {
            index: 0,
            timers: &mut self.timers,
            firings: &mut firings,
            stats: &mut self.stats,
            non_numeric: false,
            missing_field: false,
        };
        if self.unarmed {
            self.unarmed = false;
            for (ri, rule) in self.rules.iter_mut().enumerate() {
                ctx.index = ri as u32;
                rule.arm(now, &mut ctx);
            }
        }
        while let Some(&(at, ri, slot)) = ctx.timers.first() {
            if at > now {
                break;
            }
            ctx.timers.remove(&(at, ri, slot));
            ctx.index = ri;
            if let Some(rule) = self.rules.get_mut(ri as usize) {
                rule.on_timer(slot, at, &mut ctx);
            }
        }
        firings
    }

    /// Replaces the rules. A rule whose name and spec are unchanged keeps all its state;
    /// changed and new rules start fresh; removed rules are dropped without firing.
    pub fn reload(&mut self, specs: Vec<RuleSpec>) -> ReloadSummary {
        let mut summary = ReloadSummary::default();
        let mut old: HashMap<String, Rule> = std::mem::take(&mut self.rules)
            .into_iter()
            .map(|r| (r.spec.name.clone(), r))
            .collect();
        let mut rules = Vec::with_capacity(specs.len());
        for spec in specs {
            match old.remove(&spec.name) {
                Some(rule) if rule.spec == spec => {
                    summary.kept.push(spec.name.clone());
                    rules.push(rule);
                }
                Some(_) => {
                    summary.changed.push(spec.name.clone());
                    rules.push(Rule::new(spec));
                }
                None => {
                    summary.added.push(spec.name.clone());
                    rules.push(Rule::new(spec));
                }
            }
        }
        summary.removed = old.into_keys().collect();
        summary.removed.sort();
        *self = Engine::with_rules(rules, self.stats);
        summary
    }
}
