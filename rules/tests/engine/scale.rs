//! Ten thousand rules: the engine fires exactly the rules whose filters match, as a plain scan
//! with `topic::matches` says.

use rules::topic::matches;
use rules::Engine;

use super::support::*;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

const WORDS: &[&str] = &["Home", "Kitchen", "co2", "", "$SYS", "x"];

fn random_levels(rng: &mut Rng, wildcards: bool) -> String {
    let n = 1 + rng.below(4);
    let mut levels: Vec<&str> = (0..n)
        .map(|_| match rng.below(if wildcards { 4 } else { 3 }) {
            3 => "+",
            _ => WORDS[rng.below(WORDS.len())],
        })
        .collect();
    if wildcards && rng.below(4) == 0 {
        levels.push("#");
    }
    let joined = levels.join("/");
    if joined.is_empty() {
        "x".to_string()
    } else {
        joined
    }
}

#[test]
fn ten_thousand_rules_match_as_a_scan_says() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let filters: Vec<String> = (0..10_000).map(|_| random_levels(&mut rng, true)).collect();
    let specs = filters
        .iter()
        .enumerate()
        .map(|(i, f)| single(&format!("r{i:05}"), when(f, equals(&["on"]))))
        .collect();
    let mut engine = Engine::new(specs);
    for step in 0..300u64 {
        let topic = random_levels(&mut rng, false);
        let want: Vec<String> = filters
            .iter()
            .enumerate()
            .filter(|(_, f)| matches(f, &topic))
            .map(|(i, _)| format!("r{i:05}"))
            .collect();
        // "on" enters every matching rule, "off" leaves them all again, so each pair starts
        // from nothing entered.
        for payload in ["on", "off"] {
            let fired: Vec<String> = engine
                .on_message(secs(step), &topic, payload.as_bytes())
                .into_iter()
                .map(|f| f.rule)
                .collect();
            assert_eq!(fired, want, "topic {topic:?} payload {payload}");
        }
    }
}
