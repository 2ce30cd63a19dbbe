//! Which sessions subscribed to which filters, matched against a topic by walking a trie: the
//! cost of a publish grows with the topic's depth and the wildcards that apply, not with the
//! number of subscriptions.

use std::collections::HashMap;
use std::num::NonZeroU32;

use super::codec::QoS;
use super::level_tree::{LevelTree, NodeId, ROOT};
use super::session::SessionKey;

/// What one subscription was granted: its QoS and the MQTT 5 options that decide how a
/// message reaches it (3.8.3.1). A 3.1.1 subscription has the options off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Grant {
    pub qos: QoS,
    /// Messages its own client publishes are not sent back (MQTT-3.8.3-3).
    pub no_local: bool,
    /// Live messages keep the RETAIN flag they were published with (3.8.3.1).
    pub retain_as_published: bool,
    /// The Subscription Identifier its SUBSCRIBE carried (3.8.2.1.2), sent back with every
    /// message it matches (MQTT-3.3.4-3).
    pub id: Option<NonZeroU32>,
}

impl Grant {
    /// A subscription with MQTT 3.1.1's behaviour.
    pub(crate) fn qos(qos: QoS) -> Grant {
        Grant {
            qos,
            no_local: false,
            retain_as_published: false,
            id: None,
        }
    }

    /// One delivery for a session whose several subscriptions match: the highest QoS
    /// (MQTT-3.3.4-2 allows one delivery), not sent back if every one of them says no local,
    /// the RETAIN flag kept if any keeps it. Their identifiers are gathered apart, by
    /// [`SubscriptionTree::matches`]: one grant holds one.
    fn merge(self, other: Grant) -> Grant {
        Grant {
            qos: self.qos.max(other.qos),
            no_local: self.no_local && other.no_local,
            retain_as_published: self.retain_as_published || other.retain_as_published,
            id: self.id.or(other.id),
        }
    }
}

#[derive(Default)]
pub(crate) struct SubscriptionTree {
    tree: LevelTree<HashMap<SessionKey, Grant>>,
    count: usize,
    /// The walk's work list, kept for the next publish.
    stack: Vec<(NodeId, Option<usize>)>,
}

impl SubscriptionTree {
    /// Adds or replaces `session`'s subscription to `filter` (a validated filter).
    pub(crate) fn insert(&mut self, filter: &str, session: SessionKey, grant: Grant) {
        let id = self.tree.find_or_insert(filter);
        let subscribers = self.tree.value_mut(id).get_or_insert_with(HashMap::new);
        if subscribers.insert(session, grant).is_none() {
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
    /// QoS among that session's matching filters (MQTT-3.3.5-1), their options merged; and
    /// `ids` with the Subscription Identifiers of every matching subscription that has one,
    /// ordered by session, so that the one copy a session gets carries them all
    /// (MQTT-3.3.4-4, -5).
    pub(crate) fn matches(
        &mut self,
        topic: &str,
        out: &mut Vec<(SessionKey, Grant)>,
        ids: &mut Vec<(SessionKey, NonZeroU32)>,
    ) {
        out.clear();
        ids.clear();
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
            out.sort_unstable_by_key(|&(session, _)| session);
        }
        ids.extend(
            out.iter()
                .filter_map(|&(session, grant)| Some((session, grant.id?))),
        );
        if out.len() > 1 {
            out.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 = kept.1.merge(later.1);
                }
                same
            });
        }
    }

    fn collect(&self, node: NodeId, out: &mut Vec<(SessionKey, Grant)>) {
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
        tree.matches(topic, &mut out, &mut Vec::new());
        out.into_iter().map(|(s, grant)| (s, grant.qos)).collect()
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
            tree.insert(f, i as SessionKey, Grant::qos(QoS::AtMostOnce));
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
        tree.insert("a/#", 1, Grant::qos(QoS::AtMostOnce));
        tree.insert("a/b", 1, Grant::qos(QoS::ExactlyOnce));
        tree.insert("+/b", 1, Grant::qos(QoS::AtLeastOnce));
        tree.insert("a/b", 2, Grant::qos(QoS::AtLeastOnce));
        assert_eq!(
            matched(&mut tree, "a/b"),
            vec![(1, QoS::ExactlyOnce), (2, QoS::AtLeastOnce)]
        );
    }

    #[test]
    fn resubscribing_replaces_and_unsubscribing_cleans_up() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/b", 1, Grant::qos(QoS::AtMostOnce));
        tree.insert("a/b", 1, Grant::qos(QoS::AtLeastOnce));
        assert_eq!(tree.len(), 1);
        assert_eq!(matched(&mut tree, "a/b"), vec![(1, QoS::AtLeastOnce)]);
        assert!(tree.remove("a/b", 1));
        assert!(!tree.remove("a/b", 1));
        assert_eq!(tree.len(), 0);
        assert!(matched(&mut tree, "a/b").is_empty());
    }

    #[test]
    fn overlapping_subscriptions_merge_their_options() {
        let mut tree = SubscriptionTree::default();
        let no_local = Grant {
            no_local: true,
            ..Grant::qos(QoS::AtMostOnce)
        };
        let as_published = Grant {
            retain_as_published: true,
            ..Grant::qos(QoS::AtLeastOnce)
        };
        tree.insert("a/#", 1, no_local);
        tree.insert("a/b", 1, as_published);
        tree.insert("+/b", 2, no_local);
        tree.insert("a/+", 2, no_local);
        let mut out = Vec::new();
        tree.matches("a/b", &mut out, &mut Vec::new());
        let merged = Grant {
            qos: QoS::AtLeastOnce,
            no_local: false,
            retain_as_published: true,
            id: None,
        };
        assert_eq!(out, vec![(1, merged), (2, no_local)]);
    }

    #[test]
    fn every_matching_identifier_is_gathered_by_session() {
        let id = |n| NonZeroU32::new(n);
        let with_id = |n| Grant {
            id: id(n),
            ..Grant::qos(QoS::AtMostOnce)
        };
        let mut tree = SubscriptionTree::default();
        tree.insert("a/#", 2, with_id(9));
        tree.insert("a/b", 1, with_id(7));
        tree.insert("+/b", 1, Grant::qos(QoS::AtLeastOnce));
        tree.insert("a/+", 1, with_id(8));
        tree.insert("x/#", 3, with_id(5));
        let (mut out, mut ids) = (Vec::new(), Vec::new());
        tree.matches("a/b", &mut out, &mut ids);
        assert_eq!(out.len(), 2, "one entry per session: {out:?}");
        ids.sort_unstable();
        let want: Vec<_> = [(1, 7), (1, 8), (2, 9)]
            .into_iter()
            .filter_map(|(s, n)| Some((s, id(n)?)))
            .collect();
        assert_eq!(ids, want);
        tree.matches("a", &mut out, &mut ids);
        let want: Vec<_> = id(9).map(|n| (2, n)).into_iter().collect();
        assert_eq!(ids, want, "a lone match keeps its identifier");
    }
}
