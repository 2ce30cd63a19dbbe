//! Topic filters indexed level by level: a message costs a walk down its own levels, not a
//! scan over every rule's filter, so thousands of rules cost little per message.

use std::collections::HashMap;

use crate::topic::validate_filter;

/// Filters with an id each; one filter may be inserted under several ids.
#[derive(Debug, Default)]
pub(crate) struct FilterTrie {
    root: Node,
}

#[derive(Debug, Default)]
struct Node {
    literal: HashMap<Box<str>, Node>,
    plus: Option<Box<Node>>,
    /// Filters that end with `#` below this node.
    hash: Vec<usize>,
    /// Filters that end exactly at this node.
    end: Vec<usize>,
}

impl FilterTrie {
    /// Adds a filter; an invalid one is left out (it can never match) and `false` returned.
    pub fn insert(&mut self, filter: &str, id: usize) -> bool {
        if validate_filter(filter).is_err() {
            return false;
        }
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = match level {
                "#" => {
                    node.hash.push(id);
                    return true;
                }
                "+" => node.plus.get_or_insert_with(Box::default),
                literal => node.literal.entry(literal.into()).or_default(),
            };
        }
        node.end.push(id);
        true
    }

    /// Calls `found(id, captures)` for every filter matching `topic`, with what its wildcards
    /// matched: `+` one level, `#` the rest of the topic (empty when `a/#` matches `a`).
    pub fn for_each_match<'t>(&self, topic: &'t str, found: &mut impl FnMut(usize, &[&'t str])) {
        let mut levels = Vec::new();
        let mut start = 0;
        for level in topic.split('/') {
            levels.push((start, level));
            start += level.len() + 1;
        }
        let mut walk = Walk {
            topic,
            levels: &levels,
            captures: Vec::new(),
            found,
        };
        walk.visit(&self.root, 0);
    }
}

struct Walk<'a, 't, F> {
    topic: &'t str,
    /// Each level of the topic with its byte offset, so `#` can capture the rest unsplit.
    levels: &'a [(usize, &'t str)],
    captures: Vec<&'t str>,
    found: &'a mut F,
}

impl<'t, F: FnMut(usize, &[&'t str])> Walk<'_, 't, F> {
    fn visit(&mut self, node: &Node, depth: usize) {
        // MQTT-4.7.2-1: `$SYS/...` is not matched by a filter starting with a wildcard.
        let wildcards_allowed = depth > 0 || !self.topic.starts_with('$');
        if wildcards_allowed && !node.hash.is_empty() {
            let rest = self
                .levels
                .get(depth)
                .map_or("", |&(start, _)| &self.topic[start..]);
            self.captures.push(rest);
            for &id in &node.hash {
                (self.found)(id, &self.captures);
            }
            self.captures.pop();
        }
        let Some(&(_, level)) = self.levels.get(depth) else {
            for &id in &node.end {
                (self.found)(id, &self.captures);
            }
            return;
        };
        if let Some(child) = node.literal.get(level) {
            self.visit(child, depth + 1);
        }
        if let (true, Some(child)) = (wildcards_allowed, &node.plus) {
            self.captures.push(level);
            self.visit(child, depth + 1);
            self.captures.pop();
        }
    }
}

/// The topic a filter stands for once its wildcards are filled with `captures` (used to name
/// a silent topic that never published).
pub(crate) fn fill_filter(filter: &str, captures: &[String]) -> String {
    let mut captures = captures.iter();
    let mut out: Vec<&str> = Vec::new();
    for level in filter.split('/') {
        match level {
            "+" | "#" => match captures.next() {
                // `a/#` that matched `a` stands for `a`.
                Some(c) if c.is_empty() && level == "#" => {}
                Some(c) => out.push(c),
                None => out.push(level),
            },
            literal => out.push(literal),
        }
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::matches;

    fn matches_of(trie: &FilterTrie, topic: &str) -> Vec<(usize, Vec<String>)> {
        let mut out = Vec::new();
        trie.for_each_match(topic, &mut |id, caps| {
            out.push((id, caps.iter().map(|c| c.to_string()).collect()));
        });
        out.sort();
        out
    }

    #[test]
    fn captures_table() {
        let cases: &[(&str, &str, Option<&[&str]>)] = &[
            (
                "+/AirQuality/co2",
                "Kitchen/AirQuality/co2",
                Some(&["Kitchen"]),
            ),
            (
                "Home/+/Sensor1/#",
                "Home/Hall/Sensor1/a/b",
                Some(&["Hall", "a/b"]),
            ),
            ("a/#", "a", Some(&[""])),
            ("a/#", "a/", Some(&[""])),
            ("#", "/x", Some(&["/x"])),
            ("+/+", "/x", Some(&["", "x"])),
            ("a/b", "a/b", Some(&[])),
            ("a/+", "a/b/c", None),
            ("#", "$SYS/broker", None),
            ("+/broker", "$SYS/broker", None),
            ("$SYS/+", "$SYS/broker", Some(&["broker"])),
            ("a/#/b", "a/x/b", None),
        ];
        for &(filter, topic, want) in cases {
            let mut trie = FilterTrie::default();
            trie.insert(filter, 7);
            let want: Vec<(usize, Vec<String>)> = want
                .into_iter()
                .map(|caps| (7, caps.iter().map(|c| c.to_string()).collect()))
                .collect();
            assert_eq!(matches_of(&trie, topic), want, "{filter:?} vs {topic:?}");
        }
    }

    #[test]
    fn fill_filter_table() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(fill_filter("+/co2", &s(&["Kitchen"])), "Kitchen/co2");
        assert_eq!(fill_filter("a/#", &s(&[""])), "a");
        assert_eq!(fill_filter("a/+/#", &s(&["b", "c/d"])), "a/b/c/d");
        assert_eq!(fill_filter("x/y", &[]), "x/y");
    }

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const WORDS: &[&str] = &["a", "b", "Kitchen", "", "$SYS", "co2"];

    /// Empty topics and filters are invalid; make them `a`.
    fn non_empty(s: String) -> String {
        if s.is_empty() {
            "a".to_string()
        } else {
            s
        }
    }

    fn random_topic(rng: &mut Rng) -> String {
        let n = 1 + rng.below(4);
        let levels: Vec<&str> = (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect();
        non_empty(levels.join("/"))
    }

    fn random_filter(rng: &mut Rng) -> String {
        let n = 1 + rng.below(4);
        let mut levels: Vec<&str> = (0..n)
            .map(|_| match rng.below(4) {
                0 => "+",
                _ => WORDS[rng.below(WORDS.len())],
            })
            .collect();
        if rng.below(3) == 0 {
            levels.push("#");
        }
        non_empty(levels.join("/"))
    }

    /// What the wildcards of `filter` match in `topic`, by the definition.
    fn scan_captures(filter: &str, topic: &str) -> Vec<String> {
        let topic_levels: Vec<&str> = topic.split('/').collect();
        let mut out = Vec::new();
        for (i, level) in filter.split('/').enumerate() {
            match level {
                "+" => out.push(topic_levels[i].to_string()),
                "#" => out.push(topic_levels.get(i..).map_or(String::new(), |r| r.join("/"))),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn trie_agrees_with_a_scan_over_random_filters_and_topics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let filters: Vec<String> = (0..10_000).map(|_| random_filter(&mut rng)).collect();
        let mut trie = FilterTrie::default();
        for (id, f) in filters.iter().enumerate() {
            assert!(trie.insert(f, id), "{f:?} is valid");
        }
        for _ in 0..2_000 {
            let topic = random_topic(&mut rng);
            let want: Vec<(usize, Vec<String>)> = filters
                .iter()
                .enumerate()
                .filter(|(_, f)| matches(f, &topic))
                .map(|(id, f)| (id, scan_captures(f, &topic)))
                .collect();
            assert_eq!(matches_of(&trie, &topic), want, "topic {topic:?}");
        }
    }

    #[test]
    fn invalid_filters_are_left_out() {
        let mut trie = FilterTrie::default();
        assert!(!trie.insert("a/#/b", 1));
        assert!(!trie.insert("", 2));
        assert!(!trie.insert("a+", 3));
        assert_eq!(matches_of(&trie, "a/x/b"), vec![]);
    }
}
