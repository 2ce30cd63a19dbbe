//! Builders for rule specs and a table runner, so each test reads as its scenario.

use std::time::Duration;

use rules::spec::{ActionSpec, Condition, ConditionSpec, RuleSpec, Test};
use rules::template::Template;
use rules::{Engine, Firing};

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn above(a: f64) -> Test {
    Test::Threshold {
        above: Some(a),
        below: None,
    }
}

pub fn below(b: f64) -> Test {
    Test::Threshold {
        above: None,
        below: Some(b),
    }
}

/// Hysteresis: holds from above `a` until below `b`.
pub fn band(a: f64, b: f64) -> Test {
    Test::Threshold {
        above: Some(a),
        below: Some(b),
    }
}

pub fn equals(values: &[&str]) -> Test {
    Test::Equals(values.iter().map(|v| v.to_string()).collect())
}

pub fn silent(after: u64, offline: &[&str]) -> Test {
    Test::Silent {
        after: secs(after),
        offline_payloads: offline.iter().map(|v| v.to_string()).collect(),
    }
}

pub fn when(filter: &str, test: Test) -> Condition {
    Condition {
        when: filter.to_string(),
        field: None,
        test,
    }
}

pub fn when_field(filter: &str, field: &str, test: Test) -> Condition {
    Condition {
        field: Some(field.to_string()),
        ..when(filter, test)
    }
}

pub fn template(source: &str) -> Template {
    Template::parse(source).unwrap_or_else(|e| panic!("template {source:?}: {e}"))
}

/// A rule that logs on enter and leave, with no durations.
pub fn rule(name: &str, condition: ConditionSpec) -> RuleSpec {
    RuleSpec {
        name: name.to_string(),
        condition,
        hold_for: None,
        min_on: None,
        min_off: None,
        on_enter: vec![ActionSpec::Log {
            message: template("{rule} entered {1} at {value}"),
        }],
        on_leave: vec![ActionSpec::Log {
            message: template("{rule} left {1} at {value}"),
        }],
    }
}

pub fn single(name: &str, condition: Condition) -> RuleSpec {
    rule(name, ConditionSpec::Single(condition))
}

/// One step of a scenario: a message or a tick at whole seconds, and the firings it should
/// produce, each written as `brief` writes it.
pub enum Step<'a> {
    Msg(u64, &'a str, &'a str, &'a [&'a str]),
    Tick(u64, &'a [&'a str]),
}

/// `12s co2 enter [Kitchen] 1042`: when, which rule, which way, for which key, on what value.
pub fn brief(f: &Firing) -> String {
    format!(
        "{}s {} {} [{}] {}",
        f.at.as_secs(),
        f.rule,
        f.transition,
        f.captures.join(","),
        f.value
    )
}

pub fn briefs(firings: &[Firing]) -> Vec<String> {
    firings.iter().map(brief).collect()
}

pub fn run_steps(engine: &mut Engine, steps: &[Step]) {
    for (i, step) in steps.iter().enumerate() {
        let (firings, want, what) = match step {
            Step::Msg(t, topic, payload, want) => (
                engine.on_message(secs(*t), topic, payload.as_bytes()),
                want,
                format!("message {topic} {payload:?} at {t}s"),
            ),
            Step::Tick(t, want) => (engine.on_tick(secs(*t)), want, format!("tick at {t}s")),
        };
        assert_eq!(briefs(&firings), *want, "step {i}: {what}");
    }
}

/// Runs `steps` on a fresh engine with just `spec`.
pub fn scenario(spec: RuleSpec, steps: &[Step]) -> Engine {
    let mut engine = Engine::new(vec![spec]);
    run_steps(&mut engine, steps);
    engine
}
