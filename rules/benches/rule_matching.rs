//! Messages per second through an engine with 10,000 rules, on one thread.
//!
//! `cargo bench -p rules` (add `-- MESSAGES` to change the default 1,000,000).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rules::spec::{ActionSpec, Condition, ConditionSpec, RuleSpec, Test};
use rules::template::Template;
use rules::Engine;

const RULES: usize = 10_000;
const ROOMS: [&str; 6] = ["Kitchen", "LivingRoom", "Bedroom", "Hall", "Office", "Bath"];

fn condition(when: String, test: Test) -> ConditionSpec {
    ConditionSpec::Single(Condition {
        when,
        field: None,
        test,
    })
}

fn threshold(above: f64, below: f64) -> Test {
    Test::Threshold {
        above: Some(above),
        below: Some(below),
    }
}

fn specs() -> Vec<RuleSpec> {
    let Ok(topic) = Template::parse("{1}/Purifier/set") else {
        return Vec::new();
    };
    let Ok(payload) = Template::parse("{value}") else {
        return Vec::new();
    };
    (0..RULES)
        .map(|i| {
            let condition = match i % 4 {
                0 => condition(format!("+/Room{i}/co2"), threshold(1000.0, 800.0)),
                1 => condition(
                    format!("Home/+/Sensor{i}/#"),
                    Test::Equals(vec!["open".into()]),
                ),
                2 => condition(
                    format!("Home/Hall/Sensor{i}/temperature"),
                    Test::Threshold {
                        above: Some(25.0),
                        below: None,
                    },
                ),
                _ => condition(format!("Garden/Node{i}/#"), threshold(40.0, 30.0)),
            };
            RuleSpec {
                name: format!("rule{i}"),
                condition,
                hold_for: (i % 8 == 0).then_some(Duration::from_secs(60)),
                min_on: None,
                min_off: None,
                on_enter: vec![ActionSpec::Publish {
                    topic: topic.clone(),
                    payload: payload.clone(),
                    qos: 1,
                    retain: false,
                    properties: Default::default(),
                }],
                on_leave: Vec::new(),
            }
        })
        .collect()
}

/// A topic and payload of the kinds the rules listen to, plus some nobody does.
fn message(n: u64, rng: &mut u64) -> (String, String) {
    *rng = rng
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let r = (*rng >> 33) as usize;
    let i = r % RULES;
    let room = ROOMS[r % ROOMS.len()];
    let wave = (n / 50_000) % 2 == 0;
    match r % 5 {
        0 => (
            format!("{room}/Room{}/co2", i - i % 4),
            if wave { "1200" } else { "700" }.into(),
        ),
        1 => (
            format!("Home/{room}/Sensor{}/door", i - i % 4 + 1),
            if wave { "open" } else { "closed" }.into(),
        ),
        2 => (
            format!("Home/Hall/Sensor{}/temperature", i - i % 4 + 2),
            if wave { "27.5" } else { "21.0" }.into(),
        ),
        3 => (
            format!("Garden/Node{}/soil/moisture", i - i % 4 + 3),
            if wave { "45" } else { "25" }.into(),
        ),
        _ => (
            format!("zigbee2mqtt/device{i}"),
            r#"{"linkquality":87}"#.into(),
        ),
    }
}

fn main() {
    let messages: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);

    let started = Instant::now();
    let mut engine = Engine::new(specs());
    let build = started.elapsed();
    println!(
        "built {} rules ({} filters) in {:.1} ms",
        engine.rule_count(),
        engine.filters().len(),
        build.as_secs_f64() * 1e3
    );

    let mut rng = 42;
    let batch: Vec<(String, String)> = (0..messages).map(|n| message(n, &mut rng)).collect();
    let started = Instant::now();
    let mut firings = 0usize;
    for (n, (topic, payload)) in batch.iter().enumerate() {
        // 1 ms of simulated time per message: `for = "1m"` deadlines come due as it runs.
        let now = Duration::from_millis(n as u64);
        firings += black_box(engine.on_message(now, topic, payload.as_bytes())).len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = engine.stats();
    println!(
        "{messages} messages in {elapsed:.2} s: {:.0} messages/s, {firings} firings ({:.0}/s), {} keys dropped",
        messages as f64 / elapsed,
        firings as f64 / elapsed,
        stats.keys_dropped
    );
}
