//! One rule at run time: its conditions combined per capture key, and per key the enter/leave
//! state machine with `for`, `min_on` and `min_off`.
//!
//! A key's transition is due at a time computed from its state (see [`Key::transition_due`]),
//! so a deferred enter or leave needs no separate timer object: when the time comes, the state
//! is looked at again and the transition fires only if it is still wanted.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::condition::{human, Cond, CondState, Ignored};
use crate::engine::Stats;
use crate::firing::{Action, Firing, Transition};
use crate::spec::{ActionSpec, ConditionSpec, RuleSpec, Time};
use crate::template::Context;
use crate::trie::fill_filter;
use crate::value::Payload;

/// Keys beyond this many per rule are ignored (and counted): a publisher inventing topics
/// must not grow the engine without bound.
pub const MAX_KEYS_PER_RULE: usize = 10_000;

/// The timer slot standing for a rule's shared (wildcard-free) conditions; other slots are
/// key indexes.
pub(crate) const SHARED_SLOT: u32 = u32::MAX;

/// Every pending deadline as (when, rule index, slot), earliest first.
pub(crate) type Timers = BTreeSet<(Time, u32, u32)>;

/// What a rule reports back to the engine while it runs.
pub(crate) struct Ctx<'a> {
    pub index: u32,
    pub timers: &'a mut Timers,
    pub firings: &'a mut Vec<Firing>,
    pub stats: &'a mut Stats,
    pub non_numeric: bool,
    pub missing_field: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    All,
    Any,
}

/// Where the topic and value that changed a key's state came from.
#[derive(Debug, Clone, Copy)]
enum Cause {
    Key(usize),
    Shared(usize),
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub spec: RuleSpec,
    conds: Vec<Cond>,
    combine: Combine,
    /// State of the conditions without wildcards, which every key shares (indexed like
    /// `conds`; the wildcard entries are unused).
    shared: Vec<CondState>,
    shared_timer: Option<Time>,
    keys: Vec<Key>,
    key_index: HashMap<Vec<String>, usize>,
}

#[derive(Debug)]
struct Key {
    captures: Vec<String>,
    /// State of the wildcard conditions for this key (indexed like `Rule::conds`).
    conds: Vec<CondState>,
    holding: bool,
    /// When `holding` last changed.
    changed_at: Time,
    entered: bool,
    entered_at: Time,
    left_at: Option<Time>,
    cause_topic: String,
    cause_value: String,
    /// The deadline this key has in the engine's timer set.
    timer: Option<Time>,
}

impl Rule {
    pub fn new(spec: RuleSpec) -> Rule {
        let (combine, conds): (Combine, Vec<Cond>) = match &spec.condition {
            ConditionSpec::Single(c) => (Combine::All, vec![Cond::new(c)]),
            ConditionSpec::All(cs) => (Combine::All, cs.iter().map(Cond::new).collect()),
            ConditionSpec::Any(cs) => (Combine::Any, cs.iter().map(Cond::new).collect()),
        };
        let shared = conds
            .iter()
            .map(|c| CondState::for_topic(c.filter.clone()))
            .collect();
        let mut rule = Rule {
            spec,
            conds,
            combine,
            shared,
            shared_timer: None,
            keys: Vec::new(),
            key_index: HashMap::new(),
        };
        if !rule.conds.iter().any(|c| c.wildcard) {
            // Without wildcards there is exactly one key, `[]`.
            rule.add_key(Vec::new(), None);
        }
        rule
    }

    pub fn filters(&self) -> impl Iterator<Item = &str> {
        self.conds.iter().map(|c| c.filter.as_str())
    }

    /// Starts the silence clocks of shared conditions that have none yet: a topic that never
    /// publishes goes stale counting from the engine's first call after the rule appeared.
    pub fn arm(&mut self, now: Time, ctx: &mut Ctx) {
        for (cond, state) in self.conds.iter().zip(&mut self.shared) {
            if !cond.wildcard {
                state.arm(cond, now);
            }
        }
        self.reschedule_shared(ctx);
    }

    /// Applies one message to the conditions it matched: `hits` are (rule index, condition
    /// index, captures). All updates land before any key is evaluated, so two conditions reading the
    /// same message never produce a transition in between.
    pub fn on_message(
        &mut self,
        now: Time,
        topic: &str,
        payload: &Payload,
        hits: &[(usize, usize, Vec<String>)],
        ctx: &mut Ctx,
    ) {
        let mut touched: Vec<(Option<usize>, usize)> = Vec::new();
        for (_, ci, captures) in hits {
            let ci = *ci;
            let Some(cond) = self.conds.get(ci) else {
                continue;
            };
            let result = if cond.wildcard {
                let Some((k, created)) = self.key_for(captures, now, ctx) else {
                    continue;
                };
                let result =
                    self.keys[k].conds[ci].on_message(&self.conds[ci], now, topic, payload);
                if result.is_err() && created {
                    self.forget_last_key(ctx);
                }
                result.map(|()| Some(k))
            } else {
                self.shared[ci]
                    .on_message(cond, now, topic, payload)
                    .map(|()| None)
            };
            match result {
                Ok(k) => touched.push((k, ci)),
                Err(Ignored::NonNumeric) => ctx.non_numeric = true,
                Err(Ignored::MissingField) => ctx.missing_field = true,
            }
        }
        let shared_cause = touched.iter().rev().find(|(k, _)| k.is_none());
        if let Some(&(_, shared_ci)) = shared_cause {
            self.reschedule_shared(ctx);
            for k in 0..self.keys.len() {
                let own = touched.iter().rev().find(|(key, _)| *key == Some(k));
                let cause = own.map_or(Cause::Shared(shared_ci), |&(_, ci)| Cause::Key(ci));
                self.settle(k, now, Some(cause), ctx);
            }
            return;
        }
        let mut settled: Vec<usize> = Vec::new();
        for &(k, ci) in touched.iter().rev() {
            if let Some(k) = k.filter(|k| !settled.contains(k)) {
                settled.push(k);
                self.settle(k, now, Some(Cause::Key(ci)), ctx);
            }
        }
    }

    /// Handles the deadline of `slot`, due at `at` (the engine removed it from its timers).
    pub fn on_timer(&mut self, slot: u32, at: Time, ctx: &mut Ctx) {
        if slot == SHARED_SLOT {
            self.shared_timer = None;
            let mut cause = None;
            for (ci, (cond, state)) in self.conds.iter().zip(&mut self.shared).enumerate() {
                if !cond.wildcard && state.check_silence(cond, at) {
                    cause = Some(Cause::Shared(ci));
                }
            }
            self.reschedule_shared(ctx);
            for k in 0..self.keys.len() {
                self.settle(k, at, cause, ctx);
            }
            return;
        }
        let k = slot as usize;
        let Some(key) = self.keys.get_mut(k) else {
            return;
        };
        key.timer = None;
        let mut cause = None;
        for (ci, (cond, state)) in self.conds.iter().zip(&mut key.conds).enumerate() {
            if cond.wildcard && state.check_silence(cond, at) {
                cause = Some(Cause::Key(ci));
            }
        }
        self.settle(k, at, cause, ctx);
    }

    /// Re-evaluates key `k` at `now`, fires what is due and reschedules its deadline.
    fn settle(&mut self, k: usize, now: Time, cause: Option<Cause>, ctx: &mut Ctx) {
        let holding = self.combined(k);
        let key = &mut self.keys[k];
        let changed = holding != key.holding;
        if changed {
            key.holding = holding;
            key.changed_at = now;
        }
        let source = match cause {
            Some(Cause::Key(ci)) => key.conds.get(ci),
            Some(Cause::Shared(ci)) => self.shared.get(ci),
            None => None,
        };
        // The newest message that agrees with the state is what a later firing reports (a `for`
        // that elapses shows the latest reading, not the first one above the threshold).
        if let Some(source) = source.filter(|s| changed || s.holding == holding) {
            key.cause_topic.clone_from(&source.topic);
            key.cause_value.clone_from(&source.value);
        }
        self.fire_if_due(k, now, ctx);
        self.reschedule_key(k, ctx);
    }

    fn fire_if_due(&mut self, k: usize, now: Time, ctx: &mut Ctx) {
        let key = &self.keys[k];
        if key.transition_due(&self.spec).is_none_or(|due| due > now) {
            return;
        }
        let transition = if key.holding {
            Transition::Enter
        } else {
            Transition::Leave
        };
        let reason = self.reason(k, transition);
        let key = &mut self.keys[k];
        let specs = match transition {
            Transition::Enter => {
                key.entered = true;
                key.entered_at = now;
                &self.spec.on_enter
            }
            Transition::Leave => {
                key.entered = false;
                key.left_at = Some(now);
                &self.spec.on_leave
            }
        };
        let cx = Context {
            captures: &key.captures,
            value: &key.cause_value,
            rule: &self.spec.name,
            topic: &key.cause_topic,
        };
        ctx.firings.push(Firing {
            rule: self.spec.name.clone(),
            transition,
            captures: key.captures.clone(),
            topic: key.cause_topic.clone(),
            value: key.cause_value.clone(),
            reason,
            at: now,
            actions: specs.iter().map(|a| render(a, &cx)).collect(),
        });
        ctx.stats.firings += 1;
    }

    /// The conditions that agree with the transition, in words.
    fn reason(&self, k: usize, transition: Transition) -> String {
        let wanted = transition == Transition::Enter;
        let parts: Vec<String> = (0..self.conds.len())
            .filter(|&ci| self.state(k, ci).holding == wanted)
            .map(|ci| self.state(k, ci).describe(&self.conds[ci]))
            .collect();
        let mut reason = if parts.is_empty() {
            "the conditions changed".to_string()
        } else {
            parts.join(" and ")
        };
        match self.spec.hold_for {
            Some(d) if wanted && !d.is_zero() => reason.push_str(&format!(" for {}", human(d))),
            _ => {}
        }
        reason
    }

    fn state(&self, k: usize, ci: usize) -> &CondState {
        if self.conds[ci].wildcard {
            &self.keys[k].conds[ci]
        } else {
            &self.shared[ci]
        }
    }

    /// Whether the rule's conditions hold for key `k`; a condition never heard from does not.
    fn combined(&self, k: usize) -> bool {
        if self.conds.is_empty() {
            return false;
        }
        let mut truths = (0..self.conds.len()).map(|ci| self.state(k, ci).holding);
        match self.combine {
            Combine::All => truths.all(|t| t),
            Combine::Any => truths.any(|t| t),
        }
    }

    /// The key for `captures`, created if new (unless the rule has too many): (index, created).
    fn key_for(&mut self, captures: &[String], now: Time, ctx: &mut Ctx) -> Option<(usize, bool)> {
        if let Some(&k) = self.key_index.get(captures) {
            return Some((k, false));
        }
        if self.keys.len() >= MAX_KEYS_PER_RULE {
            ctx.stats.keys_dropped += 1;
            return None;
        }
        let k = self.add_key(captures.to_vec(), Some(now));
        self.reschedule_key(k, ctx);
        Some((k, true))
    }

    /// A new key; with `now`, the silence clocks of its wildcard conditions start then.
    fn add_key(&mut self, captures: Vec<String>, now: Option<Time>) -> usize {
        let conds = self
            .conds
            .iter()
            .map(|cond| {
                if !cond.wildcard {
                    return CondState::default();
                }
                let mut state = CondState::for_topic(fill_filter(&cond.filter, &captures));
                if let Some(now) = now {
                    state.arm(cond, now);
                }
                state
            })
            .collect();
        let k = self.keys.len();
        self.key_index.insert(captures.clone(), k);
        self.keys.push(Key {
            captures,
            conds,
            holding: false,
            changed_at: now.unwrap_or_default(),
            entered: false,
            entered_at: Duration::ZERO,
            left_at: None,
            cause_topic: String::new(),
            cause_value: String::new(),
            timer: None,
        });
        k
    }

    /// Undoes the key just created for a message that turned out to be ignored.
    fn forget_last_key(&mut self, ctx: &mut Ctx) {
        let Some(key) = self.keys.pop() else {
            return;
        };
        if let Some(t) = key.timer {
            ctx.timers.remove(&(t, ctx.index, self.keys.len() as u32));
        }
        self.key_index.remove(&key.captures);
    }

    fn reschedule_key(&mut self, k: usize, ctx: &mut Ctx) {
        let silence = self
            .conds
            .iter()
            .zip(&self.keys[k].conds)
            .filter(|(cond, _)| cond.wildcard)
            .filter_map(|(cond, state)| state.silence_deadline(cond));
        let key = &self.keys[k];
        let next = silence.chain(key.transition_due(&self.spec)).min();
        let key = &mut self.keys[k];
        move_timer(&mut key.timer, next, k as u32, ctx);
    }

    fn reschedule_shared(&mut self, ctx: &mut Ctx) {
        let next = self
            .conds
            .iter()
            .zip(&self.shared)
            .filter(|(cond, _)| !cond.wildcard)
            .filter_map(|(cond, state)| state.silence_deadline(cond))
            .min();
        move_timer(&mut self.shared_timer, next, SHARED_SLOT, ctx);
    }

    /// The deadlines this rule has pending, for rebuilding the engine's timers.
    pub fn timers(&self) -> impl Iterator<Item = (Time, u32)> + '_ {
        let keys = self.keys.iter().enumerate();
        let keys = keys.filter_map(|(k, key)| key.timer.map(|t| (t, k as u32)));
        self.shared_timer
            .map(|t| (t, SHARED_SLOT))
            .into_iter()
            .chain(keys)
    }

    /// The captures of the keys that have entered.
    pub fn active(&self) -> impl Iterator<Item = &[String]> {
        self.keys
            .iter()
            .filter(|k| k.entered)
            .map(|k| k.captures.as_slice())
    }
}

impl Key {
    /// When this key's next transition is due, if one is wanted: enter once the condition has
    /// held for `for` and `min_off` has passed since leaving; leave once it stopped holding and
    /// `min_on` has passed since entering.
    fn transition_due(&self, spec: &RuleSpec) -> Option<Time> {
        let after = |t: Time, d: Option<Duration>| t.checked_add(d.unwrap_or_default());
        match (self.holding, self.entered) {
            (true, false) => {
                let held = after(self.changed_at, spec.hold_for)?;
                let rested = match self.left_at {
                    Some(left) => after(left, spec.min_off)?,
                    None => Duration::ZERO,
                };
                Some(held.max(rested))
            }
            (false, true) => Some(self.changed_at.max(after(self.entered_at, spec.min_on)?)),
            _ => None,
        }
    }
}

/// Moves a target's entry in the timer set from `*current` to `next`.
fn move_timer(current: &mut Option<Time>, next: Option<Time>, slot: u32, ctx: &mut Ctx) {
    if *current == next {
        return;
    }
    if let Some(old) = current.take() {
        ctx.timers.remove(&(old, ctx.index, slot));
    }
    if let Some(next) = next {
        ctx.timers.insert((next, ctx.index, slot));
    }
    *current = next;
}

fn render(spec: &ActionSpec, cx: &Context) -> Action {
    match spec {
        ActionSpec::Publish {
            topic,
            payload,
            qos,
            retain,
            properties,
        } => Action::Publish {
            topic: topic.render(cx),
            payload: payload.render(cx),
            qos: *qos,
            retain: *retain,
            properties: properties.render(cx),
        },
        ActionSpec::Actuate { actuator, command } => Action::Actuate {
            actuator: actuator.render(cx),
            command: command.render(cx),
        },
        ActionSpec::Log { message } => Action::Log {
            message: message.render(cx),
        },
    }
}
