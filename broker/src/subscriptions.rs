//! Which sessions subscribed to which filters, matched against a topic by walking a trie: the
//! cost of a publish grows with the topic's depth and the wildcards that apply, not with the
//! number of subscriptions.

use std::collections::HashMap;

use super::codec::QoS;
use super::level_tree::{LevelTree, NodeId, ROOT};
use super::session::SessionKey;

#[derive(Default)]
pub(crate) struct SubscriptionTree {
    tree: LevelTree<HashMap<SessionKey, QoS>>,
    count: usize,
    /// The walk's work list, kept for the next publish.
    stack: Vec<(NodeId, Option<usize>)>,
}

impl SubscriptionTree {
    /// Adds or replaces `session`'s subscription to `filter` (a validated filter).
    pub(crate) fn insert(&mut self, filter: &str, session: SessionKey, qos: QoS) {
        let id = self.tree.find_or_insert(filter);
        let subscribers = self.tree.value_mut(id).get_or_insert_with(HashMap::new);
        if subscribers.insert(session, qos).is_none() {
            self.count += 1;
        }
    }

    pub(crate) fn remove(&mut self, filter: &str, session: SessionKey) -> bool {
        let Some(id) = self.tree.find(filter) else {
            return false;
        };
        let slot = self.tree.value_mut(id);
        let removed = slot.as_mut().is_some_and(|s| s.remove(&session).is_some());
        if slot.as_ref().is_some_and(HashMap::is_empty) {
            *slot = None;
            self.tree.prune(id);
        }
        if removed {
            self.count -= 1;
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Fills `out` with one entry per session whose subscriptions match `topic`, at the highest
    /// QoS among that session's matching filters (MQTT-3.3.5-1).
    pub(crate) fn matches(&mut self, topic: &str, out: &mut Vec<(SessionKey, QoS)>) {
        out.clear();
        // Wildcards in the first level never match topics such as `$SYS/...` (MQTT-4.7.2-1).
        let dollar = topic.starts_with('$');
        // Each entry is a node and where the topic's next level starts (`None`: every level is
        // used up). Offsets rather than a list of levels, and a stack kept between calls: a
        // publish allocates nothing here.
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.push((ROOT, Some(0)));
        while let Some((node, next)) = stack.pop() {
            let wildcards_allowed = !(dollar && node == ROOT);
            if wildcards_allowed {
                // `a/#` also matches `a` itself: `#` stands for zero or more levels.
                if let Some(hash) = self.tree.child(node, "#") {
                    self.collect(hash, out);
                }
            }
            let Some(start) = next else {
                self.collect(node, out);
                continue;
            };
            let rest = topic.get(start..).unwrap_or_default();
            let (level, after) = match rest.find('/') {
                Some(slash) => (&rest[..slash], Some(start + slash + 1)),
                None => (rest, None),
            };
            if wildcards_allowed {
                if let Some(plus) = self.tree.child(node, "+") {
                    stack.push((plus, after));
                }
            }
            if let Some(exact) = self.tree.child(node, level) {
                stack.push((exact, after));
            }
        }
        self.stack = stack;
        if out.len() > 1 {
            out.sort_unstable_by_key(|&(session, qos)| (session, std::cmp::Reverse(qos)));
            out.dedup_by_key(|&mut (session, _)| session);
        }
    }

    fn collect(&self, node: NodeId, out: &mut Vec<(SessionKey, QoS)>) {
        if let Some(subscribers) = self.tree.value(node) {
            out.extend(subscribers.iter().map(|(&s, &q)| (s, q)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(tree: &mut SubscriptionTree, topic: &str) -> Vec<(SessionKey, QoS)> {
        let mut out = Vec::new();
        tree.matches(topic, &mut out);
        out
    }

    #[test]
    fn trie_agrees_with_the_reference_matcher() {
        let filters = [
            "a/b", "a/+", "a/#", "#", "+/+", "+", "/+", "+/b", "a/+/c", "$SYS/#", "$SYS/+", "a//b",
        ];
        let topics = [
            "a",
            "a/b",
            "a/c",
            "a/b/c",
            "/x",
            "x",
            "$SYS/broker",
            "$SYS",
            "a//b",
            "b/b",
            "",
        ];
        let mut tree = SubscriptionTree::default();
        for (i, f) in filters.iter().enumerate() {
            tree.insert(f, i as SessionKey, QoS::AtMostOnce);
        }
        for topic in topics {
            let mut got: Vec<_> = matched(&mut tree, topic)
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            got.sort_unstable();
            let want: Vec<_> = filters
                .iter()
                .enumerate()
                .filter(|(_, f)| mqtt_topic::matches(f, topic))
                .map(|(i, _)| i as SessionKey)
                .collect();
            assert_eq!(got, want, "topic {topic:?}");
        }
    }

    #[test]
    fn overlapping_filters_give_one_entry_at_the_highest_qos() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/#", 1, QoS::AtMostOnce);
        tree.insert("a/b", 1, QoS::ExactlyOnce);
        tree.insert("+/b", 1, QoS::AtLeastOnce);
        tree.insert("a/b", 2, QoS::AtLeastOnce);
        assert_eq!(
            matched(&mut tree, "a/b"),
            vec![(1, QoS::ExactlyOnce), (2, QoS::AtLeastOnce)]
        );
    }

    #[test]
    fn resubscribing_replaces_and_unsubscribing_cleans_up() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/b", 1, QoS::AtMostOnce);
        tree.insert("a/b", 1, QoS::AtLeastOnce);
        assert_eq!(tree.len(), 1);
        assert_eq!(matched(&mut tree, "a/b"), vec![(1, QoS::AtLeastOnce)]);
        assert!(tree.remove("a/b", 1));
        assert!(!tree.remove("a/b", 1));
        assert_eq!(tree.len(), 0);
        assert!(matched(&mut tree, "a/b").is_empty());
    }
}
